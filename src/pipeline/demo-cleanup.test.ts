// Issue 12: the demo source cleans up after itself. Once a real source exists the demo source (which polls
// the simulator that only `vigil start`'s demo mode serves) is removed with a log line saying why, and the
// scheduler never polls it.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { capturingLogger } from "../../test/helpers.ts";
import { sourceSettings } from "../../test/storage-contract.ts";
import { readEnv } from "../config/env.ts";
import { DEMO_SOURCE_NAME } from "../config/source-defaults.ts";
import { openRuntime, pollAllOnce, type Runtime, retireDemoSource, sealSourceKey } from "./runtime.ts";
import { PollScheduler } from "./scheduler.ts";

/** An API stand-in that counts requests and refuses them (401: not retried, so the polls end quickly). */
async function countingServer(): Promise<{ server: Server; baseUrl: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(401).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, baseUrl: `http://127.0.0.1:${port}/v1`, hits: () => hits };
}

describe("demo source clean-up", { timeout: 60_000 }, () => {
  const scratch = mkdtempSync(join(tmpdir(), "vigil-demo-cleanup-"));
  const logs = capturingLogger();
  let runtime: Runtime;

  before(async () => {
    runtime = await openRuntime(readEnv({ VIGIL_DATA_DIR: scratch }), logs.logger);
  });
  after(async () => {
    await runtime.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function addSource(name: string, baseUrl: string) {
    const settings = sourceSettings(name, { baseUrl });
    return runtime.store.createSource(settings, sealSourceKey(runtime, settings, "sk-admin-test"));
  }

  it("keeps the demo source while it is the only source", async () => {
    await addSource(DEMO_SOURCE_NAME, "http://127.0.0.1:9/v1");
    assert.equal(await retireDemoSource(runtime), null);
    assert.ok(await runtime.store.getSource(DEMO_SOURCE_NAME));
    await runtime.store.removeSource((await runtime.store.getSource(DEMO_SOURCE_NAME))?.id ?? "");
  });

  it("removes the demo source once a real source exists, says so, and the scheduler never polls it", async () => {
    const demoApi = await countingServer();
    const realApi = await countingServer();
    try {
      const demo = await addSource(DEMO_SOURCE_NAME, demoApi.baseUrl);
      await addSource("Acme", realApi.baseUrl);

      const controller = new AbortController();
      const running = new PollScheduler(runtime).run(controller.signal);
      // Wait until the real source has been polled: by then the demo source would have been too.
      for (let i = 0; i < 200 && realApi.hits() === 0; i++) await sleep(50);
      controller.abort();
      await running;

      assert.ok(realApi.hits() > 0, "the real source is polled");
      assert.equal(demoApi.hits(), 0, "the demo source is never polled");
      assert.equal(await runtime.store.getSource(demo.id), null);
      assert.deepEqual(
        (await runtime.store.listSources()).map((s) => s.name),
        ["Acme"],
      );
      const line = logs.lines().find((l) => l.msg.startsWith("Removed the demo source"));
      assert.ok(line, JSON.stringify(logs.lines()));
      assert.equal(line.level, "warn");
      assert.match(line.msg, /now that a real source \("Acme"\) exists; nothing polls the built-in simulator/);
      // Nothing more to do afterwards.
      assert.equal(await retireDemoSource(runtime), null);
    } finally {
      demoApi.server.close();
      realApi.server.close();
    }
  });

  it("removes it before a one-off poll (vigil poll) too", async () => {
    const demoApi = await countingServer();
    try {
      await addSource(DEMO_SOURCE_NAME, demoApi.baseUrl);
      const outcomes = await pollAllOnce(runtime);
      assert.deepEqual(
        outcomes.map((o) => o.source.name),
        ["Acme"],
      );
      assert.equal(demoApi.hits(), 0);
      assert.equal(await runtime.store.getSource(DEMO_SOURCE_NAME), null);
    } finally {
      demoApi.server.close();
    }
  });
});
