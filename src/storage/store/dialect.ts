// What differs between SQLite and PostgreSQL, and nothing else. The store (./store.ts and the modules beside
// it) is written once over Kysely; each database gives it one of these. Keep every hook small and named for
// the difference it covers: if a query needs an `if (dialect.name === ...)`, it belongs here instead.

import type { Compilable, Kysely, RawBuilder, Transaction } from "kysely";
import type { Clock } from "../../core/clock.ts";
import type { EventDocuments, PageWrite, PageWriteResult } from "../ports.ts";
import type { Database } from "./database.ts";
import type { RuleStateCache, RuleStateWrite } from "./rule-state-cache.ts";
import type { SourceNumbers } from "./source-numbers.ts";

/** A Kysely handle usable inside a write transaction (the transaction itself or its connection). */
export type Db = Kysely<Database> | Transaction<Database>;

/** What one page transaction wrote: each page's result, and the rule state it changed (RuleStateCache.committed). */
export interface PagesWritten {
  results: PageWriteResult[];
  stateWrites: RuleStateWrite[];
}

/** The free-text index's queue runner (./text-index.ts). */
export interface TextIndexer {
  /** Notes that `events` were queued; indexing starts once pages pause (or the queue grows long). */
  schedule(events?: number): void;
  /** Indexes everything queued now; resolves with how many events it indexed. */
  flush(): Promise<number>;
  /** Stops after the batch in progress. */
  stop(): Promise<void>;
}

/** Writes pages in one transaction elsewhere (StoreDialect.pageWriter), exactly as the store would inline. */
export interface PageWriter {
  write(writes: readonly PageWrite[], nowMs: number): Promise<PagesWritten>;
  /** Ends the writer after the writes already sent. */
  close(): Promise<void>;
  /**
   * The free-text index, where it is kept beside the page writes so that its batches never wait for their write
   * lock (SQLite); null: the store runs it (PostgreSQL).
   */
  readonly textIndex: TextIndexer | null;
  /**
   * Whether the writer packs the matches' contexts itself (packed-json.ts, before its transaction), or is sent
   * them packed. Packing costs about 25 µs a match, and the side with time to spare does it. SQLite: the caller;
   * its writer is the busier side of a backfill. PostgreSQL: the thread, whose statements wait on the server
   * while the event loop runs the next pages' detection (a 30,000-event backfill: the event loop's busy time 10%
   * lower).
   */
  readonly packsContexts: boolean;
}

export interface StoreDialect {
  readonly name: "sqlite" | "postgres";
  /**
   * Whether the store's callers should group pages written at the same time into one transaction
   * (Store.groupCommits). SQLite writing inline: yes, it runs one write transaction at a time and each commit is
   * an fsync. SQLite with its writer thread: no, pages are sent as they are ready (../sqlite/dialect.ts says
   * why). PostgreSQL: no, concurrent transactions
   * run side by side and their commits already share WAL flushes; grouping would serialize them, and pages of
   * one transaction would take their advisory locks out of the sorted order that keeps writers from deadlocking.
   */
  readonly groupCommits: boolean;
  /**
   * Where page transactions run when not inline on this thread: the engine's writer thread (./writer-thread.ts),
   * which on SQLite also owns the free-text index. null: the store writes pages itself (an in-memory SQLite
   * database, which no other connection can open; a store opened without the thread).
   */
  readonly pageWriter: PageWriter | null;
  /** For queries outside a transaction. Inside `write`, use the handle it passes: on SQLite the one
   * connection is held by the transaction, and a query on `db` would wait for it forever. */
  readonly db: Kysely<Database>;

  /**
   * Runs `fn` in one write transaction and commits, or rolls back on any error and rethrows it translated.
   * SQLite: BEGIN IMMEDIATE on the thread's connection (the write lock up front, waiting up to busy_timeout).
   * PostgreSQL: READ COMMITTED on one pooled connection, rerun on deadlock or serialization failure.
   */
  write<T>(fn: (trx: Db) => Promise<T>, options?: WriteOptions): Promise<T>;

  /** Runs a single read or write outside a transaction, translating errors. */
  run<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;

  /**
   * A read that may touch many rows (search, lists): SQLite runs it on a read-only connection in a worker
   * thread so the event loop stays free; PostgreSQL runs it on the pool.
   */
  heavyRead<Row>(query: Compilable<Row>): Promise<Row[]>;

