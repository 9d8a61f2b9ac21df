// The database holds every event, password hashes and the encrypted admin keys: only its owner may read it.
// SQLite creates a new database with mode 0644 (less the umask) whatever the directory's mode, and creates
// its -wal and -shm files with the mode of the database file. So the database file is created 0600 before
// SQLite opens it, and files a previous version left readable by others are narrowed to the owner.

import { chmodSync, closeSync, constants, openSync, statSync } from "node:fs";

const COMPANIONS = ["", "-wal", "-shm", "-journal"];

export function restrictDatabaseFiles(path: string): void {
  // POSIX permissions only: Windows protects files with ACLs instead.
  if (process.platform === "win32") return;
  closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600));
  for (const file of COMPANIONS.map((suffix) => `${path}${suffix}`)) {
    let mode: number;
    try {
      mode = statSync(file).mode & 0o777;
    } catch (err) {
      if ((err as { code?: unknown }).code === "ENOENT") continue;
      throw err;
    }
    if ((mode & 0o077) !== 0) chmodSync(file, mode & 0o700);
  }
}
