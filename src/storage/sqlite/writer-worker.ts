// The writer thread (writer-thread.ts says why): its own connection to the file, the store's page transaction
// and the free-text indexer, answering the event loop's requests in the order they were sent.

import { parentPort, workerData } from "node:worker_threads";
import type { Clock } from "../../core/clock.ts";
import type { StoreContext } from "../store/dialect.ts";
import { writePagesIn } from "../store/events.ts";
import { RuleStateCache } from "../store/rule-state-cache.ts";
import { SourceNumbers } from "../store/source-numbers.ts";
import { textIndexer } from "../store/text-index.ts";
import { openConnection } from "./connection.ts";
import { SqliteStoreDialect } from "./dialect.ts";
import { WritePriority, yieldingTurn } from "./write-priority.ts";
import {
  THREAD_CACHE_MIB,
  toRemoteError,
  type WriterReply,
  type WriterRequest,
  type WriterThreadOptions,
} from "./writer-thread.ts";

const port = parentPort;
if (port === null) throw new Error("writer-worker.ts runs as a worker thread only.");
const { path, busyTimeoutMs, alertLimitPerHour, priority } = workerData as Pick<
  WriterThreadOptions,
  "path" | "busyTimeoutMs" | "alertLimitPerHour" | "priority"
>;

// Every time a page transaction uses comes with its request (the event loop's clock, which tests set).
const noClock: Clock = {
  nowMs() {
    throw new Error("The writer thread has no clock: a write takes its time from its request.");
  },
};
const connection = openConnection(path, busyTimeoutMs, THREAD_CACHE_MIB);
const ctx: StoreContext = {
  dialect: new SqliteStoreDialect(connection, path, {
    // After each commit (a page's, a text-index batch's) the store's checkpointer is nudged; the store's reader
    // threads serve the reads.
    checkpointer: {
      nudge: () => port.postMessage({ id: 0 } satisfies WriterReply),
      close: async () => {},
    },
    lockTurn: yieldingTurn(new WritePriority(priority)),
  }),
  clock: noClock,
  alertLimitPerHour,
  sourceNumbers: new SourceNumbers(),
  // Unused here: the store keeps the state between pages, from the writes this thread reports.
  ruleStateCache: new RuleStateCache(),
};
const textIndex = textIndexer(ctx);

async function answer(request: Exclude<WriterRequest, { op: "schedule" }>): Promise<unknown> {
  switch (request.op) {
    case "write":
      return writePagesIn(ctx, request.writes, request.nowMs);
    case "flush":
      return textIndex.flush();
    case "stop":
      return textIndex.stop();
    case "close":
      await textIndex.stop();
      await ctx.dialect.close();
      return undefined;
  }
}

port.on("message", (request: WriterRequest) => {
  if (request.op === "schedule") {
    textIndex.schedule(request.events);
    return;
  }
  answer(request).then(
    (value) => port.postMessage({ id: request.id, value } satisfies WriterReply),
    (err: unknown) => port.postMessage({ id: request.id, error: toRemoteError(err) } satisfies WriterReply),
  );
});
