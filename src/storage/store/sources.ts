// Sources, their stream checkpoints and their poll status.
//
// A source's name is unique: the unique index decides, so two workers creating or renaming to the same name
// at once cannot both win, and the loser gets a `conflict` naming the name. Removing a source removes
// everything stored for it (`deleteSourceData`, the one place that does).
//
// Exported for writes in other modules' transactions: `updateStreamState` and `recordEventStored` (the page
// write), `initCheckpoint` (a new backfill job). The guard of such writes is ./require-source.ts.

import { randomUUID } from "node:crypto";
import type { Insertable, Kysely, Selectable, Updateable } from "kysely";
import { NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import { redactSecrets } from "../../core/redact.ts";
import { type OwedWindow, SOURCE_DEFAULTS } from "../../core/source.ts";
import type { PageWrite, PollStatus, SourceRecord, SourceSettings, Store, StreamName, StreamState } from "../ports.ts";
import { type Database, flag, type SourcesTable } from "./database.ts";
import type { Db, StoreContext, StoreDialect } from "./dialect.ts";
import { numberSource } from "./source-numbers.ts";

export type SourceOps = Pick<
  Store,
  | "createSource"
  | "updateSource"
  | "getSource"
  | "listSources"
  | "removeSource"
  | "getSourceSecret"
  | "getStreamState"
  | "getPollStatus"
  | "recordPollStart"
  | "recordPollResult"
>;

export const STREAMS: readonly StreamName[] = ["main", "tenant"];

export function sourceOps(ctx: StoreContext): SourceOps {
  const { dialect, clock } = ctx;
  return {
    async createSource(settings, secret) {
      const row = {
        ...settingColumns(withDefaults(settings)),
        id: randomUUID(),
        encrypted_secret: secret.ciphertext,
        created_at_ms: clock.nowMs(),
      } as Insertable<SourcesTable>;
      const created = await dialect.write(async (trx) => {
        let source: Selectable<SourcesTable>;
        try {
          source = await trx.insertInto("sources").values(row).returningAll().executeTakeFirstOrThrow();
        } catch (err) {
          throw dialect.violatedConstraint(err) === "unique" ? nameTaken(settings.name) : err;
        }
        await numberSource(trx, source.id);
        return source;
      });
      return toSourceRecord(created);
    },

    async updateSource(id, changes, secret, check) {
      // One UPDATE of the columns given, not a read-modify-write: two updates of different settings at once
      // cannot undo each other.
      const columns = { ...settingColumns(changes), ...(secret ? { encrypted_secret: secret.ciphertext } : {}) };
      const row = await dialect.write(async (trx) => {
        if (check !== undefined) {
          // Under the row's lock until the commit: a change of another setting waits, and is judged after this one.
          // Not FOR UPDATE: that waits for every page being written to the source (each holds its row FOR KEY
          // SHARE), and a steady stream of them could hold a settings change off for good.
          const current = await dialect
            .forNoKeyUpdate(trx.selectFrom("sources").selectAll().where("id", "=", id))
            .executeTakeFirst();
          if (current === undefined) return undefined;
          check({ ...toSourceRecord(current), ...changes });
        }
        if (Object.keys(columns).length === 0) {
          return trx.selectFrom("sources").selectAll().where("id", "=", id).executeTakeFirst();
        }
        try {
          return await trx.updateTable("sources").set(columns).where("id", "=", id).returningAll().executeTakeFirst();
        } catch (err) {
          throw dialect.violatedConstraint(err) === "unique" ? nameTaken(changes.name ?? "") : err;
        }
      });
      if (row === undefined) throw new NotFoundError(`No source with id ${id}.`);
      return toSourceRecord(row);
    },

    async getSource(idOrName) {
      const row = await dialect.run((db) =>
        db
          .selectFrom("sources")
          .selectAll()
          .where((eb) => eb.or([eb("id", "=", idOrName), eb("name", "=", idOrName)]))
          // By id first: a name that happens to equal another source's id must not shadow it.
          .orderBy((eb) => eb("id", "=", idOrName), "desc")
          .limit(1)
          .executeTakeFirst(),
      );
      return row === undefined ? null : toSourceRecord(row);
    },

    async listSources() {
      const rows = await dialect.run((db) => db.selectFrom("sources").selectAll().orderBy("name").execute());
      return rows.map(toSourceRecord);
    },

    async removeSource(id) {
      await dialect.write(async (trx) => {
        // FOR UPDATE: pages being written to the source finish first, and later ones then find it gone.
        const found = await dialect
          .forUpdate(trx.selectFrom("sources").select("id").where("id", "=", id))
          .executeTakeFirst();
        if (found === undefined) throw new NotFoundError(`No source with id ${id}.`);
        await deleteSourceData(dialect, trx, id, await ctx.sourceNumbers.filter(trx, id));
      });
      ctx.ruleStateCache.forget(id);
    },

    async getSourceSecret(id) {
      const row = await dialect.run((db) =>
        db.selectFrom("sources").select("encrypted_secret").where("id", "=", id).executeTakeFirst(),
      );
      return row === undefined ? null : { ciphertext: row.encrypted_secret };
    },

    async getStreamState(sourceId, stream): Promise<StreamState> {
      const row = await dialect.run((db) =>
        db
          .selectFrom("stream_state")
          .select(["checkpoint_secs", "last_sweep_secs", "owed_window"])
          .where("source_id", "=", sourceId)
          .where("stream", "=", stream)
          .executeTakeFirst(),
      );
      return {
        sourceId,
        stream,
        checkpointSecs: row?.checkpoint_secs ?? null,
        lastSweepSecs: row?.last_sweep_secs ?? null,
        owedWindow: row?.owed_window ? (JSON.parse(row.owed_window) as OwedWindow) : null,
      };
    },

    async getPollStatus(sourceId): Promise<PollStatus> {
      const row = await dialect.run((db) =>
        db.selectFrom("poll_status").selectAll().where("source_id", "=", sourceId).executeTakeFirst(),
      );
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
    },

    async recordPollStart(sourceId, atMs) {
      await writeForSource(dialect, sourceId, (db) =>
        db
          .insertInto("poll_status")
          .values({ source_id: sourceId, last_poll_started_ms: atMs })
          .onConflict((oc) => oc.column("source_id").doUpdateSet({ last_poll_started_ms: atMs }))
          .execute(),
      );
    },

    async recordPollResult(sourceId, result) {
      const finished = { last_poll_finished_ms: result.atMs };
      if (result.ok) {
        // A success clears the error: the status shows the source as it is now.
        const success = { ...finished, last_success_ms: result.atMs, consecutive_failures: 0 };
        await writeForSource(dialect, sourceId, (db) =>
          db
            .insertInto("poll_status")
            .values({ source_id: sourceId, ...success })
            .onConflict((oc) =>
              oc.column("source_id").doUpdateSet({ ...success, last_error: null, last_error_code: null }),
            )
            .execute(),
        );
        return;
      }
      const failure = {
        ...finished,
        // The poller should already have redacted it; this is the last line of defence before disk.
        last_error: redactSecrets(result.error ?? "The poll failed for an unknown reason."),
        last_error_code: result.errorCode ?? null,
      };
      await writeForSource(dialect, sourceId, (db) =>
        db
          .insertInto("poll_status")
          .values({ source_id: sourceId, ...failure, consecutive_failures: 1 })
          .onConflict((oc) =>
            oc.column("source_id").doUpdateSet((eb) => ({
              ...failure,
              consecutive_failures: eb("poll_status.consecutive_failures", "+", 1),
            })),
          )
          .execute(),
      );
    },
  };
}

/** One statement that writes a row of a source: a violated foreign key means there is no such source. */
async function writeForSource(
  dialect: StoreDialect,
  sourceId: string,
  write: (db: Kysely<Database>) => Promise<unknown>,
): Promise<void> {
  await dialect.run(async (db) => {
    try {
      await write(db);
    } catch (err) {
      throw dialect.violatedConstraint(err) === "foreign_key"
        ? new NotFoundError(`No source with id ${sourceId}.`)
        : err;
    }
  });
}

/** A page's move of a stream's checkpoint or sweep time: only the fields given change. */
export async function updateStreamState(
  trx: Db,
  sourceId: string,
  update: NonNullable<PageWrite["streamUpdate"]>,
): Promise<void> {
  if (!STREAMS.includes(update.stream)) throw new UsageError(`Unknown stream "${update.stream}".`);
  // Kysely leaves out a column set to undefined: an absent field is not written.
  const given = {
    checkpoint_secs: update.checkpointSecs,
    last_sweep_secs: update.lastSweepSecs,
    owed_window: update.owedWindow === undefined ? undefined : update.owedWindow && JSON.stringify(update.owedWindow),
  };
  await trx
    .insertInto("stream_state")
    .values({ source_id: sourceId, stream: update.stream, ...given })
    .onConflict((oc) =>
      Object.values(given).every((v) => v === undefined)
        ? oc.doNothing()
        : oc.columns(["source_id", "stream"]).doUpdateSet(given),
    )
    .execute();
}

/** A backfill's starting checkpoint: set only when the stream has none (see Store.createBackfillJob). */
/** Sets the stream's checkpoint if it has none; returns whether it did. */
export async function initCheckpoint(
  trx: Db,
  sourceId: string,
  stream: StreamName,
  checkpointSecs: number,
): Promise<boolean> {
  const set = await trx
    .insertInto("stream_state")
    .values({ source_id: sourceId, stream, checkpoint_secs: checkpointSecs })
    .onConflict((oc) =>
      oc
        .columns(["source_id", "stream"])
        .doUpdateSet({ checkpoint_secs: checkpointSecs })
        .where("stream_state.checkpoint_secs", "is", null),
    )
    .returning("source_id")
    .executeTakeFirst();
  return set !== undefined;
}

/** Notes that a page stored a new event for the source (the "no events processed" alarm reads it). */
export async function recordEventStored(trx: Db, sourceId: string, atMs: number): Promise<void> {
  await trx
    .insertInto("poll_status")
    .values({ source_id: sourceId, last_event_stored_ms: atMs })
    .onConflict((oc) => oc.column("source_id").doUpdateSet({ last_event_stored_ms: atMs }))
    .execute();
}

/**
 * Everything stored for a source, then the source: the one place a source's data is removed. Children
 * first, so the cascade on `sources` has nothing left to walk row by row. The counters (event_counts,
 * alert_counts, source_counters) follow their rows by trigger and go with the source by cascade.
 * `sourceNum`: the source's number (./source-numbers.ts), which its events and matches hold.
 */
async function deleteSourceData(dialect: StoreDialect, trx: Db, sourceId: string, sourceNum: number): Promise<void> {
  const jobs = trx.selectFrom("backfill_jobs").select("id").where("source_id", "=", sourceId);
  const alerts = trx.selectFrom("alerts").select("id").where("source_id", "=", sourceId);
  await trx.deleteFrom("backfill_slices").where("job_id", "in", jobs).execute();
  await trx.deleteFrom("backfill_jobs").where("source_id", "=", sourceId).execute();
  await trx.deleteFrom("alert_status_changes").where("alert_id", "in", alerts).execute();
  // Outbox rows cascade to their deliveries and attempt logs.
  await trx.deleteFrom("outbox").where("alert_id", "in", alerts).execute();
  await trx.deleteFrom("alerts").where("source_id", "=", sourceId).execute();
  await trx.deleteFrom("alert_windows").where("source_id", "=", sourceId).execute();
  await trx.deleteFrom("rule_matches").where("source_num", "=", sourceNum).execute();
  // A suppression's own row (and its count) stays: it is not the source's.
  await trx.deleteFrom("suppressed_matches").where("source_id", "=", sourceId).execute();
  await trx.deleteFrom("rule_state").where("source_id", "=", sourceId).execute();
  await trx.deleteFrom("rule_state_versions").where("source_id", "=", sourceId).execute();
  await trx.deleteFrom("detection_settings").where("source_id", "=", sourceId).execute();
  await dialect.deleteSourceText(trx, sourceNum);
  await trx.deleteFrom("events").where("source_num", "=", sourceNum).execute();
  await trx.deleteFrom("quarantine").where("source_id", "=", sourceId).execute();
  await trx.deleteFrom("unknown_event_types").where("source_id", "=", sourceId).execute();
  await trx.deleteFrom("stream_state").where("source_id", "=", sourceId).execute();
  await trx.deleteFrom("poll_status").where("source_id", "=", sourceId).execute();
  await trx.deleteFrom("posture_snapshots").where("source_id", "=", sourceId).execute();
  await trx.deleteFrom("posture_manifests").where("source_id", "=", sourceId).execute();
  await trx.deleteFrom("posture_objects").where("source_id", "=", sourceId).execute();
  await trx.deleteFrom("sources").where("id", "=", sourceId).execute();
}

/** The column of each setting; a setting added to SourceSettings fails to compile until it is listed. */
const SETTING_COLUMNS: { readonly [K in keyof SourceSettings]-?: keyof SourcesTable } = {
  name: "name",
  kind: "kind",
  baseUrl: "base_url",
  pollIntervalSecs: "poll_interval_secs",
  overlapSecs: "overlap_secs",
  sweepWindowSecs: "sweep_window_secs",
  sweepIntervalSecs: "sweep_interval_secs",
  includeTenantEvents: "include_tenant_events",
  backfillDays: "backfill_days",
  enabled: "enabled",
  noDataAlertEnabled: "no_data_alert_enabled",
  noDataAlertSecs: "no_data_alert_secs",
  pollFailureAlertSecs: "poll_failure_alert_secs",
  postureIntervalSecs: "posture_interval_secs",
};

/** The columns of the settings given (undefined: not given; null is a value, e.g. baseUrl's default URL). */
function settingColumns(settings: Partial<SourceSettings>): Updateable<SourcesTable> {
  const columns: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(SETTING_COLUMNS)) {
    const value = settings[key as keyof SourceSettings];
    if (value !== undefined) columns[column] = typeof value === "boolean" ? Number(value) : value;
  }
  return columns as Updateable<SourcesTable>;
}

