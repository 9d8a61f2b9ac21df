// Ingest, end to end, against the engine's limit. A new source backfills N simulated events from the simulator
// (an HTTP server in its own process) as `vigil start` does: 16 slices, 4 at a time, each page poll → validate →
// normalize → detect with the built-in packs → stored with its slice's progress (on SQLite the pages of slices
// ready at the same time in one transaction: PageCommitQueue; on PostgreSQL one transaction per page). The baseline is the database doing only the writes of the
// same rows, in the same page transactions (one per page the backfill stored): bare better-sqlite3 (WAL,
// synchronous=FULL, the same table and indexes) or bare PostgreSQL (INSERT … ON CONFLICT DO NOTHING, on a server
// with PostgreSQL's own durable settings, as deployed; and again with nothing flushed, the CPU's limit), in the
// same run (three times: the median, and the range, which is the machine's noise); and again in the backfill's own commits (several pages each), so grouping is credited to neither.
// Also: the same backfill with one page per commit (before grouping), without detection (the figure this bench
// printed before the one store), storage bytes per event next to the raw record's size, how long the text
// index takes to catch up after the backfill, and the CPU time the end-to-end run took per event, of this process
// and of the whole machine (with the database server and the simulator): where the machine's cores are all busy,
// the run is bound by the work it does per event, not by waiting. And which parts of the machine kept its cores
// busy (./cpu-parts.ts): no part near a whole core means no single thread is the limit.

import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { systemClock } from "../src/core/clock.ts";
import type { EventRow } from "../src/core/event.ts";
import { planSlices, runBackfillJob } from "../src/pipeline/backfill.ts";
import { openDetection } from "../src/pipeline/detection.ts";
import { loadOpenAIAuditLogType } from "../src/schema/index.ts";
import { OpenAIAuditLogClient } from "../src/sources/openai/client.ts";
import type { PageWrite, Store } from "../src/storage/ports.ts";
import { openPostgresStore } from "../src/storage/postgres/postgres-store.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import { sourceSettings } from "../test/helpers.ts";
import { type PgCluster, startPgCluster } from "../test/pg-cluster.ts";
import { withSimulator } from "./child.ts";
import { type CpuPart, coresByPart, cpuByPart } from "./cpu-parts.ts";

const normalizer = loadOpenAIAuditLogType();
const PAGE = 100;
/** A new source's backfill, as the poller plans it and `vigil start` runs it (poller.ts, runtime.ts). */
const NEW_SOURCE_SLICES = 16;
const CONCURRENCY = 4;
/** Runs of the bare engine; the ratio takes their median. */
const BARE_RUNS = 3;

export interface IngestFigures {
  engine: "sqlite" | "postgres";
  events: number;
  /** Average size of the API's records as JSON, bytes. */
  rawBytesPerEvent: number;
  /** Poll → normalize → detect → store. */
  endToEndPerSec: number;
  /** The same backfill with every page in its own transaction (before slices grouped their commits). */
  onePagePerCommitPerSec: number;
  /** The same without detection (the old "poll → store" figure). */
  withoutDetectionPerSec: number;
  /** The engine alone writing the same rows in the same page transactions: the median of BARE_RUNS runs. */
  barePerSec: number;
  /** The slowest and fastest of those runs: the machine's noise, which the ratio carries. */
  bareRangePerSec: [number, number];
  /** The engine alone writing the same rows in the end-to-end run's commits (several pages each). */
  bareGroupedPerSec: number;
  /** PostgreSQL only: the same as barePerSec with nothing flushed to disk (the CPU's limit); null for SQLite. */
  bareNotDurablePerSec: number | null;
  ratio: number;
  /** Pages the end-to-end run stored, and the transactions it stored them in. */
  pages: number;
  commits: number;
  /** Database bytes per event once the text index has caught up (SQLite: the file; PostgreSQL: the schema). */
  bytesPerEvent: number;
  /** Seconds from the end of the backfill until the text index held every event. */
  textIndexSecs: number;
  /** CPU time of this process (event loop and threads) per event in the end-to-end run, microseconds. */
  processCpuMicrosPerEvent: number;
  /** The machine's CPU time per event in the same run (the database server and the simulator included), if known. */
  machineCpuMicrosPerEvent: number | null;
  /** Of the machine's cores over the same run, the share that was busy, if known. */
  machineBusyShare: number | null;
  /** The machine's cores, as /proc/stat counts them. */
  machineCpus: number | null;
  /** The cores each part of the machine kept busy over the end-to-end run (cpu-parts.ts), if known. */
  coresByPart: Array<[CpuPart, number]> | null;
}

