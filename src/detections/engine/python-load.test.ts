// How the engine treats a Python rule that fails to load: its module's own failure (the rule does not run, and
// says so) against a worker that failed meanwhile (rule errors, and the module is loaded again).

import assert from "node:assert/strict";
import { it } from "node:test";
import { parsePantherRuleText } from "../panther/rule-file.ts";
import type { PythonWorkerPool } from "../python/pool.ts";
import { createDetectionEngine, PYTHON_RETRY_MAX_MS, PYTHON_RETRY_MIN_MS } from "./engine.ts";
import { fromPantherSpec } from "./loaded-rule.ts";
import { batchEvent, tsRule } from "./test-helpers.ts";

const RULE = fromPantherSpec(
  parsePantherRuleText(
    "AnalysisType: rule\nRuleID: Py.Rule\nEnabled: true\nFilename: r.py\nLogTypes: [OpenAI.Audit]\nSeverity: Low\n",
    "/rules/r.yml",
  ),
  null,
);

/** A pool whose loads fail with `errors` in turn (then succeed), and whose rules match every event. */
function fakePool(errors: Array<{ type: string; message: string }>) {
  let loads = 0;
  const pool = {
    start: async () => undefined,
    configure: async () => ({ ok: true, value: { errors: {} } }),
    loadRule: async () => {
      const error = errors[loads++];
      return error ? { ok: false, error } : { ok: true, value: { functions: [] } };
    },
    runBatch: async (ids: readonly string[], events: readonly unknown[]) => ({
      ok: true,
      value: events.map(() => ids.map(() => ({ rule: true }))),
    }),
    udm: async (events: readonly unknown[]) => ({ ok: true, value: events.map(() => null) }),
  };
  return { pool: pool as unknown as PythonWorkerPool, loads: () => loads };
}

const evaluate = (engine: ReturnType<typeof createDetectionEngine>) =>
  engine.evaluate([batchEvent("api_key.created")], []).then((r) => r.matches.map((m) => [m.ruleId, m.isError]));

it("a module that does not import: the rule does not run, and pythonLoadErrors names it", async () => {
  const fake = fakePool([{ type: "SyntaxError", message: "expected ':'" }]);
  const engine = createDetectionEngine({ rules: [RULE], pythonPool: fake.pool });
  assert.deepEqual(await evaluate(engine), []);
  assert.deepEqual(await evaluate(engine), []);
  assert.equal(fake.loads(), 1, "a verdict on the module: not loaded again");
  assert.deepEqual(
    (await engine.pythonLoadErrors()).map((f) => [f.rule.id, f.error.type]),
    [["Py.Rule", "SyntaxError"]],
  );
});

it("a worker that timed out while importing: rule errors meanwhile, loaded again after a back-off, then the rule runs", async () => {
  const fake = fakePool([{ type: "RuleTimeout", message: "rule evaluation exceeded 15000 ms" }]);
  let now = 0;
  const engine = createDetectionEngine({ rules: [RULE], pythonPool: fake.pool, nowMs: () => now });
  assert.deepEqual(await evaluate(engine), [["Py.Rule", true]]);
  assert.deepEqual(await engine.pythonLoadErrors(), [], "no verdict on the module");
  now = PYTHON_RETRY_MIN_MS - 1;
  assert.deepEqual(await evaluate(engine), [["Py.Rule", true]], "not loaded again before the back-off");
  assert.equal(fake.loads(), 1);
  now = PYTHON_RETRY_MIN_MS;
  // Two batches at once after the back-off: one load, beside them (they keep the last verdict).
  assert.deepEqual(await Promise.all([evaluate(engine), evaluate(engine)]), [[["Py.Rule", true]], [["Py.Rule", true]]]);
  assert.equal(fake.loads(), 2);
  assert.deepEqual(await evaluate(engine), [["Py.Rule", false]], "the load has ended: the rule runs");
  assert.equal(fake.loads(), 2, "loaded: not loaded again");
});