  /**
   * Serializes writers of the same keys until the transaction ends; `sharedKeys` are held by any number of
   * writers at once, and keep out only those that lock them exclusively. PostgreSQL: transaction-scoped advisory
   * locks, the shared ones first, each set in sorted order so two writers cannot deadlock. SQLite: nothing (one
   * writer at a time).
   */
  lockKeys(trx: Db, keys: readonly string[], sharedKeys?: readonly string[]): Promise<void>;

  /**
   * Row locks for claiming work several workers compete for: PostgreSQL appends FOR UPDATE SKIP LOCKED
   * (each worker gets different rows), SQLite leaves the query as it is (its writer holds the database).
   */
  skipLocked<Q extends { forUpdate(): Q; skipLocked(): Q }>(query: Q): Q;

  /**
   * Keeps the selected rows from being deleted until the transaction ends (PostgreSQL: FOR KEY SHARE, so a
   * page and a concurrent removal of its source serialize; SQLite: nothing, its writer holds the database).
   */
  keyShare<Q extends { forKeyShare(): Q }>(query: Q): Q;

  /**
   * Locks the selected rows against other writers until the transaction ends (PostgreSQL: FOR UPDATE, so
   * removing a source waits for the pages being written to it, and later pages then find it gone; SQLite:
   * nothing, its writer holds the database).
   */
  forUpdate<Q extends { forUpdate(): Q }>(query: Q): Q;

  /**
   * Locks the selected rows against other writers of them until the transaction ends, but not against their
   * referencing rows (PostgreSQL: FOR NO KEY UPDATE, which a page's FOR KEY SHARE on its source does not wait for,
   * nor it for them; SQLite: nothing). For a read-check-write of a row's own settings.
   */
  forNoKeyUpdate<Q extends { forNoKeyUpdate(): Q }>(query: Q): Q;

  /**
   * The database's own clock, in ms since the epoch, read when the statement runs (not when its transaction
   * began). Leases are judged on it, so workers on machines whose clocks disagree still agree on who holds one.
   */
  readonly clockMs: RawBuilder<number>;

  /** Turns a driver error into a VigilError that names the database (or returns it unchanged). */
  translateError(err: unknown): unknown;

  /**
   * The constraint `err` reports violated: a unique key ("unique"), or a foreign key whose row is gone
   * ("foreign_key"); null for any other error.
   */
  violatedConstraint(err: unknown): "unique" | "foreign_key" | null;

  // ---- events: look-ups, free text and scheduled queries ----

  /**
   * Which of `ids` (at most CHUNK) are events of source number `sourceNum` (./source-numbers.ts): the events'
   * key (source_num, id) probed once per id. SQLite's planner does that for an IN list. PostgreSQL's chooses from
   * statistics that lag behind a backfill (autovacuum analyzes a minute or more after a tenth of a table changed,
   * and never before its first rows): while they held a source's events to be few, it read every event of the
   * source through events_by_source for each page and filtered them by id, a read that grew with every page
   * (5 ms a page at 4,000 events, most of a backfill's look-ups). A probe per id is one plan whatever they say.
   */
  storedEventIds(db: Kysely<Database>, sourceNum: number, ids: readonly string[]): Compilable<{ id: string }>;

  // ---- events: free text and scheduled queries ----

