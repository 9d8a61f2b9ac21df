// Page transactions on a thread of their own, for both engines. The event loop of a backfill is busy with the
// next pages' requests, normalization and detection rules; a page's transaction run there waited for it at
// every statement:
// - better-sqlite3 runs each statement synchronously, so an inline page transaction (its inserts, index updates
//   and fsynced commit) stopped everything else, and a backfill used one core;
// - on PostgreSQL each of a page's 25 or so round trips waited its turn on that event loop: a page took 106 ms
//   with four slices at once against 25 ms alone (bench/ingest.ts, 30,000 events).
// Here a worker thread holds connections of its own (../sqlite/writer-worker.ts, ../postgres/writer-worker.ts)
// and runs the store's page transaction (./events.ts writePagesIn, the same code the store runs inline) while the
// event loop goes on with the next pages. On SQLite the free-text index lives on the same thread, so its batches
// and the pages take turns there instead of waiting for each other's write lock; PostgreSQL's has no write lock
// to share and stays on the event loop.
//
// Nothing changes for durability: a write resolves after its COMMIT returned on the thread, and a killed process
// loses the thread with it, as it loses the transaction in flight on the event loop.
//
// The thread starts at the first message and is replaced at the next one should it die (the calls in flight
// fail with the reason). Its errors come back as the same classes (VigilError and its kinds, and what the
// engine's `rebuildError` knows) with the same code, message and retryability, which is what the callers check;
// the `cause` an error carried (the driver's own error, for debug logs) stays on the thread.

import { parentPort, Worker } from "node:worker_threads";
import { ConfigurationError, NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import type { PageWrite } from "../ports.ts";
import type { PagesWritten, PageWriter, StoreContext, StoreDialect, TextIndexer } from "./dialect.ts";
import { writePagesIn } from "./events.ts";
import { withPackedContexts } from "./packed-json.ts";
import { RuleStateCache } from "./rule-state-cache.ts";
import { SourceNumbers } from "./source-numbers.ts";

/** The thread's entry, for either engine. */
const WRITER_ENTRY = new URL("./writer-worker.mjs", import.meta.url);

export interface WriterThreadOptions {
  /** The engine's writer module (its writer-worker.ts), which the thread loads. */
  engineModule: URL;
  /** The thread's entry: ./writer-worker.mjs unless a test gives one that fails. */
  workerUrl?: URL;
  /** What the engine's module opens its connections with, cloned to the thread. */
  workerData: object;
  /**
   * Whether the free-text index runs on the thread too (SQLite: its batches and the pages share one write lock),
   * or stays on the event loop (PostgreSQL), in which case the thread's `textIndex` is null.
   */
  textIndex: boolean;
  /** Whether the thread packs the matches' contexts (PageWriter.packsContexts), or the caller sends them packed. */
  packsContexts: boolean;
  /** Called after each transaction the thread committed (pages, text-index batches): SQLite's checkpointer nudge. */
  afterWrite?: () => void;
  /**
   * Whether events wait for the text index, read on the store's connection: a store that writes no page (a CLI
   * command, most tests) then never starts the thread, which takes about 0.65 s to bundle and load the store's code.
   */
  textQueued?: () => boolean;
  /** The engine's own error classes, rebuilt from what crossed the thread (undefined: not one of them). */
  rebuildError?: (remote: RemoteError) => Error | undefined;
}

/** A request to the thread; a reply answers `id`. */
export type WriterRequest =
  | { id: number; op: "write"; writes: readonly PageWrite[]; nowMs: number }
  | { id: number; op: "flush" }
  | { id: number; op: "stop" }
  | { id: number; op: "close" }
  | { id: 0; op: "schedule"; events: number };

/** The answer to request `id`; id 0: a notice that the thread committed a transaction. */
export interface WriterReply {
  id: number;
  value?: unknown;
  error?: RemoteError;
}

/** An error as it crosses the thread boundary: enough to rebuild the same class with the same fields. */
export interface RemoteError {
  name: string;
  message: string;
  code?: string;
  retryable?: boolean;
  stack?: string;
}

export function toRemoteError(err: unknown): RemoteError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const { code, retryable } = err as { code?: unknown; retryable?: unknown };
  return {
    name: err.name,
    message: err.message,
    ...(typeof code === "string" ? { code } : {}),
    ...(typeof retryable === "boolean" ? { retryable } : {}),
    ...(err.stack !== undefined ? { stack: err.stack } : {}),
  };
}