/**
 * Busy and total CPU time of the whole machine so far, in seconds, and its CPUs (Linux's /proc/stat, whose first
 * line sums every CPU of the host, whatever this process's affinity); null where it cannot be read.
 */
function machineCpu(): { busy: number; total: number; cpus: number } | null {
  if (!existsSync("/proc/stat")) return null;
  const lines = readFileSync("/proc/stat", "utf8").split("\n");
  // cpu  user nice system idle iowait irq softirq steal …, in clock ticks (100 a second). Idle, iowait and steal
  // (time a hypervisor gave to another machine) are not work done here.
  const ticks = lines[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  if (ticks.length < 8 || ticks.some((t) => !Number.isFinite(t))) return null;
  const total = ticks.reduce((a, b) => a + b, 0);
  const cpus = lines.filter((line) => /^cpu\d+ /.test(line)).length;
  return { busy: (total - ticks[3]! - ticks[4]! - ticks[7]!) / 100, total: total / 100, cpus };
}

/** The events table and indexes of migration 30 (a source by its number), the same in both engines' DDL. */
const EVENTS_DDL = (seq: string, text: string) => `
  CREATE TABLE events (
    seq ${seq},
    source_num integer NOT NULL, id ${text} NOT NULL, type ${text} NOT NULL, effective_at bigint NOT NULL,
    actor_type ${text}, actor_id ${text}, actor_email ${text}, ip ${text}, project_id ${text},
    raw ${text} NOT NULL, ingested_at_ms bigint NOT NULL,
    UNIQUE (source_num, id)
  );
  CREATE INDEX events_newest ON events (effective_at DESC);
  CREATE INDEX events_by_source ON events (source_num, effective_at DESC);
  CREATE INDEX events_by_type ON events (type, effective_at DESC);
  CREATE INDEX events_by_actor_email ON events (actor_email, effective_at DESC) WHERE actor_email IS NOT NULL;
  CREATE INDEX events_by_actor_id ON events (actor_id, effective_at DESC) WHERE actor_id IS NOT NULL;
  CREATE INDEX events_by_ip ON events (ip, effective_at DESC) WHERE ip IS NOT NULL;
  CREATE INDEX events_by_project ON events (project_id, effective_at DESC) WHERE project_id IS NOT NULL;`;

const columns = (sourceNum: number, e: EventRow, nowMs: number) => [
  sourceNum,
  e.id,
  e.type,
  e.effectiveAtSecs,
  e.actorType ?? null,
  e.actorId ?? null,
  e.actorEmail ?? null,
  e.ip ?? null,
  e.projectId ?? null,
  e.raw,
  nowMs,
];

/** Seconds to write `transactions`, each one transaction of rows. */
function bareSqlite(dir: string, transactions: EventRow[][]): number {
  rmSync(join(dir, "bare.db"), { force: true });
  rmSync(join(dir, "bare.db-wal"), { force: true });
  rmSync(join(dir, "bare.db-shm"), { force: true });
  const db = new Database(join(dir, "bare.db"));
  // The store's settings for a new file (sqlite-store.ts).
  db.pragma("page_size = 8192");
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(EVENTS_DDL("INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT"));
  const insert = db.prepare(
    `INSERT INTO events (source_num, id, type, effective_at, actor_type, actor_id, actor_email, ip, project_id, raw,
       ingested_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source_num, id) DO NOTHING`,
  );
  const page = db.transaction((rows: EventRow[]) => {
    for (const e of rows) insert.run(...columns(1, e, Date.now()));
  });
  const t = performance.now();
  for (const rows of transactions) page(rows);
  const secs = (performance.now() - t) / 1000;
  db.close();
  return secs;
}

/** Turns PostgreSQL's flushing to disk off, for the connections made after (the three settings are reloadable). */
async function stopFlushing(connectionString: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    for (const setting of ["fsync", "synchronous_commit", "full_page_writes"])
      await client.query(`ALTER SYSTEM SET ${setting} = off`);
    await client.query("SELECT pg_reload_conf()");
  } finally {
    await client.end();
  }
}

