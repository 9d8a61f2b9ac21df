import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createDetectionEngine } from "../engine/engine.ts";
import { loadRules } from "../engine/load.ts";
import { PythonWorkerPool } from "../python/pool.ts";
import { runRuleTests } from "../test-runner.ts";

// A small Panther repository written to a temp dir: every analysis type `pat test` loads, plus one broken file.
const FILES: Record<string, string> = {
  "global_helpers/panther_base_helpers.yml":
    "AnalysisType: global\nFilename: panther_base_helpers.py\nGlobalID: panther_base_helpers\n",
  // The repository's own panther_base_helpers must win over Vigil's built-in module of that name
  "global_helpers/panther_base_helpers.py": "def repo_marker():\n    return 'from-the-repository'\n",
  "global_helpers/panther_thing_helpers.yml":
    "AnalysisType: global\nFilename: panther_thing_helpers.py\nGlobalID: panther_thing_helpers\n",
  "global_helpers/panther_thing_helpers.py":
    "from panther_base_helpers import repo_marker\n\ndef thing_context(event):\n    return {'marker': repo_marker(), 'who': event.udm('actor_user')}\n",
  "data_models/thing.yml":
    "AnalysisType: datamodel\nDataModelID: Standard.Thing\nEnabled: true\nFilename: thing.py\nLogTypes: [Thing.Log]\nMappings:\n  - Name: actor_user\n    Method: get_actor\n  - Name: source_ip\n    Path: $.src.ip\n",
  "data_models/thing.py": "def get_actor(event):\n    return event.deep_get('who', 'name', default='nobody').upper()\n",
  "rules/thing_rule.yml": `AnalysisType: rule
RuleID: Thing.Rule
Enabled: true
Filename: thing_rule.py
LogTypes: [Thing.Log]
Severity: Low
InlineFilters:
  - KeyPath: src.ip
    Condition: IsIPAddressPublic
Tests:
  - Name: matches
    ExpectedResult: true
    Log: {p_log_type: Thing.Log, who: {name: ann}, src: {ip: 8.8.8.8}}
  - Name: filtered out by InlineFilters
    ExpectedResult: false
    Log: {p_log_type: Thing.Log, who: {name: ann}, src: {ip: 10.0.0.1}}
  - Name: wrong expectation
    ExpectedResult: false
    Log: {p_log_type: Thing.Log, who: {name: ann}, src: {ip: 1.1.1.1}}
`,
  "rules/thing_rule.py": `from panther_core import PantherEvent
from panther_thing_helpers import thing_context


def rule(event):
    assert isinstance(event, PantherEvent)
    return event.udm("actor_user") == "ANN" and event.udm_path("source_ip") == "$.src.ip"


def title(event):
    return f"{event.udm('actor_user')} at {event.udm('source_ip')}"


def alert_context(event):
    return thing_context(event)
`,
  // A TypeScript rule on the same data model: Path evaluated in TypeScript, Method computed by the workers
  "rules/thing_ts.ts": `import { defineRule } from "vigil/rules";
export default defineRule({
  id: "Thing.TS",
  logTypes: ["Thing.Log"],
  rule: (e) => e.udm("actor_user") === "ANN",
  title: (e) => \`\${e.udm("actor_user")} from \${e.udm("source_ip")} (\${e.udmPath("actor_user")})\`,
  tests: [
    { name: "ts hit", expected: true, log: { p_log_type: "Thing.Log", who: { name: "ann" }, src: { ip: "1.2.3.4" } } },
    { name: "ts miss", expected: false, log: { p_log_type: "Thing.Log", who: { name: "bo" } } },
  ],
});
`,
  "rules/thing_simple.yml": `AnalysisType: rule
RuleID: Thing.Simple
Enabled: true
LogTypes: [Thing.Log]
Severity: Info
Detection:
  - Any:
      - KeyPath: action
        Condition: Equals
        Value: archive
      - KeyPath: tags[*]
        Condition: IContains
        Value: SECRET
AlertTitle: "{action} by {who.name}"
AlertContext:
  - KeyName: who
    KeyValue:
      KeyPath: who.name
Tests:
  - Name: archive
    ExpectedResult: true
    Log: {p_log_type: Thing.Log, action: archive, who: {name: ann}}
  - Name: other
    ExpectedResult: false
    Log: {p_log_type: Thing.Log, action: read, tags: [public]}
`,
  "rules/thing_scheduled.yml": `AnalysisType: scheduled_rule
RuleID: Thing.Scheduled
Enabled: true
Filename: thing_scheduled.py
ScheduledQueries: [Query.Thing]
Severity: Low
Tests:
  - Name: rows always match
    ExpectedResult: true
    Log: {p_log_type: Thing.Log, n: 1}
`,
  // No rule(): scheduled rules default to True; and no data model (udm_path raises)
  "rules/thing_scheduled.py":
    "def title(event):\n    try:\n        event.udm_path('actor_user')\n    except Exception as e:\n        return type(e).__name__\n    return 'had a data model'\n",
  "correlation_rules/thing_group.yml": `AnalysisType: correlation_rule
RuleID: Thing.Group
Enabled: true
Severity: High
Detection:
  - Group:
      - ID: A
        RuleID: Thing.Rule
        MinMatchCount: 2
      - ID: B
        RuleID: Thing.Simple
    MatchCriteria:
      user:
        - GroupID: A
          Match: p_any_usernames
        - GroupID: B
          Match: p_any_usernames
    LookbackWindowMinutes: 10
Tests:
  - Name: two then one, same user
    ExpectedResult: true
    RuleOutputs:
      - ID: A
        Matches: {p_any_usernames: {ann: [0, 3]}}
      - ID: B
        Matches: {p_any_usernames: {ann: [5]}}
  - Name: outside the window
    ExpectedResult: false
    RuleOutputs:
      - ID: A
        Matches: {p_any_usernames: {ann: [0, 3]}}
      - ID: B
        Matches: {p_any_usernames: {ann: [30]}}
`,
  // Valid Panther content Vigil does not run: skipped and said, not an invalid file
  "policies/p.yml":
    "AnalysisType: policy\nPolicyID: P\nEnabled: true\nFilename: p.py\nResourceTypes: [AWS.S3.Bucket]\nSeverity: Low\n",
  "rules/broken.yml": "AnalysisType: rule\nRuleID: Broken\nEnabled: true\nLogTypes: [X]\nSeverity: Low\n",
  // The scheduled rule's query, for Panther's data lake only (no Query Vigil can run): the query and the rule are
  // both said
  "queries/thing.yml":
    "AnalysisType: scheduled_query\nQueryName: Query.Thing\nEnabled: true\nSnowflakeQuery: SELECT 1\n" +
    "Schedule:\n  CronExpression: '0 * * * *'\n  TimeoutMinutes: 5\n",
};