/**
 * The error `toRemoteError` described, as the class it was thrown as: Vigil's own, the engine's that `rebuild`
 * knows, or a plain Error for any other.
 */
export function fromRemoteError(remote: RemoteError, rebuild?: (remote: RemoteError) => Error | undefined): Error {
  const code = remote.code ?? "";
  let err: Error;
  if (remote.name === "NotFoundError") err = new NotFoundError(remote.message);
  else if (remote.name === "UsageError") err = new UsageError(remote.message);
  else if (remote.name === "ConfigurationError") err = new ConfigurationError(code, remote.message);
  else if (remote.name === "VigilError") err = new VigilError(code, remote.message, { retryable: remote.retryable });
  else {
    // A kind of VigilError not listed here still says whether to retry: it comes back a VigilError.
    err =
      rebuild?.(remote) ??
      (remote.retryable !== undefined && remote.code !== undefined
        ? new VigilError(code, remote.message, { retryable: remote.retryable })
        : new Error(remote.message));
  }
  if (remote.stack !== undefined) err.stack = remote.stack;
  return err;
}

interface Pending {
  /** The thread the request was sent to: only its death fails the request. */
  worker: Worker;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class WriterThread implements PageWriter {
  readonly #options: WriterThreadOptions;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | null = null;
  #nextId = 0;
  #closed = false;
  readonly textIndex: TextIndexer | null;
  readonly packsContexts: boolean;

  constructor(options: WriterThreadOptions) {
    this.#options = options;
    this.packsContexts = options.packsContexts;
    this.textIndex = !options.textIndex
      ? null
      : {
          schedule: (events = 0) => {
            if (this.#closed || !this.#hasWork(events)) return;
            this.#start().postMessage({ id: 0, op: "schedule", events } satisfies WriterRequest);
          },
          flush: async () => (this.#closed || !this.#hasWork(0) ? 0 : ((await this.#call({ op: "flush" })) as number)),
          stop: async () => {
            if (this.#worker !== null) await this.#call({ op: "stop" });
          },
        };
  }

  async write(writes: readonly PageWrite[], nowMs: number): Promise<PagesWritten> {
    if (this.#closed) throw new VigilError("storage_closed", "The database has been closed.");
    return (await this.#call({ op: "write", writes, nowMs })) as PagesWritten;
  }

  /** Whether `worker` owes an answer to any request. */
  #owes(worker: Worker): boolean {
    for (const pending of this.#pending.values()) if (pending.worker === worker) return true;
    return false;
  }

  /** Whether the text index has anything to do: `events` just queued, or any left from before the thread. */
  #hasWork(events: number): boolean {
    return this.#worker !== null || events > 0 || (this.#options.textQueued?.() ?? true);
  }

  /** Closes the thread's connection (after the calls already sent) and ends the thread. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const worker = this.#worker;
    if (worker === null) return;
    try {
      await this.#call({ op: "close" });
    } finally {
      await worker.terminate();
    }
  }

  #call(request: { op: "write"; writes: readonly PageWrite[]; nowMs: number } | { op: "flush" | "stop" | "close" }) {
    const worker = this.#start();
    const id = ++this.#nextId;
    return new Promise<unknown>((resolve, reject) => {
      // Sent first: a request that cannot be sent (a value that cannot be cloned) owes no answer.
      worker.postMessage({ ...request, id } as WriterRequest);
      this.#pending.set(id, { worker, resolve, reject });
      // A command must not end while the thread owes it an answer; an idle thread keeps nothing alive.
      worker.ref();
    });
  }

  #start(): Worker {
    if (this.#worker !== null) return this.#worker;
    const { afterWrite, engineModule, workerUrl = WRITER_ENTRY, workerData } = this.#options;
    // No execArgv: the thread loads the store's code bundled, without a TypeScript loader (writer-worker.mjs),
    // whether or not this process was started with one.
    // A young generation of 8 MB, not V8's default: the thread's objects are a page's rows and live for one
    // transaction, and the default let its heap add about 20 MB to the process's peak (bench/backfill.ts).
    const worker = new Worker(workerUrl, {
      workerData: { ...workerData, engineModule: engineModule.href },
      execArgv: [],
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    worker.unref();
    worker.on("message", (reply: WriterReply) => {
      if (reply.id === 0) {
        afterWrite?.();
        return;
      }
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if (!this.#owes(worker)) worker.unref();
      if (reply.error === undefined) pending.resolve(reply.value);
      else pending.reject(fromRemoteError(reply.error, this.#options.rebuildError));
    });
    let failed = false;
    const fail = (err: Error) => {
      // 'error' and 'exit' both come for a thread that dies, in separate turns: the first one settles.
      if (failed) return;
      failed = true;
      if (this.#worker === worker) this.#worker = null;
      // Retryable: the next request starts a new thread. A request that was written before the thread died
      // may have committed; pages are stored by event id, so writing them again stores nothing twice.
      const error = new VigilError("storage_write_failed", `The database writer thread failed: ${err.message}`, {
        cause: err,
        retryable: true,
      });
      for (const [id, pending] of this.#pending) {
        if (pending.worker !== worker) continue;
        this.#pending.delete(id);
        pending.reject(error);
      }
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`it exited (code ${code})`)));
    this.#worker = worker;
    return worker;
  }
}

/**
 * The thread's side: answers the event loop's requests with the page transaction on `ctx` (the thread's own
 * connections) and, where the engine keeps it here, the text index. Requests are answered as they complete;
 * the engine's dialect orders the transactions (SQLite: one at a time; PostgreSQL: its pool).
 */
export function serveWriter(ctx: StoreContext, textIndex: TextIndexer | null): void {
  const port = parentPort;
  if (port === null) throw new Error("A writer worker runs as a worker thread only.");
  // The writes not answered yet: closing waits for them (PostgreSQL runs several at once), so a write sent
  // before `close` is committed or rolled back, never cut off by the pool closing under it.
  const writing = new Set<Promise<unknown>>();
  const answer = async (request: Exclude<WriterRequest, { op: "schedule" }>): Promise<unknown> => {
    switch (request.op) {
      case "write": {
        // Packed here, before the transaction and its locks, where the caller left them (PageWriter.packsContexts).
        const written = writePagesIn(ctx, request.writes.map(withPackedContexts), request.nowMs);
        writing.add(written);
        try {
          return await written;
        } finally {
          writing.delete(written);
        }
      }
      case "flush":
        return (await textIndex?.flush()) ?? 0;
      case "stop":
        return textIndex?.stop();
      case "close":
        await Promise.allSettled(writing);
        await textIndex?.stop();
        await ctx.dialect.close();
        return undefined;
    }
  };
  port.on("message", (request: WriterRequest) => {
    if (request.op === "schedule") {
      textIndex?.schedule(request.events);
      return;
    }
    answer(request).then(
      (value) => port.postMessage({ id: request.id, value } satisfies WriterReply),
      (err: unknown) => port.postMessage({ id: request.id, error: toRemoteError(err) } satisfies WriterReply),
    );
  });
}

/** The thread's side: tells the event loop that it committed a transaction (`afterWrite`). */
export function notifyCommit(): void {
  parentPort?.postMessage({ id: 0 } satisfies WriterReply);
}

/** The thread's StoreContext over the engine's `dialect` (the thread's own connections). */
export function threadContext(dialect: StoreDialect, alertLimitPerHour: number): StoreContext {
  return {
    dialect,
    // Every time a page transaction uses comes with its request (the event loop's clock, which tests set).
    clock: {
      nowMs() {
        throw new Error("A writer thread has no clock: a write takes its time from its request.");
      },
    },
    alertLimitPerHour,
    sourceNumbers: new SourceNumbers(),
    // Unused here: the store keeps the state between pages, from the writes this thread reports.
    ruleStateCache: new RuleStateCache(),
  };
}
