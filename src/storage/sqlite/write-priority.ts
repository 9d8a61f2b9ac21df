// The event loop's writes go before the writer thread's next transaction. Both threads write one file on their
// own connections (writer-thread.ts), and SQLite's busy handler is not first come, first served: it sleeps and
// retries (up to 100 ms apart), while the writer thread starts its next page or text-index batch at once. A
// login, a triage change or a delivery claim on the event loop could then wait out the whole busy timeout,
// the event loop frozen meanwhile, and fail with storage_busy.
//
// So the event loop raises a shared counter while its BEGIN IMMEDIATE waits for the lock, and the writer thread
// does not begin a transaction while the counter is up. The event loop then waits at most for the writer
// thread's transaction in progress and one sleep of the busy handler. Nothing here is a lock: only the event
// loop raises the counter, and only while its BEGIN runs, so a writer thread that dies leaves nothing behind.

import { resolve } from "node:path";

/** The counters of this process, one per database file, shared with the writer threads of that file. */
const byFile = new Map<string, SharedArrayBuffer>();

/** The longest a writer thread sleeps before it looks at the counter again (a lost wake-up costs no more). */
const RECHECK_MS = 50;

export class WritePriority {
  readonly shared: SharedArrayBuffer;
  readonly #claims: Int32Array;

  constructor(shared: SharedArrayBuffer) {
    this.shared = shared;
    this.#claims = new Int32Array(shared);
  }

  /** The counter of `location` in this process (the writer thread is handed the same one). */
  static of(location: string): WritePriority {
    const file = resolve(location);
    let shared = byFile.get(file);
    if (shared === undefined) {
      shared = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
      byFile.set(file, shared);
    }
    return new WritePriority(shared);
  }

  /** The event loop: runs `begin` (its BEGIN IMMEDIATE) with the counter raised. */
  async claim<T>(begin: () => Promise<T>): Promise<T> {
    Atomics.add(this.#claims, 0, 1);
    try {
      return await begin();
    } finally {
      Atomics.sub(this.#claims, 0, 1);
      Atomics.notify(this.#claims, 0);
    }
  }

  /** The writer thread, before its BEGIN IMMEDIATE: waits (blocking this thread only) while the counter is up. */
  yieldToClaims(): void {
    for (;;) {
      const claims = Atomics.load(this.#claims, 0);
      if (claims <= 0) return;
      Atomics.wait(this.#claims, 0, claims, RECHECK_MS);
    }
  }
}

/** How a dialect begins its write transactions (SqliteStoreDialect's `beginOrder`). */
export type BeginOrder = (begin: () => Promise<unknown>) => Promise<unknown>;

/** The event loop's connection beside a writer thread: its BEGIN goes first. */
export function claimingBegin(priority: WritePriority): BeginOrder {
  return (begin) => priority.claim(begin);
}

/** The writer thread's connection: its BEGIN waits for the event loop's. */
export function yieldingBegin(priority: WritePriority): BeginOrder {
  return (begin) => {
    priority.yieldToClaims();
    return begin();
  };
}
