import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, it } from "node:test";
import { fileURLToPath } from "node:url";
import { rulesTestCommand } from "../cli/commands/detections.ts";
import { createDetectionEngine } from "./engine/engine.ts";
import { loadRules } from "./engine/load.ts";
import { rawRecord } from "./engine/test-helpers.ts";
import { BUILTIN_PACKS_DIR } from "./packs.ts";
import { PythonWorkerPool } from "./python/pool.ts";
import { prepareTestLog } from "./test-runner.ts";

const DEFINE_RULE = fileURLToPath(new URL("./define-rule.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "vigil-rules-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function capture(): { out: Writable; text: () => string } {
  let buf = "";
  const out = new Writable({
    write(chunk, _enc, done) {
      buf += String(chunk);
      done();
    },
  });
  return { out, text: () => buf };
}

it("raw API test logs are normalized; normalized and hand-written Panther logs are used as written", () => {
  const raw = rawRecord("api_key.created", { actor: "userKey" });
  const prepared = prepareTestLog(raw);
  assert.equal(prepared.p_log_type, "OpenAI.Audit");
  assert.ok("api_key_created" in prepared);
  const panther = { type: "api_key.created", api_key_created: { data: { scopes: ["all"] } } };
  assert.equal(prepareTestLog(panther), panther);
});

it("the built-in packs' tests pass", async () => {
  const { out, text } = capture();
  assert.equal(await rulesTestCommand([BUILTIN_PACKS_DIR], out), 0);
  assert.match(text(), /^\d+ passed, 0 failed \(\d+ tests\/s\)$/m);
});

it("prints each failure with rule id, test name and what differed; ends with the counts; exits 1", async () => {
  const raw = rawRecord("api_key.created", { actor: "userKey" });
  writeFileSync(
    join(dir, "key.ts"),
    `import { defineRule } from ${JSON.stringify(DEFINE_RULE)};
export default defineRule({
  id: "Test.Key", logTypes: ["OpenAI.Audit"], severity: "High",
  rule: (e) => e.get("type") === "api_key.created",
  title: (e) => "Key by " + e.deep_get("actor", "user", "email"),
  dynamicSeverity: (e) => (e.get("project") ? "critical" : "low"),
  tests: [
    { name: "raw API event", expected: true, log: ${JSON.stringify(raw)},
      expectedTitle: "Key by bob@example.com", expectedSeverity: "CRITICAL" },
    { name: "wrong title", expected: true, log: ${JSON.stringify(raw)}, expectedTitle: "Key by mallory" },
    { name: "other type", expected: false, log: { ...${JSON.stringify(raw)}, type: "project.created" } },
    { name: "deliberately failing", expected: false, log: ${JSON.stringify(raw)} },
  ],
});
`,
  );
  writeFileSync(
    join(dir, "aux.py"),
    "def rule(event):\n    return True\n\ndef title(event):\n    return event['nope']\n",
  );
  writeFileSync(
    join(dir, "aux.yml"),
    `AnalysisType: rule
RuleID: Test.Aux
Enabled: true
Filename: aux.py
LogTypes: [OpenAI.Audit]
Severity: Low
Tests:
  - Name: title raises on a positive case
    ExpectedResult: true
    Log: { type: x }
  - Name: negative case ignores title
    ExpectedResult: false
    Log: { type: x }
`,
  );
  const { out, text } = capture();
  assert.equal(await rulesTestCommand([dir], out), 1);
  const lines = text().trimEnd().split("\n");
  assert.match(lines.at(-1) ?? "", /^2 passed, 4 failed \(\d+ tests\/s\)$/);
  const body = text();
  assert.match(
    body,
    /FAIL Test\.Key › wrong title: expected true, got true .*\n {2}- title: expected "Key by mallory", got "Key by bob@example\.com"/,
  );
  assert.match(
    body,
    /FAIL Test\.Key › deliberately failing: expected false, got true .*\n {2}- expected rule\(\) to return false, got true/,
  );
  assert.match(
    body,
    /FAIL Test\.Aux › title raises on a positive case: expected true, got true .*\n {2}- title\(\) raised KeyError\('nope'\)/,
  );
  assert.match(
    body,
    /FAIL Test\.Aux › negative case ignores title: expected false, got true .*\n {2}- expected rule\(\) to return false, got true/,
  );
});

const PANTHER_SHAPES = fileURLToPath(new URL("./python/fixtures/panther_shapes/", import.meta.url));

it("Panther-format tests: underscore-shaped logs, Mocks, deep_get helpers and default=[] all pass", async () => {
  const { out, text } = capture();
  assert.equal(await rulesTestCommand([PANTHER_SHAPES], out), 0, text());
  assert.match(text().trimEnd().split("\n").at(-1) ?? "", /^6 passed, 0 failed \(\d+ tests\/s\)$/);
});

it("the same Panther-format rule's alert fields: severity upper-cased or DEFAULT, dedup via deep_get(event, ...)", async () => {
  const pool = new PythonWorkerPool({ size: 1, timeoutMs: 10000 });
  try {
    const set = await loadRules({ packs: [], dirs: [PANTHER_SHAPES] });
    const [rule] = set.rules;
    assert.ok(rule?.kind === "python");
    const batch = rule.spec.tests.slice(0, 2).map((t, i) => ({
      sourceId: "src-1",
      eventId: `e${i}`,
      record: { ...t.log, p_log_type: "OpenAI.Audit" },
    }));
    const { matches } = await createDetectionEngine({ rules: set, pythonPool: pool }).evaluate(batch, []);
    assert.deepEqual(
      matches.map((m) => [m.isError, m.severity, m.dedupString, m.title]),
      [
        [
          false,
          "CRITICAL",
          "owner@example.com",
          "Privileged OpenAI service account svc_acct_fx1 created by [owner@example.com]",
        ],
        [false, "HIGH", "<NO_EMAIL>", "Privileged OpenAI service account svc_acct_fx2 created by [<NO_EMAIL>]"],
      ],
    );
    assert.deepEqual(matches[1]?.alertContext, { roles: ["admin", null], ip_details: {}, project_id: "<NONE>" });
  } finally {
    await pool.close();
  }
});

it("pat test's options: --filter, --test-names, --skip-disabled, --minimum-tests, --show-outputs, --json, exit codes", async () => {
  const cli = mkdtempSync(join(tmpdir(), "vigil-rules-cli-"));
  try {
    const rule = (id: string, enabled: boolean, severity: string, py: string) => {
      writeFileSync(join(cli, `${id}.py`), py);
      writeFileSync(
        join(cli, `${id}.yml`),
        `AnalysisType: rule
RuleID: ${id}
Enabled: ${enabled}
Filename: ${id}.py
LogTypes: [Thing.Log]
Severity: ${severity}
Tests:
  - Name: hit
    ExpectedResult: true
    Log: { p_log_type: Thing.Log, n: 1 }
  - Name: miss
    ExpectedResult: false
    Log: { p_log_type: Thing.Log, n: 2 }
`,
      );
    };
    rule("A.One", true, "High", "def rule(e):\n    return e.get('n') == 1\n\ndef title(e):\n    return 'one'\n");
    rule("B.Two", false, "Low", "def rule(e):\n    return True\n");
    const run = async (opts: Parameters<typeof rulesTestCommand>[2], dirs = [cli]) => {
      const { out, text } = capture();
      const code = await rulesTestCommand(dirs, out, opts);
      return { code, text: text() };
    };
    // B.Two's "miss" test fails (its rule() is always True)
    assert.equal((await run({})).code, 1);
    assert.equal((await run({ filter: ["RuleID=A.One"] })).code, 0);
    assert.equal((await run({ filter: ["Severity!=low"] })).code, 0);
    assert.equal((await run({ skipDisabled: true })).code, 0);
    const names = await run({ testNames: ["hit"] });
    assert.equal(names.code, 0);
    assert.match(names.text, /^2 passed, 0 failed/m);
    assert.equal((await run({ filter: ["RuleID=A.One"], minimumTests: 3 })).code, 1);
    assert.equal((await run({ filter: ["Nope=x"] })).code, 3);
    const shown = await run({ filter: ["RuleID=A.One"], showOutputs: true });
    assert.match(
      shown.text,
      /PASS A\.One › hit: expected true, got true .*\n {2}title: one\n {2}dedup: one\n {2}severity: HIGH/,
    );
    const json = JSON.parse((await run({ json: true, filter: ["Enabled=true"] })).text) as Record<string, unknown>;
    assert.equal(json.passed, 2);
    assert.equal(json.failed, 0);
    assert.equal(typeof json.testsPerSecond, "number");
    // An invalid analysis file: exit 2, and the valid rules' tests still ran
    writeFileSync(join(cli, "bad.yml"), "AnalysisType: rule\nRuleID: Bad\n");
    const bad = await run({ filter: ["RuleID=A.One"] });
    assert.equal(bad.code, 2);
    assert.match(bad.text, /^INVALID .*bad\.yml/m);
    assert.match(bad.text, /^2 passed, 0 failed, 1 invalid file\(s\)/m);
  } finally {
    rmSync(cli, { recursive: true, force: true });
  }
});

it("a Python rule whose module does not import is an invalid file, with its place, even without tests", async () => {
  const cli = mkdtempSync(join(tmpdir(), "vigil-rules-import-"));
  try {
    const pyRule = (id: string, py: string) => {
      writeFileSync(join(cli, `${id}.py`), py);
      writeFileSync(
        join(cli, `${id}.yml`),
        `AnalysisType: rule\nRuleID: ${id}\nEnabled: true\nFilename: ${id}.py\nLogTypes: [Thing.Log]\nSeverity: Low\n`,
      );
    };
    pyRule("Good", "def rule(e):\n    return True\n");
    pyRule("Unparsable", "def rule(e)\n    return True\n");
    pyRule("NoRule", "x = 1\n");
    writeFileSync(join(cli, "boom.py"), "raise RuntimeError('helper exploded at import')\n");
    pyRule(
      "UsesBoom",
      "import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\nimport boom\n\ndef rule(e):\n    return True\n",
    );
    const { out, text } = capture();
    const code = await rulesTestCommand([cli], out, {});
    assert.equal(code, 2, text());
    const invalid = text()
      .split("\n")
      .filter((l) => l.startsWith("INVALID "))
      .map((l) => l.replace(`${cli}/`, ""));
    assert.deepEqual(invalid.sort(), [
      "INVALID NoRule.py: the rule's Python module does not load: AttributeError(\"detection needs to have a method named 'rule'\")",
      "INVALID Unparsable.py: the rule's Python module does not load: SyntaxError(\"expected ':'\") (Unparsable.py, line 1)",
      "INVALID UsesBoom.py: the rule's Python module does not load: RuntimeError('helper exploded at import') (boom.py, line 1, in <module>)",
    ]);
  } finally {
    rmSync(cli, { recursive: true, force: true });
  }
});

it("a data model whose module ends the worker: said once, and the tests needing Python fail as not run, not as invalid rules", async () => {
  const cli = mkdtempSync(join(tmpdir(), "vigil-rules-configure-"));
  try {
    writeFileSync(join(cli, "exits_model.py"), "import os\nos._exit(3)\n");
    writeFileSync(
      join(cli, "exits_model.yml"),
      "AnalysisType: datamodel\nDataModelID: Exits.Model\nEnabled: true\nFilename: exits_model.py\n" +
        "LogTypes: [Thing.Log]\nMappings:\n  - Name: actor_user\n    Method: get_actor\n",
    );
    writeFileSync(join(cli, "Good.py"), "def rule(e):\n    return True\n");
    writeFileSync(
      join(cli, "Good.yml"),
      "AnalysisType: rule\nRuleID: Good\nEnabled: true\nFilename: Good.py\nLogTypes: [Thing.Log]\nSeverity: Low\n" +
        "Tests:\n  - Name: matches\n    ExpectedResult: true\n    Log: {p_log_type: Thing.Log}\n",
    );
    // A TypeScript rule on the data model's log type: its Method mappings would be asked of workers without it.
    writeFileSync(
      join(cli, "thing.ts"),
      `import { defineRule } from ${JSON.stringify(DEFINE_RULE)};
export default defineRule({
  id: "Thing.Ts", logTypes: ["Thing.Log"], severity: "Low",
  rule: (e) => e.udm("actor_user") === "x",
  tests: [{ name: "reads the data model", expected: true, log: { p_log_type: "Thing.Log" } }],
});
`,
    );
    const { out, text } = capture();
    const code = await rulesTestCommand([cli], out, {});
    assert.notEqual(code, 0, text());
    const lines = text().split("\n");
    assert.deepEqual(
      lines.filter((l) => l.startsWith("INVALID ")),
      ["INVALID global helpers and data models: the Python workers did not take them: python worker exited (code 3)"],
      text(),
    );
    assert.ok(
      lines.some((l) => l.startsWith("FAIL Good › matches")),
      text(),
    );
    assert.ok(
      lines.some((l) => l.startsWith("FAIL Thing.Ts › reads the data model")),
      text(),
    );
    assert.equal(text().match(/^ {2}- not run: /gm)?.length, 2, text());
    assert.match(text(), /^ {2}- not run: the Python workers did not take the global helpers and data models: /m);
  } finally {
    rmSync(cli, { recursive: true, force: true });
  }
});
