import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { eventRow, sourceSettings } from "../../../test/storage-contract.ts";
import { BACKSTOP_WAL_PAGES } from "./checkpointer.ts";
import { openSqliteStore } from "./sqlite-store.ts";

const scratch = mkdtempSync(join(tmpdir(), "vigil-checkpointer-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Events in the database file itself, ignoring the WAL: what checkpoints have moved there; null when the copy
 * was taken in the middle of a checkpoint (some pages written, others not yet), which is not a database.
 */
function eventsInMainFile(path: string): number | null {
  // A copy of the file alone, without its -wal: opened, it holds what the file holds.
  const copy = `${path}.main-only`;
  copyFileSync(path, copy);
  const db = new Database(copy, { readonly: true });
  try {
    // Before the first checkpoint the file may not hold even the schema.
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'events'").get();
    return table === undefined ? 0 : (db.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB") return null;
    throw err;
  } finally {
    db.close();
    rmSync(copy);
  }
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("SQLite checkpoints on their own thread", () => {
  it("moves committed pages into the database file after writes, with the writer's own threshold as a backstop only", async () => {
    const path = join(scratch, "a.db");
    const store = await openSqliteStore({ path });
    try {
      assert.equal(store.connection.pragma("wal_autocheckpoint", { simple: true }), BACKSTOP_WAL_PAGES);
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "x" });
      for (let p = 0; p < 5; p++) {
        const events = Array.from({ length: 100 }, (_, i) => eventRow(`e${p}-${i}`, 1_700_000_000 + p * 100 + i));
        await store.applyPage({ sourceId: source.id, events, quarantined: [], unknownTypes: [] });
      }
      // 500 events is a few hundred WAL pages, far below the backstop: only the checkpoint thread moves them.
      await until(() => eventsInMainFile(path) === 500);
    } finally {
      await store.close();
    }
  });

  it("a store that is closed leaves no thread behind, and a reopened store checkpoints again", async () => {
    const path = join(scratch, "b.db");
    let store = await openSqliteStore({ path });
    const source = await store.createSource(sourceSettings("acme"), { ciphertext: "x" });
    await store.applyPage({
      sourceId: source.id,
      events: [eventRow("e1", 1_700_000_000)],
      quarantined: [],
      unknownTypes: [],
    });
    await store.close();
    store = await openSqliteStore({ path });
    try {
      await store.applyPage({
        sourceId: source.id,
        events: [eventRow("e2", 1_700_000_001)],
        quarantined: [],
        unknownTypes: [],
      });
      await until(() => eventsInMainFile(path) === 2);
    } finally {
      await store.close();
    }
  });
});
