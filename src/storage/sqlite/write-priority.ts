// The event loop's writes go before the writer thread's next transaction. Both threads write one file on their
// own connections (writer-thread.ts), and SQLite's busy handler is not first come, first served: it sleeps and
// retries (up to 100 ms apart), while the writer thread starts its next page or text-index batch at once. A
// login, a triage change or a delivery claim on the event loop could then wait out the whole busy timeout,
// the event loop frozen meanwhile, and fail with storage_busy.
//
// So the event loop raises a shared counter while its BEGIN IMMEDIATE (or a statement outside a transaction,
// which may write) waits for the lock, and the writer thread does not begin a transaction while it is up. The
// event loop then waits at most for the writer thread's transaction in progress and one sleep of the busy handler.
// Nothing here is a lock: only the event loop raises the counter, and only while its statement runs, so a writer
// thread that dies leaves nothing behind.

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

  /** The event loop: runs `attempt` (its BEGIN IMMEDIATE, or a statement that may write) with the counter raised. */
  async claim<T>(attempt: () => Promise<T>): Promise<T> {
    Atomics.add(this.#claims, 0, 1);
    try {
      return await attempt();
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

/**
 * How a connection runs what may ask for the write lock (SqliteStoreDialect's `lockTurn`): a BEGIN IMMEDIATE,
 * or a statement outside a transaction (which may write: a login's session, an API token's last use).
 */
export type LockTurn = <T>(attempt: () => Promise<T>) => Promise<T>;

/** The event loop's connection to a file: it goes before any writer thread's next transaction. */
export function claimingTurn(priority: WritePriority): LockTurn {
  return (attempt) => priority.claim(attempt);
}

/** A writer thread's connection: its BEGIN waits while the event loop's connection wants the lock. */
export function yieldingTurn(priority: WritePriority): LockTurn {
  return (attempt) => {
    priority.yieldToClaims();
    return attempt();
  };
}
