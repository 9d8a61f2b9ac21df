// A consistent copy of a SQLite database file while Vigil writes to it: `VACUUM INTO` reads the database in one
// transaction, so the copy is the database as of one moment (WAL lets the writers go on meanwhile, the WAL growing
// until the copy ends), compacted. The file is opened read-only and not migrated: a copy taken before an upgrade
// keeps the schema the older release opens.

import { closeSync, existsSync, openSync, rmSync, statSync } from "node:fs";
import { resolve } from "node:path";
import Database from "better-sqlite3";
import { errorMessage, UsageError, VigilError } from "../../core/errors.ts";
import { translateSqliteError } from "./sqlite-errors.ts";

/** How long the copy waits when another connection holds the database exclusively (a rebuild, say). */
const BUSY_TIMEOUT_MS = 30_000;

/** Copies the database at `source` to the new file `target` (mode 0600); returns the copy's size in bytes. */
export function backupSqliteFile(source: string, target: string): number {
  if (!existsSync(source)) throw new UsageError(`There is no database at ${source} to back up.`);
  const to = resolve(target);
  // Created here, empty, 0600 from the start (it will hold the events and the sealed secrets), and only if it is
  // not there: a backup never overwrites. VACUUM INTO fills an empty file.
  try {
    closeSync(openSync(to, "wx", 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new UsageError(`${to} exists already: name a new file (a backup never overwrites).`);
    }
    throw new VigilError("backup_failed", `Could not create ${to}: ${errorMessage(err)}`, { cause: err });
  }
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.prepare("VACUUM INTO ?").run(to);
  } catch (err) {
    // A half-written copy is no backup: it goes, so that nothing mistakes it for one and a retry can use the name.
    rmSync(to, { force: true });
    rmSync(`${to}-journal`, { force: true });
    throw new VigilError(
      "backup_failed",
      `Could not copy ${source} to ${to}; nothing was kept: ${errorMessage(translateSqliteError(err, source))}`,
      { cause: err },
    );
  } finally {
    db.close();
  }
  return statSync(to).size;
}
