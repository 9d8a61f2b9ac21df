// Child process of fleet-failover.test.ts: one Vigil worker (the scheduler `vigil start` runs) on the database the
// environment names — a fleet worker on PostgreSQL, or the single process on SQLite — until it is killed.
// Every poll's start and end is appended to FLEET_POLL_LOG (one short line each, O_APPEND, so lines of several
// processes never interleave), which is how the test checks that no two workers ever poll one source at once.

import { setMaxListeners } from "node:events";
import { appendFileSync } from "node:fs";
import { readEnv } from "../src/config/env.ts";
import { fleetFor } from "../src/fleet/coordinator.ts";
import { createLogger } from "../src/logging/logger.ts";
import { SourcePoller } from "../src/pipeline/poller.ts";
import { openRuntime } from "../src/pipeline/runtime.ts";
import { PollScheduler } from "../src/pipeline/scheduler.ts";

const log = process.env.FLEET_POLL_LOG;
if (log) {
  // When this process's event loop did not run for a while (a starved worker on a busy host), and how long: a
  // worker reads on past its lease's deadline until its loop runs again, which the test allows for.
  const stalls: Array<{ atMs: number; ms: number }> = [];
  const TICK_MS = 50;
  let lastTick = Date.now();
  setInterval(() => {
    const now = Date.now();
    if (now - lastTick > 2 * TICK_MS) stalls.push({ atMs: now, ms: now - lastTick - TICK_MS });
    while (stalls.length > 0 && (stalls[0] as { atMs: number }).atMs < now - 600_000) stalls.shift();
    lastTick = now;
  }, TICK_MS).unref();
  const pollOnce = SourcePoller.prototype.pollOnce;
  SourcePoller.prototype.pollOnce = async function (this: SourcePoller, signal?: AbortSignal) {
    const sourceId = (this as unknown as { deps: { source: { id: string } } }).deps.source.id;
    const line = (phase: string, extra: Record<string, number> = {}) =>
      appendFileSync(log, `${JSON.stringify({ pid: process.pid, sourceId, phase, atMs: Date.now(), ...extra })}\n`);
    const startMs = Date.now();
    line("start");
    try {
      return await pollOnce.call(this, signal);
    } finally {
      // The longest stall during the poll (the loop resumed within it; the tick seen as the poll ends counts too).
      const gap = Date.now() - lastTick;
      const during = stalls.filter((st) => st.atMs >= startMs).map((st) => st.ms);
      line("end", { stallMs: Math.max(0, gap - TICK_MS, ...during) });
    }
  };
}

const env = readEnv();
const runtime = await openRuntime(env, createLogger({ level: process.env.FLEET_LOG_LEVEL ?? "silent" }));
const fleet = fleetFor(runtime);
const stop = new AbortController();
// Every source loop and backfill slice listens to it, as to `vigil start`'s stop signal.
setMaxListeners(1000, stop.signal);
process.once("SIGTERM", () => stop.abort());
process.stdout.write(`ready ${fleet?.identity.id ?? "single"}\n`);
try {
  // Short delivery leases: a delivery a killed worker had claimed is sent by another within seconds, not minutes.
  await new PollScheduler(runtime, fleet, { delivery: { sendTimeoutMs: 3_000, leaseMs: 4_000 } }).run(stop.signal);
} finally {
  await fleet?.stop();
  await runtime.close();
}
