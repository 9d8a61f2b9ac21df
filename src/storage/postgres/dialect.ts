// PostgreSQL's hooks for the one store (../store/dialect.ts): a `pg` Pool under Kysely's PostgresDialect.
//
// Several Vigil workers may write at once. Writes run at READ COMMITTED: a conflicting
// INSERT ... ON CONFLICT DO NOTHING waits for the other transaction and then skips the row, so an event is
// stored (and reported as new) by exactly one worker. Writers that read-modify-write shared rows (alert
// windows, rule state) serialize on advisory locks (`lockKeys`). A deadlock or serialization failure that
// still happens rolls the whole transaction back, and it is rerun a few times before surfacing.

import { type Compilable, Kysely, PostgresDialect, sql } from "kysely";
import type pg from "pg";
import { VigilError } from "../../core/errors.ts";
import type { Database as Schema } from "../store/database.ts";
import type { Db, StoreDialect } from "../store/dialect.ts";
import { runMigrations } from "./migrations.ts";
import { type PgTarget, translatePgError } from "./pg-errors.ts";

/** Deadlocks and serialization failures roll back the whole transaction, so rerunning it is safe. */
const RETRYABLE_SQLSTATES = new Set(["40P01", "40001"]);
const MAX_ATTEMPTS = 3;

export class PostgresStoreDialect implements StoreDialect {
  readonly name = "postgres" as const;
  readonly db: Kysely<Schema>;
  readonly #pool: pg.Pool;
  readonly #schema: string | null;
  readonly #target: PgTarget;
  #closed = false;

  constructor(pool: pg.Pool, schema: string | null, target: PgTarget) {
    this.#pool = pool;
    this.#schema = schema;
    this.#target = target;
    this.db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  }

  #assertOpen(): void {
    // `ending`: the old store (../store/legacy.ts) ends the shared pool when the store closes.
    if (this.#closed || this.#pool.ending) throw new VigilError("storage_closed", "The database has been closed.");
  }

  async write<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    this.#assertOpen();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction().execute(fn);
      } catch (err) {
        const state = sqlState(err);
        if (state !== undefined && RETRYABLE_SQLSTATES.has(state) && attempt < MAX_ATTEMPTS) continue;
        throw this.translateError(err);
      }
    }
  }

  async run<T>(fn: (db: Kysely<Schema>) => Promise<T>): Promise<T> {
    this.#assertOpen();
    try {
      return await fn(this.db);
    } catch (err) {
      throw this.translateError(err);
    }
  }

  async heavyRead<Row>(query: Compilable<Row>): Promise<Row[]> {
    return this.run(async (db) => (await db.executeQuery(query.compile())).rows);
  }

  async lockKeys(trx: Db, keys: readonly string[]): Promise<void> {
    for (const key of [...new Set(keys)].sort()) {
      await sql`SELECT pg_advisory_xact_lock(hashtext(${key}))`.execute(trx);
    }
  }

  skipLocked<Q extends { forUpdate(): Q; skipLocked(): Q }>(query: Q): Q {
    return query.forUpdate().skipLocked();
  }

  lockRows<Q extends { forUpdate(): Q; forKeyShare(): Q }>(query: Q, strength: "update" | "key share"): Q {
    return strength === "update" ? query.forUpdate() : query.forKeyShare();
  }

  translateError(err: unknown): unknown {
    return translatePgError(err, this.#target);
  }

  isForeignKeyViolation(err: unknown): boolean {
    return sqlState(err) === "23503";
  }

  isUniqueViolation(err: unknown): boolean {
    return sqlState(err) === "23505";
  }

  async migrate(nowMs: number): Promise<void> {
    this.#assertOpen();
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      await runMigrations(client, this.#schema, nowMs);
    } catch (err) {
      throw this.translateError(err);
    } finally {
      client?.release();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.db.destroy();
  }
}

export function sqlState(err: unknown): string | undefined {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}
