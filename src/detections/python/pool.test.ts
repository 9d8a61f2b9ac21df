import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { VigilError } from "../../core/errors.ts";
import { PythonWorkerPool } from "./pool.ts";
import type { RuleRunResults } from "./types.ts";

const fx = (f: string) => join(dirname(fileURLToPath(import.meta.url)), "fixtures", f);
// A generous limit: on a loaded machine a replacement worker's start and rule re-load can take seconds.
// The time-limit test uses its own pool with a short limit.
const pool = new PythonWorkerPool({ size: 2, timeoutMs: 30_000 });

const apiKeyEvent = {
  id: "audit_log-abc",
  type: "api_key.created",
  effective_at: 1720804090,
  actor: { type: "session", session: { user: { id: "user-1", email: "alice@example.com" }, ip_address: "1.2.3.4" } },
  "api_key.created": { id: "key_1", data: { scopes: ["api.all"] } },
};
// As the normalizer will produce it: actor.user projected from actor.session.user
const normalized = {
  ...apiKeyEvent,
  actor: { ...apiKeyEvent.actor, user: { id: "user-1", email: "alice@example.com" } },
};

before(async () => {
  await pool.start();
  for (const [id, file] of [
    ["seed.key", "seed_api_key_created.py"],
    ["seed.users", "seed_user_changes.py"],
    ["seed.project", "seed_project_deleted.py"],
    ["behaviours", "behaviours.py"],
    ["probe", "probe.py"],
    ["crash", "crash.py"],
    ["hang", "hang.py"],
  ] as const) {
    const r = await pool.loadRule(id, fx(file));
    assert.ok(r.ok, `load ${id}`);
  }
});
after(() => pool.close());

async function run(ruleId: string, event: unknown, opts = {}): Promise<RuleRunResults> {
  const r = await pool.run(ruleId, event, opts);
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
}
async function probe(expr: string, event: Record<string, unknown>, opts = {}): Promise<unknown> {
  const r = await run("probe", { ...event, __probe__: expr }, opts);
  assert.ok(r.title && "value" in r.title, JSON.stringify(r));
  return JSON.parse(r.title.value as string);
}

test("seed rule 1: title uses actor.user.email, default Unknown on the raw API shape", async () => {
  assert.deepEqual(await run("seed.key", normalized), {
    rule: true,
    title: { value: "New OpenAI API key created by alice@example.com" },
  });
  assert.deepEqual(await run("seed.key", apiKeyEvent), {
    rule: true,
    title: { value: "New OpenAI API key created by Unknown" },
  });
  assert.deepEqual(await run("seed.key", { ...apiKeyEvent, type: "project.created" }), { rule: false });
});

test("seed rules 2 and 3: severity and alert_context", async () => {
  assert.deepEqual(await run("seed.users", { type: "user.updated" }), { rule: true, severity: { value: "MEDIUM" } });
  assert.deepEqual(await run("seed.users", { type: "user.added" }), { rule: true, severity: { value: "INFO" } });
  assert.deepEqual(await run("seed.users", {}), { rule: false });
  const ev = { ...normalized, type: "project.deleted", project: { id: "proj_1", name: "Demo" } };
  assert.deepEqual((await run("seed.project", ev)).alert_context, {
    value: { actor_email: "alice@example.com", project_id: "proj_1", project_name: "Demo", timestamp: 1720804090 },
  });
});

test("rule() must return a strict bool; exceptions report class name and message", async () => {
  for (const mode of ["non_bool", "none"]) {
    const r = await run("behaviours", { mode });
    assert.ok(typeof r.rule === "object" && r.rule.error.type === "FunctionReturnTypeError");
    assert.match(r.rule.error.message, /rule\(\) must return a boolean/);
    // The worker's own check has no line of the rule to point at, and names none of the worker's.
    assert.equal(r.rule.error.where, undefined);
    assert.equal(r.title, undefined, "aux functions do not run without a match");
  }
  const r = await run("behaviours", { mode: "raise" });
  assert.ok(typeof r.rule === "object");
  assert.equal(r.rule.error.type, "KeyError");
  assert.equal(r.rule.error.message, "'missing'");
  assert.match(r.rule.error.where ?? "", /behaviours\.py, line \d+, in rule/);
  // A missing field fails inside PantherEvent's __getitem__: the line named is still the rule's.
  const missing = await run("behaviours", { mode: "missing_field" });
  assert.ok(typeof missing.rule === "object");
  assert.equal(missing.rule.error.type, "KeyError");
  assert.match(missing.rule.error.where ?? "", /^behaviours\.py, line \d+, in rule$/);
});