/** The settings of a new source, the optional ones defaulted (core/source.ts). */
function withDefaults(settings: SourceSettings): Required<SourceSettings> {
  return {
    ...settings,
    baseUrl: settings.baseUrl ?? null,
    noDataAlertEnabled: settings.noDataAlertEnabled ?? SOURCE_DEFAULTS.noDataAlertEnabled,
    noDataAlertSecs: settings.noDataAlertSecs ?? SOURCE_DEFAULTS.noDataAlertSecs,
    pollFailureAlertSecs: settings.pollFailureAlertSecs ?? SOURCE_DEFAULTS.pollFailureAlertSecs,
    postureIntervalSecs: settings.postureIntervalSecs ?? SOURCE_DEFAULTS.postureIntervalSecs,
  };
}

function toSourceRecord(row: Selectable<SourcesTable>): SourceRecord {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as SourceRecord["kind"],
    baseUrl: row.base_url,
    pollIntervalSecs: row.poll_interval_secs,
    overlapSecs: row.overlap_secs,
    sweepWindowSecs: row.sweep_window_secs,
    sweepIntervalSecs: row.sweep_interval_secs,
    includeTenantEvents: flag(row.include_tenant_events),
    backfillDays: row.backfill_days,
    enabled: flag(row.enabled),
    noDataAlertEnabled: flag(row.no_data_alert_enabled),
    noDataAlertSecs: row.no_data_alert_secs,
    pollFailureAlertSecs: row.poll_failure_alert_secs,
    postureIntervalSecs: row.posture_interval_secs,
    createdAtMs: row.created_at_ms,
  };
}

function nameTaken(name: string): VigilError {
  return new VigilError("conflict", `A source named "${name}" already exists; choose another name.`);
}
