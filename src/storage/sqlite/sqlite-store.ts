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
// connection (writes, key lookups, the counters of ../store/stats.ts). Searches and lists that may read many
// rows go to read-only connections in worker threads (reader.ts).

import { createHash, randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import Database from "better-sqlite3";
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
import { SqliteStoreDialect } from "./dialect.ts";
import { restrictDatabaseFiles } from "./file-mode.ts";
import { runMigrations } from "./migrations.ts";
import * as posture from "./posture.ts";
import { SqliteReader } from "./reader.ts";
import {
  type BackfillJobRow,
  type BackfillSliceRow,
  type SourceRow,
  toBackfillJob,
  toBackfillSlice,
  toSourceRecord,
} from "./rows.ts";
import { translateSqliteError } from "./sqlite-errors.ts";

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
    sourceById: db.prepare<[string], SourceRow>("SELECT * FROM sources WHERE id = ?"),
    sourceByName: db.prepare<[string], SourceRow>("SELECT * FROM sources WHERE name = ?"),
    sourcesByName: db.prepare<[], SourceRow>("SELECT * FROM sources ORDER BY name"),
    insertSource: db.prepare(
      `INSERT INTO sources (id, name, kind, base_url, poll_interval_secs, overlap_secs, sweep_window_secs,
         sweep_interval_secs, include_tenant_events, backfill_days, enabled, encrypted_secret, created_at_ms,
         no_data_alert_enabled, no_data_alert_secs, poll_failure_alert_secs, posture_interval_secs)
       VALUES (@id, @name, @kind, @base_url, @poll_interval_secs, @overlap_secs, @sweep_window_secs,
         @sweep_interval_secs, @include_tenant_events, @backfill_days, @enabled, @encrypted_secret, @created_at_ms,
         @no_data_alert_enabled, @no_data_alert_secs, @poll_failure_alert_secs, @posture_interval_secs)`,
    ),
    updateSource: db.prepare(
      `UPDATE sources SET name = @name, kind = @kind, base_url = @base_url,
         poll_interval_secs = @poll_interval_secs, overlap_secs = @overlap_secs,
         sweep_window_secs = @sweep_window_secs, sweep_interval_secs = @sweep_interval_secs,
         include_tenant_events = @include_tenant_events, backfill_days = @backfill_days, enabled = @enabled,
         encrypted_secret = @encrypted_secret, no_data_alert_enabled = @no_data_alert_enabled,
         no_data_alert_secs = @no_data_alert_secs, poll_failure_alert_secs = @poll_failure_alert_secs,
         posture_interval_secs = @posture_interval_secs
       WHERE id = @id`,
    ),
    sourceSecret: db.prepare<[string], string>("SELECT encrypted_secret FROM sources WHERE id = ?").pluck(),
    deleteSourceData: [
      // Children first, so the cascade on `sources` has nothing left to walk row by row.
      "DELETE FROM backfill_slices WHERE job_id IN (SELECT id FROM backfill_jobs WHERE source_id = ?)",
      "DELETE FROM backfill_jobs WHERE source_id = ?",
      "DELETE FROM alert_status_changes WHERE alert_id IN (SELECT id FROM alerts WHERE source_id = ?)",
      // Outbox rows cascade to their deliveries and attempt logs.
      "DELETE FROM outbox WHERE alert_id IN (SELECT id FROM alerts WHERE source_id = ?)",
      "DELETE FROM alerts WHERE source_id = ?",
      "DELETE FROM alert_windows WHERE source_id = ?",
      "DELETE FROM rule_matches WHERE source_id = ?",
      "DELETE FROM rule_state WHERE source_id = ?",
      "DELETE FROM detection_settings WHERE source_id = ?",
      "DELETE FROM events WHERE source_id = ?",
      "DELETE FROM quarantine WHERE source_id = ?",
      "DELETE FROM unknown_event_types WHERE source_id = ?",
      "DELETE FROM stream_state WHERE source_id = ?",
      "DELETE FROM poll_status WHERE source_id = ?",
      "DELETE FROM sources WHERE id = ?",
    ].map((text) => db.prepare<[string]>(text)),

    streamState: db.prepare<[string, string], { checkpoint_secs: number | null; last_sweep_secs: number | null }>(
      "SELECT checkpoint_secs, last_sweep_secs FROM stream_state WHERE source_id = ? AND stream = ?",
    ),
    initCheckpoint: db.prepare(
      `INSERT INTO stream_state (source_id, stream, checkpoint_secs) VALUES (?, ?, ?)
       ON CONFLICT (source_id, stream) DO UPDATE SET checkpoint_secs = excluded.checkpoint_secs
       WHERE checkpoint_secs IS NULL`,
    ),

    pollStatus: db.prepare<[string], PollStatusRow>("SELECT * FROM poll_status WHERE source_id = ?"),
    pollStart: db.prepare(
      `INSERT INTO poll_status (source_id, last_poll_started_ms) VALUES (?, ?)
       ON CONFLICT (source_id) DO UPDATE SET last_poll_started_ms = excluded.last_poll_started_ms`,
    ),
    pollSuccess: db.prepare(
      `INSERT INTO poll_status (source_id, last_poll_finished_ms, last_success_ms, consecutive_failures)
       VALUES (@sourceId, @atMs, @atMs, 0)
       ON CONFLICT (source_id) DO UPDATE SET last_poll_finished_ms = @atMs, last_success_ms = @atMs,
         last_error = NULL, last_error_code = NULL, consecutive_failures = 0`,
    ),
    pollFailure: db.prepare(
      `INSERT INTO poll_status (source_id, last_poll_finished_ms, last_error, last_error_code, consecutive_failures)
       VALUES (@sourceId, @atMs, @error, @errorCode, 1)
       ON CONFLICT (source_id) DO UPDATE SET last_poll_finished_ms = @atMs, last_error = @error,
         last_error_code = @errorCode, consecutive_failures = consecutive_failures + 1`,
    ),

    insertJob: db.prepare(
      `INSERT INTO backfill_jobs (source_id, stream, since_secs, until_secs, created_at_ms)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    insertSlice: db.prepare(
      `INSERT INTO backfill_slices (job_id, slice_index, start_secs, end_secs, upper_bound_secs)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    jobById: db.prepare<[number], BackfillJobRow>("SELECT * FROM backfill_jobs WHERE id = ?"),
    slicesOf: db.prepare<[number], BackfillSliceRow>(
      "SELECT * FROM backfill_slices WHERE job_id = ? ORDER BY slice_index",
    ),
    pendingSliceCount: db
      .prepare<[number], number>("SELECT count(*) FROM backfill_slices WHERE job_id = ? AND done = 0")
      .pluck(),
    markJobDone: db.prepare("UPDATE backfill_jobs SET done = 1 WHERE id = ?"),
    jobs: db.prepare<[{ sourceId: string | null; pendingOnly: number }], BackfillJobRow>(
      `SELECT * FROM backfill_jobs
       WHERE (@sourceId IS NULL OR source_id = @sourceId) AND (@pendingOnly = 0 OR done = 0)
       ORDER BY id`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

interface PollStatusRow {
  source_id: string;
  last_poll_started_ms: number | null;
  last_poll_finished_ms: number | null;
  last_success_ms: number | null;
  last_error: string | null;
  last_error_code: string | null;
  last_event_stored_ms: number | null;
  consecutive_failures: number;
}

function sourceRowFrom(id: string, settings: SourceSettings, secret: EncryptedSecret, createdAtMs: number) {
  return {
    id,
    name: settings.name,
    kind: settings.kind,
    base_url: settings.baseUrl ?? null,
    poll_interval_secs: settings.pollIntervalSecs,
    overlap_secs: settings.overlapSecs,
    sweep_window_secs: settings.sweepWindowSecs,
    sweep_interval_secs: settings.sweepIntervalSecs,
    include_tenant_events: settings.includeTenantEvents ? 1 : 0,
    backfill_days: settings.backfillDays,
    enabled: settings.enabled ? 1 : 0,
    encrypted_secret: secret.ciphertext,
    created_at_ms: createdAtMs,
    no_data_alert_enabled: (settings.noDataAlertEnabled ?? SOURCE_DEFAULTS.noDataAlertEnabled) ? 1 : 0,
    no_data_alert_secs: settings.noDataAlertSecs ?? SOURCE_DEFAULTS.noDataAlertSecs,
    poll_failure_alert_secs: settings.pollFailureAlertSecs ?? SOURCE_DEFAULTS.pollFailureAlertSecs,
    posture_interval_secs: settings.postureIntervalSecs ?? SOURCE_DEFAULTS.postureIntervalSecs,
  };
}

function _sha256Hex(text: string): string {
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
  /** Null: reads run on the main connection (an in-memory database, or `readers: 0`). */
  readonly #reader: SqliteReader | null;

  private constructor(db: Database.Database, location: string, clock: Clock, reader: SqliteReader | null) {
    this.#db = db;
    this.#reader = reader;
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

  // ---- lifecycle ----

  async migrate(): Promise<void> {
    this.#guard(() => runMigrations(this.#db, this.#clock.nowMs()));
  }

  async close(): Promise<void> {
    await this.#reader?.close();
    if (this.#db.open) this.#db.close();
  }

  // ---- sources ----

  async createSource(settings: SourceSettings, secret: EncryptedSecret): Promise<SourceRecord> {
    return this.#write(() => {
      this.#assertNameFree(settings.name, null);
      const row = sourceRowFrom(randomUUID(), settings, secret, this.#clock.nowMs());
      this.#s.insertSource.run(row);
      return toSourceRecord(row);
    });
  }

  async updateSource(id: string, changes: Partial<SourceSettings>, secret?: EncryptedSecret): Promise<SourceRecord> {
    return this.#write(() => {
      const current = this.#s.sourceById.get(id);
      if (current === undefined) throw new NotFoundError(`No source with id ${id}.`);
      const merged: SourceSettings = { ...toSourceRecord(current) };
      for (const key of SETTINGS_KEYS) {
        // `undefined` means "leave as is"; `null` is a real value (baseUrl: null = the default URL).
        if (changes[key] !== undefined) (merged as unknown as Record<string, unknown>)[key] = changes[key];
      }
      if (merged.name !== current.name) this.#assertNameFree(merged.name, id);
      const row = sourceRowFrom(id, merged, secret ?? { ciphertext: current.encrypted_secret }, current.created_at_ms);
      this.#s.updateSource.run(row);
      return toSourceRecord(row);
    });
  }

  #assertNameFree(name: string, exceptId: string | null): void {
    const existing = this.#s.sourceByName.get(name);
    if (existing !== undefined && existing.id !== exceptId) {
      throw new VigilError("conflict", `A source named "${name}" already exists; choose another name.`);
    }
  }

  async getSource(idOrName: string): Promise<SourceRecord | null> {
    return this.#guard(() => {
      const row = this.#s.sourceById.get(idOrName) ?? this.#s.sourceByName.get(idOrName);
      return row === undefined ? null : toSourceRecord(row);
    });
  }

  async listSources(): Promise<SourceRecord[]> {
    return this.#guard(() => this.#s.sourcesByName.all().map(toSourceRecord));
  }

  async removeSource(id: string): Promise<void> {
    this.#write(() => {
      this.#requireSource(id);
      for (const statement of this.#s.deleteSourceData) statement.run(id);
    });
  }

  async getSourceSecret(id: string): Promise<EncryptedSecret | null> {
    return this.#guard(() => {
      const ciphertext = this.#s.sourceSecret.get(id);
      return ciphertext === undefined ? null : { ciphertext };
    });
  }

  // ---- poll state ----

  async getStreamState(sourceId: string, stream: StreamName): Promise<StreamState> {
    return this.#guard(() => {
      const row = this.#s.streamState.get(sourceId, stream);
      return {
        sourceId,
        stream,
        checkpointSecs: row?.checkpoint_secs ?? null,
        lastSweepSecs: row?.last_sweep_secs ?? null,
      };
    });
  }

  async getPollStatus(sourceId: string): Promise<PollStatus> {
    return this.#guard(() => {
      const row = this.#s.pollStatus.get(sourceId);
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
    });
  }

  async recordPollStart(sourceId: string, atMs: number): Promise<void> {
    this.#write(() => {
      this.#requireSource(sourceId);
      this.#s.pollStart.run(sourceId, atMs);
    });
  }

  async recordPollResult(
    sourceId: string,
    result: { atMs: number; ok: boolean; error?: string; errorCode?: string },
  ): Promise<void> {
    this.#write(() => {
      this.#requireSource(sourceId);
      if (result.ok) {
        // A success clears the error: the status shows the source as it is now.
        this.#s.pollSuccess.run({ sourceId, atMs: result.atMs });
      } else {
        this.#s.pollFailure.run({
          sourceId,
          atMs: result.atMs,
          // The poller should already have redacted it; this is the last line of defence before disk.
          error: redactSecrets(result.error ?? "The poll failed for an unknown reason."),
          errorCode: result.errorCode ?? null,
        });
      }
    });
  }

  // ---- the page transaction ----

  // ---- inventory snapshots (see sqlite/posture.ts) ----

  async savePostureSnapshot(write: PostureSnapshotWrite): Promise<PostureSnapshotRecord> {
    return this.#write(() => {
      this.#requireSource(write.sourceId);
      return posture.savePostureSnapshot(this.#db, write);
    });
  }

  async getPostureSnapshot(sourceId: string, id?: number): Promise<PostureSnapshotRecord | null> {
    return this.#guard(() => posture.getPostureSnapshot(this.#db, sourceId, id));
  }

  async listPostureSnapshots(sourceId: string, limit = 50): Promise<PostureSnapshotSummary[]> {
    return this.#guard(() => posture.listPostureSnapshots(this.#db, sourceId, limit));
  }

  async getPostureObjects(sourceId: string, hashes: string[]): Promise<Map<string, string>> {
    return this.#guard(() => posture.getPostureObjects(this.#db, sourceId, hashes));
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
    return this.#write(() => {
      const s = this.#s;
      this.#requireSource(job.sourceId);
      const createdAtMs = this.#clock.nowMs();
      const info = s.insertJob.run(job.sourceId, job.stream, job.sinceSecs, job.untilSecs, createdAtMs);
      const id = Number(info.lastInsertRowid);
      slices.forEach((slice, index) => {
        s.insertSlice.run(id, index, slice.startSecs, slice.endSecs, slice.endSecs - 1);
      });
      if (job.initialCheckpointSecs !== undefined) {
        s.initCheckpoint.run(job.sourceId, job.stream, job.initialCheckpointSecs);
      }
      return {
        id,
        sourceId: job.sourceId,
        stream: job.stream,
        sinceSecs: job.sinceSecs,
        untilSecs: job.untilSecs,
        createdAtMs,
        done: false,
      };
    });
  }

  async listBackfillJobs(query: { sourceId?: string; pendingOnly?: boolean } = {}): Promise<BackfillJob[]> {
    return this.#guard(() =>
      this.#s.jobs
        .all({ sourceId: query.sourceId ?? null, pendingOnly: query.pendingOnly === true ? 1 : 0 })
        .map(toBackfillJob),
    );
  }

  async getBackfillSlices(jobId: number): Promise<BackfillSlice[]> {
    return this.#guard(() => this.#s.slicesOf.all(jobId).map(toBackfillSlice));
  }

  async completeBackfillJobIfDone(jobId: number): Promise<boolean> {
    return this.#write(() => {
      const s = this.#s;
      const job = s.jobById.get(jobId);
      if (job === undefined) throw new NotFoundError(`No backfill job with id ${jobId}.`);
      if (job.done === 1) return true;
      if (s.pendingSliceCount.get(jobId) !== 0) return false;
      s.markJobDone.run(jobId);
      return true;
    });
  }
}
