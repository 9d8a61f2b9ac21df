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

import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import Database from "better-sqlite3";
import { DEFAULT_ALERT_LIMIT_PER_HOUR } from "../../alerts/limiter.ts";
import { type Clock, systemClock } from "../../core/clock.ts";
import type { AlertStatus, AlertStatusChange, RuleMatch } from "../../core/detection.ts";
import { NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import { type AlertRow, toAlertRecord } from "../alert-rows.ts";
import type { AlertQuery, AlertRecord, DetectionSetting, RuleStateEntry, Store, StoredEvent } from "../ports.ts";
import type { LegacyStore } from "../store/legacy.ts";
import { openStore } from "../store/store.ts";
import { SqliteDetections } from "./detections.ts";
import { SqliteStoreDialect } from "./dialect.ts";
import { restrictDatabaseFiles } from "./file-mode.ts";
import { runMigrations } from "./migrations.ts";
import { SqliteReader } from "./reader.ts";
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
  };
}

type Statements = ReturnType<typeof prepareStatements>;

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
  readonly #detections: SqliteDetections;
  /** Null: reads run on the main connection (an in-memory database, or `readers: 0`). */
  readonly #reader: SqliteReader | null;
  #alertLimitPerHour = DEFAULT_ALERT_LIMIT_PER_HOUR;

  private constructor(db: Database.Database, location: string, clock: Clock, reader: SqliteReader | null) {
    this.#db = db;
    this.#reader = reader;
    this.#detections = new SqliteDetections(db);
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

  async listMatches(query: {
    ruleIds?: string[];
    sourceId?: string;
    sinceSecs: number;
    untilSecs: number;
  }): Promise<RuleMatch[]> {
    return this.#guard(() => this.#detections.listMatches(query));
  }

  // ---- reading ----
}

/** A match names its source; one that names another source than the write's is the caller's bug. */
function assertMatchesOf(sourceId: string, matches: readonly RuleMatch[]): void {
  const stray = matches.find((m) => m.sourceId !== sourceId);
  if (stray !== undefined) {
    throw new UsageError(`A match of rule ${stray.ruleId} names source ${stray.sourceId}, not ${sourceId}.`);
  }
}
