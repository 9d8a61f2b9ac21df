// The scale-out event store: PostgreSQL via a `pg` Pool, shared by many Vigil workers.
//
// Same semantics as the SQLite store (one contract suite runs against both); what differs lives in the
// dialect (dialect.ts): concurrent writers at READ COMMITTED, advisory and row locks, retries on deadlock.
// - `schema` gives each deployment (or test) its own namespace via the connection's search_path.
// - bigint columns come back as JS numbers (pool.ts): times and ids stay far below 2^53.
// - Page transactions run on a writer thread with a pool of its own (../store/writer-thread.ts says why).

import { DEFAULT_ALERT_LIMIT_PER_HOUR } from "../../alerts/limiter.ts";
import type { Clock } from "../../core/clock.ts";
import { UsageError } from "../../core/errors.ts";
import type { Store } from "../ports.ts";
import type { MigrationNotice } from "../store/dialect.ts";
import { migrated, openStore } from "../store/store.ts";
import { WriterThread } from "../store/writer-thread.ts";
import { PostgresStoreDialect } from "./dialect.ts";
import { describeTarget } from "./pg-errors.ts";
import { openPool } from "./pool.ts";

export interface OpenPostgresStoreOptions {
  /** A libpq URL, e.g. postgresql://vigil:secret@db.internal:5432/vigil. */
  connectionString: string;
  /** The schema holding Vigil's tables, created if missing; default: the server's search_path (public). */
  schema?: string;
  clock?: Clock;
  /**
   * Connections of the event loop's pool (reads, the text index, triage, deliveries, leases, scheduled queries);
   * default 10. The writer thread's pool (page transactions) has half as many more. Each pool opens connections
   * as they are needed and closes them when idle.
   */
  maxConnections?: number;
  /** Alerts a rule may raise per source and hour before its matches fold into one noisy alert (alerts/limiter.ts). */
  alertLimitPerHour?: number;
  /** Told of each migration before it runs on a database with data. */
  onMigration?: MigrationNotice;
}

const DEFAULT_MAX_CONNECTIONS = 10;

/** What the writer thread (writer-worker.ts) opens its pool with. */
export interface PostgresWriterData {
  connectionString: string;
  schema: string | null;
  maxConnections: number;
  alertLimitPerHour: number;
}

/** PostgreSQL's writer thread: page transactions on a pool of its own; the text index stays with the store. */
export function postgresWriterThread(data: PostgresWriterData, options: { workerUrl?: URL } = {}): WriterThread {
  return new WriterThread({
    engineModule: new URL("./writer-worker.ts", import.meta.url),
    ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}),
    workerData: data,
    textIndex: false,
    packsContexts: true,
  });
}

/** Lowercase only: an unquoted name in search_path is folded to lowercase, a quoted CREATE SCHEMA is not. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The PostgreSQL store: the one store (../store/store.ts) over a pool. */
export type PostgresStore = Store & { readonly schema: string | null };

/** Opens a pool and migrates the schema. */
export async function openPostgresStore(options: OpenPostgresStoreOptions): Promise<PostgresStore> {
  const schema = options.schema ?? null;
  if (schema !== null && (!SCHEMA_NAME.test(schema) || schema.startsWith("pg_"))) {
    throw new UsageError(
      `The PostgreSQL schema name "${schema}" is not valid; use lowercase letters, digits and _ (not starting with pg_).`,
    );
  }
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const alertLimitPerHour = options.alertLimitPerHour ?? DEFAULT_ALERT_LIMIT_PER_HOUR;
  const pool = openPool({ connectionString: options.connectionString, schema, max: maxConnections });
  // A page transaction is short (tens of milliseconds) and a process writes a backfill's few slices and one poll
  // per source at a time; a page that finds every connection busy waits for one. The event loop keeps its own
  // pool whole, so that long reads (scheduled queries, searches) never hold up the heartbeats that keep its leases.
  const data: PostgresWriterData = {
    connectionString: options.connectionString,
    schema,
    maxConnections: Math.ceil(maxConnections / 2),
    alertLimitPerHour,
  };
  const dialect = new PostgresStoreDialect(
    pool,
    schema,
    describeTarget(options.connectionString),
    postgresWriterThread(data),
  );
  const store: PostgresStore = Object.assign(
    openStore(dialect, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.onMigration ? { onMigration: options.onMigration } : {}),
      alertLimitPerHour,
    }),
    { schema },
  );
  return migrated(store);
}
