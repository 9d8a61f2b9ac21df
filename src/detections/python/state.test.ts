// panther_detection_helpers.caching on Vigil's rule state: the helpers' semantics on the worker pool, and
// through the engine (ops, rollback, batch visibility, per-rule scoping, persistence through a store).

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { storeWithSource } from "../../../test/helpers.ts";
import { createDetectionEngine } from "../engine/engine.ts";
import { fromPantherSpec, type LoadedRule } from "../engine/loaded-rule.ts";
import { batchEvent, tsRule } from "../engine/test-helpers.ts";
import { parsePantherRule } from "../panther/rule-file.ts";
import { runRuleTests } from "../test-runner.ts";
import { PythonWorkerPool } from "./pool.ts";
import type { PyBatchState, RuleRunResults } from "./types.ts";

const FX = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "state");
const NINETY_DAYS = 90 * 86400;

const pool = new PythonWorkerPool({ size: 2, timeoutMs: 30_000 });
before(async () => {
  await pool.start();
  const r = await pool.loadRule("script", join(FX, "script.py"));
  assert.ok(r.ok, JSON.stringify(r));
});
after(() => pool.close());

type Call = [name: string, args: unknown[], kwargs?: Record<string, unknown>];
interface Step {
  time: number;
  calls: Call[];
  raise?: boolean;
}

/** Runs each step as one event of one batch; returns each step's call results, ops and error. */
async function script(steps: Step[], state?: PyBatchState) {
  const events = steps.map((s, i) => ({
    id: `e${i}`,
    calls: JSON.stringify(s.calls.map(([n, a, k]) => [n, a, k ?? {}])),
    raise: s.raise ?? false,
  }));
  const reply = await pool.runBatch(["script"], events, {
    timesSecs: steps.map((s) => s.time),
    ...(state ? { state } : {}),
  });
  assert.ok(reply.ok, JSON.stringify(reply));
  return reply.value.map(([res]) => {
    const r = res as RuleRunResults;
    const title = r.title && "value" in r.title ? (JSON.parse(r.title.value as string) as unknown[]) : null;
    return { results: title, ops: r.ops ?? [], error: typeof r.rule === "object" ? r.rule.error : null };
  });
}

