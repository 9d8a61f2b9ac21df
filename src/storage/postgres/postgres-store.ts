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

import { createHash, randomUUID } from "node:crypto";
import pg from "pg";
import { SOURCE_DEFAULTS } from "../../config/source-defaults.ts";
import { type Clock, systemClock } from "../../core/clock.ts";
import { NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import { redactSecrets } from "../../core/redact.ts";
import type { PostureSnapshotRecord, PostureSnapshotSummary, PostureSnapshotWrite } from "../../posture/types.ts";
import type {
  BackfillJob,
  BackfillSlice,
  EncryptedSecret,
  PollStatus,
  SourceRecord,
  SourceSettings,
  Store,
  StreamName,
  StreamState,
} from "../ports.ts";
import type { LegacyStore } from "../store/legacy.ts";
import { openStore } from "../store/store.ts";
import { PostgresStoreDialect } from "./dialect.ts";
import { quoteIdent, runMigrations } from "./migrations.ts";
import { describeTarget, type PgTarget, translatePgError } from "./pg-errors.ts";
import { getPostureObjectsPg, getPostureSnapshotPg, listPostureSnapshotsPg, savePostureSnapshotPg } from "./posture.ts";

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
const SETTINGS_KEYS = [
  "name",
  "kind",
  "baseUrl",
  "pollIntervalSecs",
  "overlapSecs",
  "sweepWindowSecs",
  "sweepIntervalSecs",
  "includeTenantEvents",
  "backfillDays",
  "enabled",
  "noDataAlertEnabled",
  "noDataAlertSecs",
  "pollFailureAlertSecs",
  "postureIntervalSecs",
] as const satisfies readonly (keyof SourceSettings)[];
// Fails to compile when SourceSettings gains a field that SETTINGS_KEYS does not list.
const _everySettingListed: Record<Exclude<keyof SourceSettings, (typeof SETTINGS_KEYS)[number]>, never> = {};

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

interface SourceRow {
  id: string;
  name: string;
  kind: string;
  base_url: string | null;
  poll_interval_secs: number;
  overlap_secs: number;
  sweep_window_secs: number;
  sweep_interval_secs: number;
  include_tenant_events: boolean;
  backfill_days: number;
  enabled: boolean;
  encrypted_secret: string;
  created_at_ms: number;
  no_data_alert_enabled: boolean;
  no_data_alert_secs: number;
  poll_failure_alert_secs: number;
  posture_interval_secs: number;
}

interface BackfillJobRow {
  id: number;
  source_id: string;
  stream: StreamName;
  since_secs: number;
  until_secs: number;
  created_at_ms: number;
  done: boolean;
}

interface BackfillSliceRow {
  job_id: number;
  slice_index: number;
  start_secs: number;
  end_secs: number;
  upper_bound_secs: number;
  cursor: string | null;
  done: boolean;
  events_read: number;
}

interface PollStatusRow {
  last_poll_started_ms: number | null;
  last_poll_finished_ms: number | null;
  last_success_ms: number | null;
  last_error: string | null;
  last_error_code: string | null;
  last_event_stored_ms: number | null;
  consecutive_failures: number;
}

const SOURCE_COLUMNS = `id, name, kind, base_url, poll_interval_secs, overlap_secs, sweep_window_secs,
  sweep_interval_secs, include_tenant_events, backfill_days, enabled, encrypted_secret, created_at_ms,
  no_data_alert_enabled, no_data_alert_secs, poll_failure_alert_secs, posture_interval_secs`;

function toSourceRecord(row: SourceRow): SourceRecord {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as SourceRecord["kind"],
    baseUrl: row.base_url,
    pollIntervalSecs: row.poll_interval_secs,
    overlapSecs: row.overlap_secs,
    sweepWindowSecs: row.sweep_window_secs,
    sweepIntervalSecs: row.sweep_interval_secs,
    includeTenantEvents: row.include_tenant_events,
    backfillDays: row.backfill_days,
    enabled: row.enabled,
    noDataAlertEnabled: row.no_data_alert_enabled,
    noDataAlertSecs: row.no_data_alert_secs,
    pollFailureAlertSecs: row.poll_failure_alert_secs,
    postureIntervalSecs: row.posture_interval_secs,
    createdAtMs: row.created_at_ms,
  };
}