test("each auxiliary function's exception is captured on its own", async () => {
  const r = await run("behaviours", { mode: "title_raises", actor: { id: "a1" } });
  assert.equal(r.rule, true);
  assert.deepEqual(r.title && "error" in r.title && r.title.error.type, "ValueError");
  assert.deepEqual(r.severity, { value: "high" });
  assert.deepEqual(r.dedup, { value: "a1" });
  assert.deepEqual(r.destinations, { value: null });
  const bad = await run("behaviours", { mode: "bad_severity" });
  assert.ok(bad.severity && "error" in bad.severity && bad.severity.error.type === "FunctionReturnTypeError");
  assert.deepEqual((await run("behaviours", { mode: "skip" })).destinations, { value: [] });
});

test("case-insensitive keys at every level, exact match first, and helpers in alert_context", async () => {
  const r = await run("behaviours", {
    actor: { id: "a1" },
    items: [{ name: "x" }, { NAME: "y" }, { name: "x" }],
  });
  const ctx = r.alert_context && "value" in r.alert_context ? (r.alert_context.value as Record<string, unknown>) : {};
  assert.equal(ctx.ci, "a1");
  assert.deepEqual(ctx.walk, ["x", "y"]);
  assert.equal(ctx.in_net, true);
  assert.equal(ctx.pat, true);
  assert.deepEqual((ctx.event as Record<string, unknown>).items, [{ name: "x" }, { NAME: "y" }, { name: "x" }]);
  assert.equal(await probe("event.get('KEY')", { key: 1, Key: 2 }), 1); // first in insertion order
  assert.equal(await probe("event.get('Key')", { key: 1, Key: 2 }), 2); // exact match wins
  assert.equal(await probe("'A' in event['x']", { x: { a: 1 } }), true);
  assert.equal(await probe("event.get('x', 'd')", { x: null }), null); // present-but-null is not defaulted
});

test("events are immutable", async () => {
  const top = await run("probe", { __probe__: "exec(\"event['x'] = 1\", {'event': event})" });
  assert.ok(top.title && "error" in top.title && top.title.error.type === "TypeError");
  assert.deepEqual(await probe("event['l'] == [1, 2]", { l: [1, 2] }), true);
  const r = await run("probe", { __probe__: "event['a'].__setitem__('b', 1)", a: {} });
  assert.ok(r.title && "error" in r.title && r.title.error.type === "AttributeError");
});

test("deep_get semantics and edge cases", async () => {
  const ev = { a: { b: { c: 0, n: null, l: [{ x: 1 }] } } };
  assert.equal(await probe("event.deep_get('a','b','c', default=5)", ev), 0); // falsy kept
  assert.equal(await probe("event.deep_get('a','b','n', default=5)", ev), 5); // None → default
  assert.equal(await probe("event.deep_get('a','b','l','x', default='d')", ev), "d"); // no list indexing
  assert.equal(await probe("event.deep_get('A','B','missing')", ev), null);
  assert.equal(await probe("event.deep_get('a','zz','k', default={'k': 'in-default'})", ev), "in-default");
});

test("deep_walk semantics and edge cases", async () => {
  const ev = { r: [{ v: [1, 2] }, { v: 2 }, { v: 3 }, { w: 1 }], e: { l: [[], []] }, one: [{ v: "only" }] };
  assert.deepEqual(await probe("event.deep_walk('r','v')", ev), [1, 2, 3]);
  assert.equal(await probe("event.deep_walk('r','v', return_val='first')", ev), 1);
  assert.equal(await probe("event.deep_walk('r','v', return_val='last')", ev), 3);
  assert.equal(await probe("event.deep_walk('r','v', return_val='bogus')", ev), "all");
  assert.equal(await probe("event.deep_walk('one','v')", ev), "only");
  assert.equal(await probe("event.deep_walk('e','l', default='d')", ev), "d");
  assert.equal(await probe("event.deep_walk('zz', default='d')", ev), "d");
});

