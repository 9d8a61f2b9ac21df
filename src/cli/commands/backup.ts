// `vigil backup FILE`: a consistent copy of the SQLite database, taken while Vigil runs (../../storage/sqlite/
// backup.ts), before an upgrade or on a schedule. PostgreSQL's own tools back up a PostgreSQL store.

import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { readEnv, sqliteDatabasePath } from "../../config/env.ts";
import { UsageError } from "../../core/errors.ts";
import { KEY_FILE_NAME } from "../../secrets/secret-box.ts";
import { backupSqliteFile } from "../../storage/sqlite/backup.ts";
import { terminalText } from "../terminal-text.ts";

export function register(program: Command): void {
  program
    .command("backup")
    .argument("<file>", "the new file to write the copy to")
    .description("Copy the SQLite database, consistently, while Vigil runs (docs/deploy.md, Backup).")
    .action((file: string) => {
      const env = readEnv();
      if (env.databaseUrl !== undefined) {
        throw new UsageError(
          "Vigil stores in PostgreSQL here (VIGIL_DATABASE_URL): back it up with PostgreSQL's tools (pg_dump of the database, or of its Vigil schema).",
        );
      }
      const bytes = backupSqliteFile(sqliteDatabasePath(env), file);
      // The key the stored secrets are sealed with: the environment's, else the data directory's file (made when
      // the first secret was stored; a service may have its key in its own environment, which this shell lacks).
      const keyFile = join(env.dataDir, KEY_FILE_NAME);
      const key =
        env.secretKey !== undefined
          ? "Keep VIGIL_SECRET_KEY too, apart from it"
          : existsSync(keyFile)
            ? `Keep ${keyFile} too, apart from it`
            : "Keep the secret key too, apart from it (VIGIL_SECRET_KEY where Vigil runs, else <data dir>/secret.key)";
      process.stdout.write(
        `${terminalText(
          `Backed up the database to ${file} (${(bytes / 1e6).toFixed(1)} MB). ${key}: without that key the copy's source keys and destination secrets cannot be decrypted.`,
        )}\n`,
      );
    });
}
