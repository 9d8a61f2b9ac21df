// Fleet benchmark (issue 14): N sources, each its own simulated OpenAI organization with its own admin key (so
// requests are counted per key), polled by `vigil start` worker processes sharing one throwaway PostgreSQL
// cluster (test/pg-cluster.ts). Each configuration (1 worker: the baseline; then 3) gets a fresh schema; after a
// warm-up (every source's first poll and its empty backfill) it measures over whole poll intervals:
//
// - API requests per source per interval, from the simulators' counters (goal: one poll's worth, what one
//   worker makes; a fleet where every worker polls every source makes workers × that);
// - polls per source per interval and p95 poll lag, from the workers' JSON logs (the poll summary line of every
//   poll, merged across workers): lag = how much later than one interval after the previous poll of the same
//   source, by any worker, a poll finished;
// - RSS per worker (/proc: VmRSS at the end, VmHWM the peak).
//
// The workers are real processes (`node bin/vigil.mjs start`), configured as docs/deploy.md says: the same
// VIGIL_SECRET_KEY, VIGIL_DATABASE_URL and VIGIL_DATABASE_SCHEMA, their own VIGIL_WORKER_ID, VIGIL_PORT=0.

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { readEnv } from "../src/config/env.ts";
import { createLogger } from "../src/logging/logger.ts";
import { openRuntime, sealSourceKey } from "../src/pipeline/runtime.ts";
import { createUser } from "../src/server/auth.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/index.ts";
import { sourceSettings } from "../test/helpers.ts";
import { startPgCluster } from "../test/pg-cluster.ts";

const VIGIL_BIN = fileURLToPath(new URL("../bin/vigil.mjs", import.meta.url));

export interface FleetBenchOptions {
  sources: number;
  intervalSecs: number;
  /** Intervals left out at the start (first polls, backfills, workers joining). */
  warmupIntervals: number;
  measureIntervals: number;
  /** The configurations, in order; the first is the baseline. */
  workerCounts: number[];
}

export interface FleetRun {
  workers: number;
  sources: number;
  intervalSecs: number;
  measuredSecs: number;
  /** From the simulators: requests each source's key received per poll interval (mean, and the busiest key). */
  requestsPerSourcePerInterval: number;
  maxRequestsPerSourcePerInterval: number;
  /** From the workers' logs: polls finished per source per interval, all workers together. */
  pollsPerSourcePerInterval: number;
  failedPolls: number;
  /** Seconds a poll came later than one interval after the source's previous poll (p95 and max over polls). */
  p95LagSecs: number;
  maxLagSecs: number;
  /** Per worker, MB. */
  rssMb: number[];
  peakRssMb: number[];
  /** Polls per worker in the window: how the sources were shared. */
  pollsPerWorker: number[];
  /** What `vigil workers --json` says at the end: live workers and the sources each holds (none without leases). */
  ledger: { live: number; sourcesPerWorker: number[] };
}

interface PollLine {
  worker: number;
  source: string;
  atMs: number;
  ok: boolean;
}

/** `vigil workers --json` against the fleet's database, as an operator would run it. */
function readLedger(env: NodeJS.ProcessEnv): Promise<FleetRun["ledger"]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VIGIL_BIN, "workers", "--json"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += String(d);
    });
    child.stderr.on("data", (d) => {
      err += String(d);
    });
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`vigil workers failed (${code}): ${err}`));
      const live = out
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as { state: string; sources: unknown[] })
        .filter((w) => w.state === "live");
      resolve({ live: live.length, sourcesPerWorker: live.map((w) => w.sources.length) });
    });
  });
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function procStatusMb(pid: number | undefined, field: "VmRSS" | "VmHWM"): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** One simulated organization per source, each with its own key: the counters say who polled whom how often. */
async function startOrgs(n: number): Promise<RunningSimulator[]> {
  const nowSecs = Math.floor(Date.now() / 1000);
  const sims: RunningSimulator[] = [];
  for (let i = 0; i < n; i++) {
    sims.push(
      await startSimulator({
        seed: 1000 + i,
        adminKey: `sk-admin-fleet-bench-${String(i).padStart(4, "0")}-${randomBytes(8).toString("hex")}`,
        history: { days: 1, eventsPerDay: 48, endSecs: nowSecs },
        live: { eventsPerMinute: 1 },
        tenantShare: 0,
      }),
    );
  }
  return sims;
}

