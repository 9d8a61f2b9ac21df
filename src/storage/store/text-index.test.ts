import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { StoreContext } from "./dialect.ts";
import { textIndexer } from "./text-index.ts";

/**
 * A dialect whose write is one indexing batch (it takes every queued event) and whose owed work comes in chunks
 * that each take `chunkMs`: enough of the store's side to watch when the indexer runs.
 */
function fakeStore(options: { owedChunks: number; chunkMs: number }) {
  const state = { queued: 0, owedChunks: options.owedChunks };
  const dialect = {
    write: async () => {
      const n = state.queued;
      state.queued = 0;
      return n;
    },
    catchUpText: async () => {
      if (state.owedChunks === 0) return 0;
      await sleep(options.chunkMs);
      state.owedChunks--;
      return 1000;
    },
  };
  return { state, ctx: { dialect } as unknown as StoreContext };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(20)) if (condition()) return true;
  return condition();
}

describe("textIndexer", () => {
  it("indexes a page that comes during owed work, then goes on with the owed work", async () => {
    const { state, ctx } = fakeStore({ owedChunks: 3, chunkMs: 800 });
    const indexer = textIndexer(ctx);
    try {
      indexer.schedule();
      // Mid-chunk (the run started after the 250 ms idle wait): a page's events are queued. Its own start, 250 ms
      // later, finds the run still in the chunk; the run yields its owed work to them after the chunk, and a run
      // of their own must follow.
      await sleep(450);
      state.queued = 5;
      indexer.schedule(5);
      assert.ok(
        await until(() => state.queued === 0 && state.owedChunks === 0, 5_000),
        `queued ${state.queued}, owed chunks ${state.owedChunks}`,
      );
    } finally {
      await indexer.stop();
    }
  });

  it("pays every owed chunk on flush, even while pages are scheduled", async () => {
    const { state, ctx } = fakeStore({ owedChunks: 2, chunkMs: 1 });
    const indexer = textIndexer(ctx);
    try {
      state.queued = 3;
      indexer.schedule(3);
      assert.equal(await indexer.flush(), 3);
      assert.equal(state.owedChunks, 0);
    } finally {
      await indexer.stop();
    }
  });
});