describe("caching helpers on the worker (one batch)", () => {
  it("counters: increment_counter/get_counter with epoch_seconds expiry at event time", async () => {
    const out = await script([
      {
        time: 1000,
        calls: [
          ["increment_counter", ["c"], { epoch_seconds: 60 }],
          ["get_counter", ["c"]],
        ],
      },
      { time: 1059, calls: [["increment_counter", ["c", 2], { epoch_seconds: 60 }]] },
      // expires at 1059 + 60 = 1119: at 1119 the counter reads 0 and restarts
      {
        time: 1119,
        calls: [
          ["get_counter", ["c"]],
          ["increment_counter", ["c"]],
        ],
      },
    ]);
    assert.deepEqual(
      out.map((o) => o.results),
      [[1, 1], [3], [0, 1]],
    );
    assert.deepEqual(out[0]!.ops, [{ kind: "increment", key: "c", by: 1, expiresAtSecs: 1060 }]);
    assert.deepEqual(out[2]!.ops, [{ kind: "increment", key: "c", by: 1, expiresAtSecs: 1119 + NINETY_DAYS }]);
  });

  it("epoch_seconds: relative under 1e9 (from the event), absolute as given, None keeps the expiry", async () => {
    const [o] = await script([
      {
        time: 5000,
        calls: [
          ["increment_counter", ["a"], { epoch_seconds: 2_000_000_000 }],
          ["increment_counter", ["b"], { epoch_seconds: "30" }],
          ["increment_counter", ["a"], { epoch_seconds: null }],
          ["set_key_expiration", ["b", 10]],
          ["reset_counter", ["a"]],
          ["get_counter", ["a"]],
        ],
      },
    ]);
    assert.deepEqual(o!.results, [1, 1, 2, null, null, 0]);
    assert.deepEqual(o!.ops, [
      { kind: "increment", key: "a", by: 1, expiresAtSecs: 2_000_000_000 },
      { kind: "increment", key: "b", by: 1, expiresAtSecs: 5030 },
      { kind: "increment", key: "a", by: 1, expiresAtSecs: null },
      { kind: "increment", key: "b", by: 0, expiresAtSecs: 5010 },
      { kind: "increment", key: "a", by: -2, expiresAtSecs: null },
    ]);
  });

  it("reads start from the state sent with the batch; an entry expires at its expiry", async () => {
    const state: PyBatchState = { script: [["k", '{"x": 1}', 5, ["a", "b"], 5000]] };
    const out = await script(
      [
        {
          time: 4999,
          calls: [
            ["get_counter", ["k"]],
            ["get_string_set", ["k"]],
            ["get_dictionary", ["k"]],
          ],
        },
        {
          time: 5000,
          calls: [
            ["get_counter", ["k"], { force_ttl_check: true }],
            ["get_string_set", ["k"]],
          ],
        },
      ],
      state,
    );
    assert.deepEqual(out[0]!.results, [5, ["a", "b"], { x: 1 }]);
    assert.deepEqual(out[1]!.results, [0, []]);
  });

  it("string sets: add, remove, put (replaces the whole key, as Panther's put_item), reset", async () => {
    const [o] = await script([
      {
        time: 100,
        calls: [
          ["add_to_string_set", ["s", ["b", "a"]]],
          ["add_to_string_set", ["s", "c"], { epoch_seconds: null }],
          ["add_to_string_set", ["s", []]],
          ["remove_from_string_set", ["s", ["a", "x"]], { epoch_seconds: 50 }],
          ["remove_from_string_set", ["missing", "a"]],
          ["increment_counter", ["s"]],
          ["put_string_set", ["s", ["z"]]],
          ["get_counter", ["s"]],
          ["get_string_set", ["s"]],
          ["reset_string_set", ["s"]],
          ["get_string_set", ["s"]],
          ["put_string_set", ["t", ["y"]]],
          ["put_string_set", ["t", []]],
          ["get_string_set", ["t"]],
        ],
      },
    ]);
    assert.deepEqual(o!.results, [
      ["a", "b"],
      ["a", "b", "c"],
      ["a", "b", "c"],
      ["b", "c"],
      [],
      1,
      null,
      0,
      ["z"],
      null,
      [],
      null,
      null,
      [],
    ]);
    const removeOps = o!.ops.slice(3, 6);
    assert.deepEqual(removeOps, [
      { kind: "delete", key: "s" },
      { kind: "add_to_set", key: "s", member: "b", expiresAtSecs: 150 },
      { kind: "add_to_set", key: "s", member: "c", expiresAtSecs: 150 },
    ]);
  });

  it("dictionaries: put_dictionary/get_dictionary; a non-dict or non-JSON value raises as in Panther", async () => {
    const out = await script([
      {
        time: 100,
        calls: [
          ["put_dictionary", ["d", { a: 1, b: ["x"] }], { epoch_seconds: 60 }],
          ["get_dictionary", ["d"]],
          ["get_dictionary", ["none"]],
        ],
      },
      { time: 161, calls: [["get_dictionary", ["d"]]] },
      { time: 200, calls: [["put_dictionary", ["d", "not a dict"]]] },
    ]);
    assert.deepEqual(out[0]!.results, [null, { a: 1, b: ["x"] }, {}]);
    assert.deepEqual(out[0]!.ops, [{ kind: "put", key: "d", value: '{"a": 1, "b": ["x"]}', expiresAtSecs: 160 }]);
    assert.deepEqual(out[1]!.results, [{}], "expired");
    assert.equal(out[2]!.error?.type, "TypeError");
  });

  it("a rule that raises after writing leaves no trace; later events do not see its writes", async () => {
    const out = await script([
      { time: 1, calls: [["increment_counter", ["n"]]] },
      {
        time: 2,
        calls: [
          ["increment_counter", ["n"]],
          ["add_to_string_set", ["s", "x"]],
        ],
        raise: true,
      },
      {
        time: 3,
        calls: [
          ["get_counter", ["n"]],
          ["get_string_set", ["s"]],
        ],
      },
    ]);
    assert.equal(out[1]!.error?.type, "RuntimeError");
    assert.deepEqual(out[1]!.ops, []);
    assert.deepEqual(out[2]!.results, [1, []]);
  });

  it("a rule that calls the helpers at import time fails to load", async () => {
    const r = await pool.loadRule("import.time", join(FX, "..", "state_at_import.py"));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.type, "CachingUnavailableError");
  });
});

// ---- through the engine

function pyRule(id: string, file: string, extra: Record<string, unknown> = {}): LoadedRule {
  const spec = parsePantherRule(
    {
      AnalysisType: "rule",
      RuleID: id,
      Enabled: true,
      Filename: file,
      LogTypes: ["OpenAI.Audit"],
      Severity: "Medium",
      ...extra,
    },
    join(FX, `${file}.yml`),
  );
  return fromPantherSpec(spec, null);
}

const ops = (stateOps: Array<{ eventId: string; op: unknown }>) => stateOps.map((o) => [o.eventId, o.op]);