test("udm uses the data model JSONPath, then p_udm, then the raw path", async () => {
  const dataModel = { id: "OpenAI.Audit", mappings: { actor_user: "$.actor.session.user.email", multi: "$.l[*].a" } };
  assert.equal(await probe("event.udm('actor_user')", apiKeyEvent, { dataModel }), "alice@example.com");
  assert.equal(await probe("event.udm('type')", apiKeyEvent, { dataModel }), "api_key.created");
  assert.equal(await probe("event.udm('x')", { p_udm: { x: "from-udm" }, x: "raw" }, { dataModel }), "from-udm");
  assert.equal(await probe("event.udm('nope', default='d')", {}, { dataModel }), "d");
  const r = await run("probe", { __probe__: "event.udm('multi')", l: [{ a: 1 }, { a: 2 }] }, { dataModel });
  assert.ok(r.title && "error" in r.title && /matched multiple fields/.test(r.title.error.message));
});

test("mocks patch module-level names for the call only", async () => {
  const mocked = await run("behaviours", {}, { mocks: [{ objectName: "lookup_owner", returnValue: "mocked" }] });
  assert.deepEqual(mocked.title, { value: "owner=mocked" });
  assert.deepEqual((await run("behaviours", {})).title, { value: "owner=real" });
  const missing = await run("behaviours", {}, { mocks: [{ objectName: "no_such_name", returnValue: 1 }] });
  assert.ok(typeof missing.rule === "object" && missing.rule.error.type === "AttributeError");
});

test("run_batch evaluates every rule on every event", async () => {
  const r = await pool.runBatch(["seed.key", "seed.users", "unknown.rule"], [normalized, { type: "user.added" }]);
  assert.ok(r.ok);
  assert.equal(r.value.length, 2);
  assert.equal(r.value[0]?.[0]?.rule, true);
  assert.equal(r.value[0]?.[1]?.rule, false);
  assert.equal(r.value[1]?.[1]?.rule, true);
  const unknown = r.value[1]?.[2]?.rule;
  assert.ok(typeof unknown === "object" && unknown.error.type === "RuleNotLoaded");
});

/**
 * A module in `dir` that counts its imports (`n`: the imports before this one), then runs `then`; returns its path
 * and a reader of the count. Each import claims the next number by creating its file exclusively: workers of two
 * slots import at once, and a read-then-write counter could give both the same number.
 */
function countingModule(dir: string, name: string, then: string): { path: string; imports: () => number } {
  const counter = join(dir, `${name}.imports`);
  mkdirSync(counter);
  const path = join(dir, `${name}.py`);
  writeFileSync(
    path,
    `import os\n_dir = ${JSON.stringify(counter)}\nn = 0\n` +
      "while True:\n" +
      "    try:\n" +
      "        os.close(os.open(os.path.join(_dir, str(n)), os.O_CREAT | os.O_EXCL | os.O_WRONLY))\n" +
      "        break\n" +
      "    except FileExistsError:\n" +
      `        n += 1\n${then}`,
  );
  return { path, imports: () => readdirSync(counter).length };
}

/** A rule module (counting its imports) that leaves a thread ending its worker `secs` after each import. */
function endsWorkerLater(dir: string, name: string, secs: number, code: number) {
  return countingModule(
    dir,
    name,
    `import threading, time\nthreading.Thread(target=lambda: (time.sleep(${secs}), os._exit(${code})), daemon=True).start()\n\n` +
      "def rule(event):\n    return True\n",
  );
}

/** The count once it has not moved for 3 s (each replacement takes python3's start-up), or after 30 s. */
async function settledCount(count: () => number): Promise<number> {
  let settled = count();
  for (let quiet = 0, waited = 0; quiet < 3_000 && waited < 30_000; waited += 250) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    quiet = count() === settled ? quiet + 250 : 0;
    settled = count();
  }
  return settled;
}

test("a load error is returned as the rule's error", async () => {
  const r = await pool.loadRule("bad", fx("syntax_error.py"));
  assert.ok(!r.ok && r.error.type === "SyntaxError");
});

