// SQLite's hooks for the one store (../store/dialect.ts): better-sqlite3 under Kysely's SqliteDialect.
//
// There is one connection. Kysely's SQLite driver lets one query (or one `write` transaction, which holds the
// connection from BEGIN to COMMIT) use it at a time; better-sqlite3 itself runs each statement synchronously.
// Long reads go to read-only connections in worker threads (reader.ts) so the event loop stays free.

import type Database from "better-sqlite3";
import { type Compilable, Kysely, SqliteDialect, sql } from "kysely";
import { VigilError } from "../../core/errors.ts";
import type { Database as Schema } from "../store/database.ts";
import type { Db, StoreDialect } from "../store/dialect.ts";
import { runMigrations } from "./migrations.ts";
import type { SqliteReader } from "./reader.ts";
import { translateSqliteError } from "./sqlite-errors.ts";

export class SqliteStoreDialect implements StoreDialect {
  readonly name = "sqlite" as const;
  readonly db: Kysely<Schema>;
  readonly #connection: Database.Database;
  readonly #reader: SqliteReader | null;
  readonly #location: string;

  constructor(connection: Database.Database, location: string, reader: SqliteReader | null) {
    this.#connection = connection;
    this.#reader = reader;
    this.#location = location;
    this.db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: connection }) });
  }

  #assertOpen(): void {
    if (!this.#connection.open) throw new VigilError("storage_closed", "The database has been closed.");
  }

  async write<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    this.#assertOpen();
    try {
      return await this.db.connection().execute(async (conn) => {
        await sql`BEGIN IMMEDIATE`.execute(conn);
        try {
          const result = await fn(conn);
          await sql`COMMIT`.execute(conn);
          return result;
        } catch (err) {
          // A failed COMMIT (disk full) may have rolled back already; ROLLBACK then has nothing to undo.
          if (this.#connection.inTransaction) await sql`ROLLBACK`.execute(conn);
          throw err;
        }
      });
    } catch (err) {
      throw this.translateError(err);
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
    this.#assertOpen();
    const compiled = query.compile();
    try {
      if (this.#reader === null) return (await this.db.executeQuery(compiled)).rows;
      return await this.#reader.all<Row>(compiled.sql, compiled.parameters);
    } catch (err) {
      throw this.translateError(err);
    }
  }

  async lockKeys(_trx: Db, _keys: readonly string[]): Promise<void> {
    // One writer holds the whole database for the transaction: nothing to lock.
  }

  skipLocked<Q extends { forUpdate(): Q; skipLocked(): Q }>(query: Q): Q {
    return query;
  }

  lockRows<Q extends { forUpdate(): Q; forKeyShare(): Q }>(query: Q, _strength: "update" | "key share"): Q {
    return query;
  }

  translateError(err: unknown): unknown {
    return translateSqliteError(err, this.#location);
  }

  isForeignKeyViolation(err: unknown): boolean {
    return sqliteCode(err) === "SQLITE_CONSTRAINT_FOREIGNKEY";
  }

  isUniqueViolation(err: unknown): boolean {
    const code = sqliteCode(err);
    return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
  }

  async migrate(nowMs: number): Promise<void> {
    this.#assertOpen();
    try {
      runMigrations(this.#connection, nowMs);
    } catch (err) {
      throw this.translateError(err);
    }
  }

  async close(): Promise<void> {
    await this.#reader?.close();
    if (this.#connection.open) this.#connection.close();
  }
}

function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
