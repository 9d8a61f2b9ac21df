// The embedded event store: one SQLite file via better-sqlite3, in WAL mode.
//
// Durability: WAL with synchronous=FULL. WAL+NORMAL survives a killed process but may lose the last
// commits on power loss or an OS crash; since `applyPage` also advances the checkpoint, a lost commit after
// the checkpoint moved past its window on the API side would be harmless, but a lost commit whose events
// were already alerted on would not be. Vigil promises "no event lost", so every commit is fsynced (one fsync
// per page of up to 100 events). The one exception is the text index's batches, derived data that comes back
// queued if a power cut loses it (../store/text-index.ts). Checkpoints run on their own thread (checkpointer.ts).
//
// Concurrency: several processes may open the file (`vigil start`, `vigil backfill`). WAL lets readers run
// beside one writer; every write transaction is BEGIN IMMEDIATE so it takes the write lock up front and
// waits up to `busy_timeout` for it, instead of failing mid-transaction when a read lock cannot upgrade.
//
// The event loop: better-sqlite3 blocks while a statement runs, so only bounded statements run on this
// connection (key lookups, the counters of ../store/stats.ts, the occasional write). Page transactions and
// the text index run on a writer thread with its own connection (../store/writer-thread.ts, writer-worker.ts);
// searches and lists that may read many rows go to read-only connections in worker threads (reader.ts).

import { availableParallelism } from "node:os";
import type Database from "better-sqlite3";
import { DEFAULT_ALERT_LIMIT_PER_HOUR } from "../../alerts/limiter.ts";
import type { Clock } from "../../core/clock.ts";
import type { Store } from "../ports.ts";
import type { MigrationNotice } from "../store/dialect.ts";
import { migrated, openStore } from "../store/store.ts";
import { WriterThread } from "../store/writer-thread.ts";
import { Checkpointer } from "./checkpointer.ts";
import { openConnection, WRITER_CACHE_MIB } from "./connection.ts";
import { SqliteStoreDialect } from "./dialect.ts";
import { SqliteReader } from "./reader.ts";
import { rebuildSqliteError } from "./sqlite-errors.ts";
import { claimingTurn, WritePriority } from "./write-priority.ts";

export interface SqliteStoreOptions {
  clock?: Clock;
  /** How long a write waits for another process's write lock before failing with `storage_busy`. */
  busyTimeoutMs?: number;
  /**
   * Worker threads for the reads that can take long (see reader.ts); default one per core but one, at
   * least 1 and at most 4. 0 reads on the main connection, as an in-memory database always does.
   */
  readers?: number;
  /** Alerts a rule may raise per source and hour before its matches fold into one noisy alert (alerts/limiter.ts). */
  alertLimitPerHour?: number;
  /** Page transactions and the text index on a thread of their own (../store/writer-thread.ts); default true for a file. */
  writerThread?: boolean;
  /** Told of each migration before it runs on a database with data. */
  onMigration?: MigrationNotice;
}

export type OpenSqliteStoreOptions = ({ path: string } | { memory: true }) & SqliteStoreOptions;

const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

/** What the writer thread (writer-worker.ts) opens the file with. */
export interface SqliteWriterData {
  path: string;
  busyTimeoutMs: number;
  alertLimitPerHour: number;
  /** The file's WritePriority counter (write-priority.ts): the thread's transactions wait for the event loop's. */
  priority: SharedArrayBuffer;
}

/** SQLite's writer thread on the file at `path`. */
export function sqliteWriterThread(
  data: SqliteWriterData,
  options: { afterWrite?: () => void; textQueued?: () => boolean; workerUrl?: URL } = {},
): WriterThread {
  return new WriterThread({
    engineModule: new URL("./writer-worker.ts", import.meta.url),
    ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}),
    workerData: data,
    textIndex: true,
    packsContexts: false,
    ...(options.afterWrite ? { afterWrite: options.afterWrite } : {}),
    ...(options.textQueued ? { textQueued: options.textQueued } : {}),
    rebuildError: rebuildSqliteError,
  });
}

/**
 * The page cache of the store's connection when a writer thread writes the pages: key lookups and counters
 * (memory: see connection.ts THREAD_CACHE_MIB).
 */
const MAIN_CACHE_WITH_THREAD_MIB = 8;

/**
 * Reader threads compete with the event loop for cores: leave it one. On two cores one reader measured
 * better than two for /healthz and the overview under load (bench/server-load.ts), at the cost of searches
 * queueing behind each other.
 */
function defaultReaders(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/** The SQLite store: the one store (../store/store.ts), plus the connection for SQLite-specific tests. */
export type SqliteStore = Store & {
  /** The underlying connection, for SQLite-specific tests and diagnostics only. */
  readonly connection: Database.Database;
  readonly location: string;
};

/** Opens (creating if needed) and migrates a SQLite store. */
export async function openSqliteStore(options: OpenSqliteStoreOptions): Promise<SqliteStore> {
  const location = "memory" in options ? ":memory:" : options.path;
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  // An in-memory database belongs to its one connection: its pages are written inline.
  const withThread = location !== ":memory:" && options.writerThread !== false;
  // Beside a writer thread this connection writes no pages: a small cache does (the thread's is the writer's).
  const connection = openConnection(
    location,
    busyTimeoutMs,
    withThread ? MAIN_CACHE_WITH_THREAD_MIB : WRITER_CACHE_MIB,
  );
  const readers = options.readers ?? defaultReaders();
  const reader =
    location === ":memory:" || readers === 0
      ? null
      : new SqliteReader({ path: location, size: readers, busyTimeoutMs });
  const checkpointer = location === ":memory:" ? null : new Checkpointer({ path: location, busyTimeoutMs });
  const alertLimitPerHour = options.alertLimitPerHour ?? DEFAULT_ALERT_LIMIT_PER_HOUR;
  // Every connection of this process to the file goes before writer threads' transactions, whether this store
  // has a thread or not (another store on the file may).
  const priority = location === ":memory:" ? null : WritePriority.of(location);
  const pageWriter =
    priority === null || !withThread
      ? null
      : sqliteWriterThread(
          { path: location, busyTimeoutMs, alertLimitPerHour, priority: priority.shared },
          {
            afterWrite: () => checkpointer?.nudge(),
            textQueued: () => connection.prepare("SELECT 1 FROM event_text_pending LIMIT 1").get() !== undefined,
          },
        );
  const store: SqliteStore = Object.assign(
    openStore(
      new SqliteStoreDialect(connection, location, {
        reader,
        checkpointer,
        pageWriter,
        ...(priority ? { lockTurn: claimingTurn(priority) } : {}),
      }),
      {
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.onMigration ? { onMigration: options.onMigration } : {}),
        alertLimitPerHour,
      },
    ),
    { connection, location },
  );
  return migrated(store);
}