test("os._exit in a rule → WorkerCrashed; other in-flight requests complete; the pool keeps working", async () => {
  const [crashed, other] = await Promise.all([pool.run("crash", {}), pool.run("seed.users", { type: "user.added" })]);
  assert.ok(!crashed.ok && crashed.error.type === "WorkerCrashed");
  assert.ok(other.ok && other.value.rule === true);
  for (let i = 0; i < 4; i++) {
    const again = await pool.run("seed.key", normalized); // replacements have the rules re-loaded
    assert.ok(again.ok && again.value.rule === true);
  }
});

test("a rule over its time limit → RuleTimeout; the pool keeps working", async () => {
  const short = new PythonWorkerPool({ size: 2, timeoutMs: 2000 });
  try {
    await short.start();
    for (const [id, file] of [
      ["hang", "hang.py"],
      ["seed.users", "seed_user_changes.py"],
    ] as const) {
      assert.ok((await short.loadRule(id, fx(file))).ok, `load ${id}`);
    }
    const started = Date.now();
    const hung = await short.run("hang", {});
    assert.ok(!hung.ok && hung.error.type === "RuleTimeout");
    assert.ok(Date.now() - started < 10_000);
    // The timed-out worker was replaced with its rules re-loaded: the pool answers again.
    for (let i = 0; i < 4; i++) {
      const again = await short.run("seed.users", { type: "user.updated" });
      assert.ok(again.ok && again.value.rule === true);
    }
  } finally {
    await short.close();
  }
});

test("a data model that ends its worker at import: the workers are given up, not respawned for ever", async () => {
  const p = new PythonWorkerPool({ size: 2, timeoutMs: 10_000 });
  await p.start();
  try {
    const configured = await p.configure({
      globals: {},
      dataModels: [{ id: "Exits", logTypes: ["Exits.Log"], mappings: {}, module: fx("exit_at_import.py") }],
    });
    assert.ok(!configured.ok && configured.error.type === "WorkerCrashed");
    // Each replacement dies taking the configuration again; after a few in a row the pool stops replacing them
    // and answers what waits, and what comes, at once (before: spawned and killed for ever, requests never answered).
    const answer = (r: Promise<unknown>) =>
      Promise.race([r, new Promise((resolve) => setTimeout(() => resolve("no answer in 30 s"), 30_000).unref())]);
    const waiting = (await answer(p.run("none", {}))) as { ok: boolean; error?: { type: string; message: string } };
    assert.ok(!waiting.ok && waiting.error?.type === "WorkerCrashed", JSON.stringify(waiting));
    assert.match(waiting.error?.message ?? "", /keep failing to start: python worker exited \(code 3\)/);
    const started = Date.now();
    const later = await p.loadRule("seed.users", fx("seed_user_changes.py"));
    assert.ok(!later.ok && later.error.type === "WorkerCrashed", "not a load that succeeds in no worker");
    assert.ok(Date.now() - started < 1000);
  } finally {
    await p.close();
  }
});