async function runConfiguration(
  workers: number,
  sims: RunningSimulator[],
  databaseUrl: string,
  options: FleetBenchOptions,
): Promise<FleetRun> {
  const schema = `fleet_bench_${workers}w`;
  const secretKey = randomBytes(32).toString("base64");
  const scratch = mkdtempSync(join(tmpdir(), "vigil-fleet-bench-"));
  const baseEnv = {
    VIGIL_DATABASE_URL: databaseUrl,
    VIGIL_DATABASE_SCHEMA: schema,
    VIGIL_SECRET_KEY: secretKey,
    VIGIL_ALLOW_PLAIN_HTTP: "1",
    VIGIL_LOG_LEVEL: "info",
    VIGIL_LOG_FORMAT: "json" as const,
  };
  // The sources and a console user exist before any worker starts (as after `vigil sources add` on one machine).
  const setup = await openRuntime(
    readEnv({ ...baseEnv, VIGIL_DATA_DIR: join(scratch, "setup") }),
    createLogger({ level: "silent" }),
  );
  try {
    for (const [i, sim] of sims.entries()) {
      const settings = sourceSettings({
        name: `org-${String(i).padStart(4, "0")}`,
        baseUrl: sim.baseUrl,
        pollIntervalSecs: options.intervalSecs,
        backfillDays: 0,
        includeTenantEvents: false,
        noDataAlertEnabled: false,
        postureIntervalSecs: 0,
      });
      await setup.store.createSource(settings, sealSourceKey(setup, settings, sim.adminKey));
    }
    await createUser(setup.store, "admin", randomBytes(18).toString("base64url"), "admin");
  } finally {
    await setup.close();
  }

  const lines: PollLine[] = [];
  const children: ChildProcess[] = [];
  for (let w = 0; w < workers; w++) {
    const child = spawn(process.execPath, [VIGIL_BIN, "start"], {
      env: {
        ...process.env,
        OPENAI_ADMIN_KEY: "",
        OPENAI_BASE_URL: "",
        ...baseEnv,
        VIGIL_DATA_DIR: join(scratch, `worker-${w}`),
        VIGIL_PORT: "0",
        VIGIL_WORKER_ID: `bench-worker-${w}`,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(child);
    createInterface({ input: child.stderr! }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      let entry: { time?: number; source?: string; inserted?: unknown; msg?: string };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (typeof entry.source !== "string" || typeof entry.time !== "number") return;
      // The scheduler's summary of every poll carries `inserted`; a failed poll logs "Polling … failed".
      if (typeof entry.inserted === "number")
        lines.push({ worker: w, source: entry.source, atMs: entry.time, ok: true });
      else if (entry.msg?.startsWith(`Polling ${entry.source} failed`)) {
        lines.push({ worker: w, source: entry.source, atMs: entry.time, ok: false });
      }
    });
  }

  const intervalMs = options.intervalSecs * 1000;
  try {
    await sleep(options.warmupIntervals * intervalMs);
    const windowStartMs = Date.now();
    const before = sims.map((s) => s.stats().requests);
    await sleep(options.measureIntervals * intervalMs);
    const windowEndMs = Date.now();
    const after = sims.map((s) => s.stats().requests);
    const ledger = await readLedger({
      ...process.env,
      ...baseEnv,
      VIGIL_DATA_DIR: join(scratch, "setup"),
      VIGIL_LOG_LEVEL: "silent",
    });
    const rssMb = children.map((c) => procStatusMb(c.pid, "VmRSS"));
    const peakRssMb = children.map((c) => procStatusMb(c.pid, "VmHWM"));
    for (const [w, c] of children.entries()) {
      if (c.exitCode !== null) throw new Error(`worker ${w} exited (${c.exitCode}) during the benchmark`);
    }

    const intervals = (windowEndMs - windowStartMs) / intervalMs;
    const perKey = after.map((a, i) => (a - (before[i] ?? 0)) / intervals);
    const inWindow = lines.filter((l) => l.atMs >= windowStartMs && l.atMs < windowEndMs);
    // Lag: every successful poll in the window against the source's previous poll (which may precede the window).
    const bySource = new Map<string, number[]>();
    for (const l of lines.filter((x) => x.ok && x.atMs < windowEndMs)) {
      bySource.set(l.source, [...(bySource.get(l.source) ?? []), l.atMs]);
    }
    const lags: number[] = [];
    for (const times of bySource.values()) {
      times.sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) {
        const t = times[i] ?? 0;
        if (t >= windowStartMs) lags.push(Math.max(0, t - (times[i - 1] ?? 0) - intervalMs) / 1000);
      }
    }
    return {
      workers,
      sources: sims.length,
      intervalSecs: options.intervalSecs,
      measuredSecs: (windowEndMs - windowStartMs) / 1000,
      requestsPerSourcePerInterval: perKey.reduce((a, b) => a + b, 0) / perKey.length,
      maxRequestsPerSourcePerInterval: Math.max(...perKey),
      pollsPerSourcePerInterval: inWindow.filter((l) => l.ok).length / sims.length / intervals,
      failedPolls: inWindow.filter((l) => !l.ok).length,
      p95LagSecs: percentile(lags, 95),
      maxLagSecs: Math.max(0, ...lags),
      rssMb,
      peakRssMb,
      pollsPerWorker: children.map((_, w) => inWindow.filter((l) => l.ok && l.worker === w).length),
      ledger,
    };
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            const timer = setTimeout(() => c.kill("SIGKILL"), 15_000);
            c.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            c.kill("SIGTERM");
          }),
      ),
    );
    rmSync(scratch, { recursive: true, force: true });
  }
}

