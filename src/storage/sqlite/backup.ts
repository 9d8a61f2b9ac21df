// A consistent copy of a SQLite database file while Vigil writes to it: `VACUUM INTO` reads the database in one
// transaction, so the copy is the database as of one moment (WAL lets the writers go on meanwhile), compacted. The
// file is opened read-only and not migrated: a copy taken before an upgrade keeps the schema the older release
// opens.

import { chmodSync, existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import Database from "better-sqlite3";
import { UsageError } from "../../core/errors.ts";
import { translateSqliteError } from "./sqlite-errors.ts";

/** How long the copy waits for a writer's checkpoint or a migration to let it read. */
const BUSY_TIMEOUT_MS = 30_000;

/** Copies the database at `source` to the new file `target` (mode 0600); returns the copy's size in bytes. */
export function backupSqliteFile(source: string, target: string): number {
  if (!existsSync(source)) throw new UsageError(`There is no database at ${source} to back up.`);
  const to = resolve(target);
  if (existsSync(to)) throw new UsageError(`${to} exists already: name a new file (a backup never overwrites).`);
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.prepare("VACUUM INTO ?").run(to);
  } catch (err) {
    throw translateSqliteError(err, to);
  } finally {
    db.close();
  }
  // It holds the events and the sealed secrets, as the database does.
  chmodSync(to, 0o600);
  return statSync(to).size;
}