  /**
   * The free-text condition on `events`: `text` occurs, case-insensitively and literally, within one of the
   * record's values (a string, number or boolean, as the value reads once unescaped; keys and JSON syntax are
   * not searched). Candidates come from the text index (the record's values) or from the events not yet
   * indexed (`event_text_pending`), and each is confirmed on its values, so the index decides speed, not the
   * result.
   * `plan`: from `textPlan` (see TextPlan).
   */
  textFilter(text: string, plan: TextPlan): RawBuilder<boolean>;
  /**
   * How to answer a free-text filter, from a count of index candidates up to TEXT_CANDIDATE_CAP.
   * `reading`: "page" for the newest few matches (a search), "every" when every match is read (a count, a
   * histogram): then reading rows in order never wins while the index narrows them at all.
   */
  textPlan(text: string, reading: "page" | "every"): Promise<TextPlan>;
  /**
   * Events per text-index batch (./text-index.ts), each its own transaction. SQLite: 250, since a batch holds its
   * one writer and the pages wait behind it for that long. PostgreSQL: 1,000. Its batches run beside the pages,
   * and most of a batch's cost is moving the GIN pending list into the index (gin_clean_pending_list), which
   * costs less per event the more events share it: after a 100,000-event backfill the index caught up in 15 s
   * instead of 27, and was 2 % larger.
   */
  readonly textBatch: number;
  /** Adds a batch of events' searchable text to the text index, inside the indexer's transaction. */
  insertText(trx: Db, rows: ReadonlyArray<{ seq: number; body: string }>): Promise<void>;
  /**
   * One chunk of what the text index owes events indexed before a migration, in its own transaction; returns
   * how many events it covered (0: nothing is owed). The indexer calls it once its queue is empty.
   * PostgreSQL: the short-text vocabulary (migration 35); SQLite: nothing (its migration 29 queued every event).
   */
  catchUpText?(): Promise<number>;
  /**
   * Removes a source's events (by its number, ./source-numbers.ts) from the text index and its queue,
   * before the events go (see removeSource).
   * PostgreSQL: the text tables have no foreign key to events (migration 18), so they are deleted here;
   * SQLite: nothing, the events' delete trigger removes them.
   */
  deleteSourceText(trx: Db, sourceNum: number): Promise<void>;
  /**
   * A page of event API documents (see ../event-document.ts) for `query`, a search selecting the `doc` column
   * built by `eventDocumentSql` plus the cursor columns; null when this dialect builds them in JavaScript.
   */
  eventDocuments(query: Compilable<unknown>): Promise<EventDocuments> | null;
  /** The `doc` column for `eventDocuments` (SQLite: json_object in C), or null. */
  readonly eventDocumentSql: RawBuilder<string> | null;
  /**
   * Runs a rule author's scheduled query (../scheduled-query-sql.ts) read-only over one source's events:
   * SQLite refuses a statement that is not a read-only SELECT; PostgreSQL runs it in a READ ONLY transaction
   * with a statement timeout.
   */
  scheduledQuery(
    sourceId: string,
    query: string,
    options: { maxRows: number; timeoutMs: number },
  ): Promise<Array<Record<string, unknown>>>;

  /** Applies this dialect's pending migrations, each announced first on a database that has data. */
  migrate(nowMs: number, announce?: MigrationNotice): Promise<void>;
  close(): Promise<void>;
}

/**
 * How a free-text filter is answered: "index" takes the candidates from the text index, "scan" reads rows in
 * the search's own order, for a text so common that the first page comes at once.
 */
export type TextPlan = "index" | "scan";

/**
 * Above this many index candidates a page of search results reads rows in its own order instead (plan
 * "scan"). Neither planner can tell how many records hold a text, and the two plans fail in opposite cases:
 * sorting every candidate of a common text (an email in a third of the records) took a second on 1M events
 * (SQLite), where reading the newest rows finds 100 matches at once; a rare text is the reverse. Counting up to
 * the cap is cheap on SQLite; PostgreSQL's GIN index gives a common text's whole bitmap before the limit (a
 * common email on 200,000 events: 40 -> 60 ms for the page, against 280-380 ms -> 2.5 ms for short text).
 */
export const TEXT_CANDIDATE_CAP = 2000;

export interface WriteOptions {
  /**
   * false: the commit need not survive a power loss, only a crash of the process (SQLite synchronous=NORMAL for
   * this transaction; PostgreSQL synchronous_commit=off). Only for writes of derived data whose loss puts the
   * database back in an earlier consistent state, such as the text index and its queue, which commit together.
   * Everything else commits durably, as by default.
   */
  durable?: boolean;
}

/** What every store module is given. */
export interface StoreContext {
  readonly dialect: StoreDialect;
  readonly clock: Clock;
  /** Alerts a rule may raise per source and hour before its matches fold into one (alerts/limiter.ts). */
  readonly alertLimitPerHour: number;
  /** Source ids to the numbers events and matches hold (./source-numbers.ts). */
  readonly sourceNumbers: SourceNumbers;
  /** Sources' rule state between pages (./rule-state-cache.ts). */
  readonly ruleStateCache: RuleStateCache;
}

/**
 * Told of a migration before it runs on a database with data: on a large one it can take minutes, and the
 * operator should know why nothing else happens meanwhile.
 */
export type MigrationNotice = (migration: { version: number; name: string }) => void;
