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
import type { AlertQuery, AlertRecord, DetectionSetting, RuleStateEntry, Store, StoredEvent } from "../ports.ts";
import type { LegacyStore } from "../store/legacy.ts";
import { openStore } from "../store/store.ts";
import {
  applyMatchesPg,
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

function _sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function sqlState(err: unknown): string | undefined {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

export class LegacyPostgresStore implements LegacyStore {
  readonly #pool: pg.Pool;
  readonly #schema: string | null;
  readonly #target: PgTarget;
  readonly #clock: Clock;
  #closed = false;
  #alertLimitPerHour = DEFAULT_ALERT_LIMIT_PER_HOUR;

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
}

/** Bytewise string order, the same as the database's COLLATE "C". */
function _cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A match names its source; one that names another source than the write's is the caller's bug. */
function assertMatchesOf(sourceId: string, matches: readonly RuleMatch[]): void {
  const stray = matches.find((m) => m.sourceId !== sourceId);
  if (stray !== undefined) {
    throw new UsageError(`A match of rule ${stray.ruleId} names source ${stray.sourceId}, not ${sourceId}.`);
  }
}