export async function benchFleet(options: FleetBenchOptions): Promise<FleetRun[]> {
  const cluster = await startPgCluster();
  const sims = await startOrgs(options.sources);
  try {
    const runs: FleetRun[] = [];
    for (const workers of options.workerCounts)
      runs.push(await runConfiguration(workers, sims, cluster.connectionString, options));
    return runs;
  } finally {
    await Promise.all(sims.map((s) => s.close()));
    await cluster.stop();
  }
}

export function formatFleetFigures(runs: FleetRun[]): string {
  const f = (n: number, digits = 2) =>
    Number.isFinite(n)
      ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
      : "n/a";
  const baseline = runs[0];
  return runs
    .map((r) => {
      const vs =
        baseline && r !== baseline
          ? ` (${f(r.requestsPerSourcePerInterval / baseline.requestsPerSourcePerInterval)}× the ${baseline.workers}-worker baseline)`
          : " (baseline)";
      return (
        `${r.workers} worker${r.workers === 1 ? "" : "s"} | ${r.sources} sources every ${r.intervalSecs} s, ${f(r.measuredSecs, 0)} s measured | ` +
        `API requests per source per interval ${f(r.requestsPerSourcePerInterval)}${vs}, busiest key ${f(r.maxRequestsPerSourcePerInterval)} | ` +
        `polls per source per interval ${f(r.pollsPerSourcePerInterval)} (goal 1.00), failed ${r.failedPolls} | ` +
        `poll lag p95 ${f(r.p95LagSecs, 1)} s, max ${f(r.maxLagSecs, 1)} s | ` +
        `polls per worker ${r.pollsPerWorker.join(" / ")} | vigil workers: ${r.ledger.live} live${r.ledger.live > 0 ? ` holding ${r.ledger.sourcesPerWorker.join(" / ")} sources` : ""} | RSS per worker ${r.rssMb.map((m) => f(m, 0)).join(" / ")} MB (peak ${r.peakRssMb.map((m) => f(m, 0)).join(" / ")} MB)`
      );
    })
    .join("\n");
}
