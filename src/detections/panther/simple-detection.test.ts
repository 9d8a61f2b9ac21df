import assert from "node:assert/strict";
import { test } from "node:test";
import type { RuleContext } from "../define-rule.ts";
import type { PantherEvent } from "../event/index.ts";
import { parsePantherRuleText } from "./rule-file.ts";
import { simpleDetectionDefinition } from "./simple-detection.ts";

const rule = (groupBy: string) =>
  simpleDetectionDefinition(
    parsePantherRuleText(
      "AnalysisType: rule\nRuleID: Test.Grouped\nEnabled: true\nLogTypes: [OpenAI.Audit]\nSeverity: Low\n" +
        `Detection:\n  - KeyPath: type\n    Condition: Equals\n    Value: x\nGroupBy:\n${groupBy}`,
      "/r.yml",
    ),
  );
const dedupOf = (definition: ReturnType<typeof rule>, record: Record<string, unknown>) =>
  // A Simple Detection reads the event's values only, never the rule context.
  definition.fns.dedup?.({ toDict: () => record } as unknown as PantherEvent, {} as RuleContext);

test("GroupBy's values form a dedup string that other values cannot spell", () => {
  const two = rule("  - KeyPath: ip\n  - KeyPath: user\n");
  // Joined as they are, both read "2001:db8::1:x": an address holds colons, and a user name may.
  const a = dedupOf(two, { type: "x", ip: "2001:db8::1", user: "x" });
  const b = dedupOf(two, { type: "x", ip: "2001:db8:", user: ":1:x" });
  assert.equal(a, "2001\\:db8\\:\\:1:x");
  assert.notEqual(a, b);
  assert.notEqual(dedupOf(two, { ip: "a\\", user: "b" }), dedupOf(two, { ip: "a", user: "\\b" }));
  assert.equal(dedupOf(two, { ip: "10.0.0.1" }), "10.0.0.1:");
  // One key: its value as it is.
  assert.equal(dedupOf(rule("  - KeyPath: ip\n"), { ip: "2001:db8::1" }), "2001:db8::1");
});