it("a load again after a back-off holds no batch: the TypeScript rules' matches come meanwhile", async () => {
  const fake = fakePool([{ type: "RuleTimeout", message: "rule evaluation exceeded 15000 ms" }]);
  let endLoad: () => void = () => undefined;
  const slowLoad = new Promise<void>((resolve) => {
    endLoad = resolve;
  });
  const pool = fake.pool as unknown as { loadRule: (...args: unknown[]) => Promise<unknown> };
  const loadRule = pool.loadRule;
  let loads = 0;
  pool.loadRule = async (...args: unknown[]) => {
    // The second load (the retry) hangs, as an import on a host that times out does, until let go.
    if (++loads === 2) await slowLoad;
    return loadRule(...args);
  };
  let now = 0;
  const engine = createDetectionEngine({
    rules: [RULE, tsRule({ rule: () => true })],
    pythonPool: fake.pool,
    nowMs: () => now,
  });
  assert.deepEqual(await evaluate(engine), [
    ["Test.Rule", false],
    ["Py.Rule", true],
  ]);
  now = PYTHON_RETRY_MIN_MS;
  // The batches during the load end without it: the TypeScript rule matches, the Python rule is still an error.
  for (let i = 0; i < 3; i++)
    assert.deepEqual(await evaluate(engine), [
      ["Test.Rule", false],
      ["Py.Rule", true],
    ]);
  assert.equal(loads, 2, "one load under way, not one per batch");
  endLoad();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(await evaluate(engine), [
    ["Test.Rule", false],
    ["Py.Rule", false],
  ]);
  assert.equal(loads, 2);
});

it("a worker that keeps failing: the waits between loads double, up to a bound", async () => {
  const crash = { type: "WorkerCrashed", message: "the worker exited" };
  const fake = fakePool(Array.from({ length: 100 }, () => crash));
  let now = 0;
  const engine = createDetectionEngine({ rules: [RULE], pythonPool: fake.pool, nowMs: () => now });
  const loadTimes: number[] = [];
  for (; now <= 10 * PYTHON_RETRY_MAX_MS; now += 1_000) {
    const before = fake.loads();
    assert.deepEqual(await evaluate(engine), [["Py.Rule", true]]);
    if (fake.loads() > before) loadTimes.push(now);
  }
  const waits = loadTimes.slice(1).map((t, i) => t - loadTimes[i]!);
  assert.deepEqual(waits.slice(0, 4), [5_000, 10_000, 20_000, 40_000]);
  assert.ok(waits.every((w) => w <= PYTHON_RETRY_MAX_MS));
  assert.equal(waits.at(-1), PYTHON_RETRY_MAX_MS);
});

it("workers that would not start: rule errors, not a load that fails for good; tried again after the back-off", async () => {
  const fake = fakePool([]);
  let starts = 0;
  const pool = {
    ...(fake.pool as object),
    start: async () => {
      if (++starts === 1) throw new Error("spawn python3 ENOENT");
    },
  } as unknown as PythonWorkerPool;
  let now = 0;
  const engine = createDetectionEngine({ rules: [RULE], pythonPool: pool, nowMs: () => now });
  assert.deepEqual(await evaluate(engine), [["Py.Rule", true]]);
  assert.deepEqual(await engine.pythonLoadErrors(), [], "no verdict on the module");
  now = PYTHON_RETRY_MIN_MS;
  assert.deepEqual(await evaluate(engine), [["Py.Rule", true]], "the batch that starts the load does not wait for it");
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(await evaluate(engine), [["Py.Rule", false]]);
  assert.equal(starts, 2);
});

const OTHER = fromPantherSpec(
  parsePantherRuleText(
    "AnalysisType: rule\nRuleID: Py.Other\nEnabled: true\nFilename: o.py\nLogTypes: [OpenAI.Audit]\nSeverity: Low\n",
    "/rules/o.yml",
  ),
  null,
);

/**
 * A pool whose loads answer `verdicts[ruleId]` in turn (then succeed), recording which rules it loaded. As the
 * workers do, it runs only the rules it holds: any other answers RuleNotLoaded.
 */
