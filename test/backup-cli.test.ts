// `vigil backup FILE`, run as a user would: a copy that opens with everything in it, never over a file, and a
// pointer to PostgreSQL's tools when the store is there.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import { addSource, createAlerts } from "./delivery-helpers.ts";
import { runVigil, tempDir } from "./helpers.ts";

describe("vigil backup", { timeout: 120_000 }, () => {
  const dir = tempDir("vigil-backup-cli-");
  after(() => dir.remove());

  it("copies the database whole, mode 0600, and refuses to overwrite a file", async () => {
    const data = join(dir.path, "data");
    mkdirSync(data);
    const store = await openSqliteStore({ path: join(data, "vigil.db") });
    let alertIds: string[];
    try {
      alertIds = await createAlerts(store, await addSource(store), 25);
    } finally {
      await store.close();
    }
    const copy = join(dir.path, "copy.db");
    const run = await runVigil(["backup", copy], { VIGIL_DATA_DIR: data });
    assert.equal(run.code, 0, run.stderr);
    // No secret stored yet, so no key file: the message says where the key will be.
    assert.match(run.stdout, /Backed up the database to .*copy\.db.*Keep the secret key too, apart from it/);
    assert.equal(statSync(copy).mode & 0o777, 0o600);

    const restored = await openSqliteStore({ path: copy });
    try {
      assert.deepEqual((await restored.listAlerts({ limit: 100 })).map((a) => a.id).sort(), [...alertIds].sort());
      assert.deepEqual(
        (await restored.listSources()).map((s) => s.name),
        ["acme"],
      );
    } finally {
      await restored.close();
    }

    const again = await runVigil(["backup", copy], { VIGIL_DATA_DIR: data });
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /exists already: name a new file/);
  });

  it("leaves nothing behind when the copy fails, so the name can be used again", async () => {
    const data = join(dir.path, "broken");
    mkdirSync(data);
    writeFileSync(join(data, "vigil.db"), "not a database, but long enough to be read as a header".repeat(100));
    const copy = join(dir.path, "broken-copy.db");
    const run = await runVigil(["backup", copy], { VIGIL_DATA_DIR: data });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /Could not copy .*nothing was kept/);
    assert.equal(existsSync(copy), false);
    assert.equal(existsSync(`${copy}-journal`), false);
  });

  it("points a PostgreSQL store to PostgreSQL's tools, and says when there is no database", async () => {
    const pg = await runVigil(["backup", join(dir.path, "x.db")], {
      VIGIL_DATA_DIR: join(dir.path, "empty"),
      VIGIL_DATABASE_URL: "postgresql://vigil@127.0.0.1:1/vigil",
    });
    assert.notEqual(pg.code, 0);
    assert.match(pg.stderr, /pg_dump/);
    const none = await runVigil(["backup", join(dir.path, "y.db")], { VIGIL_DATA_DIR: join(dir.path, "empty") });
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /There is no database at .*vigil\.db to back up/);
  });
});
