// Ingest, end to end, against the engine's limit. A new source backfills N simulated events from the simulator
// (an HTTP server in its own process): poll → validate → normalize → detect with the built-in packs → one
// transaction per page, as `vigil start` does. The baseline is the database doing only the writes: bare
// better-sqlite3 (WAL, synchronous=FULL, one transaction per 100 rows, the same table and indexes) or bare
// PostgreSQL (INSERT … ON CONFLICT DO NOTHING of the same rows, 100 per transaction), in the same run.
// Also: the same path without detection (the figure this bench printed before the one store), storage bytes per
// event next to the raw record's size, and how long the text index takes to catch up after the backfill.

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { systemClock } from "../src/core/clock.ts";
import type { EventRow } from "../src/core/event.ts";
import { silentLogger } from "../src/logging/logger.ts";
import { openDetection } from "../src/pipeline/detection.ts";
import { pageRecords } from "../src/pipeline/page-records.ts";
import { SourcePoller } from "../src/pipeline/poller.ts";
import { loadOpenAIAuditLogType } from "../src/schema/index.ts";
import { OpenAIAuditLogClient } from "../src/sources/openai/client.ts";
import type { Store } from "../src/storage/ports.ts";
import { openPostgresStore } from "../src/storage/postgres/postgres-store.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import { sourceSettings } from "../test/helpers.ts";
import { type PgCluster, startPgCluster } from "../test/pg-cluster.ts";
import { withSimulator } from "./child.ts";

const normalizer = loadOpenAIAuditLogType();
const PAGE = 100;

export interface IngestFigures {
  engine: "sqlite" | "postgres";
  events: number;
  /** Average size of the API's records as JSON, bytes. */
  rawBytesPerEvent: number;
  /** Poll → normalize → detect → store. */
  endToEndPerSec: number;
  /** The same without detection (the old "poll → store" figure). */
  withoutDetectionPerSec: number;
  /** The engine alone writing the same rows in the same page transactions. */
  barePerSec: number;
  ratio: number;
  /** Database bytes per event once the text index has caught up (SQLite: the file; PostgreSQL: the schema). */
  bytesPerEvent: number;
  /** Seconds from the end of the backfill until the text index held every event. */
  textIndexSecs: number;
}

/** The events table and indexes of migration 18, the same in both engines' DDL. */
const EVENTS_DDL = (seq: string, text: string) => `
  CREATE TABLE events (
    seq ${seq},
    source_id ${text} NOT NULL, id ${text} NOT NULL, type ${text} NOT NULL, effective_at bigint NOT NULL,
    actor_type ${text}, actor_id ${text}, actor_email ${text}, ip ${text}, project_id ${text},
    raw ${text} NOT NULL, ingested_at_ms bigint NOT NULL,
    UNIQUE (source_id, id)
  );
  CREATE INDEX events_newest ON events (effective_at DESC);
  CREATE INDEX events_by_source ON events (source_id, effective_at DESC);
  CREATE INDEX events_by_type ON events (type, effective_at DESC);
  CREATE INDEX events_by_actor_email ON events (actor_email, effective_at DESC) WHERE actor_email IS NOT NULL;
  CREATE INDEX events_by_actor_id ON events (actor_id, effective_at DESC) WHERE actor_id IS NOT NULL;
  CREATE INDEX events_by_ip ON events (ip, effective_at DESC) WHERE ip IS NOT NULL;
  CREATE INDEX events_by_project ON events (project_id, effective_at DESC) WHERE project_id IS NOT NULL;`;

