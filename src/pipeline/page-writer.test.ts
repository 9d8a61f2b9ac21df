import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventRow } from "../../test/storage-contract.ts";
import { VigilError } from "../core/errors.ts";
import type { PageWrite, PageWriteResult, Store } from "../storage/ports.ts";
import { PageCommitQueue } from "./page-writer.ts";

const write = (id: string): PageWrite => ({
  sourceId: "s",
  events: [eventRow(id, 1)],
  quarantined: [],
  unknownTypes: [],
});

const idOf = (w: PageWrite) => w.events[0]!.id;

const result = (w: PageWrite): PageWriteResult => ({
  insertedIds: [idOf(w)],
  duplicates: 0,
  quarantined: 0,
  newUnknownTypes: [],
  createdAlertIds: [],
});

/** A store whose transactions are recorded, and fail whole when they hold a page in `failing`. */
function recordingStore(failing = new Set<string>()) {
  const transactions: string[][] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const store: Pick<Store, "applyPages"> = {
    async applyPages(writes) {
      const ids = writes.map(idOf);
      if (hold) await new Promise<void>((r) => (release = r));
      if (ids.some((id) => failing.has(id))) {
        throw new VigilError("lease_lost", `lost ${ids.filter((id) => failing.has(id)).join(",")}`);
      }
      transactions.push(ids);
      return writes.map(result);
    },
  };
  return {
    store,
    transactions,
    /** Transactions wait until `release` is called. */
    holdNext() {
      hold = true;
    },
    release() {
      hold = false;
      release?.();
    },
  };
}

describe("PageCommitQueue", () => {
  it("commits pages ready at the same time in one transaction, in order, each with its own result", async () => {
    const s = recordingStore();
    const queue = new PageCommitQueue(s.store);
    const results = await Promise.all(["a", "b", "c"].map((id) => queue.write(write(id))));
    assert.deepEqual(s.transactions, [["a", "b", "c"]]);
    assert.deepEqual(
      results.map((r) => r.insertedIds),
      [["a"], ["b"], ["c"]],
    );
  });

  it("groups the pages that arrive while a transaction is in flight into the next one", async () => {
    const s = recordingStore();
    const queue = new PageCommitQueue(s.store);
    s.holdNext();
    const first = queue.write(write("a"));
    await new Promise((r) => setImmediate(r));
    const later = [queue.write(write("b")), queue.write(write("c"))];
    s.release();
    await Promise.all([first, ...later]);
    assert.deepEqual(s.transactions, [["a"], ["b", "c"]]);
    // Idle again: the next page goes at once, alone.
    await queue.write(write("d"));
    assert.deepEqual(s.transactions.at(-1), ["d"]);
  });

  it("writes the others of a failed group one per transaction; only the failing page fails, with its error", async () => {
    const s = recordingStore(new Set(["b"]));
    const queue = new PageCommitQueue(s.store);
    const settled = await Promise.allSettled(["a", "b", "c"].map((id) => queue.write(write(id))));
    assert.deepEqual(
      settled.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    const failure = (settled[1] as PromiseRejectedResult).reason;
    assert.ok(failure instanceof VigilError && failure.code === "lease_lost" && failure.message === "lost b");
    assert.deepEqual(s.transactions, [["a"], ["c"]]);
    // The queue goes on after a failure.
    await queue.write(write("e"));
    assert.deepEqual(s.transactions.at(-1), ["e"]);
  });
});
