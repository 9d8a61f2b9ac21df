// GET /api/workers and the fleet's /metrics families, on a SQLite store whose ledger holds three workers as a
// fleet would leave them: one live with leases, one stopped cleanly, one dead (silent past its lease TTL).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { sourceSettings } from "../../../test/helpers.ts";
import { readEnv } from "../../config/env.ts";
import type { WorkerIdentity } from "../../core/fleet.ts";
import { createLogger } from "../../logging/logger.ts";
import { openRuntime, type Runtime, sealSourceKey } from "../../pipeline/runtime.ts";
import { SQLITE_FLEET_NOTE } from "../../usecases/workers.ts";
import { createApp } from "../app.ts";
import { createApiToken, createUser } from "../auth.ts";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Json = any;

const MARKUP = '<img src=x onerror="alert(1)">';
const worker = (id: string, host = "host-a"): WorkerIdentity => ({
  id,
  host,
  pid: 4242,
  version: "test",
  incarnation: `${id}-1`,
});

describe("GET /api/workers and the fleet metrics", () => {
  const scratch = mkdtempSync(join(tmpdir(), "vigil-workers-api-"));
  let runtime: Runtime;
  let app: ReturnType<typeof createApp>;
  let token: string;
  const ids: Record<string, string> = {};

  before(async () => {
    runtime = await openRuntime(readEnv({ VIGIL_DATA_DIR: scratch }), createLogger({ level: "silent" }));
    for (const name of ["Zeta org", "Alpha org", "Idle org"]) {
      const settings = sourceSettings({ name });
      const s = await runtime.store.createSource(settings, sealSourceKey(runtime, settings, "sk-admin-test"));
      ids[name] = s.id;
    }
    const { store } = runtime;
    // Dead: registered, claimed, then silent past its 200 ms TTL.
    await store.heartbeatWorker(worker("w-dead", "host-c"), 200, 0);
    await store.claimLeases("w-dead", [`source:${ids["Idle org"]}`], 200);
    await sleep(400);
    await store.heartbeatWorker(worker("w-live", MARKUP), 30_000, 3);
    await store.claimLeases(
      "w-live",
      [
        `source:${ids["Zeta org"]}`,
        `source:${ids["Alpha org"]}`,
        "source:gone-source",
        "backfill:job1:0",
        "backfill:job1:1",
        "cluster:health",
      ],
      30_000,
    );
    await store.heartbeatWorker(worker("w-stopped", "host-b"), 30_000, 1);
    await store.claimLeases("w-stopped", ["cluster:delivery"], 30_000);
    await store.leaveFleet("w-stopped");
    app = createApp(runtime, { consoleDir: null });
    token = (await createApiToken(runtime.store, "t", Date.now() + 86_400_000)).token;
  });

  after(async () => {
    await runtime?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const get = async (path: string, headers: Record<string, string> = { authorization: `Bearer ${token}` }) => {
    const res = await app.request(`http://localhost${path}`, { headers });
    return { status: res.status, text: await res.text() };
  };

  it("lists each worker's state and what it holds: sources by name, slices and cluster jobs counted", async () => {
    const res = await get("/api/workers");
    assert.equal(res.status, 200);
    const body = JSON.parse(res.text) as Json;
    assert.equal(body.database, "sqlite");
    assert.equal(body.note, SQLITE_FLEET_NOTE);
    assert.deepEqual(
      body.workers.map((w: Json) => [w.id, w.state]),
      [
        ["w-live", "live"],
        ["w-dead", "dead"],
        ["w-stopped", "stopped"],
      ],
    );
    const [live, dead, stopped] = body.workers as Json[];
    assert.equal(live.host, MARKUP, "the API returns data; the console escapes it");
    assert.deepEqual(
      live.sources.map((s: Json) => s.name),
      ["Alpha org", "gone-source", "Zeta org"],
      "by name, sorted; a source removed meanwhile shows its id",
    );
    assert.deepEqual([live.backfillSlices, live.clusterJobs, live.otherLeases, live.rebalances], [2, 1, 0, 3]);
    assert.ok(live.heartbeatAgeMs >= 0 && live.heartbeatAgeMs < 10_000, String(live.heartbeatAgeMs));
    assert.equal(live.leaseTtlMs, 30_000);
    assert.deepEqual(dead.sources, [], "a dead worker's leases expired with it");
    assert.ok(dead.heartbeatAgeMs >= 300, String(dead.heartbeatAgeMs));
    assert.deepEqual([stopped.clusterJobs, typeof stopped.stoppedAtMs], [0, "number"], "a clean stop released all");
    assert.deepEqual(body.unassignedSources, [], "on SQLite one process polls every source, leases or not");
  });

  it("is read-only and open to any signed-in user, an analyst included; refused without credentials", async () => {
    await createUser(runtime.store, "ana", "analyst-password-long", "analyst");
    const login = await app.request("http://localhost/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "ana", password: "analyst-password-long" }),
    });
    assert.equal(login.status, 200);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const asAnalyst = await get("/api/workers", { cookie });
    assert.equal(asAnalyst.status, 200);
    assert.equal((JSON.parse(asAnalyst.text) as Json).workers.length, 3);
    assert.equal((await get("/api/workers", {})).status, 401);
    const post = await app.request("http://localhost/api/workers", {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(post.status, 404, "nothing changes the fleet through the API");
  });

  it("exposes workers by state, leases per worker and rebalances on /metrics", async () => {
    const res = await get("/metrics");
    assert.equal(res.status, 200);
    const m = res.text;
    assert.match(m, /^# TYPE vigil_workers gauge$/m);
    assert.match(m, /^vigil_workers\{state="live"\} 1$/m);
    assert.match(m, /^vigil_workers\{state="stopped"\} 1$/m);
    assert.match(m, /^vigil_workers\{state="dead"\} 1$/m);
    assert.match(m, /^vigil_worker_leases\{worker="w-live"\} 6$/m);
    assert.match(m, /^vigil_worker_leases\{worker="w-dead"\} 0$/m);
    assert.match(m, /^vigil_worker_leases\{worker="w-stopped"\} 0$/m);
    assert.match(m, /^# TYPE vigil_lease_rebalances_total counter$/m);
    assert.match(m, /^vigil_lease_rebalances_total\{worker="w-live"\} 3$/m);
    assert.match(m, /^vigil_lease_rebalances_total\{worker="w-stopped"\} 1$/m);
  });
});
