// Checkpoints of the store's WAL, on a thread of their own (see checkpointer.ts). Plain JavaScript for the
// reason read-worker.mjs gives.

import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const db = new Database(workerData.path, { fileMustExist: true, timeout: workerData.busyTimeoutMs });
// This connection never writes rows; it only moves committed WAL frames into the database file.
db.pragma("query_only = ON");

parentPort.on("message", (message) => {
  try {
    // PASSIVE: copies what it can without waiting for the writer or readers, so no one waits for it.
    const [result] = db.pragma("wal_checkpoint(PASSIVE)");
    parentPort.postMessage({ id: message.id, walFrames: result.log, checkpointed: result.checkpointed });
  } catch (err) {
    parentPort.postMessage({ id: message.id, error: { message: String(err?.message ?? err), code: err?.code } });
  }
});
