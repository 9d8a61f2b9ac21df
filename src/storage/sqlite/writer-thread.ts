// Page writes on a thread of their own. A backfill spent about half of the event loop's time inside the
// store's writes: building rows and statements, better-sqlite3 running them synchronously, the commit. With a
// store of its own in a worker thread, the event loop sends a page there and goes on fetching, normalizing and
// detecting the next pages while the thread writes: the two overlap on two cores.
//
// Only writes move. Every call whose name says it reads (get…, list…, count…) stays on the event loop's own
// connection, which WAL lets read beside the thread's write transaction, so a read never waits behind a page
// being written. A write resolves after its COMMIT, so a read sent after it sees it. The split is by name: a
// write counted as a read would only run on the event loop as before, and a read counted as a write would
// only take the longer way; neither can change a result.
//
// The thread starts at the first write (a command that only reads never starts it). A crash of the process
// ends both threads at once, so crash safety is the store's own; a thread that dies fails the writes it was
// answering (a page write that failed is written again by its caller) and is started again at the next write.

import { Worker } from "node:worker_threads";
import { VigilError } from "../../core/errors.ts";
import type { Store } from "../ports.ts";
import { fromWire, type WireError } from "./thread-errors.ts";

export interface WriterOptions {
  path: string;
  busyTimeoutMs?: number;
  alertLimitPerHour?: number;
}

export interface WriterCall {
  id: number;
  method: string;
  args: unknown[];
}

export type WriterReply = { id: number; value: unknown } | { id: number; error: WireError };

const READ_PREFIXES = ["get", "list", "count", "search", "query", "load"];
const READS = new Set([
  "alertCounts",
  "deliveryCounts",
  "eventHistogram",
  "eventTypeCounts",
  "historyAlertCounts",
  "loginWaits",
  "sourceCounts",
]);
/** Calls the event loop's store keeps whatever their name: opening and closing are each store's own. */
const LOCAL = new Set(["migrate", "close"]);

/** Whether a store call only reads, judged by its name (see the header for why a wrong guess is harmless). */
export function isReadCall(method: string): boolean {
  return READS.has(method) || READ_PREFIXES.some((p) => method.startsWith(p) && /^[A-Z]/.test(method.slice(p.length)));
}

const WORKER_URL = new URL("./writer-worker.mjs", import.meta.url);

export class WriterThread {
  readonly #options: WriterOptions;
  #worker: Worker | null = null;
  #ready: Promise<Worker> | null = null;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #nextId = 0;
  #closed = false;

  constructor(options: WriterOptions) {
    this.#options = options;
  }

  async call(method: string, args: unknown[]): Promise<unknown> {
    if (this.#closed) throw new VigilError("storage_closed", "The database has been closed.");
    const worker = await this.#start();
    return new Promise((resolve, reject) => {
      const id = ++this.#nextId;
      if (this.#pending.size === 0) worker.ref();
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, method, args } satisfies WriterCall);
    });
  }

  #start(): Promise<Worker> {
    this.#ready ??= new Promise<Worker>((resolve, reject) => {
      const worker = new Worker(WORKER_URL, { workerData: this.#options });
      const failed = (err: Error) => {
        for (const p of this.#pending.values()) p.reject(err);
        this.#pending.clear();
        if (this.#worker === worker || this.#worker === null) {
          this.#worker = null;
          this.#ready = null;
        }
      };
      worker.on("message", (reply: WriterReply) => {
        if (reply.id === 0) {
          if ("error" in reply) {
            reject(fromWire(reply.error));
            void worker.terminate();
            return;
          }
          this.#worker = worker;
          // An idle thread must not keep a finished command alive; a call refs it until it is answered.
          worker.unref();
          resolve(worker);
          return;
        }
        const pending = this.#pending.get(reply.id);
        if (pending === undefined) return;
        this.#pending.delete(reply.id);
        if (this.#pending.size === 0) worker.unref();
        if ("error" in reply) pending.reject(fromWire(reply.error));
        else pending.resolve(reply.value);
      });
      worker.on("error", (err) => {
        const error = new VigilError("storage_writer_failed", `The database's writer thread failed: ${err.message}`, {
          cause: err,
        });
        reject(error);
        failed(error);
      });
      worker.on("exit", (code) => {
        const error = new VigilError("storage_writer_failed", `The database's writer thread ended (code ${code}).`);
        reject(error);
        failed(error);
      });
    });
    return this.#ready;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const ready = this.#ready;
    this.#ready = null;
    if (ready === null) return;
    const worker = await ready.catch(() => null);
    if (worker === null) return;
    // The thread's store closes its connection (and its own threads) before the thread goes.
    await new Promise<void>((resolve) => {
      const id = ++this.#nextId;
      worker.ref();
      this.#pending.set(id, { resolve: () => resolve(), reject: () => resolve() });
      worker.postMessage({ id, method: "close", args: [] } satisfies WriterCall);
    });
    await worker.terminate();
  }
}

/** `store` with its writes sent to `writer`; reads, opening and closing stay with `store`. */
export function withWriterThread<S extends Store>(store: S, writer: WriterThread): S {
  const routed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(store)) {
    if (typeof value !== "function" || LOCAL.has(name) || isReadCall(name)) routed[name] = value;
    else routed[name] = (...args: unknown[]) => writer.call(name, args);
  }
  routed.close = async () => {
    await writer.close();
    await store.close();
  };
  return routed as S;
}