function sourceRowFrom(id: string, s: SourceSettings, secret: EncryptedSecret, createdAtMs: number): SourceRow {
  return {
    id,
    name: s.name,
    kind: s.kind,
    base_url: s.baseUrl ?? null,
    poll_interval_secs: s.pollIntervalSecs,
    overlap_secs: s.overlapSecs,
    sweep_window_secs: s.sweepWindowSecs,
    sweep_interval_secs: s.sweepIntervalSecs,
    include_tenant_events: s.includeTenantEvents,
    backfill_days: s.backfillDays,
    enabled: s.enabled,
    encrypted_secret: secret.ciphertext,
    created_at_ms: createdAtMs,
    no_data_alert_enabled: s.noDataAlertEnabled ?? SOURCE_DEFAULTS.noDataAlertEnabled,
    no_data_alert_secs: s.noDataAlertSecs ?? SOURCE_DEFAULTS.noDataAlertSecs,
    poll_failure_alert_secs: s.pollFailureAlertSecs ?? SOURCE_DEFAULTS.pollFailureAlertSecs,
    posture_interval_secs: s.postureIntervalSecs ?? SOURCE_DEFAULTS.postureIntervalSecs,
  };
}

function sourceParams(r: SourceRow): unknown[] {
  return [
    r.id,
    r.name,
    r.kind,
    r.base_url,
    r.poll_interval_secs,
    r.overlap_secs,
    r.sweep_window_secs,
    r.sweep_interval_secs,
    r.include_tenant_events,
    r.backfill_days,
    r.enabled,
    r.encrypted_secret,
    r.created_at_ms,
    r.no_data_alert_enabled,
    r.no_data_alert_secs,
    r.poll_failure_alert_secs,
    r.posture_interval_secs,
  ];
}

function toBackfillJob(row: BackfillJobRow): BackfillJob {
  return {
    id: row.id,
    sourceId: row.source_id,
    stream: row.stream,
    sinceSecs: row.since_secs,
    untilSecs: row.until_secs,
    createdAtMs: row.created_at_ms,
    done: row.done,
  };
}

function toBackfillSlice(row: BackfillSliceRow): BackfillSlice {
  return {
    jobId: row.job_id,
    sliceIndex: row.slice_index,
    startSecs: row.start_secs,
    endSecs: row.end_secs,
    upperBoundSecs: row.upper_bound_secs,
    cursor: row.cursor,
    done: row.done,
    eventsRead: row.events_read,
  };
}

