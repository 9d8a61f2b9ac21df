import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { eventRow, sourceSettings } from "../../../test/storage-contract.ts";
import { ConfigurationError, NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import type { PageWrite } from "../ports.ts";
import { openSqliteStore } from "./sqlite-store.ts";
import { fromRemoteError, toRemoteError, WriterThread } from "./writer-thread.ts";

const T0 = 1_700_000_000;
const scratch = mkdtempSync(join(tmpdir(), "vigil-writer-thread-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(scratch, `store-${++files}.db`);

function page(sourceId: string, ids: string[]): PageWrite {
  return {
    sourceId,
    events: ids.map((id, i) => eventRow(id, T0 + i)),
    quarantined: [],
    unknownTypes: [],
    streamUpdate: { stream: "main", checkpointSecs: T0 + ids.length },
  };
}

describe("errors across the writer thread", () => {
  it("come back as the class and fields they were thrown with", () => {
    const cases: Error[] = [
      new NotFoundError("No source with id s1."),
      new UsageError("Unknown stream."),
      new ConfigurationError("bad_key", "The key is wrong."),
      new VigilError("storage_busy", "The database is busy.", { retryable: true }),
      new Database.SqliteError("UNIQUE constraint failed", "SQLITE_CONSTRAINT_UNIQUE"),
      new Error("A new match was stored already."),
    ];
    for (const original of cases) {
      const rebuilt = fromRemoteError(structuredClone(toRemoteError(original)));
      assert.equal(rebuilt.constructor, original.constructor, original.name);
      assert.equal(rebuilt.message, original.message);
      assert.equal((rebuilt as { code?: string }).code, (original as { code?: string }).code);
      assert.equal((rebuilt as { retryable?: boolean }).retryable, (original as { retryable?: boolean }).retryable);
      assert.equal(rebuilt.stack, original.stack);
    }
    const thrown = fromRemoteError(toRemoteError("a string"));
    assert.equal(thrown.constructor, Error);
    assert.equal(thrown.message, "a string");
  });
});

describe("SQLite writer thread", () => {
  it("commits a page before its write resolves, and the store's own connection sees it", async () => {
    const store = await openSqliteStore({ path: freshPath() });
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      const [result] = await store.applyPages([page(source.id, ["e1", "e2"])]);
      assert.deepEqual(result?.insertedIds, ["e1", "e2"]);
      const n = store.connection.prepare("SELECT count(*) AS n FROM events").get() as { n: number };
      assert.equal(n.n, 2);
      assert.equal((await store.getStreamState(source.id, "main")).checkpointSecs, T0 + 2);
      // The thread indexed them: a search finds them from the index, the queue is empty.
      assert.equal(await store.indexPendingText(), 2);
      const queued = store.connection.prepare("SELECT count(*) AS n FROM event_text_pending").get() as { n: number };
      assert.equal(queued.n, 0);
      assert.equal(await store.countEvents({ text: "e2" }), 1);
    } finally {
      await store.close();
    }
  });

  it("reports a write lock held elsewhere as storage_busy and stores nothing of the page", async () => {
    const path = freshPath();
    const store = await openSqliteStore({ path, busyTimeoutMs: 100 });
    const other = new Database(path);
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      other.exec("BEGIN IMMEDIATE");
      await assert.rejects(store.applyPage(page(source.id, ["e1"])), (err: unknown) => {
        assert.ok(err instanceof VigilError, String(err));
        assert.equal(err.code, "storage_busy");
        return true;
      });
      other.exec("ROLLBACK");
      assert.equal(await store.countEvents(), 0);
      const [result] = await store.applyPages([page(source.id, ["e1"])]);
      assert.deepEqual(result?.insertedIds, ["e1"]);
    } finally {
      other.close();
      await store.close();
    }
  });

  it("fails the writes in flight when the thread dies, and the next write starts a new one", async () => {
    const path = freshPath();
    // The store migrates the file and creates the source; the thread under test writes beside it.
    const store = await openSqliteStore({ path, writerThread: false });
    const thread = new WriterThread({
      path,
      busyTimeoutMs: 1_000,
      alertLimitPerHour: 100,
      workerUrl: new URL("../../../test/fixtures/writer-worker-dies.mjs", import.meta.url),
    });
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      await assert.rejects(thread.write([page(source.id, ["e1"])], -1), (err: unknown) => {
        assert.ok(err instanceof VigilError, String(err));
        assert.equal(err.code, "storage_write_failed");
        assert.match(err.message, /exited \(code 3\)/);
        return true;
      });
      assert.equal(await store.countEvents(), 0);
      const written = await thread.write([page(source.id, ["e1", "e2"])], 1_000);
      assert.deepEqual(written.results[0]?.insertedIds, ["e1", "e2"]);
      assert.equal(await store.countEvents(), 2);
    } finally {
      await thread.close();
      await store.close();
    }
  });

  it("refuses writes once closed, and closing a thread never started is immediate", async () => {
    const path = freshPath();
    const store = await openSqliteStore({ path });
    const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
    await store.close();
    const thread = new WriterThread({ path, busyTimeoutMs: 1_000, alertLimitPerHour: 100 });
    await thread.close();
    await assert.rejects(thread.write([page(source.id, ["e1"])], 1_000), (err: unknown) => {
      assert.ok(err instanceof VigilError);
      assert.equal(err.code, "storage_closed");
      return true;
    });
    assert.equal(await thread.textIndex.flush(), 0);
  });
});
