// The connection settings of every SQLite connection that writes: the store's own and its writer thread's
// (../store/writer-thread.ts). Why each setting: sqlite-store.ts's header and the comments below.

import Database from "better-sqlite3";
import { VigilError } from "../../core/errors.ts";
import { BACKSTOP_WAL_PAGES } from "./checkpointer.ts";
import { restrictDatabaseFiles } from "./file-mode.ts";
import { translateSqliteError } from "./sqlite-errors.ts";

/**
 * Page cache of the connection that writes the pages: 32 MiB (the default is 2 MiB). The event indexes of a busy
 * org soon outgrow 2 MiB, and the random-order primary key then costs a disk read per insert.
 */
export const WRITER_CACHE_MIB = 32;

/**
 * The page cache of the writer thread's connection (../store/writer-thread.ts): half the inline writer's. The
 * thread's connection, cache and JavaScript heap took a 200,000-event backfill from 260 to 336 MB of peak RSS
 * (target 300); with this, the store's own connection at 8 MiB and the young generation bounded (writer-thread.ts),
 * 289 MB, and a 100,000-event ingest measured no slower (34.7% of bare, bench/ingest.ts).
 */
export const THREAD_CACHE_MIB = 16;

/**
 * Opens the file (or memory) and sets the connection up; see the header for the settings. `cacheMib`: its page
 * cache, WRITER_CACHE_MIB for the connection that writes the pages.
 */
export function openConnection(location: string, busyTimeoutMs: number, cacheMib: number): Database.Database {
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
    db.pragma(`cache_size = -${cacheMib * 1024}`);
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
