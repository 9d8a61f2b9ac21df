// Runs the test cases of every OpenAI.Posture rule (as `vigil rules test packs/openai-posture` does), and checks
// that the pack loads as part of the built-in packs.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadRules } from "../../src/detections/engine/load.ts";
import { runRuleTests } from "../../src/detections/test-runner.ts";

const PACK_DIR = fileURLToPath(new URL(".", import.meta.url));

describe("OpenAI.Posture pack", () => {
  it("every rule's test cases pass, and every rule has positive and negative cases", async () => {
    const rules = await loadRules({ packs: [PACK_DIR] });
    assert.ok(rules.rules.length >= 6, `expected the posture rules, got ${rules.rules.length}`);
    for (const rule of rules.rules) {
      assert.equal(rule.kind, "ts");
      if (rule.kind !== "ts") continue;
      assert.deepEqual([...rule.definition.logTypes], ["OpenAI.Posture"], rule.id);
      const expectations = rule.definition.tests.map((t) => t.expected);
      assert.ok(expectations.includes(true) && expectations.includes(false), `${rule.id} needs both kinds of case`);
      assert.match(rule.definition.runbook ?? "", /^docs\/posture\.md#[a-z-]+ — /, `${rule.id} runbook anchor`);
      assert.equal(rule.packId, "OpenAI.Posture");
    }
    const report = await runRuleTests(rules);
    assert.deepEqual(report.failures, []);
    assert.ok(report.passed >= 20);
  });

  it("loads among the built-in packs without clashing with the audit-log rules", async () => {
    const rules = await loadRules();
    const posture = rules.rules.filter((r) => r.id.startsWith("OpenAI.Posture."));
    assert.ok(posture.length >= 6);
  });
});
