// Turns SQLite's errors into VigilErrors that say what happened and what to do, so that a locked database
// or a full disk reaches the user as one sentence rather than a stack trace. The original error is kept
// as `cause` for debug logs.

import Database from "better-sqlite3";
import { VigilError } from "../../core/errors.ts";
import type { RemoteError } from "../store/writer-thread.ts";

export function translateSqliteError(err: unknown, location: string): unknown {
  if (err instanceof VigilError) return err;
  if (!(err instanceof Database.SqliteError)) return err;
  const code = err.code;
  const at = `the database at ${location}`;
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new VigilError(
      "storage_busy",
      `${capitalize(at)} stayed locked by another process longer than the busy timeout; try again, and check that no other program holds it open in a long transaction.`,
      { retryable: true, cause: err },
    );
  }
  if (code === "SQLITE_FULL" || code === "SQLITE_IOERR_WRITE" || code === "SQLITE_IOERR_FSYNC") {
    return new VigilError(
      code === "SQLITE_FULL" ? "storage_full" : "storage_io",
      code === "SQLITE_FULL"
        ? `The disk holding ${at} is full; free some space, nothing of the failed write was stored.`
        : `Writing to ${at} failed (${code}); check the disk, nothing of the failed write was stored.`,
      { cause: err },
    );
  }
  if (code.startsWith("SQLITE_READONLY")) {
    return new VigilError("storage_readonly", `${capitalize(at)} is read-only; check its file permissions.`, {
      cause: err,
    });
  }
  if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB") {
    return new VigilError(
      "storage_corrupt",
      `${capitalize(at)} is damaged or is not a Vigil database; restore it from a backup.`,
      { cause: err },
    );
  }
  if (code.startsWith("SQLITE_CANTOPEN")) {
    return new VigilError(
      "storage_open_failed",
      `Could not open ${at}; check that its directory exists and is writable.`,
      { cause: err },
    );
  }
  if (code.startsWith("SQLITE_IOERR")) {
    return new VigilError("storage_io", `Reading or writing ${at} failed (${code}); check the disk.`, {
      retryable: true,
      cause: err,
    });
  }
  return new VigilError("storage_error", `A database operation on ${at} failed: ${err.message} (${code}).`, {
    cause: err,
  });
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A SqliteError as it crossed from the writer thread (../store/writer-thread.ts), rebuilt; undefined for others. */
export function rebuildSqliteError(remote: RemoteError): Error | undefined {
  return remote.name === "SqliteError" ? new Database.SqliteError(remote.message, remote.code ?? "") : undefined;
}
