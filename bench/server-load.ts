// Server under load (issue 16, finding 5): a SQLite store of 1,000,000 events and 100,000 alerts, the real
// server in its own process, 20 clients reading the API (overview, event searches up to 10,000 events,
// alert lists) for 20 s while one more client times /healthz. Targets: /healthz p99 < 50 ms, overview
// p95 < 200 ms, server RSS < 500 MB. Baselines from the same run: /healthz on the idle server (what the
// machine gives with nothing else to do) and a bare `SELECT count(*) FROM events` (what the old overview
// paid at least once per request, on the event loop).
// Run alone: node --import tsx bench/server-load.ts [events] [alerts] [seconds]   (or `npm run bench -- --only server`)

import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SEVERITIES } from "../src/core/detection.ts";
import { pageRecords } from "../src/pipeline/page-records.ts";
import { loadOpenAIAuditLogType } from "../src/schema/index.ts";
import { sha256 } from "../src/server/auth.ts";
import { SESSION_COOKIE } from "../src/server/routes/session.ts";
import { createSimulatedOrg } from "../src/simulator/index.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import { sourceSettings } from "../test/helpers.ts";
import { benchScript, firstJsonLine, spawnTs } from "./child.ts";

export interface ServerLoadFigures {
  events: number;
  alerts: number;
  seedSecs: number;
  clients: number;
  seconds: number;
  idleHealthz: { p50: number; p99: number };
  bareCountMs: number;
  idleOverviewP50: number;
  healthz: { p50: number; p99: number; max: number; n: number };
  /** The overview timed by an observer outside the loaded clients' process (the target's figure). */
  overviewProbe: { p50: number; p95: number; n: number };
  byKind: Record<string, { p50: number; p95: number; n: number }>;
  errors: number;
  timeouts: number;
  megabytesSent: number;
  peakRssMb: number | null;
  /** The server's own event loop delay under load (perf_hooks): how long the loop itself was held. */
  eventLoopDelay: { p50: number; p99: number; max: number } | null;
}

const DAYS = 90;
const BATCH = 20_000;

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

function mostCommon(values: (string | null)[]): string {
  const counts = new Map<string, number>();
  for (const v of values) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "";
}

