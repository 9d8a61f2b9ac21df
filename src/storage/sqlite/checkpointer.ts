// WAL checkpoints off the writer's thread. SQLite checkpoints automatically in the connection that commits
// past `wal_autocheckpoint` pages: copying the WAL into the database file and fsyncing it, inside that
// COMMIT, on the event loop. A backfill's commit paid for about half its time that way. Here a second
// connection in a worker thread runs a PASSIVE checkpoint after writes instead (it waits for no one, and no
// one waits for it); the writer keeps a high automatic threshold only as a backstop, should this thread fall
// behind or fail. A checkpoint moves committed frames only, so a crash in the middle of one loses nothing.

import { Worker } from "node:worker_threads";

const WORKER_URL = new URL("./checkpoint-worker.mjs", import.meta.url);

/**
 * WAL pages past which the writer checkpoints by itself (SQLite's default is 1,000): 64 MiB of a new file's
 * 8 KiB pages (32 MiB of the 4 KiB pages of a file made before), far past what the checkpoint thread leaves
 * behind when it keeps up.
 */
export const BACKSTOP_WAL_PAGES = 8192;

interface Reply {
  id: number;
  error?: { message: string };
}

export class Checkpointer {
  readonly #options: { path: string; busyTimeoutMs: number };
  #worker: Worker | null = null;
  #inFlight = false;
  #again = false;
  #closed = false;
  #nextId = 0;

  constructor(options: { path: string; busyTimeoutMs: number }) {
    this.#options = options;
  }

  /** Asks for a checkpoint soon; calls while one runs fold into one more after it. Never waits. */
  nudge(): void {
    if (this.#closed) return;
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    this.#inFlight = true;
    this.#again = false;
    try {
      this.#start().postMessage({ id: ++this.#nextId });
    } catch {
      // The thread could not start (a limit on threads, memory): the writer's backstop checkpoints; the next
      // nudge tries again. Never an error for the write that nudged.
      this.#inFlight = false;
    }
  }

  #start(): Worker {
    if (this.#worker !== null) return this.#worker;
    // No execArgv: the thread is plain JavaScript, and a process started with `--import tsx` (the tests, the
    // bench) would otherwise load the TypeScript loader into it too, about 10 MB for nothing.
    const worker = new Worker(WORKER_URL, { workerData: this.#options, execArgv: [] });
    // Checkpoints are best effort: they never keep a finished command alive.
    worker.unref();
    worker.on("message", (_reply: Reply) => {
      // A failed checkpoint (the file busy past the timeout) is left to the next one, or to the backstop.
      this.#inFlight = false;
      if (this.#again) this.nudge();
    });
    const drop = () => {
      // A worker that died is replaced at the next nudge; the backstop covers the gap.
      if (this.#worker === worker) this.#worker = null;
      this.#inFlight = false;
    };
    worker.on("error", drop);
    worker.on("exit", drop);
    this.#worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = null;
    await worker?.terminate();
  }
}
