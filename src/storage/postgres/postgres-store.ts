// The scale-out event store: PostgreSQL via a `pg` Pool, shared by many Vigil workers.
//
// Same semantics as the SQLite store (one contract suite runs against both); what differs lives in the
// dialect (dialect.ts): concurrent writers at READ COMMITTED, advisory and row locks, retries on deadlock.
// - `schema` gives each deployment (or test) its own namespace via the connection's search_path.
// - bigint columns come back as JS numbers (see PG_TYPES): times and ids stay far below 2^53.

import pg from "pg";
import type { Clock } from "../../core/clock.ts";
import { UsageError } from "../../core/errors.ts";
import type { Store } from "../ports.ts";
import { migrated, openStore } from "../store/store.ts";
import { PostgresStoreDialect } from "./dialect.ts";
import { quoteIdent } from "./migrations.ts";
import { describeTarget } from "./pg-errors.ts";

export interface OpenPostgresStoreOptions {
  /** A libpq URL, e.g. postgresql://vigil:secret@db.internal:5432/vigil. */
  connectionString: string;
  /** The schema holding Vigil's tables, created if missing; default: the server's search_path (public). */
  schema?: string;
  clock?: Clock;
  /** Pool size per worker; default 10. */
  maxConnections?: number;
  /** Alerts a rule may raise per source and hour before its matches fold into one noisy alert (alerts/limiter.ts). */
  alertLimitPerHour?: number;
}

const INT8_OID = 20;
const PG_TYPES = new pg.TypeOverrides();
PG_TYPES.setTypeParser(INT8_OID, (value: string) => Number(value));

/** Lowercase only: an unquoted name in search_path is folded to lowercase, a quoted CREATE SCHEMA is not. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The PostgreSQL store: the one store (../store/store.ts) over a pool. */
export type PostgresStore = Store & { readonly schema: string | null };

/** Opens a pool and migrates the schema. */
export async function openPostgresStore(options: OpenPostgresStoreOptions): Promise<PostgresStore> {
  const schema = options.schema ?? null;
  if (schema !== null && (!SCHEMA_NAME.test(schema) || schema.startsWith("pg_"))) {
    throw new UsageError(
      `The PostgreSQL schema name "${schema}" is not valid; use lowercase letters, digits and _ (not starting with pg_).`,
    );
  }
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    types: PG_TYPES,
    connectionTimeoutMillis: 30_000,
    // Every connection, including ones the pool opens later, resolves unqualified names in the schema.
    ...(schema === null ? {} : { options: `-c search_path=${quoteIdent(schema)}` }),
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
  const dialect = new PostgresStoreDialect(pool, schema, describeTarget(options.connectionString));
  const store: PostgresStore = Object.assign(
    openStore(dialect, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.alertLimitPerHour !== undefined ? { alertLimitPerHour: options.alertLimitPerHour } : {}),
    }),
    { schema },
  );
  return migrated(store);
}
