import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { eventRow, sourceSettings } from "../../../test/storage-contract.ts";
import { VigilError } from "../../core/errors.ts";
import type { PageWrite } from "../ports.ts";
import { openSqliteStore, sqliteWriterThread } from "./sqlite-store.ts";
import { WritePriority } from "./write-priority.ts";

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
      // The thread indexes them (now, or already on its own): then the queue is empty and a search finds them.
      await store.indexPendingText();
      const queued = store.connection.prepare("SELECT count(*) AS n FROM event_text_pending").get() as { n: number };
      assert.equal(queued.n, 0);
      const indexed = store.connection.prepare("SELECT count(*) AS n FROM event_text").get() as { n: number };
      assert.equal(indexed.n, 2);
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

  it("fails the writes in flight when the thread dies holding the write lock, and the next write starts a new one", async () => {
    const path = freshPath();
    // The store migrates the file and creates the source; the thread under test writes beside it.
    // A short busy timeout: should the dead thread still hold the write lock, the store's next write fails.
    const store = await openSqliteStore({ path, writerThread: false, busyTimeoutMs: 500 });
    const thread = sqliteWriterThread(
      { path, busyTimeoutMs: 1_000, alertLimitPerHour: 100, priority: WritePriority.of(path).shared },
      { workerUrl: new URL("../../../test/fixtures/writer-worker-dies.mjs", import.meta.url) },
    );
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      await assert.rejects(thread.write([page(source.id, ["e1"])], -1), (err: unknown) => {
        assert.ok(err instanceof VigilError, String(err));
        assert.equal(err.code, "storage_write_failed");
        assert.equal(err.retryable, true);
        assert.match(err.message, /exited \(code 3\)/);
        return true;
      });
      // Its transaction died with it: nothing of the page, and the write lock is free.
      await store.createSource(sourceSettings("other"), { ciphertext: "v1:y" });
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
    const thread = sqliteWriterThread({
      path,
      busyTimeoutMs: 1_000,
      alertLimitPerHour: 100,
      priority: WritePriority.of(path).shared,
    });
    await thread.close();
    await assert.rejects(thread.write([page(source.id, ["e1"])], 1_000), (err: unknown) => {
      assert.ok(err instanceof VigilError);
      assert.equal(err.code, "storage_closed");
      return true;
    });
    assert.equal(await thread.textIndex?.flush(), 0);
  });
});

describe("write priority", () => {
  it("holds the writer thread's next BEGIN while the event loop's waits for the lock", async () => {
    const priority = new WritePriority(new SharedArrayBuffer(4));
    const thread = new Worker(new URL("../../../test/fixtures/yield-to-claims.mjs", import.meta.url), {
      workerData: { shared: priority.shared },
      execArgv: [],
    });
    try {
      const messages: Array<{ ready?: boolean; wentOnAt?: number }> = [];
      const next = () =>
        new Promise<{ ready?: boolean; wentOnAt?: number }>((resolve) => thread.once("message", resolve));
      messages.push(await next());
      assert.equal(messages[0]?.ready, true);
      let begunAt = 0;
      const claimed = priority.claim(async () => {
        // The thread is asked to begin while the event loop's BEGIN is still waiting.
        thread.postMessage("begin");
        await new Promise((resolve) => setTimeout(resolve, 300));
        begunAt = Date.now();
      });
      const wentOn = next();
      await claimed;
      const { wentOnAt } = await wentOn;
      assert.ok(wentOnAt !== undefined && wentOnAt >= begunAt, `went on at ${wentOnAt}, the claim ended at ${begunAt}`);
    } finally {
      await thread.terminate();
    }
  });

  it("holds a store's page write while the event loop's connection to the same file claims the lock", async () => {
    const path = freshPath();
    const store = await openSqliteStore({ path });
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      // The thread is started (it loads in half a second) and idle.
      await store.applyPage(page(source.id, ["e1"]));
      let claimEndedAt = 0;
      let writtenAt = 0;
      let written: Promise<void> | undefined;
      await WritePriority.of(path).claim(async () => {
        written = store.applyPage(page(source.id, ["e2"])).then(() => {
          writtenAt = Date.now();
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        claimEndedAt = Date.now();
      });
      await written;
      // An idle thread writes a page in milliseconds: it waited for the claim to end.
      assert.ok(writtenAt >= claimEndedAt, `written at ${writtenAt}, the claim ended at ${claimEndedAt}`);
    } finally {
      await store.close();
    }
  });
});
