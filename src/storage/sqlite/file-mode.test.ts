// Security (issue 16, finding 6f): the database (and its -wal and -shm files) and the key file are 0600, also
// when the data directory already existed with 0755 and when an older Vigil left the database 0644.

import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readEnv } from "../../config/env.ts";
import { createLogger } from "../../logging/logger.ts";
import { openRuntime } from "../../pipeline/runtime.ts";
import { openSqliteStore } from "./sqlite-store.ts";

const modeOf = (path: string) => statSync(path).mode & 0o777;

test("database, -wal, -shm and key file are 0600 in a pre-existing 0755 data dir", {
  skip: process.platform === "win32",
}, async () => {
  const scratch = mkdtempSync(join(tmpdir(), "vigil-modes-"));
  const previousUmask = process.umask(0o022);
  try {
    const dataDir = join(scratch, "data");
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const runtime = await openRuntime(readEnv({ VIGIL_DATA_DIR: dataDir }), createLogger({ level: "silent" }));
    try {
      runtime.secrets.encrypt("creates the key file");
      // A write, so that the WAL and its shared-memory index exist while the store is open.
      await runtime.store.createUser({ username: "modes", passwordHash: "scrypt$x", role: "admin" });
      for (const file of ["vigil.db", "vigil.db-wal", "vigil.db-shm", "secret.key"]) {
        assert.equal(modeOf(join(dataDir, file)).toString(8), "600", file);
      }
    } finally {
      await runtime.close();
    }
  } finally {
    process.umask(previousUmask);
    rmSync(scratch, { recursive: true, force: true });
  }
});

test("a database an older version left 0644 is narrowed to 0600 when opened", {
  skip: process.platform === "win32",
}, async () => {
  const scratch = mkdtempSync(join(tmpdir(), "vigil-modes-"));
  try {
    const path = join(scratch, "vigil.db");
    await (await openSqliteStore({ path })).close();
    chmodSync(path, 0o644);
    writeFileSync(`${path}-journal`, "");
    chmodSync(`${path}-journal`, 0o664);
    const store = await openSqliteStore({ path });
    try {
      assert.equal(modeOf(path).toString(8), "600");
      assert.equal(modeOf(`${path}-journal`).toString(8), "600");
    } finally {
      await store.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
