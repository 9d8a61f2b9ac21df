// The writer thread's side (see writer-thread.ts): a store of its own on the same file, answering the write
// calls the event loop sends it. Calls run concurrently, as they would on the event loop; the store orders
// its write transactions itself.

import { parentPort, workerData } from "node:worker_threads";
import { openSqliteStore } from "./sqlite-store.ts";
import { toWire } from "./thread-errors.ts";
import type { WriterCall, WriterOptions, WriterReply } from "./writer-thread.ts";

const port = parentPort;
if (port === null) throw new Error("writer-host.ts runs in a worker thread only");
const options = workerData as WriterOptions;

try {
  // No reader threads: this store answers writes; reads stay with the event loop's store.
  const store = await openSqliteStore({ ...options, readers: 0, writerThread: false });
  const calls = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  port.on("message", (call: WriterCall) => {
    void (async () => {
      let reply: WriterReply;
      try {
        reply = { id: call.id, value: await calls[call.method]!(...call.args) };
      } catch (err) {
        reply = { id: call.id, error: toWire(err) };
      }
      try {
        port.postMessage(reply);
      } catch (err) {
        // A value structured clone cannot carry breaks the store's contract (plain data in, plain data out).
        port.postMessage({ id: call.id, error: toWire(err) } satisfies WriterReply);
      }
    })();
  });
  port.postMessage({ id: 0, value: "ready" } satisfies WriterReply);
} catch (err) {
  port.postMessage({ id: 0, error: toWire(err) } satisfies WriterReply);
}
