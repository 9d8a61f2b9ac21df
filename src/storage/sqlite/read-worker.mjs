// One read-only connection to the store's SQLite file, in a worker thread (see reader.ts). It runs the
// SQL it is sent and posts the rows back; it can never write (the connection is opened read-only and
// query_only). Plain JavaScript on purpose: `vigil` registers tsx on the main thread only, so a worker
// loads no TypeScript.

import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const db = new Database(workerData.path, { readonly: true, fileMustExist: true, timeout: workerData.busyTimeoutMs });
db.pragma("query_only = ON");
db.pragma(`cache_size = -${workerData.cacheKib}`);

const statements = new Map();

function statement(sql) {
  let s = statements.get(sql);
  if (s === undefined) {
    s = db.prepare(sql);
    // A handful of query shapes in practice; the cap only guards against a pathological caller.
    if (statements.size >= 256) statements.clear();
    statements.set(sql, s);
  }
  return s;
}

parentPort.on("message", (message) => {
  try {
    parentPort.postMessage({ id: message.id, rows: statement(message.sql).all(...message.params) });
  } catch (err) {
    parentPort.postMessage({ id: message.id, error: { message: String(err?.message ?? err), code: err?.code } });
  }
});
