// SQLite's hooks for the one store (../store/dialect.ts): better-sqlite3 under Kysely's SqliteDialect.
//
// There is one connection per thread: the store's, and its writer thread's for page transactions and the
// text index (../store/writer-thread.ts, which runs a dialect of its own). Kysely's SQLite driver lets one query (or
// one `write` transaction, which holds the connection from BEGIN to COMMIT) use a connection at a time;
// better-sqlite3 itself runs each statement synchronously.
// Long reads go to read-only connections in worker threads (reader.ts) so the event loop stays free.
//
// A write transaction spans several awaits. Should a second connection in the same thread (two stores on one
// file in one process) ask SQLite for the write lock meanwhile, SQLite's busy wait would block the thread, the
// first transaction could never finish, and the wait would end in storage_busy. So one thread's write
// transactions on one file take turns (`takeTurn`) before BEGIN IMMEDIATE. Between the event loop and the
// writer thread, the event loop's BEGIN goes first (`lockTurn`, write-priority.ts); other processes still wait
// in SQLite's busy handler, which blocks only them.

import { resolve } from "node:path";
import type Database from "better-sqlite3";
import {
  type Compilable,
  Kysely,
  type RawBuilder,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteStatement,
  sql,
} from "kysely";
import { UsageError, VigilError } from "../../core/errors.ts";
import type { EventDocuments } from "../ports.ts";
import { scheduledQuerySql } from "../scheduled-query-sql.ts";
import type { Database as Schema } from "../store/database.ts";
import {
  type Db,
  type MigrationNotice,
  type StoreDialect,
  TEXT_CANDIDATE_CAP,
  type TextPlan,
  type WriteOptions,
} from "../store/dialect.ts";
import type { WriterThread } from "../store/writer-thread.ts";
import type { Checkpointer } from "./checkpointer.ts";
import { runMigrations } from "./migrations.ts";
import type { SqliteReader } from "./reader.ts";
import { translateSqliteError } from "./sqlite-errors.ts";
import {
  EVENT_DOCUMENT,
  indexedBody,
  SHORT_TEXT_TERM_CAP,
  shortTextTermCount,
  sqliteTextFilter,
  textCandidateCount,
} from "./text-search.ts";
import type { LockTurn } from "./write-priority.ts";

export class SqliteStoreDialect implements StoreDialect {
  readonly name = "sqlite" as const;
  /**
   * Inline, pages written at the same time share a transaction (one fsync for several). With the writer thread
   * each goes as it is ready: a caller holding pages back while a group was in flight left the thread idle
   * between commits: a 100,000-event backfill reached 25–28% of bare grouped, 33% page by page (bench/ingest.ts).
   */
  readonly groupCommits: boolean;
  readonly textBatch = 250;
  readonly db: Kysely<Schema>;
  readonly #connection: Database.Database;
  readonly #reader: SqliteReader | null;
  readonly #location: string;
  readonly #checkpointer: Pick<Checkpointer, "nudge" | "close"> | null;
  readonly #lockTurn: LockTurn;
  readonly pageWriter: WriterThread | null;

