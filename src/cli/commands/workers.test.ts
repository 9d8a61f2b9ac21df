// `vigil workers [--json]` run as a user would, on SQLite (where it says a fleet needs PostgreSQL) and on a
// PostgreSQL database whose ledger holds a live worker with leases and a dead one.

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
import { openRuntime, sealSourceKey } from "../../pipeline/runtime.ts";

/** Registers the fleet of this test in the store the environment names: w-live holds two sources and more. */
async function seedFleet(env: NodeJS.ProcessEnv): Promise<void> {
  const runtime = await openRuntime(readEnv(env), createLogger({ level: "silent" }));
  try {
    const ids: string[] = [];
    for (const name of ["Beta org", "Alpha org", "Idle org"]) {
      const settings = sourceSettings({ name });
      ids.push((await runtime.store.createSource(settings, sealSourceKey(runtime, settings, "sk-admin-test"))).id);
    }
    const { store } = runtime;
    await store.heartbeatWorker({ id: "w-dead", host: "host-b", pid: 2, version: "test", incarnation: "i1" }, 200, 0);
    await sleep(400);
    await store.heartbeatWorker(
      { id: "w-live", host: "host-a", pid: 1, version: "test", incarnation: "i2" },
      30_000,
      2,
    );
    await store.claimLeases(
      "w-live",
      [`source:${ids[0]}`, `source:${ids[1]}`, "backfill:j:0", "cluster:health", "cluster:delivery"],
      30_000,
    );
  } finally {
    await runtime.close();
  }
}

const lines = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("vigil workers", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-workers-cli-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("on SQLite says that fleets need PostgreSQL, in text and (on stderr) with --json", async () => {
    const env = { VIGIL_DATA_DIR: join(dir, "sqlite") };
    const empty = await runVigil(["workers"], env);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /SQLite: a single process .*fleets need PostgreSQL/);
    // Not "no worker": a `vigil start` may well be running; on SQLite it does not register.
    assert.doesNotMatch(empty.stdout, /No worker/);
    const json = await runVigil(["workers", "--json"], env);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stdout, "", "no worker, no line");
    assert.match(json.stderr, /fleets need PostgreSQL/);
  });

  describe("on PostgreSQL", () => {
    let cluster: Awaited<ReturnType<typeof startPgCluster>>;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      cluster = await startPgCluster();
      env = { VIGIL_DATA_DIR: join(dir, "pg"), VIGIL_DATABASE_URL: cluster.connectionString };
      await seedFleet(env);
    });
    after(async () => {
      await cluster?.stop();
    });

    it("lists live and dead workers, the sources each polls by name, slices and cluster jobs counted", async () => {
      const r = await runVigil(["workers"], env);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /SQLite/);
      assert.match(r.stdout, /^2 workers seen in the last day, 1 live\.$/m);
      assert.match(
        r.stdout,
        /^w-live\thost-a\tpid 1\tlive\theartbeat \d+ s ago\t2 sources, 1 backfill slice, 2 cluster jobs\trebalances 2$/m,
      );
      assert.match(r.stdout, /^ {2}sources: Alpha org, Beta org$/m);
      assert.match(r.stdout, /^w-dead\thost-b\tpid 2\tdead\t/m);
      assert.match(r.stdout, /^Not held by any live worker: Idle org$/m);
    });

    it("prints one JSON object per worker with --json, and nothing else on stdout", async () => {
      const r = await runVigil(["workers", "--json"], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      const [live, dead] = lines(r.stdout);
      assert.deepEqual([live?.id, live?.state, dead?.id, dead?.state], ["w-live", "live", "w-dead", "dead"]);
      assert.deepEqual(
        ((live?.sources ?? []) as Array<{ name: string }>).map((s) => s.name),
        ["Alpha org", "Beta org"],
      );
      assert.deepEqual([live?.backfillSlices, live?.clusterJobs, live?.rebalances], [1, 2, 2]);
    });
  });
});