/** Fills the store straight through better-sqlite3 (triggers keep the search index and counters). */
async function seed(dataDir: string, events: number, alerts: number, endSecs: number) {
  const org = createSimulatedOrg({ seed: 17, history: { days: 10, eventsPerDay: 2000, endSecs } });
  const pool = pageRecords(org.allEvents(), {
    sourceId: "bench",
    sourceLabel: "bench",
    parseTimeMs: 0,
    normalizer: loadOpenAIAuditLogType(),
  }).events;
  const store = await openSqliteStore({ path: join(dataDir, "vigil.db"), readers: 0 });
  try {
    const source = await store.createSource(sourceSettings({ name: "bench" }), { ciphertext: "unused" });
    const user = await store.createUser({ username: "bench", passwordHash: "unused", role: "analyst" });
    const cookieValue = randomBytes(24).toString("base64url");
    await store.createSession({
      tokenHash: sha256(cookieValue),
      userId: user.id,
      csrf: "unused",
      createdAtMs: Date.now(),
      expiresAtMs: Date.now() + 3600_000,
    });
    const db = store.connection;
    const insertEvent = db.prepare(
      `INSERT INTO events (source_num, id, type, effective_at, actor_type, actor_id, actor_email, ip, project_id,
         raw, ingested_at_ms) VALUES ((SELECT num FROM source_numbers WHERE source_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const startSecs = endSecs - DAYS * 86_400;
    const step = (DAYS * 86_400) / events;
    const now = Date.now();
    for (let start = 0; start < events; start += BATCH) {
      db.transaction(() => {
        for (let i = start; i < Math.min(start + BATCH, events); i++) {
          const base = pool[i % pool.length]!;
          const id = `audit_log-bench-${i}`;
          insertEvent.run(
            source.id,
            id,
            base.type,
            Math.floor(startSecs + i * step),
            base.actorType,
            base.actorId,
            base.actorEmail,
            base.ip,
            base.projectId,
            base.raw.replace(base.id, id),
            now,
          );
        }
      })();
    }
    // Counted and queued for the text index as applyPage would (store/events.ts), then indexed.
    db.exec(`INSERT INTO event_counts (source_id, day_secs, type, events)
      SELECT n.source_id, (effective_at / 86400) * 86400, type, count(*)
      FROM events JOIN source_numbers n ON n.num = events.source_num GROUP BY 1, 2, 3`);
    db.exec("INSERT INTO event_text_pending (seq) SELECT seq FROM events");
    await store.indexPendingText();
    const insertAlert = db.prepare(
      `INSERT INTO alerts (id, rule_id, pack_id, source_id, dedup_string, is_error, title, severity, status,
         alert_context, description, reference, runbook, destinations, window_start_secs, window_end_secs,
         match_count, created_at_ms, updated_at_ms)
       VALUES (?, ?, 'openai', ?, ?, 0, ?, ?, ?, '{}', 'A benchmark alert', NULL, NULL, NULL, ?, ?, 1, ?, ?)`,
    );
    const statuses = ["OPEN", "OPEN", "OPEN", "ACKNOWLEDGED", "RESOLVED"] as const;
    db.transaction(() => {
      for (let i = 0; i < alerts; i++) {
        const at = Math.floor(startSecs + (i * DAYS * 86_400) / alerts);
        insertAlert.run(
          `alert-${i}`,
          `Bench.Rule${i % 20}`,
          source.id,
          `dedup-${i}`,
          `Benchmark alert ${i}`,
          SEVERITIES[i % SEVERITIES.length],
          statuses[i % statuses.length],
          at,
          at + 3600,
          at * 1000,
          at * 1000,
        );
      }
    })();
    const t = performance.now();
    db.prepare("SELECT count(*) FROM events").pluck().get();
    const bareCountMs = performance.now() - t;
    return {
      cookie: `${SESSION_COOKIE}=${cookieValue}`,
      email: mostCommon(pool.map((r) => r.actorEmail)),
      bareCountMs,
    };
  } finally {
    await store.close();
  }
}

async function timeRequests(url: string, path: string, n: number, cookie?: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await fetch(new URL(path, url), cookie ? { headers: { cookie } } : {});
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    times.push(performance.now() - t);
  }
  return times;
}

function peakRssMb(pid: number | undefined): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

export async function benchServerLoad(events = 1_000_000, alerts = 100_000, seconds = 20): Promise<ServerLoadFigures> {
  const clients = 20;
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-server-"));
  const dataDir = join(dir, "data");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    const t0 = performance.now();
    const seeded = await seed(dataDir, events, alerts, Math.floor(Date.now() / 1000));
    const seedSecs = (performance.now() - t0) / 1000;

    const loopFile = join(dir, "loop.json");
    const server = spawnTs(benchScript("./server-load-child.ts"), [dataDir, loopFile]);
    let loop: ServerLoadFigures["eventLoopDelay"] = null;
    try {
      const { url } = await firstJsonLine<{ url: string }>(server);
      const idle = await timeRequests(url, "/healthz", 300);
      const idleOverview = await timeRequests(url, "/api/overview", 30, seeded.cookie);
      server.kill("SIGUSR2"); // start measuring the event loop's delay with the load

      const load = spawnTs(benchScript("./server-load-clients.ts"), [
        url,
        seeded.cookie,
        String(clients),
        String(seconds),
        seeded.email,
      ]);
      const report = firstJsonLine<{
        latencies: Record<string, number[]>;
        errors: number;
        timeouts: number;
        bytes: number;
      }>(load);
      let finished = false;
      void report.finally(() => {
        finished = true;
      });
      const healthz: number[] = [];
      const overview: number[] = [];
      // Two observers outside the loaded clients' process, whose own event loop (busy parsing megabytes of
      // answers) would otherwise add its delays to what it times: /healthz every 20 ms, the overview every 100 ms.
      const probe = async (path: string, into: number[], everyMs: number, cookie?: string) => {
        while (!finished) {
          const t = performance.now();
          const res = await fetch(new URL(path, url), {
            signal: AbortSignal.timeout(10_000),
            ...(cookie ? { headers: { cookie } } : {}),
          });
          await res.arrayBuffer();
          into.push(performance.now() - t);
          await new Promise((r) => setTimeout(r, everyMs));
        }
      };
      await Promise.all([probe("/healthz", healthz, 20), probe("/api/overview", overview, 100, seeded.cookie)]);
      const r = await report;
      const rss = peakRssMb(server.pid);
      server.kill("SIGTERM");
      await new Promise((resolve) => server.once("exit", resolve));
      loop = JSON.parse(readFileSync(loopFile, "utf8"));
      const byKind: ServerLoadFigures["byKind"] = {};
      for (const [kind, times] of Object.entries(r.latencies)) {
        byKind[kind] = { p50: percentile(times, 50), p95: percentile(times, 95), n: times.length };
      }
      return {
        events,
        alerts,
        seedSecs,
        clients,
        seconds,
        idleHealthz: { p50: percentile(idle, 50), p99: percentile(idle, 99) },
        bareCountMs: seeded.bareCountMs,
        idleOverviewP50: percentile(idleOverview, 50),
        healthz: {
          p50: percentile(healthz, 50),
          p99: percentile(healthz, 99),
          max: Math.max(...healthz),
          n: healthz.length,
        },
        overviewProbe: { p50: percentile(overview, 50), p95: percentile(overview, 95), n: overview.length },
        byKind,
        errors: r.errors,
        timeouts: r.timeouts,
        megabytesSent: r.bytes / 1e6,
        peakRssMb: rss,
        eventLoopDelay: loop,
      };
    } finally {
      if (server.exitCode === null) {
        server.kill("SIGTERM");
        await new Promise((resolve) => server.once("exit", resolve));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatServerLoadFigures(f: ServerLoadFigures): string {
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  const kinds = Object.entries(f.byKind)
    .map(
      ([k, v]) => `  ${k.padEnd(11)} p50 ${ms(v.p50).padStart(10)} | p95 ${ms(v.p95).padStart(10)} | ${v.n} requests`,
    )
    .join("\n");
  return [
    `events ${f.events.toLocaleString("en-US")} | alerts ${f.alerts.toLocaleString("en-US")} | seeded in ${f.seedSecs.toFixed(1)} s | ${f.clients} clients for ${f.seconds} s`,
    `baselines: idle /healthz p50 ${ms(f.idleHealthz.p50)}, p99 ${ms(f.idleHealthz.p99)} | bare count(*) of events ${ms(f.bareCountMs)} | idle overview p50 ${ms(f.idleOverviewP50)}`,
    `/healthz under load: p50 ${ms(f.healthz.p50)} | p99 ${ms(f.healthz.p99)} (target < 50 ms; ${(f.healthz.p99 / f.idleHealthz.p99).toFixed(1)}× idle p99) | max ${ms(f.healthz.max)} | ${f.healthz.n} probes`,
    kinds,
    `overview under load (observer): p50 ${ms(f.overviewProbe.p50)} | p95 ${ms(f.overviewProbe.p95)} (target < 200 ms; ${(f.overviewProbe.p95 / f.bareCountMs).toFixed(2)}× one bare count(*) of events) | ${f.overviewProbe.n} probes; as the loaded clients saw it: p95 ${ms(f.byKind.overview?.p95 ?? Number.NaN)}`,
    `server event loop delay under load: p50 ${ms(f.eventLoopDelay?.p50 ?? Number.NaN)} | p99 ${ms(f.eventLoopDelay?.p99 ?? Number.NaN)} | max ${ms(f.eventLoopDelay?.max ?? Number.NaN)} (10 ms resolution)`,
    `errors ${f.errors} | timeouts ${f.timeouts} | ${f.megabytesSent.toFixed(0)} MB sent | server peak RSS ${f.peakRssMb === null ? "n/a" : `${f.peakRssMb.toFixed(0)} MB`} (target < 500 MB)`,
    "",
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const events = Number(process.argv[2] ?? 1_000_000);
  const alerts = Number(process.argv[3] ?? Math.max(1, Math.floor(events / 10)));
  const seconds = Number(process.argv[4] ?? 20);
  process.stdout.write(formatServerLoadFigures(await benchServerLoad(events, alerts, seconds)));
}
