import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { createDetectionEngine } from "../engine/engine.ts";
import { fromPantherSpec } from "../engine/loaded-rule.ts";
import { batchEvent } from "../engine/test-helpers.ts";
import { PythonWorkerPool } from "../python/pool.ts";
import { runRuleTests } from "../test-runner.ts";
import {
  canonicalLogTypes,
  LOG_TYPE_ALIASES,
  loadPantherRuleFile,
  parsePantherRuleText,
  RuleFileError,
} from "./rule-file.ts";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "python", "fixtures");
const base =
  "AnalysisType: rule\nRuleID: Test.Rule\nEnabled: true\nFilename: r.py\nLogTypes: [OpenAI.Audit]\nSeverity: Low\n";

test("loads a valid rule with Tests, Reports and the resolved .py path", async () => {
  const spec = await loadPantherRuleFile(join(fixtures, "seed_api_key_created.yml"));
  assert.equal(spec.ruleId, "Seed.OpenAI.APIKey.Created");
  assert.equal(spec.pythonPath, join(fixtures, "seed_api_key_created.py"));
  assert.equal(spec.severity, "MEDIUM");
  assert.deepEqual(spec.tags, ["Credentials", "OpenAI"]);
  assert.deepEqual(spec.reports, { "MITRE ATT&CK": ["TA0003:T1098"] });
  assert.equal(spec.tests.length, 2);
  assert.equal(spec.tests[0]?.expectedResult, true);
  assert.equal((spec.tests[0]!.log.actor as { user: { email: string } }).user.email, "alice@example.com");
  assert.equal(spec.tests[1]?.expectedResult, false);
});

test("applies defaults: DedupPeriodMinutes 60, Threshold 1, CreateAlert true", () => {
  const spec = parsePantherRuleText(base, "/rules/r.yml");
  assert.equal(spec.dedupPeriodMinutes, 60);
  assert.equal(spec.threshold, 1);
  assert.equal(spec.createAlert, true);
  assert.deepEqual(spec.outputIds, []);
  assert.equal(spec.pythonPath, "/rules/r.py");
});

test("explicit values and mocks are parsed; mocks without both keys are dropped", async () => {
  const users = await loadPantherRuleFile(join(fixtures, "seed_user_changes.yml"));
  assert.equal(users.dedupPeriodMinutes, 30);
  assert.equal(users.threshold, 2);
  const proj = await loadPantherRuleFile(join(fixtures, "seed_project_deleted.yml"));
  assert.deepEqual(proj.tests[0]?.mocks, [{ objectName: "get_counter", returnValue: "5" }]);
  assert.deepEqual(proj.outputIds, ["slack-secops"]);
  const partial = parsePantherRuleText(
    `${base}Tests:\n  - Name: t\n    ExpectedResult: false\n    Log: {a: 1}\n    Mocks: [{objectName: x}]\n`,
    "/r.yml",
  );
  assert.deepEqual(partial.tests[0]?.mocks, []);
});

test("unknown keys are rejected naming the key and the file", () => {
  assert.throws(
    () => parsePantherRuleText(`${base}Severityy: High\n`, "/rules/bad.yml"),
    (err: unknown) =>
      err instanceof RuleFileError &&
      /unknown key 'Severityy'/.test(err.message) &&
      err.message.includes("/rules/bad.yml"),
  );
  assert.throws(
    () =>
      parsePantherRuleText(`${base}Tests:\n  - Name: t\n    ExpectedResult: true\n    Log: {}\n    Foo: 1\n`, "/r.yml"),
    /unknown key 'Tests.\[0\].Foo'/,
  );
});

test("a required key left out is said to be missing, not to have the wrong type", () => {
  for (const key of ["Severity", "Enabled", "RuleID"]) {
    const without = base
      .split("\n")
      .filter((line) => !line.startsWith(`${key}:`))
      .join("\n");
    assert.throws(
      () => parsePantherRuleText(without, "/rules/partial.yml"),
      new RegExp(`Invalid Panther rule /rules/partial\\.yml: missing required key '${key}'`),
    );
  }
});

test("wrong types name the key", () => {
  assert.throws(() => parsePantherRuleText(base.replace("Enabled: true", "Enabled: yes"), "/r.yml"), /key 'Enabled'/);
  assert.throws(() => parsePantherRuleText(`${base}Threshold: "5"\n`, "/r.yml"), /key 'Threshold'/);
  assert.throws(
    () => parsePantherRuleText(base.replace("Severity: Low", "Severity: Urgent"), "/r.yml"),
    /key 'Severity'/,
  );
  assert.throws(() => parsePantherRuleText(`${base}DedupPeriodMinutes: 1.5\n`, "/r.yml"), /key 'DedupPeriodMinutes'/);
});

