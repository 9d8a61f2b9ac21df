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
// connection (writes, key lookups, the counters of ../store/stats.ts). Searches and lists that may read many
// rows go to read-only connections in worker threads (reader.ts).

import { availableParallelism } from "node:os";
import Database from "better-sqlite3";
import type { Clock } from "../../core/clock.ts";
import { VigilError } from "../../core/errors.ts";
import type { Store } from "../ports.ts";
import { openStore } from "../store/store.ts";
import { BACKSTOP_WAL_PAGES, Checkpointer } from "./checkpointer.ts";
import { SqliteStoreDialect } from "./dialect.ts";
import { restrictDatabaseFiles } from "./file-mode.ts";
import { SqliteReader } from "./reader.ts";
import { translateSqliteError } from "./sqlite-errors.ts";

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
}

export type OpenSqliteStoreOptions = ({ path: string } | { memory: true }) & SqliteStoreOptions;

const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

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
  const connection = openConnection(location, busyTimeoutMs);
  const readers = options.readers ?? defaultReaders();
  const reader =
    location === ":memory:" || readers === 0
      ? null
      : new SqliteReader({ path: location, size: readers, busyTimeoutMs });
  const checkpointer = location === ":memory:" ? null : new Checkpointer({ path: location, busyTimeoutMs });
  const store: SqliteStore = Object.assign(
    openStore(new SqliteStoreDialect(connection, location, reader, checkpointer), {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.alertLimitPerHour !== undefined ? { alertLimitPerHour: options.alertLimitPerHour } : {}),
    }),
    { connection, location },
  );
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/** Opens the file (or memory) and sets the connection up; see the header for the settings. */
function openConnection(location: string, busyTimeoutMs: number): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (location !== ":memory:") restrictDatabaseFiles(location);
    db = new Database(location, { timeout: busyTimeoutMs });
    // 8 KiB pages for a new database (an existing one keeps its size; WAL cannot change it). An event row is
    // ~900 bytes: a 4 KiB page holds four and leaves a seventh of itself empty, an 8 KiB page wastes half as
    // much (3.95× → 3.81× the raw record, bench/ingest.ts, at no measured cost in speed).
    db.pragma("page_size = 8192");
    // An in-memory database has no WAL; it answers "memory".
    if (location !== ":memory:") db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    // 32 MiB of page cache (the default is 2 MiB): the event indexes of a busy org soon outgrow 2 MiB,
    // and the random-order primary key then costs a disk read per insert.
    db.pragma("cache_size = -32768");
    // A large backfill can grow the WAL file; truncate it back after checkpoints instead of keeping it.
    db.pragma("journal_size_limit = 67108864");
    // Checkpoints run on their own thread after writes (checkpointer.ts); this connection only as a backstop.
    // An in-memory database has no WAL.
    if (location !== ":memory:") db.pragma(`wal_autocheckpoint = ${BACKSTOP_WAL_PAGES}`);
    return db;
  } catch (err) {
    db?.close();
    const translated = translateSqliteError(err, location);
    if (translated instanceof VigilError) throw translated;
    throw new VigilError("storage_open_failed", `Could not open the database at ${location}: ${String(err)}`, {
      cause: err,
    });
  }
}