  /**
   * `reader`: the threads of heavy reads (none: they run on this connection). `checkpointer`: nudged after each
   * write. `pageWriter`: the writer thread that writes pages and the text index (none: this connection does).
   * `lockTurn`: how this connection's BEGIN and statements outside a transaction take their turn for the write
   * lock against a writer thread's transactions (write-priority.ts).
   */
  constructor(
    connection: Database.Database,
    location: string,
    options: {
      reader?: SqliteReader | null;
      checkpointer?: Pick<Checkpointer, "nudge" | "close"> | null;
      pageWriter?: WriterThread | null;
      lockTurn?: LockTurn;
    } = {},
  ) {
    this.#connection = connection;
    this.#reader = options.reader ?? null;
    this.#location = location;
    this.#checkpointer = options.checkpointer ?? null;
    this.#lockTurn = options.lockTurn ?? ((attempt) => attempt());
    this.pageWriter = options.pageWriter ?? null;
    this.groupCommits = this.pageWriter === null;
    this.db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(connection) }) });
  }

  #assertOpen(): void {
    if (!this.#connection.open) throw new VigilError("storage_closed", "The database has been closed.");
  }

  async write<T>(fn: (trx: Db) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    this.#assertOpen();
    const endTurn = await takeTurn(this.#location);
    try {
      return await this.db.connection().execute(async (conn) => {
        // The setting is the connection's, so it is set for this transaction and put back after it (it cannot
        // change inside one). A NORMAL commit in WAL mode is not fsynced; the next FULL one fsyncs it too.
        const relaxed = options.durable === false;
        if (relaxed) this.#connection.pragma("synchronous = NORMAL");
        try {
          return await this.#transaction(conn, fn);
        } finally {
          if (relaxed) this.#connection.pragma("synchronous = FULL");
        }
      });
    } catch (err) {
      throw this.translateError(err);
    } finally {
      endTurn();
      this.#checkpointer?.nudge();
    }
  }

  async #transaction<T>(conn: Kysely<Schema>, fn: (trx: Db) => Promise<T>): Promise<T> {
    await this.#lockTurn(() => sql`BEGIN IMMEDIATE`.execute(conn));
    try {
      const result = await fn(conn);
      await sql`COMMIT`.execute(conn);
      return result;
    } catch (err) {
      // A failed COMMIT (disk full) may have rolled back already; ROLLBACK then has nothing to undo.
      if (this.#connection.inTransaction) await sql`ROLLBACK`.execute(conn);
      throw err;
    }
  }

  async run<T>(fn: (db: Kysely<Schema>) => Promise<T>): Promise<T> {
    this.#assertOpen();
    try {
      // Outside a transaction a statement may write (a login's session): it takes its turn as a BEGIN would.
      return await this.#lockTurn(() => fn(this.db));
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

  forUpdate<Q extends { forUpdate(): Q }>(query: Q): Q {
    return query;
  }

  forNoKeyUpdate<Q extends { forNoKeyUpdate(): Q }>(query: Q): Q {
    return query;
  }

  keyShare<Q extends { forKeyShare(): Q }>(query: Q): Q {
    return query;
  }

  textFilter(text: string, plan: TextPlan): RawBuilder<boolean> {
    return sqliteTextFilter(text, plan);
  }

  /**
   * See TEXT_CANDIDATE_CAP: how to answer a free-text filter, from a capped count of index candidates (and for a
   * text of one or two characters, first from a capped count of the index terms that begin with it: beyond
   * SHORT_TEXT_TERM_CAP, asking the index for all of them took three times as long as a scan, even for a count).
   */
  async textPlan(text: string, reading: "page" | "every"): Promise<TextPlan> {
    const terms = shortTextTermCount(text, SHORT_TEXT_TERM_CAP);
    if (terms !== null && ((await this.#read(terms))[0]?.n ?? 0) >= SHORT_TEXT_TERM_CAP) return "scan";
    if (reading === "every") return "index";
    const count = textCandidateCount(text);
    if (count === null) return "index";
    return ((await this.#read(count))[0]?.n ?? 0) >= TEXT_CANDIDATE_CAP ? "scan" : "index";
  }

  /** A read of SQL text, on the reader thread. */
  #read<R>(query: RawBuilder<R>): Promise<R[]> {
    const compiled = query.compile(this.db);
    return this.heavyRead<R>({ compile: () => compiled });
  }

  async insertText(trx: Db, rows: ReadonlyArray<{ seq: number; body: string }>): Promise<void> {
    // One statement per batch: a statement per event cost more in building it than SQLite took to run it.
    if (rows.length === 0) return;
    const values = sql.join(rows.map((row) => sql`(${row.seq}, ${indexedBody(row.body)})`));
    await sql`INSERT INTO event_text (rowid, body) VALUES ${values}`.execute(trx);
  }

  async deleteSourceText(_trx: Db, _sourceNum: number): Promise<void> {
    // The trigger event_text_delete (migration 18) removes an event's text and queue row with the event.
  }

  readonly eventDocumentSql: RawBuilder<string> = EVENT_DOCUMENT;
  // unixepoch('subsec'): SQLite 3.42+, which better-sqlite3 12 bundles.
  readonly clockMs = sql<number>`CAST(unixepoch('subsec') * 1000 AS INTEGER)`;

  storedEventIds(db: Kysely<Schema>, sourceNum: number, ids: readonly string[]) {
    return db.selectFrom("events").select("id").where("source_num", "=", sourceNum).where("id", "in", ids);
  }

  eventDocuments(query: Compilable<unknown>): Promise<EventDocuments> | null {
    // An in-memory database has no reader thread: the store builds the documents in JavaScript.
    if (this.#reader === null) return null;
    this.#assertOpen();
    const compiled = query.compile();
    return this.#reader.documents(compiled.sql, compiled.parameters).catch((err: unknown) => {
      throw this.translateError(err);
    });
  }

  async scheduledQuery(
    sourceId: string,
    query: string,
    options: { maxRows: number; timeoutMs: number },
  ): Promise<Array<Record<string, unknown>>> {
    this.#assertOpen();
    try {
      // main.events: a CTE that named the table unqualified would refer to itself. No statement timeout in
      // SQLite: the row cap bounds what is read back, and rule authors own their queries.
      const statement = this.#connection.prepare(scheduledQuerySql(query, "main.events", "?"));
      if (!statement.readonly || !statement.reader)
        throw new UsageError("A scheduled query must be a single read-only SELECT.");
      const rows: Array<Record<string, unknown>> = [];
      for (const row of statement.iterate(sourceId) as Iterable<Record<string, unknown>>) {
        if (rows.length >= options.maxRows) break;
        rows.push(row);
      }
      return rows;
    } catch (err) {
      throw this.translateError(err);
    }
  }

  translateError(err: unknown): unknown {
    return translateSqliteError(err, this.#location);
  }

  violatedConstraint(err: unknown): "unique" | "foreign_key" | null {
    const code = sqliteCode(err);
    if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") return "unique";
    return code === "SQLITE_CONSTRAINT_FOREIGNKEY" ? "foreign_key" : null;
  }

  async migrate(nowMs: number, announce?: MigrationNotice): Promise<void> {
    this.#assertOpen();
    try {
      runMigrations(this.#connection, nowMs, undefined, announce);
    } catch (err) {
      throw this.translateError(err);
    }
  }

  async close(): Promise<void> {
    await this.pageWriter?.close();
    await this.#reader?.close();
    await this.#checkpointer?.close();
    if (this.#connection.open) this.#connection.close();
  }
}

/** Per database file, the end of the last write transaction this process queued on it. */
const turns = new Map<string, Promise<void>>();

/**
 * Waits until every write transaction this process queued before on the same file has ended (see the
 * header); returns the call that ends this one's turn.
 */
async function takeTurn(location: string): Promise<() => void> {
  // An in-memory database belongs to its one connection: nothing to share.
  if (location === ":memory:") return () => {};
  const file = resolve(location);
  const previous = turns.get(file) ?? Promise.resolve();
  let end!: () => void;
  const mine = new Promise<void>((release) => {
    end = release;
  });
  turns.set(file, mine);
  await previous;
  return () => {
    end();
    if (turns.get(file) === mine) turns.delete(file);
  };
}

/** Statements kept prepared, by SQL text: the store's queries come in a few hundred shapes. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * The connection as Kysely's driver sees it, preparing each SQL text once. The driver prepares every query it
 * runs; preparing a page's 1,000-parameter INSERT again for each page cost more than running it. Least recently
 * used statements are dropped past the cap. Kysely runs one query at a time on this connection, so a cached
 * statement is never busy when it is handed out again.
 */
function withStatementCache(connection: Database.Database): SqliteDatabase {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => connection.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement === undefined) {
        statement = connection.prepare(text);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      } else cache.delete(text);
      cache.set(text, statement);
      return statement as unknown as SqliteStatement;
    },
  };
}

function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