test("Simple Detections and InlineFilters parse; alert-field keys on a Python rule are still refused", () => {
  const simple = base.replace(
    "Filename: r.py\n",
    "Detection:\n  - KeyPath: type\n    Condition: Equals\n    Value: x\nAlertTitle: 'T {type}'\n",
  );
  const spec = parsePantherRuleText(simple, "/r.yml");
  assert.equal(spec.pythonPath, null);
  assert.deepEqual(spec.simple?.detection, [{ KeyPath: "type", Condition: "Equals", Value: "x" }]);
  assert.equal(spec.simple?.alertTitle, "T {type}");
  const filtered = parsePantherRuleText(`${base}InlineFilters:\n  - KeyPath: type\n    Condition: Exists\n`, "/r.yml");
  assert.deepEqual(filtered.inlineFilters, [{ KeyPath: "type", Condition: "Exists" }]);
  assert.throws(
    () => parsePantherRuleText(`${base}AlertTitle: x\n`, "/r.yml"),
    /Simple Detection alert fields on a Python rule \(key 'AlertTitle'\) is not supported yet/,
  );
});

test("Filename and Detection together, or neither, is an error; a missing .py is reported", async () => {
  assert.throws(
    () => parsePantherRuleText(base.replace("Filename: r.py\n", ""), "/r.yml"),
    /exactly one of 'Filename'/,
  );
  await assert.rejects(loadPantherRuleFile(join(fixtures, "..", "no-such.yml")), /ENOENT/);
});

test("the rule-file features Panther's published OpenAI rules use: comments, MITRE Reports, mixed-case severity", async () => {
  const spec = await loadPantherRuleFile(join(fixtures, "panther_shapes", "privileged_service_account.yml"));
  assert.equal(spec.ruleId, "Vigil.Fixture.PrivilegedServiceAccount");
  assert.equal(spec.severity, "HIGH");
  assert.deepEqual(spec.logTypes, ["OpenAI.Audit"]);
  assert.deepEqual(spec.reports, { "MITRE ATT&CK": ["TA0003:T1136.003", "TA0004:T1078"] });
  assert.equal(spec.description, "A folded description that runs over two lines.\n");
  assert.equal(spec.dedupPeriodMinutes, 30);
  assert.equal(spec.tests.length, 6);
  assert.ok("service_account_created" in spec.tests[0]!.log, "test logs are kept as written");
  assert.deepEqual(spec.tests[4]?.mocks, [{ objectName: "break_glass_window", returnValue: true }]);

  for (const [written, parsed] of [
    ["Info", "INFO"],
    ["Medium", "MEDIUM"],
    ["Critical", "CRITICAL"],
  ] as const)
    assert.equal(
      parsePantherRuleText(base.replace("Severity: Low", `Severity: ${written}`), "/r.yml").severity,
      parsed,
    );
  const signal = parsePantherRuleText(
    base.replace("LogTypes: [OpenAI.Audit]", "LogTypes:\n  - Custom.OpenAI.Audit  # a custom schema name\n") +
      "CreateAlert: false\nThreshold: 999999\n",
    "/r.yml",
  );
  assert.deepEqual(signal.logTypes, ["OpenAI.Audit"], "the custom schema name is an alias");
  assert.equal(signal.createAlert, false);
  assert.equal(signal.threshold, 999999);
});

test("LogTypes aliases: Custom.OpenAI.Audit is OpenAI.Audit, in tests and on live events", async () => {
  assert.equal(LOG_TYPE_ALIASES["Custom.OpenAI.Audit"], "OpenAI.Audit");
  assert.deepEqual(canonicalLogTypes(["Custom.OpenAI.Audit", "OpenAI.Audit", "Other.Log"]), [
    "OpenAI.Audit",
    "Other.Log",
  ]);
  const text = `AnalysisType: rule
RuleID: Custom.Key.Created
Enabled: true
Filename: seed_api_key_created.py
LogTypes: [Custom.OpenAI.Audit]
Severity: Medium
Tests:
  - Name: created
    ExpectedResult: true
    Log: {id: audit_log-1, type: api_key.created, effective_at: 1720804090}
`;
  const rule = fromPantherSpec(parsePantherRuleText(text, join(fixtures, "custom_key_created.yml")), null);
  assert.deepEqual(rule.logTypes, ["OpenAI.Audit"]);
  const pool = new PythonWorkerPool({ size: 1, timeoutMs: 30_000 });
  try {
    const report = await runRuleTests([rule], { pythonPool: pool });
    assert.deepEqual([report.passed, report.failed], [1, 0]);
    const engine = createDetectionEngine({ rules: [rule], pythonPool: pool });
    const { matches } = await engine.evaluate([batchEvent("api_key.created", { id: "live-1" })], []);
    assert.deepEqual(
      matches.map((m) => [m.ruleId, m.eventId, m.logType]),
      [["Custom.Key.Created", "live-1", "OpenAI.Audit"]],
    );
  } finally {
    await pool.close();
  }
});
