// What differs between SQLite and PostgreSQL, and nothing else. The store (./store.ts and the modules beside
// it) is written once over Kysely; each database gives it one of these. Keep every hook small and named for
// the difference it covers: if a query needs an `if (dialect.name === ...)`, it belongs here instead.

import type { Compilable, Kysely, Transaction } from "kysely";
import type { Clock } from "../../core/clock.ts";
import type { Database } from "./database.ts";

/** A Kysely handle usable inside a write transaction (the transaction itself or its connection). */
export type Db = Kysely<Database> | Transaction<Database>;

export interface StoreDialect {
  readonly name: "sqlite" | "postgres";
  /** For queries outside a transaction. Inside `write`, use the handle it passes: on SQLite the one
   * connection is held by the transaction, and a query on `db` would wait for it forever. */
  readonly db: Kysely<Database>;

  /**
   * Runs `fn` in one write transaction and commits, or rolls back on any error and rethrows it translated.
   * SQLite: BEGIN IMMEDIATE on its one connection (the write lock up front, waiting up to busy_timeout).
   * PostgreSQL: READ COMMITTED on one pooled connection, rerun on deadlock or serialization failure.
   */
  write<T>(fn: (trx: Db) => Promise<T>): Promise<T>;

  /** Runs a single read or write outside a transaction, translating errors. */
  run<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;

  /**
   * A read that may touch many rows (search, lists): SQLite runs it on a read-only connection in a worker
   * thread so the event loop stays free; PostgreSQL runs it on the pool.
   */
  heavyRead<Row>(query: Compilable<Row>): Promise<Row[]>;

  /**
   * Serializes writers of the same keys until the transaction ends. PostgreSQL: transaction-scoped advisory
   * locks, taken in sorted order so two writers cannot deadlock. SQLite: nothing (one writer at a time).
   */
  lockKeys(trx: Db, keys: readonly string[]): Promise<void>;

  /**
   * Row locks for claiming work several workers compete for: PostgreSQL appends FOR UPDATE SKIP LOCKED
   * (each worker gets different rows), SQLite leaves the query as it is (its writer holds the database).
   */
  skipLocked<Q extends { forUpdate(): Q; skipLocked(): Q }>(query: Q): Q;

  /**
   * Row locks held to the end of the transaction, for a read that a write depends on: PostgreSQL appends
   * FOR UPDATE (the rows are about to change or go) or FOR KEY SHARE (the rows must not go meanwhile, as a
   * source that rows are being added to); SQLite leaves the query as it is (its writer holds the database).
   */
  lockRows<Q extends { forUpdate(): Q; forKeyShare(): Q }>(query: Q, strength: "update" | "key share"): Q;

  /** Turns a driver error into a VigilError that names the database (or returns it unchanged). */
  translateError(err: unknown): unknown;

  /** True when `err` is a violated foreign key (the referenced row is gone). */
  isForeignKeyViolation(err: unknown): boolean;
  /** True when `err` is a violated unique constraint. */
  isUniqueViolation(err: unknown): boolean;

  /** Applies this dialect's pending migrations. */
  migrate(nowMs: number): Promise<void>;
  close(): Promise<void>;
}

/** What every store module is given. */
export interface StoreContext {
  readonly dialect: StoreDialect;
  readonly clock: Clock;
  /** Alerts a rule may raise per source and hour before its matches fold into one (alerts/limiter.ts). */
  readonly alertLimitPerHour: number;
}
