// PostgreSQL's hooks for the one store (../store/dialect.ts): a `pg` Pool under Kysely's PostgresDialect.
//
// Several Vigil workers may write at once. Writes run at READ COMMITTED: a conflicting
// INSERT ... ON CONFLICT DO NOTHING waits for the other transaction and then skips the row, so an event is
// stored (and reported as new) by exactly one worker. Writers that read-modify-write shared rows (alert
// windows, rule state) serialize on advisory locks (`lockKeys`). A deadlock or serialization failure that
// still happens rolls the whole transaction back, and it is rerun a few times before surfacing.

import { type Compilable, CompiledQuery, Kysely, PostgresDialect, type RawBuilder, sql } from "kysely";
import type pg from "pg";
import { VigilError } from "../../core/errors.ts";
import type { EventDocuments } from "../ports.ts";
import { scheduledQuerySql } from "../scheduled-query-sql.ts";
import type { Database as Schema } from "../store/database.ts";
import {
  type Db,
  type MigrationNotice,
  type PageWriter,
  type StoreDialect,
  TEXT_CANDIDATE_CAP,
  type TextPlan,
  type WriteOptions,
} from "../store/dialect.ts";
import { containsPattern, spelledAlikeInJson } from "../store/event-search.ts";
import { runMigrations } from "./migrations.ts";
import { type PgTarget, translatePgError } from "./pg-errors.ts";
import { isShortText, textGrams } from "./text-grams.ts";

/** Deadlocks and serialization failures roll back the whole transaction, so rerunning it is safe. */
const RETRYABLE_SQLSTATES = new Set(["40P01", "40001"]);
const MAX_ATTEMPTS = 3;
/** Values per transaction when the vocabulary catches up with values indexed before it (about 0.4 MB). */
const GRAMS_CHUNK = 1000;

export class PostgresStoreDialect implements StoreDialect {
  readonly name = "postgres" as const;
  readonly groupCommits = false;
  readonly textBatch = 1_000;
  readonly pageWriter: PageWriter | null;
  readonly db: Kysely<Schema>;
  readonly #pool: pg.Pool;
  readonly #schema: string | null;
  readonly #target: PgTarget;
  #closed = false;

  /** `pageWriter`: the writer thread that runs page transactions (none: this pool does, as the thread's own does). */
  constructor(pool: pg.Pool, schema: string | null, target: PgTarget, pageWriter: PageWriter | null = null) {
    this.#pool = pool;
    this.pageWriter = pageWriter;
    this.#schema = schema;
    this.#target = target;
    this.db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  }

  #assertOpen(): void {
    if (this.#closed) throw new VigilError("storage_closed", "The database has been closed.");
  }

