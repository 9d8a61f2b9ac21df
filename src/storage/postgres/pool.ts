// A `pg` Pool as every connection of the PostgreSQL store is opened: the store's own and its writer thread's
// (writer-worker.ts).

import pg from "pg";
import { quoteIdent } from "./migrations.ts";

const INT8_OID = 20;
const PG_TYPES = new pg.TypeOverrides();
PG_TYPES.setTypeParser(INT8_OID, (value: string) => Number(value));

export interface PoolOptions {
  connectionString: string;
  /** The schema unqualified names resolve in; null: the server's search_path. */
  schema: string | null;
  max: number;
  /** How long the server lets a transaction of these connections sit idle before it ends it; default 30 s. */
  idleInTransactionMs?: number;
}

/**
 * A Vigil transaction waits on the database, never on anything else, for more than milliseconds: one idle this
 * long belongs to a worker that froze (paused, or cut off from the server, which TCP may not notice for hours).
 * Its locks would stop the fleet: the lease row a page holds (a claim of that lease skips it, but the lease is
 * stuck), a source's counters and rule locks, which the next holder's pages wait for while they hold their own
 * lease rows, on which the heartbeat then waits. The server ends it; the frozen worker's write then fails, and a
 * page's is written again under the lease by whoever holds it.
 */
const IDLE_IN_TRANSACTION_MS = 30_000;

/** bigint columns come back as JS numbers (times and ids stay far below 2^53); names resolve in the schema. */
export function openPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    types: PG_TYPES,
    connectionTimeoutMillis: 30_000,
    // The client notices a server that went away (a partition) instead of waiting on the socket for hours.
    keepAlive: true,
    // Every connection, including ones the pool opens later, resolves unqualified names in the schema.
    ...(options.schema === null ? {} : { options: `-c search_path=${quoteIdent(options.schema)}` }),
  });
  // An idle connection dropped by the server emits 'error' on the pool; unhandled, it would kill the
  // worker. The pool discards that client, and the next query reports any lasting problem.
  pool.on("error", () => undefined);
  // No plan compiled to machine code: the store's queries run in milliseconds, and a plan whose estimate passes
  // jit_above_cost (stale statistics of the text queue inflate it) spent 165-195 ms compiling a search that then
  // ran in 7-17 ms. A SET on each new connection, not a startup option, which a connection pooler such as
  // PgBouncer may refuse; where it cannot apply (a server older than the settings), the connection goes on as it is.
  const idleMs = Math.max(1, Math.floor(options.idleInTransactionMs ?? IDLE_IN_TRANSACTION_MS));
  pool.on("connect", (client) => {
    // A connection the server ends while it is checked out and between statements (the idle timeout below, an
    // administrator, a restart) emits 'error' on the client, and the pool listens only on idle ones: unheard, the
    // error would end the process. Its transaction's next statement fails instead, and the pool drops it.
    client.on("error", () => undefined);
    // One query: a second one sent before the first has answered would be queued behind the caller's first
    // query by now (and pg warns of it).
    client.query(`SET jit = off; SET idle_in_transaction_session_timeout = ${idleMs}`).catch(() => undefined);
  });
  return pool;
}
