import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { defineCorrelation } from "./define-correlation.ts";
import { loadRules, RuleLoadError } from "./engine/load.ts";
import { parseCorrelationRule } from "./panther/correlation.ts";
import { runRuleTests } from "./test-runner.ts";

const YAML = `AnalysisType: correlation_rule
RuleID: Team.KeyThenOwner
DisplayName: Key then owner
Enabled: true
Severity: High
DedupPeriodMinutes: 120
Detection:
  - Sequence:
      - ID: key
        RuleID: OpenAI.APIKey.Changed
      - ID: owner
        RuleID: OpenAI.Users.OwnerGranted
        MinMatchCount: 2
    Transitions:
      - ID: t
        From: key
        To: owner
        WithinTimeFrameMinutes: 20
        Match:
          - On: p_any_emails
    LookbackWindowMinutes: 60
Tests:
  - Name: key then two owner grants
    ExpectedResult: true
    RuleOutputs:
      - ID: key
        Matches:
          p_any_emails:
            "a@x.com": [0]
      - ID: owner
        Matches:
          p_any_emails:
            "a@x.com": [5, 6]
`;

const TS_SPEC = {
  id: "Team.KeyThenOwner",
  displayName: "Key then owner",
  severity: "HIGH" as const,
  dedupPeriodMinutes: 120,
  sequence: [
    { id: "key", ruleId: "OpenAI.APIKey.Changed" },
    { id: "owner", ruleId: "OpenAI.Users.OwnerGranted", minMatches: 2 },
  ],
  transitions: [{ from: "key", to: "owner", withinMinutes: 20, on: "p_any_emails" }],
  lookbackMinutes: 60,
  tests: [
    {
      name: "key then two owner grants",
      expected: true,
      ruleOutputs: { key: { p_any_emails: { "a@x.com": [0] } }, owner: { p_any_emails: { "a@x.com": [5, 6] } } },
    },
  ],
};

describe("defineCorrelation", () => {
  it("means the same as the Panther YAML", () => {
    const fromYaml = parseCorrelationRule(parseYaml(YAML), "/r.yml");
    const fromTs = parseCorrelationRule(defineCorrelation(TS_SPEC).document, "/r.yml");
    const { transitions: a, ...restYaml } = fromYaml;
    const { transitions: b, ...restTs } = fromTs;
    assert.deepEqual(restTs, restYaml);
    assert.deepEqual(b, a);
    assert.equal(fromTs.kind, "Sequence");
    assert.equal(fromTs.dedupPeriodMinutes, 120);
  });

  it("rejects a rule with neither or both of group and sequence, or an unknown member in the criteria", () => {
    assert.throws(() => defineCorrelation({ id: "X", severity: "LOW" }), /exactly one of Group or Sequence/);
    assert.throws(
      () =>
        defineCorrelation({
          id: "X",
          severity: "LOW",
          group: [{ id: "a", ruleId: "A" }],
          matchCriteria: { k: { nobody: "f" } },
        }),
      /unknown member nobody/,
    );
  });

  it("loads from a rule directory (importing vigil/rules), and its tests run in rules test", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-corr-"));
    try {
      const spec = JSON.stringify({
        ...TS_SPEC,
        tests: [...TS_SPEC.tests, { ...TS_SPEC.tests[0], name: "wrong", expected: false }],
      });
      writeFileSync(
        join(dir, "key-then-owner.ts"),
        `import { defineCorrelation } from "vigil/rules";\nexport default defineCorrelation(${spec});\n`,
      );
      const set = await loadRules({ packs: [], dirs: [dir] });
      assert.deepEqual(
        set.correlationRules?.map((c) => [c.ruleId, c.packId, c.specPath]),
        [["Team.KeyThenOwner", null, join(dir, "key-then-owner.ts")]],
      );
      const report = await runRuleTests(set);
      assert.equal(report.passed, 1);
      assert.equal(report.failed, 1, "the case expecting no fire fails: the tests really run");
      writeFileSync(
        join(dir, "bad.ts"),
        `import { defineCorrelation } from "vigil/rules";\nexport default defineCorrelation({ id: "B", severity: "LOW" });\n`,
      );
      await assert.rejects(loadRules({ packs: [], dirs: [dir] }), (err: unknown) => {
        assert.ok(err instanceof RuleLoadError);
        assert.match(err.problems.join("\n"), /bad\.ts: .*exactly one of Group or Sequence/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