test("workers that die a few times re-taking the configuration (a busy host) are replaced, not given up", async () => {
  // The data model's module ends its worker on its first four imports (counted in a file), then imports: each of
  // the two slots loses its first worker and a replacement. Counted per slot, neither reaches four in a row.
  const dir = mkdtempSync(join(tmpdir(), "vigil-pool-"));
  const model = countingModule(dir, "flaky_model", "if n < 4:\n    os._exit(4)\n");
  const p = new PythonWorkerPool({ size: 2, timeoutMs: 10_000 });
  await p.start();
  try {
    await p.configure({
      globals: {},
      dataModels: [{ id: "Flaky", logTypes: ["Flaky.Log"], mappings: {}, module: model.path }],
    });
    // Loaded into every slot's worker once it has the configuration.
    const loaded = await p.loadRule("seed.users", fx("seed_user_changes.py"));
    assert.ok(loaded.ok, JSON.stringify(loaded));
    assert.equal((p as unknown as { workers: unknown[] }).workers.length, 2, "no slot given up");
    for (let i = 0; i < 4; i++) {
      const r = await p.run("seed.users", { type: "user.added" });
      assert.ok(r.ok && r.value.rule === true);
    }
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a worker that hangs as it starts is given its start-up time, then start() says so", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-pool-"));
  const hanging = join(dir, "python3");
  writeFileSync(hanging, "#!/bin/sh\nexec sleep 60\n", { mode: 0o755 });
  const p = new PythonWorkerPool({ size: 1, python: hanging, startTimeoutMs: 500 });
  try {
    const started = Date.now();
    await assert.rejects(
      p.start(),
      (err: unknown) => err instanceof VigilError && /did not start within 500 ms/.test(err.message),
    );
    assert.ok(Date.now() - started < 10_000, "not a start that waits for ever");
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("python3 missing → start() rejects with install instructions", async () => {
  const missing = new PythonWorkerPool({ python: "/nonexistent/python3" });
  await assert.rejects(
    missing.start(),
    (err: unknown) =>
      err instanceof VigilError &&
      err.code === "python_missing" &&
      /Python rules need python3/.test(err.message) &&
      err.message.includes("apt-get install -y python3"),
  );
});

test("close() ends hung workers; requests after close fail with PoolClosed", async () => {
  const p = new PythonWorkerPool({ size: 1, timeoutMs: 60000 });
  await p.start();
  assert.ok((await p.loadRule("hang", fx("hang.py"))).ok);
  const pending = p.run("hang", {});
  await new Promise((r) => setTimeout(r, 100));
  await p.close();
  const r = await pending;
  assert.ok(!r.ok && r.error.type === "PoolClosed");
  const later = await p.run("hang", {});
  assert.ok(!later.ok && later.error.type === "PoolClosed");
});

test("a start that failed is not the pool's end: start() tries again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-pool-"));
  const python = join(dir, "python3");
  // Hangs the first time (past the start-up limit), then runs the real interpreter.
  writeFileSync(
    python,
    `#!/bin/sh\nif [ ! -e ${JSON.stringify(join(dir, "once"))} ]; then touch ${JSON.stringify(join(dir, "once"))}; exec sleep 60; fi\nexec python3 "$@"\n`,
    { mode: 0o755 },
  );
  // A limit the real interpreter meets even on a loaded machine; the hang outlasts it.
  const p = new PythonWorkerPool({ size: 1, python, startTimeoutMs: 8_000 });
  try {
    await assert.rejects(p.start(), /did not start within 8000 ms/);
    await p.start();
    assert.ok((await p.loadRule("seed.users", fx("seed_user_changes.py"))).ok);
    const r = await p.run("seed.users", { type: "user.added" });
    assert.ok(r.ok && r.value.rule === true);
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a registered rule whose re-import ends every replacement: no longer re-loaded, the slot and other rules kept", async () => {
  // Imports on its first two loads (the two workers), then ends the worker importing it (counted in a file).
  const dir = mkdtempSync(join(tmpdir(), "vigil-pool-"));
  const { path, imports } = countingModule(
    dir,
    "exits_on_reimport",
    "if n >= 2:\n    os._exit(5)\n\ndef rule(event):\n    return True\n",
  );
  const p = new PythonWorkerPool({ size: 2, timeoutMs: 10_000 });
  await p.start();
  try {
    assert.ok((await p.loadRule("reimport", path)).ok);
    assert.ok((await p.loadRule("seed.users", fx("seed_user_changes.py"))).ok);
    assert.ok((await p.loadRule("crash", fx("crash.py"))).ok);
    assert.equal(imports(), 2);
    // A crash replaces a worker; the replacement re-loads the rules, and the first one ends it each time.
    const crashed = await p.run("crash", {});
    assert.ok(!crashed.ok && crashed.error.type === "WorkerCrashed");
    for (let i = 0; i < 4; i++) {
      const r = await p.run("seed.users", { type: "user.added" });
      assert.ok(r.ok && r.value.rule === true, JSON.stringify(r));
    }
    const settled = await settledCount(imports);
    // Three replacements in a row died re-importing it, then no more (before: replaced and killed for ever).
    assert.equal(settled, 2 + 3);
    assert.equal((p as unknown as { workers: unknown[] }).workers.length, 2, "no slot given up");
    // The replacement does not hold it: it says so (the engine imports it again after its back-off).
    const answers = await Promise.all([p.run("reimport", {}), p.run("reimport", {})]);
    assert.ok(
      answers.some((a) => a.ok && typeof a.value.rule === "object" && a.value.rule.error.type === "RuleNotLoaded"),
      JSON.stringify(answers),
    );
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a slot given up is tried again after its wait: the pool recovers without a restart", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-pool-"));
  const broken = join(dir, "broken");
  const python = join(dir, "python3");
  // Fails to start while the file `broken` exists (python3 being upgraded, say), else the real interpreter.
  writeFileSync(python, `#!/bin/sh\nif [ -e ${JSON.stringify(broken)} ]; then exit 7; fi\nexec python3 "$@"\n`, {
    mode: 0o755,
  });
  const p = new PythonWorkerPool({ size: 1, python, timeoutMs: 10_000, slotRetryMs: 1_000 });
  try {
    await p.start();
    assert.ok((await p.loadRule("seed.users", fx("seed_user_changes.py"))).ok);
    assert.ok((await p.loadRule("crash", fx("crash.py"))).ok);
    writeFileSync(broken, "");
    const crashed = await p.run("crash", {});
    assert.ok(!crashed.ok && crashed.error.type === "WorkerCrashed");
    // Its replacements fail to start: the slot is given up, and requests are answered at once.
    const given = await p.run("seed.users", { type: "user.added" });
    assert.ok(!given.ok && given.error.type === "WorkerCrashed", JSON.stringify(given));
    assert.match(given.error.message, /keep failing to start: python worker exited \(code 7\); tried again in 1 s/);
    // Tried again after its wait, while python3 still fails: one worker, which does not start; the request that
    // revived it is answered at once, not held for the start-up, and the slot waits twice as long.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const probing = await p.run("seed.users", { type: "user.added" });
    assert.ok(!probing.ok && /being tried again/.test(probing.error.message), JSON.stringify(probing));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const again = await p.run("seed.users", { type: "user.added" });
    // (Not tried again yet: a wait of one second again would have come round.)
    assert.ok(!again.ok && /tried again in [12] s/.test(again.error.message), JSON.stringify(again));
    rmSync(broken);
    // Revived with its rules re-loaded once python3 works (before: no worker until the pool was started again).
    let r: Awaited<ReturnType<typeof p.run>> = again;
    for (const started = Date.now(); !r.ok && Date.now() - started < 20_000; ) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      r = await p.run("seed.users", { type: "user.added" });
    }
    assert.ok(r.ok && r.value.rule === true, JSON.stringify(r));
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a rule that ends its worker after its import (a thread it left): replacements that die idle are given up", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-pool-"));
  const { path, imports } = endsWorkerLater(dir, "exits_later", 0.3, 6);
  const p = new PythonWorkerPool({ size: 1, timeoutMs: 10_000 });
  await p.start();
  try {
    assert.ok((await p.loadRule("later", path)).ok);
    const settled = await settledCount(imports);
    // Each worker importing it died idle 0.3 s later, long before it had settled: four in a row (the first and three
    // replacements), and the slot is given up (before: each replaced, for ever).
    assert.equal(settled, 4);
    const r = await p.run("later", {});
    assert.ok(
      !r.ok && /keep failing to start: python worker exited \(code 6\)/.test(r.error.message),
      JSON.stringify(r),
    );
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a worker that settled and later dies idle (the host killed it) is replaced, however often: not a failed start", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-pool-"));
  // Ends its worker 1.5 s after each import, after the (shortened) settling time of 0.5 s.
  const { path, imports } = endsWorkerLater(dir, "exits_settled", 1.5, 9);
  const p = new PythonWorkerPool({ size: 1, timeoutMs: 10_000, settledMs: 500 });
  await p.start();
  try {
    assert.ok((await p.loadRule("settled", path)).ok);
    // Six deaths and replacements (more than the four failed starts that give a slot up).
    for (const started = Date.now(); imports() < 7 && Date.now() - started < 60_000; )
      await new Promise((resolve) => setTimeout(resolve, 250));
    assert.ok(imports() >= 7, `imports: ${imports()}`);
    const r = await p.run("settled", {});
    assert.ok(r.ok && r.value.rule === true, JSON.stringify(r));
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
