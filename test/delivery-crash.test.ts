// Crash test for alert delivery: a worker process is SIGKILLed mid-delivery several times and restarted;
// in the end every delivery has reached the (slow) webhook at least once and is recorded as sent. Kills
// land between "the receiver got the request" and "the worker recorded it", so duplicates are expected
// (receivers drop them by delivery id); losses are not.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { reply, startHttpServer, type TestServer } from "../src/destinations/test-support.ts";
import type { Store } from "../src/storage/ports.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import { addSource, addWebhook, createAlerts, secretBoxIn } from "./delivery-helpers.ts";

const CHILD = fileURLToPath(new URL("./delivery-crash-child.ts", import.meta.url));
const ALERTS = 24;
const KILLS = 6;

function startChild(dataDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, dataDir], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.stdout?.once("data", () => resolve(child));
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

describe("delivery survives kill -9", () => {
  let dir: string;
  let store: Store;
  let server: TestServer;
  const received: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "vigil-delivery-crash-"));
    store = await openSqliteStore({ path: join(dir, "vigil.db") });
    // Slow: the request is received (and counted) well before the worker can record the outcome.
    server = await startHttpServer((req, res) => {
      received.push(String(req.headers["x-vigil-delivery-id"]));
      setTimeout(() => reply(res, 200), 400);
    });
    const secrets = secretBoxIn(dir);
    await addWebhook(store, secrets, "slow-hook", `${server.origin}/in`);
    const source = await addSource(store);
    assert.equal((await createAlerts(store, source, ALERTS)).length, ALERTS);
  });

  after(async () => {
    await server.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("loses no delivery", { timeout: 120_000 }, async () => {
    for (let i = 0; i < KILLS; i++) {
      const child = await startChild(dir);
      await sleep(250 + Math.floor(Math.random() * 300));
      await kill(child);
    }
    const killedMidway = new Set(received).size;
    const child = await startChild(dir);
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const pending = await store.listDeliveriesByStatus("pending", 1000);
        const outboxLeft = await store.listUnroutedOutbox(1);
        if (pending.length === 0 && outboxLeft.length === 0) break;
        assert.ok(Date.now() < deadline, `${pending.length} deliveries still pending`);
        await sleep(100);
      }
    } finally {
      await kill(child);
    }
    const sent = await store.listDeliveriesByStatus("sent", 1000);
    assert.equal(sent.length, ALERTS, "one delivery per alert, every one sent");
    assert.deepEqual(await store.listDeliveriesByStatus("failed", 1000), []);
    const got = new Set(received);
    for (const d of sent) assert.ok(got.has(d.id), `delivery ${d.id} never reached the webhook`);
    assert.equal(got.size, ALERTS);
    // The kills happened mid-run: some but not all deliveries were through before the last restart.
    assert.ok(killedMidway < ALERTS, `the worker finished before the kills (${killedMidway})`);
  });
});
