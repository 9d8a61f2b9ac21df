// SQLite's writer thread (../store/writer-thread.ts says why): its own connection to the file, the store's page
// transaction and the free-text indexer, answering the event loop's requests in the order they were sent.

import { workerData } from "node:worker_threads";
import type { StoreContext } from "../store/dialect.ts";
import { RuleStateCache } from "../store/rule-state-cache.ts";
import { SourceNumbers } from "../store/source-numbers.ts";
import { textIndexer } from "../store/text-index.ts";
import { notifyCommit, serveWriter, threadClock } from "../store/writer-thread.ts";
import { openConnection, THREAD_CACHE_MIB } from "./connection.ts";
import { SqliteStoreDialect } from "./dialect.ts";
import type { SqliteWriterData } from "./sqlite-store.ts";
import { WritePriority, yieldingTurn } from "./write-priority.ts";

const { path, busyTimeoutMs, alertLimitPerHour, priority } = workerData as SqliteWriterData;
const connection = openConnection(path, busyTimeoutMs, THREAD_CACHE_MIB);
const ctx: StoreContext = {
  dialect: new SqliteStoreDialect(connection, path, {
    // After each commit (a page's, a text-index batch's) the store's checkpointer is nudged; the store's reader
    // threads serve the reads.
    checkpointer: {
      nudge: () => notifyCommit(),
      close: async () => {},
    },
    lockTurn: yieldingTurn(new WritePriority(priority)),
  }),
  clock: threadClock,
  alertLimitPerHour,
  sourceNumbers: new SourceNumbers(),
  // Unused here: the store keeps the state between pages, from the writes this thread reports.
  ruleStateCache: new RuleStateCache(),
};
serveWriter(ctx, textIndexer(ctx));