async function barePostgres(connectionString: string, transactions: EventRow[][]): Promise<number> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query("DROP SCHEMA IF EXISTS bare CASCADE; CREATE SCHEMA bare; SET search_path TO bare;");
    await client.query(EVENTS_DDL("bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", 'text COLLATE "C"'));
    const t = performance.now();
    for (const rows of transactions) {
      const params: unknown[] = [];
      const values = rows.map((e) => {
        const cols = columns(1, e, Date.now());
        params.push(...cols);
        return `(${cols.map((_, i) => `$${params.length - cols.length + i + 1}`).join(", ")})`;
      });
      await client.query("BEGIN");
      await client.query(
        `INSERT INTO events (source_num, id, type, effective_at, actor_type, actor_id, actor_email, ip, project_id,
           raw, ingested_at_ms) VALUES ${values.join(", ")} ON CONFLICT (source_num, id) DO NOTHING`,
        params,
      );
      await client.query("COMMIT");
    }
    return (performance.now() - t) / 1000;
  } finally {
    await client.end();
  }
}

/** The pages a run committed, as the groups they were committed in (each page's event rows). */
type Commits = EventRow[][][];

/** The store, recording every successful commit of pages (applyPage is applyPages of one). */
function recordingCommits(store: Store): { store: Store; commits: Commits } {
  const commits: Commits = [];
  const applyPages = async (writes: readonly PageWrite[]) => {
    const results = await store.applyPages(writes);
    commits.push(writes.map((w) => w.events));
    return results;
  };
  const recording = new Proxy(store, {
    get(target, key, receiver) {
      if (key === "applyPages") return applyPages;
      if (key === "applyPage") return async (write: PageWrite) => (await applyPages([write]))[0]!;
      return Reflect.get(target, key, receiver);
    },
  });
  return { store: recording, commits };
}

/**
 * A new source's history, as `vigil start` backfills it: the poller's slices, 4 at a time (runtime.ts).
 * `grouped` false: every page in its own transaction, as before slices grouped their commits.
 */
async function backfill(
  base: Store,
  client: OpenAIAuditLogClient,
  range: { sinceSecs: number; untilSecs: number },
  options: { detect: boolean; grouped: boolean },
) {
  const { store, commits } = recordingCommits(base);
  const source = await store.createSource(sourceSettings({ name: "bench" }), { ciphertext: "unused" });
  const job = await store.createBackfillJob(
    { sourceId: source.id, stream: "main", ...range },
    planSlices(range.sinceSecs, range.untilSecs, NEW_SOURCE_SLICES),
  );
  const detection = options.detect
    ? await openDetection({ store, rulesDirs: [], nowSecs: () => Math.floor(Date.now() / 1000) })
    : undefined;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const machine0 = machineCpu();
  const parts0 = cpuByPart();
  const progress = await runBackfillJob(
    {
      store,
      reader: client,
      source,
      clock: systemClock,
      normalizer,
      concurrency: CONCURRENCY,
      ...(detection ? { detector: detection.detector } : {}),
      ...(options.grouped ? {} : { commits: { write: (w: PageWrite) => store.applyPage(w) } }),
    },
    job,
  );
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const machine1 = machineCpu();
  const parts1 = cpuByPart();
  const processCpuSecs = (cpu.user + cpu.system) / 1e6;
  const machineSecs =
    machine0 && machine1 && machine1.total > machine0.total
      ? { busy: machine1.busy - machine0.busy, total: machine1.total - machine0.total, cpus: machine1.cpus }
      : null;
  if (!progress.complete) throw new Error("the bench's backfill did not complete");
  const t1 = performance.now();
  await store.indexPendingText();
  const textIndexSecs = (performance.now() - t1) / 1000;
  await detection?.close();
  const parts = parts0 && parts1 ? coresByPart(parts0, parts1, secs) : null;
  return { events: progress.inserted, secs, textIndexSecs, commits, processCpuSecs, machineSecs, parts };
}