  async write<T>(fn: (trx: Db) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    this.#assertOpen();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction().execute(async (trx) => {
          if (options.durable === false) await sql`SET LOCAL synchronous_commit = off`.execute(trx);
          return fn(trx);
        });
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

  async lockKeys(trx: Db, keys: readonly string[], sharedKeys: readonly string[] = []): Promise<void> {
    const shared = [...new Set(sharedKeys)].sort();
    const exclusive = [...new Set(keys)].sort();
    if (shared.length + exclusive.length === 0) return;
    // One statement for all of them (a page's matches name dozens of keys; a round trip each was a fifth of
    // its time). unnest scans the arrays in order and each row's lock is taken before the next row is read,
    // so the locks are still taken in order: the shared ones, then the exclusive ones, each sorted.
    await sql`SELECT count(CASE WHEN s THEN pg_advisory_xact_lock_shared(hashtext(k)) ELSE pg_advisory_xact_lock(hashtext(k)) END)
      FROM unnest(${[...shared, ...exclusive]}::text[], ${[...shared.map(() => true), ...exclusive.map(() => false)]}::boolean[]) AS l(k, s)`.execute(
      trx,
    );
  }

  skipLocked<Q extends { forUpdate(): Q; skipLocked(): Q }>(query: Q): Q {
    return query.forUpdate().skipLocked();
  }

  forUpdate<Q extends { forUpdate(): Q }>(query: Q): Q {
    return query.forUpdate();
  }

  forNoKeyUpdate<Q extends { forNoKeyUpdate(): Q }>(query: Q): Q {
    return query.forNoKeyUpdate();
  }

  keyShare<Q extends { forKeyShare(): Q }>(query: Q): Q {
    return query.forKeyShare();
  }

  /**
   * Indexed events: pg_trgm's GIN index on event_text (the values, one per line; migration 18) answers ILIKE,
   * and the stored values are the answer. Events not yet indexed are matched on their values in SQL
   * (vigil_value_contains), so a search gives the same answer before and after indexing. ILIKE folds case by
   * the locale.
   */
  textFilter(text: string, plan: TextPlan): RawBuilder<boolean> {
    const pattern = containsPattern(text);
    if (plan === "scan") {
      // Common text, newest first: each event in the search's order is tested on its own record until the page
      // is full, indexed or not. The LIKE on the JSON text (see spelledAlikeInJson) is a cheap necessary
      // condition on the row already read; probing the index's row of each event cost a look-up per event (a
      // common email on 1M events: 410 ms for the page).
      const exact = sql<boolean>`vigil_value_contains(raw, ${pattern})`;
      return spelledAlikeInJson(text) ? sql<boolean>`(raw ILIKE ${pattern} ESCAPE '\\' AND ${exact})` : exact;
    }
    // The matching seqs as one set, which the planner joins to the events. Not two IN lists under an OR: that
    // is a subplan the planner hashes only while it expects the set to fit in hash_mem, and rescans for every
    // event otherwise (a histogram of "e" over 200,000 events ran 10 minutes). The queued events are read from
    // the queue, each event's record fetched by seq: joined the other way, stale statistics of the queue (full
    // during a backfill, empty after) had the planner test the values of every event (3.5 s for 200,000).
    return sql<boolean>`seq IN (SELECT seq FROM event_text WHERE ${this.#mayHold(text, pattern)}
        AND body ILIKE ${pattern} ESCAPE '\\'
      UNION ALL SELECT q.seq FROM event_text_pending q
        WHERE vigil_value_contains((SELECT p.raw FROM events p WHERE p.seq = q.seq), ${pattern}))`;
  }

  /**
   * A page of common text ("scan"): when the index holds TEXT_CANDIDATE_CAP matches or more, reading the events
   * in order and probing each finds the page sooner than collecting every match first. Every other search, and
   * every count or histogram (which read every match anyway), collects the matches ("index").
   */
  async textPlan(text: string, reading: "page" | "every"): Promise<TextPlan> {
    if (reading === "every") return "index";
    const pattern = containsPattern(text);
    const { rows } = await this.run((db) =>
      sql<{ n: string }>`SELECT count(*) AS n FROM (SELECT 1 FROM event_text
        WHERE ${this.#mayHold(text, pattern)} AND body ILIKE ${pattern} ESCAPE '\\'
        LIMIT ${TEXT_CANDIDATE_CAP}) AS candidates`.execute(db),
    );
    return Number(rows[0]?.n ?? 0) >= TEXT_CANDIDATE_CAP ? "scan" : "index";
  }

  /**
   * The short-text vocabulary (migration 35), as `migrate` found it: whether this schema has it, so the indexer
   * writes its pairs; and whether searches may trust it, only under a libc locale (a database restored from one
   * into an ICU database keeps the tables the migration made there).
   */
  #textGrams = { written: false, read: false };

  /**
   * A condition on no row that is false when no indexed value can hold `text`: for text of one or two characters
   * (no trigram), no pair of the vocabulary (./text-grams.ts) matches it and no indexed value owes its pairs.
   * PostgreSQL evaluates it once, before the values are read, and reads none when it is false. In the search's
   * statement, so the vocabulary and the values are one snapshot (the indexer writes them in one transaction).
   */
  #mayHold(text: string, pattern: string): RawBuilder<boolean> {
    if (!this.#textGrams.read || !isShortText(text)) return sql<boolean>`true`;
    return sql<boolean>`(EXISTS (SELECT 1 FROM event_text_grams WHERE gram ILIKE ${pattern} ESCAPE '\\')
      OR EXISTS (SELECT 1 FROM event_text_grams_owed))`;
  }

  /**
   * Adds the pairs of `bodies` not in the vocabulary yet, inside the transaction that indexes them, in the order
   * textGrams sorts them: a pair another indexer is adding is waited for, so two indexers never wait in a cycle.
   * A known pair costs one probe of the key (ON CONFLICT checks before it inserts).
   */
  async #insertGrams(trx: Db, bodies: readonly string[]): Promise<void> {
    await sql`INSERT INTO event_text_grams (gram) SELECT unnest(${textGrams(bodies)}::text[])
      ON CONFLICT (gram) DO NOTHING`.execute(trx);
  }

  /**
   * The pairs of one chunk of the indexed values that owe theirs (migration 35: those indexed before it, or by
   * an older worker since), newest first; returns how many it settled (0: none is owed, or other workers hold
   * the rest). An owed value whose event is gone since is settled with nothing to add.
   */
  async catchUpText(): Promise<number> {
    if (!this.#textGrams.written) return 0;
    // A read first: nearly always nothing is owed, and a write transaction would cost a commit per drain.
    const owed = await this.run((db) =>
      sql<{ owed: boolean }>`SELECT EXISTS (SELECT 1 FROM event_text_grams_owed) AS owed`.execute(db),
    );
    if (owed.rows[0]?.owed !== true) return 0;
    return this.write(
      async (trx) => {
        const { rows: chunk } = await sql<{ seq: number }>`SELECT seq FROM event_text_grams_owed
          ORDER BY seq DESC LIMIT ${GRAMS_CHUNK} FOR UPDATE SKIP LOCKED`.execute(trx);
        const seqs = chunk.map((r) => r.seq);
        if (seqs.length === 0) return 0;
        const { rows } = await sql<{ body: string }>`SELECT body FROM event_text
          WHERE seq = ANY(${seqs}::bigint[])`.execute(trx);
        await this.#insertGrams(
          trx,
          rows.map((r) => r.body),
        );
        await sql`DELETE FROM event_text_grams_owed WHERE seq = ANY(${seqs}::bigint[])`.execute(trx);
        return seqs.length;
      },
      // As an indexing batch: a chunk lost to a power cut is owed again, its owed rows with it.
      { durable: false },
    );
  }

  async insertText(trx: Db, rows: ReadonlyArray<{ seq: number; body: string }>): Promise<void> {
    // This transaction writes the values' pairs itself: the trigger of migration 35 need not note them as owed.
    if (this.#textGrams.written) await sql`SELECT set_config('vigil.text_grams', 'on', true)`.execute(trx);
    await sql`INSERT INTO event_text (seq, body)
      SELECT * FROM unnest(${rows.map((r) => r.seq)}::bigint[], ${rows.map((r) => r.body)}::text[])
      ON CONFLICT (seq) DO NOTHING`.execute(trx);
    if (this.#textGrams.written)
      await this.#insertGrams(
        trx,
        rows.map((r) => r.body),
      );
    await this.#cleanTextPendingList(trx);
  }

  /** False once this role was refused cleaning the text index's pending list (it does not own the index). */
  #cleansPendingList = true;

  /**
   * Moves the text index's GIN pending list (fastupdate) into the index now, in the batch's transaction. When an
   * insert finds the list full, the cleanup it runs leaves the list's pages free but not reusable until a VACUUM;
   * a backfill fills the list hundreds of times between two VACUUMs, and the index grew to 2.5-4 KB per event
   * instead of 1 KB (20,000 simulated events). gin_clean_pending_list records the freed pages as reusable at
   * once: 1.2 KB per event, for a sixth more indexing time. Not fastupdate = off: writing each event's trigrams
   * straight into the tree made indexing seven times slower. Without pg_trgm there is no index: nothing to do.
   */
  async #cleanTextPendingList(trx: Db): Promise<void> {
    if (!this.#cleansPendingList) return;
    await sql`SAVEPOINT vigil_text_clean`.execute(trx);
    try {
      await sql`SELECT gin_clean_pending_list(i) FROM to_regclass('event_text_trgm') AS i WHERE i IS NOT NULL`.execute(
        trx,
      );
      await sql`RELEASE SAVEPOINT vigil_text_clean`.execute(trx);
    } catch (err) {
      // Only the index's size is at stake: index as before. A role that does not own the index may never clean
      // it (insufficient_privilege): stop asking. Anything else (a lock timeout) is left to the next batch.
      await sql`ROLLBACK TO SAVEPOINT vigil_text_clean`.execute(trx);
      if ((err as { code?: unknown } | null)?.code === "42501") this.#cleansPendingList = false;
    }
  }

  async deleteSourceText(trx: Db, sourceNum: number): Promise<void> {
    const seqs = sql`SELECT seq FROM events WHERE source_num = ${sourceNum}`;
    // The queue first: deleting it waits for an indexer batch holding those rows, whose text is then
    // committed, and goes next. A batch starting later skips the locked rows.
    await sql`DELETE FROM event_text_pending WHERE seq IN (${seqs})`.execute(trx);
    await sql`DELETE FROM event_text WHERE seq IN (${seqs})`.execute(trx);
  }

  storedEventIds(db: Kysely<Schema>, sourceNum: number, ids: readonly string[]) {
    // A lateral subquery with a LIMIT is never flattened into a join: it runs once per id. Its source number is
    // a scalar subquery, whose value the planner cannot see: it counts on a source's average share of the table,
    // never on statistics that know nothing of this source (which made reading the source's events by
    // events_by_source look as cheap as probing the key), so the key answers both conditions.
    return db
      .selectFrom(sql<string>`unnest(${[...ids]}::text[])`.as("probe"))
      .innerJoinLateral(
        (eb) =>
          eb
            .selectFrom("events")
            .select("events.id")
            .where("events.source_num", "=", sql<number>`(SELECT CAST(${sourceNum} AS integer))`)
            .where("events.id", "=", sql<string>`probe`)
            .limit(1)
            .as("stored"),
        (join) => join.onTrue(),
      )
      .select("stored.id");
  }

  /** PostgreSQL's documents are built in JavaScript from the rows (see ../event-document.ts). */
  readonly eventDocumentSql = null;
  // clock_timestamp(), not now(): now() is the transaction's start, and a lease must be judged when it is claimed.
  readonly clockMs = sql<number>`(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

  eventDocuments(_query: Compilable<unknown>): Promise<EventDocuments> | null {
    return null;
  }

  async scheduledQuery(
    sourceId: string,
    query: string,
    options: { maxRows: number; timeoutMs: number },
  ): Promise<Array<Record<string, unknown>>> {
    this.#assertOpen();
    try {
      return await this.db.transaction().execute(async (trx) => {
        // READ ONLY: the database refuses any write the query might attempt; the timeout is local to it.
        await sql`SET TRANSACTION READ ONLY`.execute(trx);
        await sql.raw(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(options.timeoutMs))}`).execute(trx);
        const text = `${scheduledQuerySql(query, "events", "$1")} LIMIT ${Math.max(0, Math.floor(options.maxRows))}`;
        const { rows } = await trx.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, [sourceId]));
        return rows;
      });
    } catch (err) {
      throw this.translateError(err);
    }
  }

  translateError(err: unknown): unknown {
    return translatePgError(err, this.#target);
  }

  violatedConstraint(err: unknown): "unique" | "foreign_key" | null {
    const state = sqlState(err);
    return state === "23505" ? "unique" : state === "23503" ? "foreign_key" : null;
  }

  async migrate(nowMs: number, announce?: MigrationNotice): Promise<void> {
    this.#assertOpen();
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      await runMigrations(client, this.#schema, nowMs, undefined, announce);
      const { rows } = await client.query(`SELECT to_regclass('event_text_grams') IS NOT NULL AS written,
        coalesce((SELECT to_jsonb(d) ->> 'datlocprovider' FROM pg_database d
                  WHERE d.datname = current_database()), 'c') = 'c' AS libc`);
      const written = rows[0]?.written === true;
      this.#textGrams = { written, read: written && rows[0]?.libc === true };
    } catch (err) {
      throw this.translateError(err);
    } finally {
      client?.release();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.pageWriter?.close();
    } finally {
      await this.db.destroy();
    }
  }
}

export function sqlState(err: unknown): string | undefined {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}