function _sha256Hex(text: string): string {
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

function nameTaken(name: string): VigilError {
  return new VigilError("conflict", `A source named "${name}" already exists; choose another name.`);
}

export class LegacyPostgresStore implements LegacyStore {
  readonly #pool: pg.Pool;
  readonly #schema: string | null;
  readonly #target: PgTarget;
  readonly #clock: Clock;
  #closed = false;

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

  /** Runs a single write that references a source; a foreign-key failure means the source is unknown. */
  async #writeForSource(sourceId: string, text: string, params: unknown[]): Promise<void> {
    this.#assertOpen();
    try {
      await this.#pool.query(text, params);
    } catch (err) {
      if (sqlState(err) === "23503") throw new NotFoundError(`No source with id ${sourceId}.`);
      throw this.#translate(err);
    }
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

  // ---- sources ----

  async createSource(settings: SourceSettings, secret: EncryptedSecret): Promise<SourceRecord> {
    const row = sourceRowFrom(randomUUID(), settings, secret, this.#clock.nowMs());
    this.#assertOpen();
    try {
      await this.#pool.query(
        `INSERT INTO sources (${SOURCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
        sourceParams(row),
      );
    } catch (err) {
      // The unique index decides, so two workers creating the same name at once cannot both win.
      if (sqlState(err) === "23505" && constraintOf(err) === "sources_name_key") throw nameTaken(settings.name);
      throw this.#translate(err);
    }
    return toSourceRecord(row);
  }

  async updateSource(id: string, changes: Partial<SourceSettings>, secret?: EncryptedSecret): Promise<SourceRecord> {
    let newName = "";
    try {
      return await this.#transaction(async (client) => {
        const { rows } = await client.query<SourceRow>(
          `SELECT ${SOURCE_COLUMNS} FROM sources WHERE id = $1 FOR UPDATE`,
          [id],
        );
        const current = rows[0];
        if (current === undefined) throw new NotFoundError(`No source with id ${id}.`);
        const merged: SourceSettings = { ...toSourceRecord(current) };
        for (const key of SETTINGS_KEYS) {
          // `undefined` means "leave as is"; `null` is a real value (baseUrl: null = the default URL).
          if (changes[key] !== undefined) (merged as unknown as Record<string, unknown>)[key] = changes[key];
        }
        newName = merged.name;
        const row = sourceRowFrom(
          id,
          merged,
          secret ?? { ciphertext: current.encrypted_secret },
          current.created_at_ms,
        );
        await client.query(
          `UPDATE sources SET name = $2, kind = $3, base_url = $4, poll_interval_secs = $5, overlap_secs = $6,
             sweep_window_secs = $7, sweep_interval_secs = $8, include_tenant_events = $9, backfill_days = $10,
             enabled = $11, encrypted_secret = $12, no_data_alert_enabled = $13, no_data_alert_secs = $14,
             poll_failure_alert_secs = $15, posture_interval_secs = $16
           WHERE id = $1`,
          [
            ...sourceParams(row).slice(0, 12),
            row.no_data_alert_enabled,
            row.no_data_alert_secs,
            row.poll_failure_alert_secs,
            row.posture_interval_secs,
          ],
        );
        return toSourceRecord(row);
      });
    } catch (err) {
      const cause = err instanceof VigilError ? err.cause : err;
      if (sqlState(cause) === "23505" && constraintOf(cause) === "sources_name_key") throw nameTaken(newName);
      throw err;
    }
  }

  async getSource(idOrName: string): Promise<SourceRecord | null> {
    // By id first: a name that happens to equal another source's id must not shadow it.
    const { rows } = await this.#query<SourceRow>(
      `SELECT ${SOURCE_COLUMNS} FROM sources WHERE id = $1 OR name = $1 ORDER BY (id = $1) DESC LIMIT 1`,
      [idOrName],
    );
    const row = rows[0];
    return row === undefined ? null : toSourceRecord(row);
  }

  async listSources(): Promise<SourceRecord[]> {
    const { rows } = await this.#query<SourceRow>(`SELECT ${SOURCE_COLUMNS} FROM sources ORDER BY name`);
    return rows.map(toSourceRecord);
  }

  async removeSource(id: string): Promise<void> {
    // One statement, so atomic on its own; ON DELETE CASCADE removes everything stored for the source.
    const { rowCount } = await this.#query("DELETE FROM sources WHERE id = $1", [id]);
    if ((rowCount ?? 0) === 0) throw new NotFoundError(`No source with id ${id}.`);
  }

  async getSourceSecret(id: string): Promise<EncryptedSecret | null> {
    const { rows } = await this.#query<{ encrypted_secret: string }>(
      "SELECT encrypted_secret FROM sources WHERE id = $1",
      [id],
    );
    const row = rows[0];
    return row === undefined ? null : { ciphertext: row.encrypted_secret };
  }

  // ---- poll state ----

  async getStreamState(sourceId: string, stream: StreamName): Promise<StreamState> {
    const { rows } = await this.#query<{ checkpoint_secs: number | null; last_sweep_secs: number | null }>(
      "SELECT checkpoint_secs, last_sweep_secs FROM stream_state WHERE source_id = $1 AND stream = $2",
      [sourceId, stream],
    );
    const row = rows[0];
    return {
      sourceId,
      stream,
      checkpointSecs: row?.checkpoint_secs ?? null,
      lastSweepSecs: row?.last_sweep_secs ?? null,
    };
  }

  async getPollStatus(sourceId: string): Promise<PollStatus> {
    const { rows } = await this.#query<PollStatusRow>("SELECT * FROM poll_status WHERE source_id = $1", [sourceId]);
    const row = rows[0];
    return {
      sourceId,
      lastPollStartedMs: row?.last_poll_started_ms ?? null,
      lastPollFinishedMs: row?.last_poll_finished_ms ?? null,
      lastSuccessMs: row?.last_success_ms ?? null,
      lastError: row?.last_error ?? null,
      lastErrorCode: row?.last_error_code ?? null,
      lastEventStoredMs: row?.last_event_stored_ms ?? null,
      consecutiveFailures: row?.consecutive_failures ?? 0,
    };
  }

  async recordPollStart(sourceId: string, atMs: number): Promise<void> {
    await this.#writeForSource(
      sourceId,
      `INSERT INTO poll_status (source_id, last_poll_started_ms) VALUES ($1, $2)
       ON CONFLICT (source_id) DO UPDATE SET last_poll_started_ms = excluded.last_poll_started_ms`,
      [sourceId, atMs],
    );
  }

  async recordPollResult(
    sourceId: string,
    result: { atMs: number; ok: boolean; error?: string; errorCode?: string },
  ): Promise<void> {
    if (result.ok) {
      // A success clears the error: the status shows the source as it is now.
      await this.#writeForSource(
        sourceId,
        `INSERT INTO poll_status (source_id, last_poll_finished_ms, last_success_ms, consecutive_failures)
         VALUES ($1, $2, $2, 0)
         ON CONFLICT (source_id) DO UPDATE SET last_poll_finished_ms = $2, last_success_ms = $2,
           last_error = NULL, last_error_code = NULL, consecutive_failures = 0`,
        [sourceId, result.atMs],
      );
      return;
    }
    await this.#writeForSource(
      sourceId,
      `INSERT INTO poll_status (source_id, last_poll_finished_ms, last_error, last_error_code, consecutive_failures)
       VALUES ($1, $2, $3, $4, 1)
       ON CONFLICT (source_id) DO UPDATE SET last_poll_finished_ms = $2, last_error = $3, last_error_code = $4,
         consecutive_failures = poll_status.consecutive_failures + 1`,
      [
        sourceId,
        result.atMs,
        // The poller should already have redacted it; this is the last line of defence before disk.
        redactSecrets(result.error ?? "The poll failed for an unknown reason."),
        result.errorCode ?? null,
      ],
    );
  }

  // ---- the page transaction ----

  // ---- inventory snapshots (see postgres/posture.ts) ----

  async savePostureSnapshot(write: PostureSnapshotWrite): Promise<PostureSnapshotRecord> {
    return this.#transaction(async (client) => {
      await this.#requireSource(client, write.sourceId);
      return savePostureSnapshotPg(client, write);
    });
  }

  async getPostureSnapshot(sourceId: string, id?: number): Promise<PostureSnapshotRecord | null> {
    return this.#read((pool) => getPostureSnapshotPg(pool, sourceId, id));
  }

  async listPostureSnapshots(sourceId: string, limit = 50): Promise<PostureSnapshotSummary[]> {
    return this.#read((pool) => listPostureSnapshotsPg(pool, sourceId, limit));
  }

  async getPostureObjects(sourceId: string, hashes: string[]): Promise<Map<string, string>> {
    return this.#read((pool) => getPostureObjectsPg(pool, sourceId, hashes));
  }

  /** Runs a read on the pool, translating errors. */
  async #read<T>(fn: (client: pg.Pool) => Promise<T>): Promise<T> {
    this.#assertOpen();
    try {
      return await fn(this.#pool);
    } catch (err) {
      throw err instanceof VigilError ? err : this.#translate(err);
    }
  }

  // ---- reading ----

  // ---- backfill ----

  async createBackfillJob(
    job: { sourceId: string; stream: StreamName; sinceSecs: number; untilSecs: number; initialCheckpointSecs?: number },
    slices: Array<{ startSecs: number; endSecs: number }>,
  ): Promise<BackfillJob> {
    if (!STREAMS.includes(job.stream)) throw new UsageError(`Unknown stream "${job.stream}".`);
    for (const slice of slices) {
      if (!(slice.startSecs < slice.endSecs)) {
        throw new UsageError(`A backfill slice must start before it ends (${slice.startSecs}..${slice.endSecs}).`);
      }
    }
    return this.#transaction(async (client) => {
      await this.#requireSource(client, job.sourceId);
      const createdAtMs = this.#clock.nowMs();
      const { rows } = await client.query<BackfillJobRow>(
        `INSERT INTO backfill_jobs (source_id, stream, since_secs, until_secs, created_at_ms)
         VALUES ($1, $2, $3, $4, $5) RETURNING *`,
        [job.sourceId, job.stream, job.sinceSecs, job.untilSecs, createdAtMs],
      );
      const row = rows[0];
      if (row === undefined) throw new VigilError("storage_error", "Inserting a backfill job returned no row.");
      if (slices.length > 0) {
        await client.query(
          `INSERT INTO backfill_slices (job_id, slice_index, start_secs, end_secs, upper_bound_secs)
           SELECT $1, t.ord - 1, t.start_secs, t.end_secs, t.end_secs - 1
           FROM unnest($2::bigint[], $3::bigint[]) WITH ORDINALITY AS t(start_secs, end_secs, ord)`,
          [row.id, slices.map((s) => s.startSecs), slices.map((s) => s.endSecs)],
        );
      }
      if (job.initialCheckpointSecs !== undefined) {
        await client.query(
          `INSERT INTO stream_state (source_id, stream, checkpoint_secs) VALUES ($1, $2, $3)
           ON CONFLICT (source_id, stream) DO UPDATE SET checkpoint_secs = excluded.checkpoint_secs
           WHERE stream_state.checkpoint_secs IS NULL`,
          [job.sourceId, job.stream, job.initialCheckpointSecs],
        );
      }
      return toBackfillJob(row);
    });
  }

  async listBackfillJobs(query: { sourceId?: string; pendingOnly?: boolean } = {}): Promise<BackfillJob[]> {
    const { rows } = await this.#query<BackfillJobRow>(
      `SELECT * FROM backfill_jobs
       WHERE ($1::text IS NULL OR source_id = $1) AND (NOT $2::boolean OR NOT done)
       ORDER BY id`,
      [query.sourceId ?? null, query.pendingOnly === true],
    );
    return rows.map(toBackfillJob);
  }

  async getBackfillSlices(jobId: number): Promise<BackfillSlice[]> {
    const { rows } = await this.#query<BackfillSliceRow>(
      "SELECT * FROM backfill_slices WHERE job_id = $1 ORDER BY slice_index",
      [jobId],
    );
    return rows.map(toBackfillSlice);
  }

  async completeBackfillJobIfDone(jobId: number): Promise<boolean> {
    return this.#transaction(async (client) => {
      const { rows } = await client.query<{ done: boolean }>(
        "SELECT done FROM backfill_jobs WHERE id = $1 FOR UPDATE",
        [jobId],
      );
      const job = rows[0];
      if (job === undefined) throw new NotFoundError(`No backfill job with id ${jobId}.`);
      if (job.done) return true;
      const pending = await client.query("SELECT 1 FROM backfill_slices WHERE job_id = $1 AND NOT done LIMIT 1", [
        jobId,
      ]);
      if ((pending.rowCount ?? 0) > 0) return false;
      await client.query("UPDATE backfill_jobs SET done = true WHERE id = $1", [jobId]);
      return true;
    });
  }
}

/** Bytewise string order, the same as the database's COLLATE "C". */
function _cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
