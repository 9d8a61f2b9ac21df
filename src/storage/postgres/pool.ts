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
}

/** bigint columns come back as JS numbers (times and ids stay far below 2^53); names resolve in the schema. */
export function openPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    types: PG_TYPES,
    connectionTimeoutMillis: 30_000,
    // Every connection, including ones the pool opens later, resolves unqualified names in the schema.
    ...(options.schema === null ? {} : { options: `-c search_path=${quoteIdent(options.schema)}` }),
  });
  // An idle connection dropped by the server emits 'error' on the pool; unhandled, it would kill the
  // worker. The pool discards that client, and the next query reports any lasting problem.
  pool.on("error", () => undefined);
  // No plan compiled to machine code: the store's queries run in milliseconds, and a plan whose estimate passes
  // jit_above_cost (stale statistics of the text queue inflate it) spent 165-195 ms compiling a search that then
  // ran in 7-17 ms. A SET on each new connection, not a startup option, which a connection pooler such as
  // PgBouncer may refuse; where it cannot apply (a server without JIT), the connection goes on as it is.
  pool.on("connect", (client) => {
    client.query("SET jit = off").catch(() => undefined);
  });
  return pool;
}
