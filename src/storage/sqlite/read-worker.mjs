// One read-only connection to the store's SQLite file, in a worker thread (see reader.ts). It runs the
// SQL it is sent and posts the rows back; it can never write (the connection is opened read-only and
// query_only). Plain JavaScript on purpose: `vigil` registers tsx on the main thread only, so a worker
// loads no TypeScript.

import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

// A search may keep this thread busy for a second; the event loop (/healthz, the overview, the poller) must
// not wait for a core behind it. On Linux, setpriority on "process 0" lowers the calling thread only, so
// this thread yields the CPU to the event loop. Elsewhere it would lower the whole process: not done there.
if (process.platform === "linux") {
  try {
    setPriority(0, workerData.nice);
  } catch {
    // Not allowed here (a container without the capability to change priorities): run at normal priority.
  }
}

const db = new Database(workerData.path, { readonly: true, fileMustExist: true, timeout: workerData.busyTimeoutMs });
db.pragma("query_only = ON");
db.pragma(`cache_size = -${workerData.cacheKib}`);

const statements = new Map();
const encoder = new TextEncoder();

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
    const rows = statement(message.sql).all(...message.params);
    if (!message.documents) {
      parentPort.postMessage({ id: message.id, rows });
      return;
    }
    // Rows of {doc, effective_at, id, source_id}: the docs go back as one UTF-8 buffer, moved (not copied)
    // to the main thread, which only has to write it to the socket.
    const json = encoder.encode(rows.map((r) => r.doc).join(","));
    const last = rows.at(-1);
    const cursor =
      last === undefined ? null : { effectiveAtSecs: last.effective_at, id: last.id, sourceId: last.source_id };
    parentPort.postMessage({ id: message.id, documents: { json, count: rows.length, last: cursor } }, [json.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: message.id, error: { message: String(err?.message ?? err), code: err?.code } });
  }
});