let root: string;
let pool: PythonWorkerPool;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "vigil-panther-repo-"));
  for (const [path, text] of Object.entries(FILES)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  pool = new PythonWorkerPool({ size: 1, timeoutMs: 30_000 });
});
after(async () => {
  await pool.close();
  await rm(root, { recursive: true, force: true });
});

describe("a Panther repository root", () => {
  it("loads every analysis type; a broken file is reported and the rest still runs", async () => {
    await assert.rejects(loadRules({ packs: [], dirs: [root] }), /Broken|exactly one of 'Filename'/);
    const set = await loadRules({ packs: [], dirs: [root], tolerant: true });
    assert.deepEqual(set.rules.map((r) => r.id).sort(), ["Thing.Rule", "Thing.Scheduled", "Thing.Simple", "Thing.TS"]);
    assert.deepEqual(set.globals?.map((g) => g.id).sort(), ["panther_base_helpers", "panther_thing_helpers"]);
    assert.deepEqual(
      set.dataModels?.map((m) => m.id),
      ["Standard.Thing"],
    );
    assert.deepEqual(
      set.correlationRules?.map((c) => c.ruleId),
      ["Thing.Group"],
    );
    assert.equal(set.problems?.length, 1);
    assert.equal(set.unsupported?.length, 2, JSON.stringify(set.unsupported));
    const skipped = (pattern: RegExp) =>
      assert.ok(
        set.unsupported?.some((u) => pattern.test(u)),
        String(pattern),
      );
    skipped(/p\.yml: Panther policies/);
    skipped(/thing\.yml: scheduled query Query\.Thing has no Query for Vigil's event store/);
    // The rule itself loads (its tests run), and is said not to run live.
    assert.equal(set.idle?.length, 1);
    assert.match(
      set.idle?.[0]?.message ?? "",
      /thing_scheduled\.yml: scheduled rule Thing\.Scheduled does not run: its scheduled query Query\.Thing is not loaded/,
    );
    assert.match(set.problems?.[0] ?? "", /broken\.yml.*exactly one of 'Filename' or 'Detection'/);

    const report = await runRuleTests(set);
    const byName = new Map(report.results.map((r) => [`${r.ruleId} › ${r.test}`, r]));
    assert.deepEqual(report.invalid, set.problems);
    assert.equal(report.failed, 1, JSON.stringify(report.failures));
    assert.equal(report.passed, 9);
    assert.equal(byName.get("Thing.TS › ts hit")?.outputs?.title, "ANN from 1.2.3.4 (get_actor)");
    const wrong = byName.get("Thing.Rule › wrong expectation");
    assert.equal(wrong?.passed, false);
    assert.equal(wrong?.got, true);
    const hit = byName.get("Thing.Rule › matches")?.outputs;
    assert.equal(hit?.title, "ANN at 8.8.8.8");
    assert.deepEqual(hit?.alertContext, { marker: "from-the-repository", who: "ANN" });
    assert.equal(byName.get("Thing.Rule › filtered out by InlineFilters")?.got, false);
    assert.equal(byName.get("Thing.Simple › archive")?.outputs?.title, "archive by ann");
    assert.deepEqual(byName.get("Thing.Simple › archive")?.outputs?.alertContext, { who: "ann" });
    assert.equal(byName.get("Thing.Scheduled › rows always match")?.outputs?.title, "PantherError");
    assert.equal(byName.get("Thing.Group › two then one, same user")?.passed, true);
    assert.equal(byName.get("Thing.Group › outside the window")?.passed, true);
  });

  it("the live engine uses the repository's helpers, data models and InlineFilters", async () => {
    const set = await loadRules({ packs: [], dirs: [root], tolerant: true });
    const engine = createDetectionEngine({ rules: set, pythonPool: pool });
    const ev = (id: string, record: Record<string, unknown>) => ({ sourceId: "s", eventId: id, record });
    const { matches } = await engine.evaluate(
      [
        ev("1", { p_log_type: "Thing.Log", who: { name: "ann" }, src: { ip: "8.8.4.4" } }),
        ev("2", { p_log_type: "Thing.Log", who: { name: "ann" }, src: { ip: "192.168.1.1" } }),
      ],
      [],
    );
    assert.deepEqual(
      matches.map((m) => [m.ruleId, m.eventId, m.title, m.isError]),
      [
        ["Thing.TS", "1", "ANN from 8.8.4.4 (get_actor)", false],
        ["Thing.TS", "2", "ANN from 192.168.1.1 (get_actor)", false],
        ["Thing.Rule", "1", "ANN at 8.8.4.4", false],
      ],
    );
  });

  it("Python rules get Vigil's built-in OpenAI.Audit data model live (udm and udm_path)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vigil-openai-udm-"));
    try {
      await writeFile(
        join(dir, "r.yml"),
        "AnalysisType: rule\nRuleID: Udm.Probe\nEnabled: true\nFilename: r.py\nLogTypes: [OpenAI.Audit]\nSeverity: Low\n",
      );
      await writeFile(
        join(dir, "r.py"),
        "def rule(event):\n    return True\n\ndef title(event):\n    return f\"{event.udm('actor_user')} {event.udm_path('source_ip')}\"\n",
      );
      const set = await loadRules({ packs: [], dirs: [dir] });
      const engine = createDetectionEngine({ rules: set, pythonPool: pool });
      const record = {
        p_log_type: "OpenAI.Audit",
        type: "login.succeeded",
        actor: { type: "session", session: { user: { id: "u", email: "a@x.io" }, ip_address: "1.2.3.4" } },
      };
      const { matches } = await engine.evaluate([{ sourceId: "s", eventId: "e", record }], []);
      assert.equal(matches[0]?.title, "a@x.io $.actor.session.ip_address");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** ../shared/reference/panther-analysis-sample next to the checkout (found by walking up: worktrees sit deeper). */
function findSample(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, "shared", "reference", "panther-analysis-sample");
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return "";
}
const SAMPLE = findSample();
/** Panther's helpers import python-dateutil and boto3 (Panther's Pipfile); without them the sample cannot pass. */
const PY_DEPS = spawnSync("python3", ["-I", "-c", "import dateutil, boto3"]).status === 0;
describe("Panther's public repository (sample)", {
  skip: (SAMPLE === "" && "sample not present") || (!PY_DEPS && "python3 lacks python-dateutil or boto3"),
}, () => {
  it("every test at the sample's root passes, and no file is invalid", async () => {
    const set = await loadRules({ packs: [], dirs: [SAMPLE], tolerant: true });
    const report = await runRuleTests(set);
    assert.deepEqual(report.invalid, []);
    assert.deepEqual(report.failures, []);
    assert.ok(report.passed >= 500, `${report.passed} passed`);
  });
});