const columns = (sourceId: string, e: EventRow, nowMs: number) => [
  sourceId,
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

function bareSqlite(dir: string, pages: EventRow[][]): number {
  const db = new Database(join(dir, "bare.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(EVENTS_DDL("INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT"));
  const insert = db.prepare(
    `INSERT INTO events (source_id, id, type, effective_at, actor_type, actor_id, actor_email, ip, project_id, raw,
       ingested_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source_id, id) DO NOTHING`,
  );
  const page = db.transaction((rows: EventRow[]) => {
    for (const e of rows) insert.run(...columns("bench", e, Date.now()));
  });
  const t = performance.now();
  for (const rows of pages) page(rows);
  const secs = (performance.now() - t) / 1000;
  db.close();
  return secs;
}

async function barePostgres(connectionString: string, pages: EventRow[][]): Promise<number> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query("CREATE SCHEMA bare; SET search_path TO bare;");
    await client.query(EVENTS_DDL("bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", 'text COLLATE "C"'));
    const t = performance.now();
    for (const rows of pages) {
      const params: unknown[] = [];
      const values = rows.map((e) => {
        const cols = columns("bench", e, Date.now());
        params.push(...cols);
        return `(${cols.map((_, i) => `$${params.length - cols.length + i + 1}`).join(", ")})`;
      });
      await client.query("BEGIN");
      await client.query(
        `INSERT INTO events (source_id, id, type, effective_at, actor_type, actor_id, actor_email, ip, project_id,
           raw, ingested_at_ms) VALUES ${values.join(", ")} ON CONFLICT (source_id, id) DO NOTHING`,
        params,
      );
      await client.query("COMMIT");
    }
    return (performance.now() - t) / 1000;
  } finally {
    await client.end();
  }
}

async function backfill(store: Store, client: OpenAIAuditLogClient, sinceSecs: number, detect: boolean) {
  const source = await store.createSource(sourceSettings({ name: "bench", overlapSecs: 0, sweepWindowSecs: 0 }), {
    ciphertext: "unused",
  });
  await store.createBackfillJob(
    { sourceId: source.id, stream: "main", sinceSecs: 0, untilSecs: 1, initialCheckpointSecs: sinceSecs },
    [],
  );
  const detection = detect
    ? await openDetection({ store, rulesDirs: [], nowSecs: () => Math.floor(Date.now() / 1000) })
    : undefined;
  const poller = new SourcePoller({
    store,
    reader: client,
    source,
    clock: systemClock,
    logger: silentLogger,
    normalizer,
    ...(detection ? { detector: detection.detector } : {}),
  });
  const t0 = performance.now();
  const report = await poller.pollOnce();
  const secs = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await store.indexPendingText();
  const textIndexSecs = (performance.now() - t1) / 1000;
  await detection?.close();
  return { events: report.streams[0]!.inserted, secs, textIndexSecs };
}

export async function benchIngest(
  totalEvents: number,
  engine: "sqlite" | "postgres" = "sqlite",
): Promise<IngestFigures> {
  const now = Math.floor(Date.now() / 1000);
  const days = 10;
  const sinceSecs = now - days * 86_400 - 1;
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-ingest-"));
  let cluster: PgCluster | undefined;
  try {
    if (engine === "postgres") cluster = await startPgCluster();
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

        const plain = await open("plain");
        const withoutDetection = await backfill(plain.store, client, sinceSecs, false);
        await plain.store.close();

        const full = await open("full");
        const endToEnd = await backfill(full.store, client, sinceSecs, true);
        const bytes = await full.bytes();
        await full.store.close();

        // The same events, as rows, for the bare engine.
        const pages: EventRow[][] = [];
        let rawBytes = 0;
        for await (const page of client.pages({ effective_at: { gte: sinceSecs, lte: now }, limit: PAGE })) {
          for (const record of page.data) rawBytes += JSON.stringify(record).length;
          pages.push(
            pageRecords(page.data, { sourceId: "bench", sourceLabel: "bench", parseTimeMs: 0, normalizer }).events,
          );
        }
        const events = endToEnd.events;
        const bareSecs =
          engine === "sqlite" ? bareSqlite(dir, pages) : await barePostgres(cluster!.connectionString, pages);
        const barePerSec = pages.reduce((n, p) => n + p.length, 0) / bareSecs;
        const endToEndPerSec = events / endToEnd.secs;
        return {
          engine,
          events,
          rawBytesPerEvent: rawBytes / events,
          endToEndPerSec,
          withoutDetectionPerSec: withoutDetection.events / withoutDetection.secs,
          barePerSec,
          ratio: endToEndPerSec / barePerSec,
          bytesPerEvent: bytes / events,
          textIndexSecs: endToEnd.textIndexSecs,
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
    `${r.engine} | events ${n(r.events)} (raw JSON ${n(r.rawBytesPerEvent)} B each)`,
    `  end to end (poll → normalize → detect → store) ${n(r.endToEndPerSec)} ev/s | ${bare}, same rows and page transactions ${n(r.barePerSec)} rows/s | ratio ${n(r.ratio * 100, 1)}% (target ≥ 30%)`,
    `  without detection ${n(r.withoutDetectionPerSec)} ev/s | text index caught up ${n(r.textIndexSecs, 1)} s after the backfill`,
    `  storage ${n(r.bytesPerEvent)} B/event = ${n(r.bytesPerEvent / r.rawBytesPerEvent, 2)}× the raw record (target ≤ 3×)`,
  ].join("\n");
}
