// `vigil poll --once` and `vigil backfill` take no lease: run on a PostgreSQL database that live `vigil start`
// workers share, they warn on stderr, naming the live workers (not the dead or stopped ones), and still do
// their work; with no live worker, and on SQLite, they say nothing of the kind.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runVigil, sourceSettings } from "../../../test/helpers.ts";
import { startPgCluster } from "../../../test/pg-cluster.ts";
import { readEnv } from "../../config/env.ts";
import { createLogger } from "../../logging/logger.ts";
import { openRuntime, type Runtime, sealSourceKey } from "../../pipeline/runtime.ts";
import { type RunningSimulator, startSimulator } from "../../simulator/index.ts";

async function withStore<T>(env: NodeJS.ProcessEnv, fn: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await openRuntime(readEnv(env), createLogger({ level: "silent" }));
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

describe("unleased runs beside a fleet", { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-unleased-"));
  let sim: RunningSimulator;
  let cluster: Awaited<ReturnType<typeof startPgCluster>>;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    sim = await startSimulator({ seed: 14, history: { days: 1, eventsPerDay: 40 } });
    cluster = await startPgCluster();
    env = { VIGIL_DATA_DIR: join(dir, "pg"), VIGIL_DATABASE_URL: cluster.connectionString };
    await withStore(env, async (runtime) => {
      const settings = sourceSettings({ name: "Acme", baseUrl: sim.baseUrl, backfillDays: 0 });
      await runtime.store.createSource(settings, sealSourceKey(runtime, settings, sim.adminKey));
      // A dead worker (its heartbeat older than its 200 ms TTL) and two live ones.
      await runtime.store.heartbeatWorker(
        { id: "w-dead", host: "host-c", pid: 3, version: "test", incarnation: "i" },
        200,
        0,
      );
      await sleep(400);
      await runtime.store.heartbeatWorker(
        { id: "w-one", host: "host-a", pid: 1, version: "test", incarnation: "i" },
        120_000,
        0,
      );
      await runtime.store.heartbeatWorker(
        { id: "w-two", host: "host-b", pid: 2, version: "test", incarnation: "i" },
        120_000,
        0,
      );
    });
  });
  after(async () => {
    await cluster?.stop();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("vigil poll --once names the live workers and says its requests duplicate theirs, then polls", async () => {
    const r = await runVigil(["poll", "--once"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^Warning: 2 live workers share this database \(w-one on host-a, w-two on host-b\)\./m);
    assert.match(r.stderr, /`vigil poll --once` is not leased/);
    assert.match(r.stderr, /same API requests again/);
    assert.doesNotMatch(r.stderr, /w-dead/, "a dead worker polls nothing");
    assert.doesNotMatch(r.stdout, /Warning/, "stdout keeps the command's output only");
    assert.match(r.stdout, /^Acme: \d+ events read, \d+ new, 0 quarantined/m);
  });

  it("vigil backfill names the live workers and says the history is requested twice, then backfills", async () => {
    const r = await runVigil(["backfill", "--source", "Acme", "--since", "1d", "--concurrency", "2"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: 2 live workers share this database \(w-one on host-a, w-two on host-b\)\./);
    assert.match(r.stderr, /`vigil backfill` is not leased/);
    assert.match(r.stderr, /requested twice/);
    assert.match(r.stdout, /^Backfill job \d+ done: \d+ events read, \d+ new/m);
  });

  it("says nothing once the workers have stopped", async () => {
    await withStore(env, async (runtime) => {
      await runtime.store.leaveFleet("w-one");
      await runtime.store.leaveFleet("w-two");
    });
    const r = await runVigil(["poll", "--once"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Warning|not leased/);
    assert.match(r.stdout, /^Acme: /m);
  });

  it("says nothing on SQLite", async () => {
    const r = await runVigil(["poll", "--once"], { VIGIL_DATA_DIR: join(dir, "sqlite") });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Warning|not leased/);
  });
});
