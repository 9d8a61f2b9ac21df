// The embedded event store: one SQLite file via better-sqlite3, in WAL mode.
//
// Durability: WAL with synchronous=FULL. WAL+NORMAL survives a killed process but may lose the last
// commits on power loss or an OS crash; since `applyPage` also advances the checkpoint, a lost commit after
// the checkpoint moved past its window on the API side would be harmless, but a lost commit whose events
// were already alerted on would not be. Vigil promises "no event lost", so every commit is fsynced; the
// cost is one fsync per page of up to 100 events, which is small next to an HTTP round trip.
//
// Concurrency: several processes may open the file (`vigil start`, `vigil backfill`). WAL lets readers run
// beside one writer; every write transaction is BEGIN IMMEDIATE so it takes the write lock up front and
// waits up to `busy_timeout` for it, instead of failing mid-transaction when a read lock cannot upgrade.
//
// The event loop: better-sqlite3 blocks while a statement runs, so only bounded statements run on this
// connection (writes, key lookups, the counters of stats.ts). Searches and lists that may read many rows go
// to read-only connections in worker threads (reader.ts).

import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import Database from "better-sqlite3";
import { DEFAULT_ALERT_LIMIT_PER_HOUR } from "../../alerts/limiter.ts";
import { type Clock, systemClock } from "../../core/clock.ts";
import type { AlertStatus, AlertStatusChange, RuleMatch } from "../../core/detection.ts";
import { NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import { type AlertRow, toAlertRecord } from "../alert-rows.ts";
import { documentsOf } from "../event-document.ts";
import type { TextPlan } from "../event-search.ts";
import type {
  AlertCount,
  AlertQuery,
  AlertRecord,
  ApiTokenRecord,
  ClaimedDelivery,
  DeliveryAttemptRecord,
  DeliveryAttemptWrite,
  DeliveryRecord,
  DeliveryStatus,
  DestinationRecord,
  DestinationUpdate,
  DetectionSetting,
  EncryptedSecret,
  EventDocuments,
  EventQuery,
  HistogramBucket,
  NewDestination,
  NewUser,
  OutboxEntry,
  PageWrite,
  PageWriteResult,
  QuarantineRecord,
  RuleStateEntry,
  SessionRecord,
  Store,
  StoredEvent,
  StreamName,
  UnknownTypeRecord,
  UserRecord,
} from "../ports.ts";
import { stateTimeSecs } from "../rule-state.ts";
import { scheduledQuerySql } from "../scheduled-query-sql.ts";
import type { LegacyStore } from "../store/legacy.ts";
import { openStore } from "../store/store.ts";
import { SqliteAccess } from "./access.ts";
import { SqliteDelivery } from "./delivery.ts";
import { SqliteDetections } from "./detections.ts";
import { SqliteStoreDialect } from "./dialect.ts";
import { restrictDatabaseFiles } from "./file-mode.ts";
import { runMigrations } from "./migrations.ts";
import * as posture from "./posture.ts";
import { SqliteReader } from "./reader.ts";
import { toQuarantineRecord, toStoredEvent } from "./rows.ts";
import {
  compileEventCount,
  compileEventDocuments,
  compileEventSearch,
  compileQuarantineList,
  compileTextCandidateCount,
  type EventsTable,
  type QuarantineTable,
  TEXT_CANDIDATE_CAP,
} from "./search.ts";
import { translateSqliteError } from "./sqlite-errors.ts";
import { alertCountsSql, eventCountFromCounters, eventHistogramSql, sourceCountsSql } from "./stats.ts";

export interface SqliteStoreOptions {
  clock?: Clock;
  /** How long a write waits for another process's write lock before failing with `storage_busy`. */
  busyTimeoutMs?: number;
  /**
   * Worker threads for the reads that can take long (see reader.ts); default one per core but one, at
   * least 1 and at most 4. 0 reads on the main connection, as an in-memory database always does.
   */
  readers?: number;
  /** Alerts a rule may raise per source and hour before its matches fold into one noisy alert (alerts/limiter.ts). */
  alertLimitPerHour?: number;
}

export type OpenSqliteStoreOptions = ({ path: string } | { memory: true }) & SqliteStoreOptions;

const DEFAULT_BUSY_TIMEOUT_MS = 10_000;
const STREAMS: readonly StreamName[] = ["main", "tenant"];
/**
 * Reader threads compete with the event loop for cores: leave it one. On two cores one reader measured
 * better than two for /healthz and the overview under load (bench/server-load.ts), at the cost of searches
 * queueing behind each other.
 */
function defaultReaders(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/** The SQLite store: the one store (../store/store.ts), plus the connection for SQLite-specific tests. */
export type SqliteStore = Store & {
  /** The underlying connection, for SQLite-specific tests and diagnostics only. */
  readonly connection: Database.Database;
  readonly location: string;
};

/** Opens (creating if needed) and migrates a SQLite store. */
export async function openSqliteStore(options: OpenSqliteStoreOptions): Promise<SqliteStore> {
  const legacy = LegacySqliteStore.open(options);
  const dialect = new SqliteStoreDialect(legacy.connection, legacy.location, legacy.reader);
  const store: SqliteStore = Object.assign(
    openStore(dialect, legacy, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.alertLimitPerHour !== undefined ? { alertLimitPerHour: options.alertLimitPerHour } : {}),
    }),
    { connection: legacy.connection, location: legacy.location },
  );
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function prepareStatements(db: Database.Database) {
  return {
    sourceExists: db.prepare<[string], 1>("SELECT 1 FROM sources WHERE id = ?").pluck(),
    // Only the fields given change: the flags say which of the two values to take.
    upsertStream: db.prepare(
      `INSERT INTO stream_state (source_id, stream, checkpoint_secs, last_sweep_secs)
       VALUES (@sourceId, @stream, @checkpointSecs, @lastSweepSecs)
       ON CONFLICT (source_id, stream) DO UPDATE SET
         checkpoint_secs = CASE WHEN @setCheckpoint = 1 THEN excluded.checkpoint_secs ELSE checkpoint_secs END,
         last_sweep_secs = CASE WHEN @setSweep = 1 THEN excluded.last_sweep_secs ELSE last_sweep_secs END`,
    ),
    eventStored: db.prepare(
      `INSERT INTO poll_status (source_id, last_event_stored_ms) VALUES (?, ?)
       ON CONFLICT (source_id) DO UPDATE SET last_event_stored_ms = excluded.last_event_stored_ms`,
    ),

    // The hot path: positional parameters, one statement reused for every row.
    // ON CONFLICT (key) DO NOTHING, not INSERT OR IGNORE: OR IGNORE also silently skips rows that break a
    // NOT NULL constraint, which would turn a bad row into a "duplicate" instead of failing the page.
    insertEvent: db.prepare(
      `INSERT INTO events (source_id, id, type, effective_at, actor_type, actor_id, actor_email, ip,
         project_id, raw, normalized, ingested_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source_id, id) DO NOTHING`,
    ),
    insertQuarantine: db.prepare(
      `INSERT INTO quarantine (source_id, event_id, reason, issues, raw, raw_sha256, received_at_ms, last_seen_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source_id, raw_sha256) DO NOTHING`,
    ),
    resightQuarantine: db.prepare(
      "UPDATE quarantine SET sightings = sightings + 1, last_seen_ms = ? WHERE source_id = ? AND raw_sha256 = ?",
    ),
    insertUnknownType: db.prepare(
      `INSERT INTO unknown_event_types (source_id, type, first_seen_ms) VALUES (?, ?, ?)
       ON CONFLICT (source_id, type) DO NOTHING`,
    ),
    updateSlice: db.prepare(
      `UPDATE backfill_slices SET upper_bound_secs = @upperBoundSecs, cursor = @cursor, done = @done, events_read = @eventsRead
       WHERE job_id = @jobId AND slice_index = @sliceIndex
         AND job_id IN (SELECT id FROM backfill_jobs WHERE source_id = @sourceId)`,
    ),

    eventIds: db.prepare<[string], string>("SELECT id FROM events WHERE source_id = ?").pluck(),
    unknownTypesAll: db.prepare<[], UnknownTypeRow>(
      "SELECT * FROM unknown_event_types ORDER BY first_seen_ms, source_id, type",
    ),
    unknownTypesOf: db.prepare<[string], UnknownTypeRow>(
      "SELECT * FROM unknown_event_types WHERE source_id = ? ORDER BY first_seen_ms, type",
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

interface UnknownTypeRow {
  source_id: string;
  type: string;
  first_seen_ms: number;
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export class LegacySqliteStore implements LegacyStore {
  readonly #db: Database.Database;
  readonly #location: string;
  readonly #clock: Clock;
  #statements: Statements | undefined;
  /** One reusable transaction wrapper: `db.transaction` per call would rebuild it on the hot path. */
  readonly #transaction: Database.Transaction<(fn: () => unknown) => unknown>;
  readonly #searchStatements = new Map<string, Database.Statement>();
  readonly #detections: SqliteDetections;
  readonly #delivery: SqliteDelivery;
  readonly #access: SqliteAccess;
  /** Null: reads run on the main connection (an in-memory database, or `readers: 0`). */
  readonly #reader: SqliteReader | null;
  #alertLimitPerHour = DEFAULT_ALERT_LIMIT_PER_HOUR;

  private constructor(db: Database.Database, location: string, clock: Clock, reader: SqliteReader | null) {
    this.#db = db;
    this.#reader = reader;
    this.#detections = new SqliteDetections(db);
    this.#delivery = new SqliteDelivery(db);
    this.#access = new SqliteAccess(db, () => clock.nowMs());
    this.#location = location;
    this.#clock = clock;
    this.#transaction = db.transaction((fn: () => unknown) => fn());
  }

  /** Opens the connection and sets it up; `openSqliteStore` also migrates, which every other method needs. */
  static open(options: OpenSqliteStoreOptions): LegacySqliteStore {
    const location = "memory" in options ? ":memory:" : options.path;
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    let db: Database.Database | undefined;
    try {
      if (location !== ":memory:") restrictDatabaseFiles(location);
      db = new Database(location, { timeout: busyTimeoutMs });
      // An in-memory database has no WAL; it answers "memory".
      if (location !== ":memory:") db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      // 32 MiB of page cache (the default is 2 MiB): the event indexes of a busy org soon outgrow 2 MiB,
      // and the random-order primary key then costs a disk read per insert.
      db.pragma("cache_size = -32768");
      // A large backfill can grow the WAL file; truncate it back after checkpoints instead of keeping it.
      db.pragma("journal_size_limit = 67108864");
      const readers = options.readers ?? defaultReaders();
      const reader =
        location === ":memory:" || readers === 0
          ? null
          : new SqliteReader({ path: location, size: readers, busyTimeoutMs });
      const store = new LegacySqliteStore(db, location, options.clock ?? systemClock, reader);
      store.#alertLimitPerHour = options.alertLimitPerHour ?? DEFAULT_ALERT_LIMIT_PER_HOUR;
      return store;
    } catch (err) {
      db?.close();
      const translated = translateSqliteError(err, location);
      if (translated instanceof VigilError) throw translated;
      throw new VigilError("storage_open_failed", `Could not open the database at ${location}: ${String(err)}`, {
        cause: err,
      });
    }
  }

  /** The underlying connection, for SQLite-specific tests and diagnostics only. */
  get connection(): Database.Database {
    return this.#db;
  }

  /** TEMPORARY, while the store moves to ../store: the reader the dialect shares. */
  get reader(): SqliteReader | null {
    return this.#reader;
  }

  get location(): string {
    return this.#location;
  }

  // ---- plumbing ----

  /** Runs `fn`, turning SQLite errors into VigilErrors that name this database. */
  #guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw translateSqliteError(err, this.#location);
    }
  }

  /** Runs `fn` in one BEGIN IMMEDIATE transaction (see the header for why IMMEDIATE). */
  #write<T>(fn: () => T): T {
    return this.#guard(() => this.#transaction.immediate(fn) as T);
  }

  get #s(): Statements {
    if (this.#statements === undefined) {
      if (!this.#db.open) throw new VigilError("storage_closed", "The database has been closed.");
      this.#statements = prepareStatements(this.#db);
    }
    return this.#statements;
  }

  #requireSource(id: string): void {
    if (this.#s.sourceExists.get(id) === undefined) throw new NotFoundError(`No source with id ${id}.`);
  }

  #run<Row>(compiled: { sql: string; parameters: readonly unknown[] }): Row[] {
    let statement = this.#searchStatements.get(compiled.sql);
    if (statement === undefined) {
      statement = this.#db.prepare(compiled.sql);
      // A handful of filter combinations in practice; the cap only guards against a pathological caller.
      if (this.#searchStatements.size >= 256) this.#searchStatements.clear();
      this.#searchStatements.set(compiled.sql, statement);
    }
    return statement.all(...compiled.parameters) as Row[];
  }

  /** A read that can take long: in a worker thread when the database is a file (see reader.ts). */
  async #read<Row>(compiled: { sql: string; parameters: readonly unknown[] }): Promise<Row[]> {
    if (this.#reader === null) return this.#guard(() => this.#run<Row>(compiled));
    if (!this.#db.open) throw new VigilError("storage_closed", "The database has been closed.");
    try {
      return await this.#reader.all<Row>(compiled.sql, compiled.parameters);
    } catch (err) {
      throw translateSqliteError(err, this.#location);
    }
  }

  // ---- lifecycle ----

  async migrate(): Promise<void> {
    this.#guard(() => runMigrations(this.#db, this.#clock.nowMs()));
  }

  async close(): Promise<void> {
    await this.#reader?.close();
    if (this.#db.open) this.#db.close();
  }

  // ---- the page transaction ----

  async applyPage(write: PageWrite): Promise<PageWriteResult> {
    return this.#write(() => this.#applyPageInTransaction(write, this.#clock.nowMs()));
  }

  #applyPageInTransaction(write: PageWrite, nowMs: number): PageWriteResult {
    const s = this.#s;
    const sourceId = write.sourceId;
    this.#requireSource(sourceId);

    const insertedIds: string[] = [];
    for (const e of write.events) {
      const { changes } = s.insertEvent.run(
        sourceId,
        e.id,
        e.type,
        e.effectiveAtSecs,
        e.actorType ?? null,
        e.actorId ?? null,
        e.actorEmail ?? null,
        e.ip ?? null,
        e.projectId ?? null,
        e.raw,
        e.normalized ?? null,
        nowMs,
      );
      if (changes === 1) insertedIds.push(e.id);
    }

    // Before the rest of the page, so that anything failing later also rolls the alert state back.
    const createdAlertIds = this.#applyDetections(write, insertedIds, nowMs);

    let quarantined = 0;
    for (const q of write.quarantined) {
      const hash = sha256Hex(q.raw);
      const { changes } = s.insertQuarantine.run(
        sourceId,
        q.eventId ?? null,
        q.reason,
        JSON.stringify(q.issues),
        q.raw,
        hash,
        nowMs,
        nowMs,
      );
      if (changes === 1) quarantined++;
      else s.resightQuarantine.run(nowMs, sourceId, hash);
    }

    const newUnknownTypes: string[] = [];
    for (const type of write.unknownTypes) {
      if (s.insertUnknownType.run(sourceId, type, nowMs).changes === 1) newUnknownTypes.push(type);
    }

    const update = write.streamUpdate;
    if (update !== undefined) {
      if (!STREAMS.includes(update.stream)) throw new UsageError(`Unknown stream "${update.stream}".`);
      s.upsertStream.run({
        sourceId,
        stream: update.stream,
        checkpointSecs: update.checkpointSecs ?? null,
        lastSweepSecs: update.lastSweepSecs ?? null,
        setCheckpoint: update.checkpointSecs === undefined ? 0 : 1,
        setSweep: update.lastSweepSecs === undefined ? 0 : 1,
      });
    }

    const progress = write.sliceProgress;
    if (progress !== undefined) {
      const { changes } = s.updateSlice.run({
        sourceId,
        jobId: progress.jobId,
        sliceIndex: progress.sliceIndex,
        upperBoundSecs: progress.upperBoundSecs,
        cursor: progress.cursor ?? null,
        done: progress.done ? 1 : 0,
        eventsRead: progress.eventsRead,
      });
      // Throwing rolls the whole page back: progress must never be lost silently.
      if (changes === 0) {
        throw new NotFoundError(
          `Backfill job ${progress.jobId} of source ${sourceId} has no slice ${progress.sliceIndex}.`,
        );
      }
    }

    if (insertedIds.length > 0) s.eventStored.run(sourceId, nowMs);

    return {
      insertedIds,
      duplicates: write.events.length - insertedIds.length,
      quarantined,
      newUnknownTypes,
      createdAlertIds,
    };
  }

  /** Matches and state ops of the events this page inserted; the others were applied when first stored. */
  #applyDetections(write: PageWrite, insertedIds: string[], nowMs: number): string[] {
    const matches = write.matches ?? [];
    const ops = write.stateOps ?? [];
    if (matches.length === 0 && ops.length === 0) return [];
    assertMatchesOf(write.sourceId, matches);
    const inserted = new Set(insertedIds);
    this.#detections.applyStateOps(
      write.sourceId,
      ops.filter((o) => inserted.has(o.eventId)).map((o) => o.op),
      stateTimeSecs(
        write.events.filter((e) => inserted.has(e.id)).map((e) => e.effectiveAtSecs),
        Math.floor(nowMs / 1000),
      ),
    );
    return this.#detections.applyMatches(
      matches.filter((m) => inserted.has(m.eventId)),
      nowMs,
      {
        fromHistory: write.fromHistory === true,
        alertLimitPerHour: this.#alertLimitPerHour,
      },
    );
  }

  async applyDerivedMatches(
    sourceId: string,
    matches: RuleMatch[],
    options: { fromHistory?: boolean } = {},
  ): Promise<{ createdAlertIds: string[] }> {
    return this.#write(() => {
      this.#requireSource(sourceId);
      assertMatchesOf(sourceId, matches);
      return {
        createdAlertIds: this.#detections.applyMatches(matches, this.#clock.nowMs(), {
          fromHistory: options.fromHistory === true,
          alertLimitPerHour: this.#alertLimitPerHour,
        }),
      };
    });
  }

  async listCorrelationPending(
    sourceId: string,
    options: { afterSeq: number; limit: number },
  ): Promise<Array<{ seq: number; match: RuleMatch }>> {
    return this.#guard(() => this.#detections.listCorrelationPending(sourceId, options.afterSeq, options.limit));
  }

  async clearCorrelationPending(sourceId: string, seqs: number[]): Promise<void> {
    this.#write(() => this.#detections.clearCorrelationPending(sourceId, seqs));
  }

  async eventTypeCounts(sourceId?: string): Promise<Array<{ type: string; count: number; lastSeenSecs: number }>> {
    return this.#guard(() => posture.eventTypeCounts(this.#db, sourceId));
  }

  // ---- detections ----

  async loadRuleState(sourceId: string, ruleIds: string[], nowSecs: number): Promise<RuleStateEntry[]> {
    return this.#guard(() => this.#detections.loadRuleState(sourceId, ruleIds, nowSecs));
  }

  async listDetectionSettings(): Promise<DetectionSetting[]> {
    return this.#guard(() => this.#detections.listDetectionSettings());
  }

  async setDetectionSetting(setting: DetectionSetting): Promise<void> {
    this.#write(() => {
      if (setting.sourceId !== null) this.#requireSource(setting.sourceId);
      this.#detections.setDetectionSetting(setting);
    });
  }

  async listAlerts(query: AlertQuery = {}): Promise<AlertRecord[]> {
    const compiled = this.#guard(() => this.#detections.compileAlertList(query));
    return (await this.#read<AlertRow>(compiled)).map(toAlertRecord);
  }

  async getAlert(id: string): Promise<AlertRecord | null> {
    return this.#guard(() => this.#detections.getAlert(id));
  }

  async getAlertMatches(id: string, limit?: number): Promise<Array<{ match: RuleMatch; event: StoredEvent | null }>> {
    return this.#guard(() => this.#detections.getAlertMatches(id, limit));
  }

  async setAlertStatus(id: string, status: AlertStatus, atMs: number, by?: string | null): Promise<AlertRecord> {
    return this.#write(() => this.#detections.setAlertStatus(id, status, atMs, by ?? null));
  }

  async listAlertStatusChanges(alertId: string): Promise<AlertStatusChange[]> {
    return this.#guard(() => this.#detections.listAlertStatusChanges(alertId));
  }

  async queryEvents(
    sourceId: string,
    sql: string,
    options: { maxRows: number; timeoutMs: number },
  ): Promise<Array<Record<string, unknown>>> {
    return this.#guard(() => {
      // main.events: a CTE that named the table unqualified would refer to itself. No statement timeout in
      // SQLite: the row cap bounds what is read back, and rule authors own their queries.
      const statement = this.#db.prepare(scheduledQuerySql(sql, "main.events", "?"));
      if (!statement.readonly || !statement.reader)
        throw new UsageError("A scheduled query must be a single read-only SELECT.");
      const rows: Array<Record<string, unknown>> = [];
      for (const row of statement.iterate(sourceId) as Iterable<Record<string, unknown>>) {
        if (rows.length >= options.maxRows) break;
        rows.push(row);
      }
      return rows;
    });
  }

  async listMatches(query: {
    ruleIds?: string[];
    sourceId?: string;
    sinceSecs: number;
    untilSecs: number;
  }): Promise<RuleMatch[]> {
    return this.#guard(() => this.#detections.listMatches(query));
  }

  // ---- destinations and delivery ----

  async createDestination(destination: NewDestination): Promise<DestinationRecord> {
    return this.#write(() => this.#delivery.createDestination(destination, this.#clock.nowMs()));
  }

  async listDestinations(): Promise<DestinationRecord[]> {
    return this.#guard(() => this.#delivery.listDestinations());
  }

  async getDestination(idOrName: string): Promise<DestinationRecord | null> {
    return this.#guard(() => this.#delivery.getDestination(idOrName));
  }

  async getDestinationConfig(id: string): Promise<EncryptedSecret | null> {
    return this.#guard(() => this.#delivery.getDestinationConfig(id));
  }

  async updateDestination(id: string, changes: DestinationUpdate): Promise<DestinationRecord> {
    return this.#write(() => this.#delivery.updateDestination(id, changes, this.#clock.nowMs()));
  }

  async removeDestination(id: string): Promise<void> {
    this.#write(() => this.#delivery.removeDestination(id));
  }

  async listUnroutedOutbox(limit: number): Promise<OutboxEntry[]> {
    return this.#guard(() => this.#delivery.listUnroutedOutbox(limit));
  }

  async routeOutboxEntry(outboxId: number, destinations: Array<{ id: string; name: string }>, nowMs: number) {
    this.#write(() => this.#delivery.routeOutboxEntry(outboxId, destinations, nowMs));
  }

  async claimDeliveries(options: { nowMs: number; leaseMs: number; limit: number }): Promise<ClaimedDelivery[]> {
    return this.#write(() => this.#delivery.claimDeliveries(options));
  }

  async recordDeliveryAttempt(attempt: DeliveryAttemptWrite): Promise<boolean> {
    return this.#write(() => this.#delivery.recordDeliveryAttempt(attempt));
  }

  async listDeliveries(alertId: string): Promise<Array<DeliveryRecord & { log: DeliveryAttemptRecord[] }>> {
    return this.#guard(() => this.#delivery.listDeliveries(alertId));
  }

  async listDeliveriesByStatus(status: DeliveryStatus, limit = 100): Promise<DeliveryRecord[]> {
    return this.#guard(() => this.#delivery.listDeliveriesByStatus(status, limit));
  }

  // ---- reading ----

  async searchEvents(query: EventQuery): Promise<StoredEvent[]> {
    const plan = await this.#textPlan(query);
    return (await this.#read<EventsTable>(compileEventSearch(query, plan))).map(toStoredEvent);
  }

  async searchEventDocuments(query: EventQuery): Promise<EventDocuments> {
    const plan = await this.#textPlan(query);
    if (this.#reader === null) return documentsOf(await this.searchEvents(query));
    if (!this.#db.open) throw new VigilError("storage_closed", "The database has been closed.");
    const compiled = compileEventDocuments(query, plan);
    try {
      return await this.#reader.documents(compiled.sql, compiled.parameters);
    } catch (err) {
      throw translateSqliteError(err, this.#location);
    }
  }

  /** See TEXT_CANDIDATE_CAP: how to answer a free-text filter, from a capped count of index candidates. */
  async #textPlan(query: EventQuery): Promise<TextPlan> {
    const count = query.text ? compileTextCandidateCount(query.text) : null;
    const candidates = count === null ? 0 : ((await this.#read<{ n: number }>(count))[0]?.n ?? 0);
    return candidates >= TEXT_CANDIDATE_CAP ? "scan" : "index";
  }

  async countEvents(query: EventQuery = {}): Promise<number> {
    // Every event, or every event of a source: the day counters know (no read of the events).
    const fromCounters = eventCountFromCounters(query);
    const rows =
      fromCounters !== null
        ? this.#guard(() => this.#run<{ n: number }>(fromCounters))
        : await this.#read<{ n: number }>(this.#guard(() => compileEventCount(query)));
    return rows[0]?.n ?? 0;
  }

  async listEventIds(sourceId: string): Promise<string[]> {
    return this.#guard(() => this.#s.eventIds.all(sourceId));
  }

  async listQuarantine(query: { sourceId?: string; limit?: number } = {}): Promise<QuarantineRecord[]> {
    const compiled = this.#guard(() => compileQuarantineList(query));
    return (await this.#read<QuarantineTable>(compiled)).map(toQuarantineRecord);
  }

  async listUnknownTypes(sourceId?: string): Promise<UnknownTypeRecord[]> {
    return this.#guard(() => {
      const rows = sourceId === undefined ? this.#s.unknownTypesAll.all() : this.#s.unknownTypesOf.all(sourceId);
      return rows.map((r) => ({ sourceId: r.source_id, type: r.type, firstSeenMs: r.first_seen_ms }));
    });
  }

  // ---- access and statistics (see access.ts) ----

  async createUser(user: NewUser): Promise<UserRecord> {
    return this.#write(() => this.#access.createUser(user));
  }

  async setUserPassword(username: string, passwordHash: string): Promise<void> {
    this.#write(() => this.#access.setUserPassword(username, passwordHash));
  }

  async replacePasswordHash(userId: string, previousHash: string, passwordHash: string): Promise<boolean> {
    return this.#write(() => this.#access.replacePasswordHash(userId, previousHash, passwordHash));
  }

  async getUser(id: string): Promise<UserRecord | null> {
    return this.#guard(() => this.#access.getUser(id));
  }

  async getUserCredentials(username: string): Promise<{ user: UserRecord; passwordHash: string } | null> {
    return this.#guard(() => this.#access.getUserCredentials(username));
  }

  async countUsers(): Promise<number> {
    return this.#guard(() => this.#access.countUsers());
  }

  async createSession(session: SessionRecord): Promise<void> {
    this.#write(() => this.#access.createSession(session));
  }

  async getSession(tokenHash: string, nowMs: number): Promise<SessionRecord | null> {
    return this.#guard(() => this.#access.getSession(tokenHash, nowMs));
  }

  async deleteSession(tokenHash: string, nowMs: number): Promise<void> {
    this.#write(() => this.#access.deleteSession(tokenHash, nowMs));
  }

  async createApiToken(token: { name: string; tokenHash: string; expiresAtMs: number }): Promise<ApiTokenRecord> {
    return this.#write(() => this.#access.createApiToken(token));
  }

  async listApiTokens(): Promise<ApiTokenRecord[]> {
    return this.#guard(() => this.#access.listApiTokens());
  }

  async authenticateApiToken(tokenHash: string, nowMs: number): Promise<ApiTokenRecord | null> {
    return this.#write(() => this.#access.authenticateApiToken(tokenHash, nowMs));
  }

  async revokeApiToken(idOrName: string): Promise<void> {
    this.#write(() => this.#access.revokeApiToken(idOrName));
  }

  async eventHistogram(query: {
    sourceId?: string;
    sinceSecs: number;
    bucketSecs: number;
  }): Promise<HistogramBucket[]> {
    const { compiled, fromCounters } = eventHistogramSql(query);
    // Whole-day buckets come from the counters (a few rows per day and type): cheap enough to answer here.
    const rows = fromCounters
      ? this.#guard(() => this.#run<{ bucket: number; type: string; n: number }>(compiled))
      : await this.#read<{ bucket: number; type: string; n: number }>(compiled);
    return rows.map((r) => ({ bucketStartSecs: r.bucket, type: r.type, count: r.n }));
  }

  /** From the counters (one row per source): answered on the main connection. */
  async sourceCounts(): Promise<Array<{ sourceId: string; events: number; quarantined: number; ruleErrors: number }>> {
    return this.#guard(() =>
      this.#run<{ sourceId: string; events: number; quarantined: number; ruleErrors: number }>(sourceCountsSql),
    );
  }

  /** From the counters (at most 25 rows per source): answered on the main connection. */
  async alertCounts(): Promise<AlertCount[]> {
    return this.#guard(() => this.#run<AlertCount>(alertCountsSql));
  }

  /** Over the partial index of history alerts: as cheap as there are history alerts, whatever the live ones. */
  async historyAlertCounts(): Promise<{ total: number; open: number }> {
    return this.#guard(() => {
      const row = this.#db
        .prepare<[], { total: number; open: number | null }>(
          "SELECT count(*) AS total, sum(status = 'OPEN') AS open FROM alerts WHERE from_history = 1",
        )
        .get();
      return { total: row?.total ?? 0, open: row?.open ?? 0 };
    });
  }

  async deliveryCounts(): Promise<Array<{ status: DeliveryStatus; count: number }>> {
    return this.#guard(() => this.#access.deliveryCounts());
  }
}

/** A match names its source; one that names another source than the write's is the caller's bug. */
function assertMatchesOf(sourceId: string, matches: readonly RuleMatch[]): void {
  const stray = matches.find((m) => m.sourceId !== sourceId);
  if (stray !== undefined) {
    throw new UsageError(`A match of rule ${stray.ruleId} names source ${stray.sourceId}, not ${sourceId}.`);
  }
}