export async function benchIngest(
  totalEvents: number,
  engine: "sqlite" | "postgres" = "sqlite",
): Promise<IngestFigures> {
  const now = Math.floor(Date.now() / 1000);
  const days = 10;
  const range = { sinceSecs: now - days * 86_400 - 1, untilSecs: now + 1 };
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-ingest-"));
  let cluster: PgCluster | undefined;
  try {
    // Durable, as SQLite's baseline is (synchronous=FULL): both engines' ratios are then against a deployment's
    // engine. The CPU's limit (nothing flushed) is measured after, and printed beside it.
    if (engine === "postgres") cluster = await startPgCluster({ durable: true });
    return await withSimulator(
      { days, perDay: Math.ceil(totalEvents / days), pageDelayMs: 0, endSecs: now },
      async (sim) => {
        const client = new OpenAIAuditLogClient({ baseUrl: sim.baseUrl, apiKey: sim.adminKey });
        let schemas = 0;
        const open = async (name: string): Promise<{ store: Store; bytes: () => Promise<number> }> => {
          if (engine === "sqlite") {
            const path = join(dir, `${name}.db`);
            const store = await openSqliteStore({ path });
            return {
              store,
              bytes: async () => {
                store.connection.pragma("wal_checkpoint(TRUNCATE)");
                return statSync(path).size;
              },
            };
          }
          const schema = `ingest_${++schemas}`;
          const store = await openPostgresStore({ connectionString: cluster!.connectionString, schema });
          return {
            store,
            bytes: async () => {
              const c = new pg.Client({ connectionString: cluster!.connectionString });
              await c.connect();
              try {
                await c.query("VACUUM");
                const { rows } = await c.query(
                  `SELECT sum(pg_total_relation_size(format('%I.%I', schemaname, tablename)::regclass))::bigint AS n
                 FROM pg_tables WHERE schemaname = $1`,
                  [schema],
                );
                return Number(rows[0].n);
              } finally {
                await c.end();
              }
            },
          };
        };
        const run = async (name: string, options: { detect: boolean; grouped: boolean }) => {
          const opened = await open(name);
          try {
            const result = await backfill(opened.store, client, range, options);
            return { ...result, bytes: options.detect && options.grouped ? await opened.bytes() : 0 };
          } finally {
            await opened.store.close();
          }
        };

        const withoutDetection = await run("plain", { detect: false, grouped: true });
        const onePagePerCommit = await run("ungrouped", { detect: true, grouped: false });
        const endToEnd = await run("full", { detect: true, grouped: true });

        let rawBytes = 0;
        for await (const page of client.pages({ effective_at: { gte: range.sinceSecs, lte: now }, limit: PAGE })) {
          for (const record of page.data) rawBytes += JSON.stringify(record).length;
        }
        // The bare engine writes the rows the end-to-end run stored, in its pages (one transaction each), then
        // in its commits (each group of pages one transaction).
        const pages = endToEnd.commits.flat(1);
        const groups = endToEnd.commits.map((group) => group.flat());
        const bare = (transactions: EventRow[][]) =>
          engine === "sqlite" ? bareSqlite(dir, transactions) : barePostgres(cluster!.connectionString, transactions);
        const rows = pages.reduce((n, p) => n + p.length, 0);
        // Several times: on this shared machine one run of the same writes varied from 12,000 to 22,000 rows/s.
        // The page writes' rates over BARE_RUNS runs, slowest first; the median is the middle one.
        const bareRates = async () => {
          const rates: number[] = [];
          for (let i = 0; i < BARE_RUNS; i++) rates.push(rows / (await bare(pages)));
          return rates.sort((a, b) => a - b);
        };
        const median = (rates: number[]) => rates[Math.floor(BARE_RUNS / 2)]!;
        const bareRuns = await bareRates();
        const barePerSec = median(bareRuns);
        const bareGroupedPerSec = rows / (await bare(groups));
        let bareNotDurablePerSec: number | null = null;
        if (engine === "postgres") {
          await stopFlushing(cluster!.connectionString);
          bareNotDurablePerSec = median(await bareRates());
        }
        const events = endToEnd.events;
        const endToEndPerSec = events / endToEnd.secs;
        return {
          engine,
          events,
          rawBytesPerEvent: rawBytes / events,
          endToEndPerSec,
          onePagePerCommitPerSec: onePagePerCommit.events / onePagePerCommit.secs,
          withoutDetectionPerSec: withoutDetection.events / withoutDetection.secs,
          barePerSec,
          bareRangePerSec: [bareRuns[0]!, bareRuns.at(-1)!],
          bareGroupedPerSec,
          bareNotDurablePerSec,
          ratio: endToEndPerSec / barePerSec,
          pages: pages.length,
          commits: endToEnd.commits.length,
          bytesPerEvent: endToEnd.bytes / events,
          textIndexSecs: endToEnd.textIndexSecs,
          processCpuMicrosPerEvent: (endToEnd.processCpuSecs / events) * 1e6,
          machineCpuMicrosPerEvent: endToEnd.machineSecs ? (endToEnd.machineSecs.busy / events) * 1e6 : null,
          machineBusyShare: endToEnd.machineSecs ? endToEnd.machineSecs.busy / endToEnd.machineSecs.total : null,
          machineCpus: endToEnd.machineSecs?.cpus ?? null,
          coresByPart: endToEnd.parts,
        };
      },
    );
  } finally {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatIngestFigures(r: IngestFigures): string {
  const n = (v: number, d = 0) => v.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  const bare = r.engine === "sqlite" ? "bare better-sqlite3" : "bare PostgreSQL INSERT … ON CONFLICT";
  return [
    `${r.engine} | events ${n(r.events)} (raw JSON ${n(r.rawBytesPerEvent)} B each) | backfill of ${NEW_SOURCE_SLICES} slices, ${CONCURRENCY} at a time`,
    `  end to end (poll → normalize → detect → store) ${n(r.endToEndPerSec)} ev/s | ${bare}, same rows and page transactions ${n(r.barePerSec)} rows/s (median of ${BARE_RUNS}: ${n(r.bareRangePerSec[0])}–${n(r.bareRangePerSec[1])}) | ratio ${n(r.ratio * 100, 1)}% (target ≥ 30%)`,
    `  commits: ${n(r.pages)} pages in ${n(r.commits)} commits (${n(r.pages / r.commits, 2)} pages each) | one page per commit ${n(r.onePagePerCommitPerSec)} ev/s (${n((r.onePagePerCommitPerSec / r.barePerSec) * 100, 1)}%) | ${bare} in the same commits ${n(r.bareGroupedPerSec)} rows/s (end to end ${n((r.endToEndPerSec / r.bareGroupedPerSec) * 100, 1)}% of it)`,
    ...(r.bareNotDurablePerSec === null
      ? []
      : [
          `  ${bare} with nothing flushed to disk (fsync off: the CPU's limit, not a deployment's) ${n(r.bareNotDurablePerSec)} rows/s (median of ${BARE_RUNS}) | end to end ${n((r.endToEndPerSec / r.bareNotDurablePerSec) * 100, 1)}% of it`,
        ]),
    `  without detection ${n(r.withoutDetectionPerSec)} ev/s | text index caught up ${n(r.textIndexSecs, 1)} s after the backfill`,
    `  storage ${n(r.bytesPerEvent)} B/event = ${n(r.bytesPerEvent / r.rawBytesPerEvent, 2)}× the raw record (target ≤ 3×)`,
    `  CPU, end to end: this process ${n(r.processCpuMicrosPerEvent)} µs/event${
      r.machineCpuMicrosPerEvent === null || r.machineBusyShare === null || r.machineCpus === null
        ? ""
        : ` | the machine ${n(r.machineCpuMicrosPerEvent)} µs/event (database server and simulator included), ${n(r.machineBusyShare * 100)}% of its ${r.machineCpus} cores busy`
    }`,
    ...(r.coresByPart === null
      ? []
      : [
          `  cores kept busy, end to end: ${r.coresByPart
            .filter(([, cores]) => cores >= 0.005)
            .map(([part, cores]) => `${part} ${n(cores, 2)}`)
            .join(" | ")}`,
        ]),
  ].join("\n");
}
