// SQLite's writer thread (../store/writer-thread.ts says why): its own connection to the file, the store's page
// transaction and the free-text indexer, one transaction at a time (the dialect's write lock).

import { workerData } from "node:worker_threads";
import { textIndexer } from "../store/text-index.ts";
import { notifyCommit, serveWriter, threadContext } from "../store/writer-thread.ts";
import { openConnection, THREAD_CACHE_MIB } from "./connection.ts";
import { SqliteStoreDialect } from "./dialect.ts";
import type { SqliteWriterData } from "./sqlite-store.ts";
import { WritePriority, yieldingTurn } from "./write-priority.ts";

const { path, busyTimeoutMs, alertLimitPerHour, priority } = workerData as SqliteWriterData;
const connection = openConnection(path, busyTimeoutMs, THREAD_CACHE_MIB);
const ctx = threadContext(
  new SqliteStoreDialect(connection, path, {
    // After each commit (a page's, a text-index batch's) the store's checkpointer is nudged; the store's reader
    // threads serve the reads.
    checkpointer: { nudge: notifyCommit, close: async () => {} },
    lockTurn: yieldingTurn(new WritePriority(priority)),
  }),
  alertLimitPerHour,
);
serveWriter(ctx, textIndexer(ctx));
