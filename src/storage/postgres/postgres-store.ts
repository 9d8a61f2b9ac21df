// The scale-out event store: PostgreSQL via a `pg` Pool, shared by many Vigil workers.
//
// Same semantics as the SQLite store (one contract suite runs against both). What differs, and why:
// - Concurrency: several workers may apply overlapping pages at once. Writes run at READ COMMITTED; a
//   conflicting INSERT ... ON CONFLICT DO NOTHING waits for the other transaction and then skips the row,
//   so an event is stored (and reported as new) by exactly one worker. Rows are inserted in key order so
//   that two workers lock the same keys in the same order; a deadlock or serialization failure that still
//   happens rolls the whole transaction back, and it is retried a few times before surfacing.
// - A page is one round trip per table, not per row: events and unknown types go in as arrays (unnest),
//   which also sidesteps the 65535-parameter limit of a multi-row VALUES list.
// - `schema` gives each deployment (or test) its own namespace via the connection's search_path.
// - bigint columns come back as JS numbers (see PG_TYPES): times and ids stay far below 2^53.

import { createHash } from "node:crypto";
import pg from "pg";
import { DEFAULT_ALERT_LIMIT_PER_HOUR } from "../../alerts/limiter.ts";
import { type Clock, systemClock } from "../../core/clock.ts";
import type { AlertStatus, AlertStatusChange, RuleMatch } from "../../core/detection.ts";
import { NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import { documentsOf } from "../event-document.ts";
import { countableFromCounters } from "../event-search.ts";
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
import { toDestinationRecord } from "../sqlite/delivery.ts";
import { toQuarantineRecord, toStoredEvent } from "../sqlite/rows.ts";
import type { EventsTable, QuarantineTable } from "../sqlite/search.ts";
import type { LegacyStore } from "../store/legacy.ts";
import { openStore } from "../store/store.ts";
import { PgAccess } from "./access.ts";
import {
  claimDeliveriesPg,
  createDestinationPg,
  getDestinationRowPg,
  listDeliveriesByStatusPg,
  listDeliveriesPg,
  listDestinationsPg,
  listUnroutedOutboxPg,
  recordDeliveryAttemptPg,
  removeDestinationPg,
  routeOutboxEntryPg,
  updateDestinationPg,
} from "./delivery.ts";
import {
  applyMatchesPg,
  applyStateOpsPg,
  clearCorrelationPendingPg,
  getAlertMatchesPg,
  getAlertPg,
  listAlertStatusChangesPg,
  listAlertsPg,
  listCorrelationPendingPg,
  listDetectionSettingsPg,
  listMatchesPg,
  loadRuleStatePg,
  setAlertStatusPg,
  setDetectionSettingPg,
} from "./detections.ts";
import { PostgresStoreDialect } from "./dialect.ts";
import { quoteIdent, runMigrations } from "./migrations.ts";
import { describeTarget, type PgTarget, translatePgError } from "./pg-errors.ts";
import { eventTypeCountsPg } from "./posture.ts";
import { compileEventCount, compileEventSearch, compileQuarantineList } from "./search.ts";

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

const STREAMS: readonly StreamName[] = ["main", "tenant"];
/** Deadlocks and serialization failures roll back the whole transaction, so rerunning it is safe. */
const RETRYABLE_SQLSTATES = new Set(["40P01", "40001"]);
const MAX_ATTEMPTS = 3;

const INT8_OID = 20;
const PG_TYPES = new pg.TypeOverrides();
PG_TYPES.setTypeParser(INT8_OID, (value: string) => Number(value));

/** Lowercase only: an unquoted name in search_path is folded to lowercase, a quoted CREATE SCHEMA is not. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Opens a pool and migrates the schema. */
/** The PostgreSQL store: the one store (../store/store.ts) over a pool. */
export type PostgresStore = Store & { readonly schema: string | null };

export async function openPostgresStore(options: OpenPostgresStoreOptions): Promise<PostgresStore> {
  const legacy = LegacyPostgresStore.open(options);
  const dialect = new PostgresStoreDialect(legacy.pool, legacy.schema, describeTarget(options.connectionString));
  const store: PostgresStore = Object.assign(
    openStore(dialect, legacy, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.alertLimitPerHour !== undefined ? { alertLimitPerHour: options.alertLimitPerHour } : {}),
    }),
    { schema: legacy.schema },
  );
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function sqlState(err: unknown): string | undefined {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

function constraintOf(err: unknown): string | undefined {
  const c = typeof err === "object" && err !== null ? (err as { constraint?: unknown }).constraint : undefined;
  return typeof c === "string" ? c : undefined;
}

export class LegacyPostgresStore implements LegacyStore {
  readonly #pool: pg.Pool;
  readonly #schema: string | null;
  readonly #target: PgTarget;
  readonly #clock: Clock;
  #closed = false;
  #alertLimitPerHour = DEFAULT_ALERT_LIMIT_PER_HOUR;
  readonly #access: PgAccess = new PgAccess(
    (fn) => this.#read(fn),
    () => this.#clock.nowMs(),
  );

  private constructor(pool: pg.Pool, schema: string | null, target: PgTarget, clock: Clock) {
    this.#pool = pool;
    this.#schema = schema;
    this.#target = target;
    this.#clock = clock;
  }

  /** Creates the pool (no connection yet); `openPostgresStore` also migrates, which every other method needs. */
  static open(options: OpenPostgresStoreOptions): LegacyPostgresStore {
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
    const store = new LegacyPostgresStore(
      pool,
      schema,
      describeTarget(options.connectionString),
      options.clock ?? systemClock,
    );
    store.#alertLimitPerHour = options.alertLimitPerHour ?? DEFAULT_ALERT_LIMIT_PER_HOUR;
    return store;
  }

  /** TEMPORARY, while the store moves to ../store: the pool the dialect shares. */
  get pool(): pg.Pool {
    return this.#pool;
  }

  get schema(): string | null {
    return this.#schema;
  }

  // ---- plumbing ----

  #translate(err: unknown): unknown {
    return translatePgError(err, this.#target);
  }

  #assertOpen(): void {
    if (this.#closed) throw new VigilError("storage_closed", "The database has been closed.");
  }

  async #query<Row extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<pg.QueryResult<Row>> {
    this.#assertOpen();
    try {
      return await this.#pool.query<Row>(text, params);
    } catch (err) {
      throw this.#translate(err);
    }
  }

  async #connect(): Promise<pg.PoolClient> {
    this.#assertOpen();
    try {
      return await this.#pool.connect();
    } catch (err) {
      throw this.#translate(err);
    }
  }

  /** Runs `fn` in one transaction on one connection: COMMIT on success, ROLLBACK on any error. */
  async #transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#connect();
      let broken: Error | undefined;
      try {
        await client.query("BEGIN");
        const result = await fn(client);
        await client.query("COMMIT");
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch((rollbackErr: unknown) => {
          // A connection that cannot even roll back is not handed to the next caller.
          broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
        });
        const state = sqlState(err);
        if (state !== undefined && RETRYABLE_SQLSTATES.has(state) && attempt < MAX_ATTEMPTS) continue;
        throw this.#translate(err);
      } finally {
        client.release(broken);
      }
    }
  }

  async #requireSource(client: pg.PoolClient, id: string): Promise<void> {
    // FOR KEY SHARE: the source cannot be removed before this transaction ends.
    const { rowCount } = await client.query("SELECT 1 FROM sources WHERE id = $1 FOR KEY SHARE", [id]);
    if ((rowCount ?? 0) === 0) throw new NotFoundError(`No source with id ${id}.`);
  }

  // ---- lifecycle ----

  async migrate(): Promise<void> {
    const client = await this.#connect();
    try {
      await runMigrations(client, this.#schema, this.#clock.nowMs());
    } catch (err) {
      throw this.#translate(err);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  // ---- the page transaction ----

  async applyPage(write: PageWrite): Promise<PageWriteResult> {
    if (write.streamUpdate !== undefined && !STREAMS.includes(write.streamUpdate.stream)) {
      throw new UsageError(`Unknown stream "${write.streamUpdate.stream}".`);
    }
    return this.#transaction((client) => this.#applyPageInTransaction(client, write, this.#clock.nowMs()));
  }

  async #applyPageInTransaction(client: pg.PoolClient, write: PageWrite, nowMs: number): Promise<PageWriteResult> {
    const sourceId = write.sourceId;
    await this.#requireSource(client, sourceId);

    const insertedIds: string[] = [];
    if (write.events.length > 0) {
      const e = write.events;
      // ORDER BY id: concurrent workers take the same unique-index locks in the same order (no deadlock).
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO events (source_id, id, type, effective_at, actor_type, actor_id, actor_email, ip, project_id,
           raw, normalized, ingested_at_ms)
         SELECT $1, t.id, t.type, t.effective_at, t.actor_type, t.actor_id, t.actor_email, t.ip, t.project_id,
           t.raw, t.normalized, $12
         FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[],
           $9::text[], $10::text[], $11::text[])
           AS t(id, type, effective_at, actor_type, actor_id, actor_email, ip, project_id, raw, normalized)
         ORDER BY t.id COLLATE "C"
         ON CONFLICT (source_id, id) DO NOTHING
         RETURNING id`,
        [
          sourceId,
          e.map((r) => r.id),
          e.map((r) => r.type),
          e.map((r) => r.effectiveAtSecs),
          e.map((r) => r.actorType ?? null),
          e.map((r) => r.actorId ?? null),
          e.map((r) => r.actorEmail ?? null),
          e.map((r) => r.ip ?? null),
          e.map((r) => r.projectId ?? null),
          e.map((r) => r.raw),
          e.map((r) => r.normalized ?? null),
          nowMs,
        ],
      );
      // RETURNING order is not the page's: report in page order, each id once (a page may repeat one).
      const fresh = new Set(rows.map((r) => r.id));
      for (const event of e) {
        if (fresh.delete(event.id)) insertedIds.push(event.id);
      }
    }

    // Before the rest of the page, so that anything failing later also rolls the alert state back.
    const createdAlertIds = await this.#applyDetections(client, write, insertedIds, nowMs);

    let quarantined = 0;
    // Hash order, for the same lock-order reason as the events; quarantine is rare, one row at a time.
    const bad = write.quarantined.map((q) => ({ q, hash: sha256Hex(q.raw) })).sort((a, b) => cmp(a.hash, b.hash));
    for (const { q, hash } of bad) {
      const { rowCount } = await client.query(
        `INSERT INTO quarantine (source_id, event_id, reason, issues, raw, raw_sha256, received_at_ms, last_seen_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (source_id, raw_sha256) DO NOTHING`,
        [sourceId, q.eventId ?? null, q.reason, JSON.stringify(q.issues), q.raw, hash, nowMs],
      );
      if ((rowCount ?? 0) === 1) quarantined++;
      else {
        await client.query(
          "UPDATE quarantine SET sightings = sightings + 1, last_seen_ms = $1 WHERE source_id = $2 AND raw_sha256 = $3",
          [nowMs, sourceId, hash],
        );
      }
    }

    const newUnknownTypes: string[] = [];
    if (write.unknownTypes.length > 0) {
      const { rows } = await client.query<{ type: string }>(
        `INSERT INTO unknown_event_types (source_id, type, first_seen_ms)
         SELECT $1, t.type, $3 FROM unnest($2::text[]) AS t(type) ORDER BY t.type COLLATE "C"
         ON CONFLICT (source_id, type) DO NOTHING
         RETURNING type`,
        [sourceId, write.unknownTypes, nowMs],
      );
      const fresh = new Set(rows.map((r) => r.type));
      for (const type of write.unknownTypes) {
        if (fresh.delete(type)) newUnknownTypes.push(type);
      }
    }

    const update = write.streamUpdate;
    if (update !== undefined) {
      // Only the fields given change: the flags say which of the two values to take.
      await client.query(
        `INSERT INTO stream_state (source_id, stream, checkpoint_secs, last_sweep_secs) VALUES ($1, $2, $3, $4)
         ON CONFLICT (source_id, stream) DO UPDATE SET
           checkpoint_secs = CASE WHEN $5::boolean THEN excluded.checkpoint_secs ELSE stream_state.checkpoint_secs END,
           last_sweep_secs = CASE WHEN $6::boolean THEN excluded.last_sweep_secs ELSE stream_state.last_sweep_secs END`,
        [
          sourceId,
          update.stream,
          update.checkpointSecs ?? null,
          update.lastSweepSecs ?? null,
          update.checkpointSecs !== undefined,
          update.lastSweepSecs !== undefined,
        ],
      );
    }

    const progress = write.sliceProgress;
    if (progress !== undefined) {
      const { rowCount } = await client.query(
        `UPDATE backfill_slices SET upper_bound_secs = $4, done = $5, events_read = $6, cursor = $7
         WHERE job_id = $2 AND slice_index = $3
           AND job_id IN (SELECT id FROM backfill_jobs WHERE source_id = $1)`,
        [
          sourceId,
          progress.jobId,
          progress.sliceIndex,
          progress.upperBoundSecs,
          progress.done,
          progress.eventsRead,
          progress.cursor ?? null,
        ],
      );
      // Throwing rolls the whole page back: progress must never be lost silently.
      if ((rowCount ?? 0) === 0) {
        throw new NotFoundError(
          `Backfill job ${progress.jobId} of source ${sourceId} has no slice ${progress.sliceIndex}.`,
        );
      }
    }

    if (insertedIds.length > 0) {
      await client.query(
        `INSERT INTO poll_status (source_id, last_event_stored_ms) VALUES ($1, $2)
         ON CONFLICT (source_id) DO UPDATE SET last_event_stored_ms = excluded.last_event_stored_ms`,
        [sourceId, nowMs],
      );
    }

    return {
      insertedIds,
      duplicates: write.events.length - insertedIds.length,
      quarantined,
      newUnknownTypes,
      createdAlertIds,
    };
  }

  /** Matches and state ops of the events this page inserted; the others were applied when first stored. */
  async #applyDetections(
    client: pg.PoolClient,
    write: PageWrite,
    insertedIds: string[],
    nowMs: number,
  ): Promise<string[]> {
    const matches = write.matches ?? [];
    const ops = write.stateOps ?? [];
    if (matches.length === 0 && ops.length === 0) return [];
    assertMatchesOf(write.sourceId, matches);
    const inserted = new Set(insertedIds);
    await applyStateOpsPg(
      client,
      write.sourceId,
      ops.filter((o) => inserted.has(o.eventId)).map((o) => o.op),
      stateTimeSecs(
        write.events.filter((e) => inserted.has(e.id)).map((e) => e.effectiveAtSecs),
        Math.floor(nowMs / 1000),
      ),
    );
    return applyMatchesPg(
      client,
      matches.filter((m) => inserted.has(m.eventId)),
      nowMs,
      { fromHistory: write.fromHistory === true, alertLimitPerHour: this.#alertLimitPerHour },
    );
  }

  async applyDerivedMatches(
    sourceId: string,
    matches: RuleMatch[],
    options: { fromHistory?: boolean } = {},
  ): Promise<{ createdAlertIds: string[] }> {
    assertMatchesOf(sourceId, matches);
    return this.#transaction(async (client) => {
      await this.#requireSource(client, sourceId);
      return {
        createdAlertIds: await applyMatchesPg(client, matches, this.#clock.nowMs(), {
          fromHistory: options.fromHistory === true,
          alertLimitPerHour: this.#alertLimitPerHour,
        }),
      };
    });
  }

  async eventTypeCounts(sourceId?: string): Promise<Array<{ type: string; count: number; lastSeenSecs: number }>> {
    return this.#read((pool) => eventTypeCountsPg(pool, sourceId));
  }

  // ---- detections ----

  /** Runs a read on the pool, translating errors. */
  async #read<T>(fn: (client: pg.Pool) => Promise<T>): Promise<T> {
    this.#assertOpen();
    try {
      return await fn(this.#pool);
    } catch (err) {
      throw err instanceof VigilError ? err : this.#translate(err);
    }
  }

  // ---- access and statistics (see access.ts) ----

  createUser(user: NewUser): Promise<UserRecord> {
    return this.#access.createUser(user);
  }

  setUserPassword(username: string, passwordHash: string): Promise<void> {
    return this.#access.setUserPassword(username, passwordHash);
  }

  replacePasswordHash(userId: string, previousHash: string, passwordHash: string): Promise<boolean> {
    return this.#access.replacePasswordHash(userId, previousHash, passwordHash);
  }

  getUser(id: string): Promise<UserRecord | null> {
    return this.#access.getUser(id);
  }

  getUserCredentials(username: string): Promise<{ user: UserRecord; passwordHash: string } | null> {
    return this.#access.getUserCredentials(username);
  }

  countUsers(): Promise<number> {
    return this.#access.countUsers();
  }

  createSession(session: SessionRecord): Promise<void> {
    return this.#access.createSession(session);
  }

  getSession(tokenHash: string, nowMs: number): Promise<SessionRecord | null> {
    return this.#access.getSession(tokenHash, nowMs);
  }

  deleteSession(tokenHash: string, nowMs: number): Promise<void> {
    return this.#access.deleteSession(tokenHash, nowMs);
  }

  createApiToken(token: { name: string; tokenHash: string; expiresAtMs: number }): Promise<ApiTokenRecord> {
    return this.#access.createApiToken(token);
  }

  listApiTokens(): Promise<ApiTokenRecord[]> {
    return this.#access.listApiTokens();
  }

  authenticateApiToken(tokenHash: string, nowMs: number): Promise<ApiTokenRecord | null> {
    return this.#access.authenticateApiToken(tokenHash, nowMs);
  }

  revokeApiToken(idOrName: string): Promise<void> {
    return this.#access.revokeApiToken(idOrName);
  }

  eventHistogram(query: { sourceId?: string; sinceSecs: number; bucketSecs: number }): Promise<HistogramBucket[]> {
    return this.#access.eventHistogram(query);
  }

  sourceCounts(): Promise<Array<{ sourceId: string; events: number; quarantined: number; ruleErrors: number }>> {
    return this.#access.sourceCounts();
  }

  deliveryCounts(): Promise<Array<{ status: DeliveryStatus; count: number }>> {
    return this.#access.deliveryCounts();
  }

  historyAlertCounts(): Promise<{ total: number; open: number }> {
    return this.#access.historyAlertCounts();
  }

  alertCounts(): Promise<AlertCount[]> {
    return this.#access.alertCounts();
  }

  // ---- destinations and delivery ----

  async createDestination(destination: NewDestination): Promise<DestinationRecord> {
    this.#assertOpen();
    try {
      return await createDestinationPg(this.#pool, destination, this.#clock.nowMs());
    } catch (err) {
      // The unique index decides, so two workers adding the same name at once cannot both win.
      if (sqlState(err) === "23505" && constraintOf(err) === "destinations_name_key") {
        throw new VigilError(
          "conflict",
          `A destination named "${destination.name}" already exists; choose another name.`,
        );
      }
      throw this.#translate(err);
    }
  }

  async listDestinations(): Promise<DestinationRecord[]> {
    return this.#read((pool) => listDestinationsPg(pool));
  }

  async getDestination(idOrName: string): Promise<DestinationRecord | null> {
    return this.#read(async (pool) => {
      const row = await getDestinationRowPg(pool, idOrName);
      return row === null ? null : toDestinationRecord(row);
    });
  }

  async getDestinationConfig(id: string): Promise<EncryptedSecret | null> {
    return this.#read(async (pool) => {
      const { rows } = await pool.query<{ config_ciphertext: string }>(
        "SELECT config_ciphertext FROM destinations WHERE id = $1",
        [id],
      );
      return rows[0] === undefined ? null : { ciphertext: rows[0].config_ciphertext };
    });
  }

  async updateDestination(id: string, changes: DestinationUpdate): Promise<DestinationRecord> {
    return this.#read((pool) => updateDestinationPg(pool, id, changes, this.#clock.nowMs()));
  }

  async removeDestination(id: string): Promise<void> {
    return this.#read((pool) => removeDestinationPg(pool, id));
  }

  async listUnroutedOutbox(limit: number): Promise<OutboxEntry[]> {
    return this.#read((pool) => listUnroutedOutboxPg(pool, limit));
  }

  async routeOutboxEntry(
    outboxId: number,
    destinations: Array<{ id: string; name: string }>,
    nowMs: number,
  ): Promise<void> {
    await this.#transaction((client) => routeOutboxEntryPg(client, outboxId, destinations, nowMs));
  }

  async claimDeliveries(options: { nowMs: number; leaseMs: number; limit: number }): Promise<ClaimedDelivery[]> {
    return this.#transaction((client) => claimDeliveriesPg(client, options));
  }

  async recordDeliveryAttempt(attempt: DeliveryAttemptWrite): Promise<boolean> {
    return this.#transaction((client) => recordDeliveryAttemptPg(client, attempt));
  }

  async listDeliveries(alertId: string): Promise<Array<DeliveryRecord & { log: DeliveryAttemptRecord[] }>> {
    return this.#read((pool) => listDeliveriesPg(pool, alertId));
  }

  async listDeliveriesByStatus(status: DeliveryStatus, limit = 100): Promise<DeliveryRecord[]> {
    return this.#read((pool) => listDeliveriesByStatusPg(pool, status, limit));
  }

  async loadRuleState(sourceId: string, ruleIds: string[], nowSecs: number): Promise<RuleStateEntry[]> {
    return this.#read((c) => loadRuleStatePg(c, sourceId, ruleIds, nowSecs));
  }

  async listDetectionSettings(): Promise<DetectionSetting[]> {
    return this.#read((c) => listDetectionSettingsPg(c));
  }

  async setDetectionSetting(setting: DetectionSetting): Promise<void> {
    const sourceId = setting.sourceId;
    if (sourceId === null) {
      await this.#read((c) => setDetectionSettingPg(c, setting));
      return;
    }
    await this.#transaction(async (client) => {
      await this.#requireSource(client, sourceId);
      await setDetectionSettingPg(client, setting);
    });
  }

  async listAlerts(query: AlertQuery = {}): Promise<AlertRecord[]> {
    return this.#read((c) => listAlertsPg(c, query));
  }

  async getAlert(id: string): Promise<AlertRecord | null> {
    return this.#read((c) => getAlertPg(c, id));
  }

  async getAlertMatches(id: string, limit?: number): Promise<Array<{ match: RuleMatch; event: StoredEvent | null }>> {
    return this.#read((c) => getAlertMatchesPg(c, id, limit));
  }

  async setAlertStatus(id: string, status: AlertStatus, atMs: number, by?: string | null): Promise<AlertRecord> {
    return this.#transaction((client) => setAlertStatusPg(client, id, status, atMs, by ?? null));
  }

  async listAlertStatusChanges(alertId: string): Promise<AlertStatusChange[]> {
    return this.#read((c) => listAlertStatusChangesPg(c, alertId));
  }

  async queryEvents(
    sourceId: string,
    sql: string,
    options: { maxRows: number; timeoutMs: number },
  ): Promise<Array<Record<string, unknown>>> {
    const client = await this.#connect();
    try {
      // READ ONLY: the database refuses any write the query might attempt; the timeout is local to it
      await client.query("BEGIN READ ONLY");
      await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(options.timeoutMs))}`);
      const text = `${scheduledQuerySql(sql, "events", "$1")} LIMIT ${Math.max(0, Math.floor(options.maxRows))}`;
      const { rows } = await client.query<Record<string, unknown>>(text, [sourceId]);
      await client.query("COMMIT");
      return rows;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw this.#translate(err);
    } finally {
      client.release();
    }
  }

  async listMatches(query: {
    ruleIds?: string[];
    sourceId?: string;
    sinceSecs: number;
    untilSecs: number;
  }): Promise<RuleMatch[]> {
    return this.#read((c) => listMatchesPg(c, query));
  }

  async listCorrelationPending(
    sourceId: string,
    options: { afterSeq: number; limit: number },
  ): Promise<Array<{ seq: number; match: RuleMatch }>> {
    return this.#read((c) => listCorrelationPendingPg(c, sourceId, options.afterSeq, options.limit));
  }

  async clearCorrelationPending(sourceId: string, seqs: number[]): Promise<void> {
    await this.#read((c) => clearCorrelationPendingPg(c, sourceId, seqs));
  }

  // ---- reading ----

  async searchEvents(query: EventQuery): Promise<StoredEvent[]> {
    const compiled = compileEventSearch(query);
    const { rows } = await this.#query<EventsTable>(compiled.sql, [...compiled.parameters]);
    return rows.map(toStoredEvent);
  }

  /** Built in JavaScript from a bounded page (the pool's queries never hold the event loop). */
  async searchEventDocuments(query: EventQuery): Promise<EventDocuments> {
    return documentsOf(await this.searchEvents(query));
  }

  async countEvents(query: EventQuery = {}): Promise<number> {
    // Every event, or every event of a source: the day counters know (no pass over the events).
    if (countableFromCounters(query)) {
      const { rows } = await this.#query<{ n: number }>(
        "SELECT coalesce(sum(events), 0)::bigint AS n FROM event_counts WHERE ($1::text IS NULL OR source_id = $1)",
        [query.sourceId ?? null],
      );
      return Number(rows[0]?.n ?? 0);
    }
    const compiled = compileEventCount(query);
    const { rows } = await this.#query<{ n: number }>(compiled.sql, [...compiled.parameters]);
    return rows[0]?.n ?? 0;
  }

  async listEventIds(sourceId: string): Promise<string[]> {
    const { rows } = await this.#query<{ id: string }>("SELECT id FROM events WHERE source_id = $1", [sourceId]);
    return rows.map((r) => r.id);
  }

  async listQuarantine(query: { sourceId?: string; limit?: number } = {}): Promise<QuarantineRecord[]> {
    const compiled = compileQuarantineList(query);
    const { rows } = await this.#query<QuarantineTable>(compiled.sql, [...compiled.parameters]);
    return rows.map(toQuarantineRecord);
  }

  async listUnknownTypes(sourceId?: string): Promise<UnknownTypeRecord[]> {
    const { rows } =
      sourceId === undefined
        ? await this.#query<{ source_id: string; type: string; first_seen_ms: number }>(
            "SELECT * FROM unknown_event_types ORDER BY first_seen_ms, source_id, type",
          )
        : await this.#query<{ source_id: string; type: string; first_seen_ms: number }>(
            "SELECT * FROM unknown_event_types WHERE source_id = $1 ORDER BY first_seen_ms, type",
            [sourceId],
          );
    return rows.map((r) => ({ sourceId: r.source_id, type: r.type, firstSeenMs: r.first_seen_ms }));
  }
}

/** Bytewise string order, the same as the database's COLLATE "C". */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A match names its source; one that names another source than the write's is the caller's bug. */
function assertMatchesOf(sourceId: string, matches: readonly RuleMatch[]): void {
  const stray = matches.find((m) => m.sourceId !== sourceId);
  if (stray !== undefined) {
    throw new UsageError(`A match of rule ${stray.ruleId} names source ${stray.sourceId}, not ${sourceId}.`);
  }
}
