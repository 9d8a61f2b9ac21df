// Reads that can take long (searches, lists, histograms that the counters cannot answer) run here, on
// read-only connections in worker threads, never on the server's event loop: better-sqlite3 is
// synchronous, so a one-second search on the main connection was a one-second stall of /healthz, the
// API and the poller. WAL lets these readers run beside the store's writer, and each read sees every
// commit made before it was sent (the writer commits synchronously before its promise resolves).
//
// Each worker answers one query at a time; a query goes to the worker with the fewest waiting. An
// in-memory database cannot be shared with another connection, so that store reads inline instead.

import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { UsageError, VigilError } from "../../core/errors.ts";
import type { EventDocuments } from "../ports.ts";

export interface ReaderOptions {
  path: string;
  /** Worker threads (read connections); default 1. */
  size?: number;
  busyTimeoutMs: number;
  /** Page cache of each read connection. */
  cacheKib?: number;
}

interface Pending {
  resolve: (answer: unknown) => void;
  reject: (err: unknown) => void;
}

interface Reply {
  id: number;
  rows?: unknown[];
  documents?: EventDocuments;
  error?: { message: string; code?: string };
}

const WORKER_URL = new URL("./read-worker.mjs", import.meta.url);
/** Reader threads run at a lower CPU priority than the event loop (Linux; see read-worker.mjs). */
const READER_NICE = 10;

class ReadWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #failed: Error | undefined;

  constructor(options: Required<ReaderOptions>, onExit: (w: ReadWorker) => void) {
    this.#worker = new Worker(WORKER_URL, {
      workerData: {
        path: options.path,
        busyTimeoutMs: options.busyTimeoutMs,
        cacheKib: options.cacheKib,
        nice: READER_NICE,
      },
      // Plain JavaScript: no TypeScript loader, even in a process started with one (checkpointer.ts says why).
      execArgv: [],
    });
    // Idle workers must not keep a finished CLI command alive; `run` refs the worker while it owes an answer.
    this.#worker.unref();
    this.#worker.on("message", (reply: Reply) => {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (reply.error === undefined) pending.resolve(reply.documents ?? reply.rows ?? []);
      // Rebuilt as the driver's own error, so the store translates it exactly as an inline failure.
      else pending.reject(new Database.SqliteError(reply.error.message, reply.error.code ?? "SQLITE_ERROR"));
    });
    this.#worker.on("error", (err) => this.#fail(err));
    this.#worker.on("exit", (code) => {
      this.#fail(new Error(`the read worker exited (code ${code})`));
      onExit(this);
    });
  }

  get waiting(): number {
    return this.#pending.size;
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    const error = new VigilError("storage_read_failed", `A database read failed: ${err.message}.`, { cause: err });
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  #nextId = 0;

  run(sql: string, params: readonly unknown[], documents: boolean): Promise<unknown> {
    if (this.#failed !== undefined) {
      return Promise.reject(new VigilError("storage_read_failed", `A database read failed: ${this.#failed.message}.`));
    }
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, sql, params, documents });
    });
  }

  async close(): Promise<void> {
    this.#fail(new VigilError("storage_closed", "The database has been closed."));
    await this.#worker.terminate();
  }
}

/** A small pool of read-only connections in worker threads, started on first use. */
export class SqliteReader {
  readonly #options: Required<ReaderOptions>;
  #workers: ReadWorker[] = [];
  #closed = false;

  constructor(options: ReaderOptions) {
    this.#options = { size: 1, cacheKib: 16_384, ...options };
    if (!(this.#options.size >= 1)) throw new UsageError("The database reader needs at least one worker.");
  }

  /** Runs one read-only statement off the event loop; rows as better-sqlite3's `all` returns them. */
  all<Row>(sql: string, params: readonly unknown[]): Promise<Row[]> {
    return this.#pick().run(sql, params, false) as Promise<Row[]>;
  }

  /**
   * Runs a query of `compileEventDocuments` and answers its documents as one UTF-8 buffer, built on the
   * reader thread (see read-worker.mjs).
   */
  documents(sql: string, params: readonly unknown[]): Promise<EventDocuments> {
    return this.#pick().run(sql, params, true) as Promise<EventDocuments>;
  }

  #pick(): ReadWorker {
    if (this.#closed) throw new VigilError("storage_closed", "The database has been closed.");
    while (this.#workers.length < this.#options.size) {
      // A worker that died is dropped by its exit handler and replaced here, on the next read.
      this.#workers.push(new ReadWorker(this.#options, (w) => this.#drop(w)));
    }
    let best = this.#workers[0]!;
    for (const w of this.#workers) if (w.waiting < best.waiting) best = w;
    return best;
  }

  #drop(worker: ReadWorker): void {
    this.#workers = this.#workers.filter((w) => w !== worker);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const workers = this.#workers;
    this.#workers = [];
    await Promise.all(workers.map((w) => w.close()));
  }
}
