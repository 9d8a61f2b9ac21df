// The worker's Panther-repository support: global helpers (winning over the built-in py/ modules, surviving a
// worker replacement), registered data models (Path and Method, by p_log_type), values computed in TypeScript,
// InlineFilters results, scheduled rules without rule(), panther_core, and Panther's return types.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { PythonWorkerPool } from "./pool.ts";
import type { RuleRunResults } from "./types.ts";

let dir: string;
const pool = new PythonWorkerPool({ size: 1, timeoutMs: 30_000 });
const file = (name: string) => join(dir, name);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vigil-py-repo-"));
  const files: Record<string, string> = {
    "panther_base_helpers.py": "def marker():\n    return 'repository'\n",
    "model.py": "def get_actor(event):\n    return event.get('who', '').upper()\n",
    // title() reports whatever the probe expression computes
    "probe.py":
      "import json\n\ndef rule(event):\n    return True\n\ndef title(event):\n    return json.dumps(eval(event.get('__probe__'), {'event': event}), default=str)\n",
    "uses_helpers.py":
      "from panther_base_helpers import marker\n\ndef rule(event):\n    return True\n\ndef title(event):\n    return marker()\n",
    "crash.py": "import os\n\ndef rule(event):\n    os._exit(1)\n",
    "scheduled.py": "def title(event):\n    return 'no rule() needed'\n",
  };
  for (const [name, text] of Object.entries(files)) await writeFile(file(name), text);
  await pool.start();
  // Vigil's built-in panther_base_helpers is imported first, as a rule loaded before configure() would
  assert.ok((await pool.loadRule("probe", file("probe.py"))).ok);
  await pool.run("probe", { __probe__: "__import__('panther_base_helpers').is_email('a@b.io')" });
  const configured = await pool.configure({
    globals: { panther_base_helpers: file("panther_base_helpers.py") },
    dataModels: [
      {
        id: "Standard.Thing",
        logTypes: ["Thing.Log"],
        mappings: { actor_user: { method: "get_actor" }, source_ip: { path: "$.src.ip" } },
        module: file("model.py"),
      },
      { id: "Broken", logTypes: ["Broken.Log"], mappings: {}, module: file("missing.py") },
    ],
  });
  assert.ok(configured.ok);
  assert.match(configured.value.errors.Broken ?? "", /FileNotFoundError|No such file/);
  for (const [id, name] of [
    ["helpers", "uses_helpers.py"],
    ["crash", "crash.py"],
  ] as const)
    assert.ok((await pool.loadRule(id, file(name))).ok, id);
  assert.ok((await pool.loadRule("scheduled", file("scheduled.py"), { optionalRule: true })).ok);
});
after(async () => {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
});

async function title(ruleId: string, event: Record<string, unknown>, opts = {}): Promise<unknown> {
  const r = await pool.run(ruleId, event, opts);
  assert.ok(r.ok, JSON.stringify(r));
  const t = (r.value as RuleRunResults).title;
  assert.ok(t && "value" in t, JSON.stringify(r.value));
  return t.value;
}
const probe = async (expr: string, event: Record<string, unknown> = {}, opts = {}) =>
  JSON.parse((await title("probe", { ...event, __probe__: expr }, opts)) as string);

test("a repository's global helper wins over the built-in module of that name, also after a worker crash", async () => {
  assert.equal(await title("helpers", {}), "repository");
  const crashed = await pool.run("crash", {});
  assert.ok(!crashed.ok && crashed.error.type === "WorkerCrashed");
  assert.equal(await title("helpers", {}), "repository");
});

test("the registered data model of the event's log type: Method and Path mappings, udm_path", async () => {
  const ev = { p_log_type: "Thing.Log", who: "ann", src: { ip: "1.2.3.4" } };
  assert.equal(await probe("event.udm('actor_user')", ev), "ANN");
  assert.equal(await probe("event.udm('source_ip')", ev), "1.2.3.4");
  assert.equal(await probe("event.udm_path('actor_user')", ev), "get_actor");
  assert.equal(await probe("event.udm_path('source_ip')", ev), "$.src.ip");
  // Other log types have no data model: udm falls back to the raw path, udm_path raises PantherError
  assert.equal(await probe("event.udm('who')", { p_log_type: "Other", who: "raw" }), "raw");
  const r = await pool.run("probe", { p_log_type: "Other", __probe__: "event.udm_path('x')" });
  assert.ok(r.ok && r.value.title && "error" in r.value.title && r.value.title.error.type === "PantherError");
  // An explicit dataModel: null means none, as for scheduled rules
  assert.equal(await probe("event.udm('actor_user')", ev, { dataModel: null }), null);
});

test("values computed in TypeScript answer udm(); the udm op computes a model's values for TypeScript", async () => {
  const values = { actor_user: { value: "from-ts" }, source_ip: { error: "JSONPath [x] matched multiple fields." } };
  assert.equal(await probe("event.udm('actor_user')", { p_log_type: "Thing.Log" }, { udmValues: values }), "from-ts");
  const bad = await pool.run(
    "probe",
    { p_log_type: "Thing.Log", __probe__: "event.udm('source_ip')" },
    { udmValues: values },
  );
  assert.ok(bad.ok && bad.value.title && "error" in bad.value.title);
  assert.match(bad.value.title.error.message, /matched multiple fields/);
  const computed = await pool.udm([
    { p_log_type: "Thing.Log", who: "bo", src: { ip: "9.9.9.9" } },
    { p_log_type: "X" },
  ]);
  assert.ok(computed.ok);
  assert.deepEqual(computed.value, [{ actor_user: { value: "BO" }, source_ip: { value: "9.9.9.9" } }, null]);
});

test("run_batch: rules rejected by InlineFilters return False without running", async () => {
  const r = await pool.runBatch(["helpers", "crash"], [{}, {}], { filtered: [["crash"], ["crash"]] });
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(
    r.value.map((row) => row.map((x) => x.rule)),
    [
      [true, false],
      [true, false],
    ],
  );
});

test("a scheduled rule without rule() matches every row", async () => {
  assert.equal(await title("scheduled", { any: 1 }), "no rule() needed");
});

test("panther_core imports, and deep_walk hands back a list where Panther does", async () => {
  assert.deepEqual(
    await probe(
      "[__import__('panther_core').PantherEvent is type(event), __import__('panther_core.immutable', fromlist=['x']).ImmutableList.__name__]",
    ),
    [true, "ImmutableList"],
  );
  assert.equal(await probe("type(event.deep_walk('l')).__name__", { l: [{ a: 1 }, { a: 2 }] }), "list");
  assert.equal(await probe("type(event.deep_walk('l', 'a')).__name__", { l: [{ a: 1 }, { a: 2 }] }), "list");
  assert.equal(await probe("event.deep_walk('l')[0].get('A')", { l: [{ a: 1 }] }), 1);
});