describe("Python rule state through the engine", () => {
  it("events of one batch see each other's writes; ops carry the rule and the event", async () => {
    const engine = createDetectionEngine({ rules: [pyRule("Py.Counter", "counter.py")], pythonPool: pool });
    const events = [1000, 1010, 1020].map((t, i) => batchEvent("login.failed", { effectiveAt: t, id: `c${i}` }));
    const { matches, stateOps } = await engine.evaluate(events, []);
    assert.deepEqual(
      matches.map((m) => [m.eventId, m.title]),
      [["c2", "count=3"]],
    );
    assert.deepEqual(ops(stateOps), [
      ["c0", { kind: "increment", ruleId: "Py.Counter", key: "events", by: 1, expiresAtSecs: 1060 }],
      ["c1", { kind: "increment", ruleId: "Py.Counter", key: "events", by: 1, expiresAtSecs: 1070 }],
      ["c2", { kind: "increment", ruleId: "Py.Counter", key: "events", by: 1, expiresAtSecs: 1080 }],
    ]);
  });

  it("a rule that raises after writes: an error match and no ops for that event", async () => {
    const engine = createDetectionEngine({ rules: [pyRule("Py.Raises", "raises.py")], pythonPool: pool });
    const events = ["ok1", "bad", "ok2"].map((id, i) => batchEvent("api_key.created", { effectiveAt: 100 + i, id }));
    const { matches, stateOps } = await engine.evaluate(events, []);
    assert.deepEqual(
      matches.map((m) => [m.eventId, m.isError, m.errorType]),
      [
        ["bad", true, "ValueError"],
        ["ok2", false, null],
      ],
    );
    assert.deepEqual([...new Set(stateOps.map((o) => o.eventId))], ["ok1", "ok2"]);
  });

  it("state is per rule: a TS rule and a Python rule using the same key do not share it", async () => {
    const ts = tsRule({
      id: "Ts.Ids",
      rule: (e, ctx) => {
        const seen = ctx.state.members("ids").length;
        ctx.state.addToSet("ids", `ts-${String(e.get("id"))}`);
        return seen > 0;
      },
    });
    const engine = createDetectionEngine({ rules: [ts, pyRule("Py.Sets", "sets_dicts.py")], pythonPool: pool });
    const events = ["e1", "e2", "forget"].map((id, i) => batchEvent("api_key.created", { effectiveAt: 100 + i, id }));
    const { matches } = await engine.evaluate(events, [
      { ruleId: "Ts.Ids", key: "ids", value: null, counter: 0, members: ["old"], expiresAtSecs: null },
    ]);
    const py = matches.filter((m) => m.ruleId === "Py.Sets").map((m) => [m.eventId, JSON.parse(m.title)]);
    assert.deepEqual(py, [
      ["e2", { ids: ["e1", "e2"], last: { id: "e2", n: 2 } }],
      ["forget", { ids: ["e2"], last: { id: "forget", n: 3 } }],
    ]);
    assert.deepEqual(
      matches.filter((m) => m.ruleId === "Ts.Ids").map((m) => m.eventId),
      ["e1", "e2", "forget"],
    );
  });

  it("state persists across batches through the store; expiry is by event time", async () => {
    const { store, source } = await storeWithSource();
    try {
      const engine = createDetectionEngine({ rules: [pyRule("Py.Counter", "counter.py")], pythonPool: pool });
      const now = Math.floor(Date.now() / 1000);
      const t0 = now - 30;
      const page = async (times: number[], prefix: string) => {
        const events = times.map((t, i) =>
          batchEvent("login.failed", { effectiveAt: t, id: `${prefix}${i}`, sourceId: source.id }),
        );
        const state = await store.loadRuleState(source.id, engine.ruleIdsFor(source.id), now);
        const { matches, stateOps } = await engine.evaluate(events, state);
        await store.applyPage({
          sourceId: source.id,
          events: events.map((e) => ({
            id: e.eventId,
            type: "login.failed",
            effectiveAtSecs: e.record.effective_at as number,
            actorType: null,
            actorId: null,
            actorEmail: null,
            ip: null,
            projectId: null,
            raw: JSON.stringify(e.record),
            normalized: JSON.stringify(e.record),
          })),
          quarantined: [],
          unknownTypes: [],
          matches,
          stateOps,
        });
        return matches.map((m) => m.title);
      };
      assert.deepEqual(await page([t0, t0 + 10], "a"), []);
      const stored = await store.loadRuleState(source.id, ["Py.Counter"], now);
      assert.deepEqual(
        stored.map((e) => [e.key, e.counter, e.expiresAtSecs]),
        [["events", 2, t0 + 70]],
      );
      assert.deepEqual(await page([t0 + 20], "b"), ["count=3"], "the third event, one batch later");
      // 200 s later the counter (expiring 60 s after its last increment) has expired at the event's time
      assert.deepEqual(await page([t0 + 200, t0 + 201], "c"), []);
      const after = await store.loadRuleState(source.id, ["Py.Counter"], now);
      assert.deepEqual(
        after.map((e) => [e.key, e.counter]),
        [["events", 2]],
      );
    } finally {
      await store.close();
    }
  });
});

describe("rule tests (vigil rules test)", () => {
  it("Mocks replace the caching helpers; without mocks a case runs on an empty state", async () => {
    const log = { id: "audit_log-1", type: "login.failed", effective_at: 1720804090 };
    const rule = pyRule("Py.Mocked", "mocked.py", {
      Tests: [
        {
          Name: "mocked over the threshold",
          ExpectedResult: true,
          Log: log,
          Mocks: [
            { objectName: "get_counter", returnValue: 7 },
            { objectName: "increment_counter", returnValue: 7 },
          ],
        },
        { Name: "empty state", ExpectedResult: false, Log: log },
        {
          Name: "mocked under the threshold",
          ExpectedResult: false,
          Log: log,
          Mocks: [{ objectName: "get_counter", returnValue: 1 }],
        },
      ],
    });
    const report = await runRuleTests([rule], { pythonPool: pool });
    assert.deepEqual(report.failures, []);
    assert.equal(report.passed, 3);
  });
});