function poolByRule(verdicts: Record<string, Array<{ type: string; message: string } | null>>) {
  const loaded: string[] = [];
  const held = new Set<string>();
  let configures = 0;
  let udms = 0;
  const configureReplies: Array<{
    ok: boolean;
    error?: { type: string; message: string };
    value?: { errors: Record<string, string> };
  }> = [];
  const pool = {
    start: async () => undefined,
    configure: async () => {
      configures++;
      return configureReplies.shift() ?? { ok: true, value: { errors: {} } };
    },
    loadRule: async (ruleId: string) => {
      loaded.push(ruleId);
      const error = verdicts[ruleId]?.shift();
      if (error) {
        held.delete(ruleId);
        return { ok: false, error };
      }
      held.add(ruleId);
      return { ok: true, value: { functions: [] } };
    },
    runBatch: async (ids: readonly string[], events: readonly unknown[]) => ({
      ok: true,
      value: events.map(() =>
        ids.map((id) =>
          held.has(id)
            ? { rule: true }
            : { rule: { error: { type: "RuleNotLoaded", message: `${id} is not loaded` } } },
        ),
      ),
    }),
    udm: async (events: readonly unknown[]) => {
      udms++;
      return { ok: true, value: events.map(() => null) };
    },
  };
  return {
    pool: pool as unknown as PythonWorkerPool,
    loaded,
    configures: () => configures,
    udms: () => udms,
    configureReplies,
  };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

/** A repository data model for the OpenAI log type with a Method mapping: computed by the workers. */
const PYTHON_MODEL = {
  id: "Custom.Audit",
  enabled: true,
  logTypes: ["OpenAI.Audit"],
  mappings: [{ name: "actor_user", method: "get_actor" }],
  pythonPath: "/rules/model.py",
  specPath: "/rules/model.yml",
};

it("a retry imports only the rules that were unavailable: the others stay loaded and keep running", async () => {
  const fake = poolByRule({ "Py.Rule": [{ type: "RuleTimeout", message: "rule evaluation exceeded 15000 ms" }] });
  let now = 0;
  const engine = createDetectionEngine({ rules: [RULE, OTHER], pythonPool: fake.pool, nowMs: () => now });
  assert.deepEqual(await evaluate(engine), [
    ["Py.Rule", true],
    ["Py.Other", false],
  ]);
  now = PYTHON_RETRY_MIN_MS;
  assert.deepEqual(
    await evaluate(engine),
    [
      ["Py.Rule", true],
      ["Py.Other", false],
    ],
    "Py.Other runs while Py.Rule is imported again",
  );
  await settled();
  assert.deepEqual(fake.loaded, ["Py.Rule", "Py.Other", "Py.Rule"], "Py.Other is not imported again");
  assert.equal(fake.configures(), 1, "the helpers are not replaced under the rules that use them");
  assert.deepEqual(await evaluate(engine), [
    ["Py.Rule", false],
    ["Py.Other", false],
  ]);
});

it("helpers the workers did not take: no rule is imported (its helpers would be missing), all are tried again", async () => {
  // Imported without its helpers, Py.Rule would fail as a module that does not import: a verdict for good.
  const fake = poolByRule({ "Py.Rule": [{ type: "ModuleNotFoundError", message: "No module named 'helpers'" }] });
  fake.configureReplies.push({ ok: false, error: { type: "RuleTimeout", message: "configure exceeded 15000 ms" } });
  let now = 0;
  const engine = createDetectionEngine({ rules: [RULE, OTHER], pythonPool: fake.pool, nowMs: () => now });
  assert.deepEqual(await evaluate(engine), [
    ["Py.Rule", true],
    ["Py.Other", true],
  ]);
  assert.deepEqual(fake.loaded, [], "an import now would fail on the missing helpers, as if the module were at fault");
  assert.deepEqual(await engine.pythonLoadErrors(), [], "no verdict on the modules");
  now = PYTHON_RETRY_MIN_MS;
  await evaluate(engine);
  await settled();
  assert.equal(fake.configures(), 2);
  assert.deepEqual(fake.loaded, ["Py.Rule", "Py.Other"], "imported once the helpers were taken");
  // (The fake's first import of Py.Rule fails: in this test that stands for the module's own fault.)
  assert.deepEqual(await evaluate(engine), [["Py.Other", false]]);
  assert.deepEqual(
    (await engine.pythonLoadErrors()).map((f) => f.rule.id),
    ["Py.Rule"],
  );
});

it("TypeScript rules on a log type whose data model is Python's: no values are asked of workers without it", async () => {
  const fake = poolByRule({});
  fake.configureReplies.push({ ok: false, error: { type: "WorkerCrashed", message: "the worker exited" } });
  let now = 0;
  const engine = createDetectionEngine({
    rules: { rules: [tsRule({ rule: () => true })], packs: [], settings: [], dataModels: [PYTHON_MODEL] },
    pythonPool: fake.pool,
    nowMs: () => now,
  });
  assert.deepEqual(await evaluate(engine), [["Test.Rule", false]]);
  assert.equal(fake.udms(), 0, "workers without the data model are not asked for its values");
  now = PYTHON_RETRY_MIN_MS;
  await evaluate(engine);
  await settled();
  assert.equal(fake.configures(), 2, "the data model is tried again, though no rule is Python");
  await evaluate(engine);
  assert.equal(fake.udms(), 1);
});

it("a retry that finds a module's own failure says so, as start-up says the first import's", async () => {
  const fake = poolByRule({
    "Py.Rule": [
      { type: "WorkerCrashed", message: "the worker exited" },
      { type: "SyntaxError", message: "expected ':'" },
    ],
  });
  let now = 0;
  const said: string[][] = [];
  const engine = createDetectionEngine({
    rules: [RULE],
    pythonPool: fake.pool,
    nowMs: () => now,
    onPythonLoadErrors: (errors) => said.push(errors.map((e) => `${e.rule.id}: ${e.error.type}`)),
  });
  assert.deepEqual(await evaluate(engine), [["Py.Rule", true]]);
  now = PYTHON_RETRY_MIN_MS;
  await evaluate(engine);
  await settled();
  assert.deepEqual(said, [["Py.Rule: SyntaxError"]]);
  assert.deepEqual(await evaluate(engine), [], "a module that does not import: the rule does not run");
  assert.deepEqual(
    (await engine.pythonLoadErrors()).map((f) => [f.rule.id, f.error.type]),
    [["Py.Rule", "SyntaxError"]],
  );
  now = 10 * PYTHON_RETRY_MAX_MS;
  await evaluate(engine);
  await settled();
  assert.deepEqual(fake.loaded, ["Py.Rule", "Py.Rule"], "a verdict on the module: not imported again");
  assert.equal(said.length, 1);
});

it("a data model whose Python module does not import is said once, as a file that did not load", async () => {
  // The rule is unavailable the first time: a retry follows, which must not say the data model again.
  const fake = poolByRule({ "Py.Rule": [{ type: "WorkerCrashed", message: "the worker exited" }] });
  const broken = { ok: true, value: { errors: { "Custom.Audit": "ZeroDivisionError: division by zero" } } };
  fake.configureReplies.push(broken, broken);
  let now = 0;
  const said: string[] = [];
  const engine = createDetectionEngine({
    rules: { rules: [RULE], packs: [], settings: [], dataModels: [PYTHON_MODEL] },
    pythonPool: fake.pool,
    nowMs: () => now,
    onPythonDataModelErrors: (broken) => said.push(...broken.map((b) => `${b.model.id}: ${b.message}`)),
  });
  assert.deepEqual(await evaluate(engine), [["Py.Rule", true]], "unavailable at first: a rule error");
  now = PYTHON_RETRY_MIN_MS;
  await evaluate(engine);
  await settled();
  assert.deepEqual(await evaluate(engine), [["Py.Rule", false]]);
  assert.deepEqual(said, ["Custom.Audit: ZeroDivisionError: division by zero"]);
});

it("a worker that no longer holds a loaded rule (RuleNotLoaded): imported again after a back-off, then it runs", async () => {
  const fake = fakePool([]);
  const pool = fake.pool as unknown as { runBatch: (...args: unknown[]) => Promise<unknown> };
  // The pool stopped re-loading the rule into replacement workers: they answer RuleNotLoaded until it is loaded again.
  let held = true;
  const runBatch = pool.runBatch;
  pool.runBatch = async (ids: unknown, events: unknown) =>
    held
      ? runBatch(ids, events)
      : {
          ok: true,
          value: (events as unknown[]).map(() => [
            { rule: { error: { type: "RuleNotLoaded", message: "not loaded in this worker" } } },
          ]),
        };
  const loadRule = (fake.pool as unknown as { loadRule: (...args: unknown[]) => Promise<unknown> }).loadRule;
  (fake.pool as unknown as { loadRule: unknown }).loadRule = async (...args: unknown[]) => {
    held = true;
    return loadRule(...args);
  };
  let now = 0;
  const engine = createDetectionEngine({ rules: [RULE], pythonPool: fake.pool, nowMs: () => now });
  assert.deepEqual(await evaluate(engine), [["Py.Rule", false]]);
  held = false;
  assert.deepEqual(await evaluate(engine), [["Py.Rule", true]], "the worker's answer is a rule error");
  assert.equal(fake.loads(), 1);
  assert.deepEqual(await evaluate(engine), [["Py.Rule", true]], "unavailable until the back-off: not loaded yet");
  assert.equal(fake.loads(), 1);
  now = PYTHON_RETRY_MIN_MS;
  await evaluate(engine);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(fake.loads(), 2, "imported again (before: never, the verdict still held it loaded)");
  assert.deepEqual(await evaluate(engine), [["Py.Rule", false]]);
  assert.deepEqual(await engine.pythonLoadErrors(), [], "no verdict on the module");
});

it("a rule lost while a retry of another runs: the retry's verdict keeps it lost, and it is imported again", async () => {
  const other = fromPantherSpec(
    parsePantherRuleText(
      "AnalysisType: rule\nRuleID: Py.Other\nEnabled: true\nFilename: o.py\nLogTypes: [OpenAI.Audit]\nSeverity: Low\n",
      "/rules/o.yml",
    ),
    null,
  );
  const loads: string[] = [];
  let releaseRetry: () => void = () => undefined;
  const retryHeld = new Promise<void>((resolve) => {
    releaseRetry = resolve;
  });
  const held = new Set(["Py.Rule", "Py.Other"]);
  const asked: string[][] = [];
  const pool = {
    start: async () => undefined,
    configure: async () => ({ ok: true, value: { errors: {} } }),
    loadRule: async (id: string) => {
      loads.push(id);
      // Py.Rule's first load times out; its retry hangs until let go.
      if (id === "Py.Rule" && loads.filter((l) => l === id).length === 1)
        return { ok: false, error: { type: "RuleTimeout", message: "timed out" } };
      if (id === "Py.Rule") await retryHeld;
      held.add(id);
      return { ok: true, value: { functions: [] } };
    },
    runBatch: async (ids: readonly string[], events: readonly unknown[]) => {
      asked.push([...ids]);
      return {
        ok: true,
        value: events.map(() =>
          ids.map((id) =>
            held.has(id)
              ? { rule: true }
              : { rule: { error: { type: "RuleNotLoaded", message: "not in this worker" } } },
          ),
        ),
      };
    },
    udm: async (events: readonly unknown[]) => ({ ok: true, value: events.map(() => null) }),
  } as unknown as PythonWorkerPool;
  let now = 0;
  const engine = createDetectionEngine({ rules: [RULE, other], pythonPool: pool, nowMs: () => now });
  const byRule = async () => Object.fromEntries(await evaluate(engine));
  assert.deepEqual(await byRule(), { "Py.Rule": true, "Py.Other": false });
  now = PYTHON_RETRY_MIN_MS;
  held.delete("Py.Other"); // a replacement worker without it
  assert.deepEqual(await byRule(), { "Py.Rule": true, "Py.Other": true }, "the retry of Py.Rule runs; Py.Other lost");
  releaseRetry();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(loads, ["Py.Rule", "Py.Other", "Py.Rule"]);
  // Still lost after the retry ended (before: the retry's verdict had it loaded again, and the workers were asked
  // to run it until one said again that it does not hold it).
  asked.length = 0;
  assert.deepEqual(await byRule(), { "Py.Rule": false, "Py.Other": true });
  assert.deepEqual(asked, [["Py.Rule"]], "the lost rule is not sent to the workers");
  now = 2 * PYTHON_RETRY_MIN_MS;
  await evaluate(engine);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(loads, ["Py.Rule", "Py.Other", "Py.Rule", "Py.Other"]);
  assert.deepEqual(await byRule(), { "Py.Rule": false, "Py.Other": false });
});
