// Backfill jobs and their slices (see pipeline/backfill.ts). A slice's progress is written by the page that
// made it (`updateSliceProgress`, called inside the page transaction), so a killed backfill resumes where
// its last stored page left it.

import type { Selectable } from "kysely";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import type { BackfillJob, BackfillSlice, SliceProgress, Store, StreamName } from "../ports.ts";
import { type BackfillJobsTable, type BackfillSlicesTable, flag } from "./database.ts";
import type { Db, StoreContext } from "./dialect.ts";
import { requireSource } from "./require-source.ts";
import { initCheckpoint, STREAMS } from "./sources.ts";

export type BackfillOps = Pick<
  Store,
  "createBackfillJob" | "listBackfillJobs" | "getBackfillSlices" | "completeBackfillJobIfDone"
>;

/** Slices per INSERT: five parameters each, well under either engine's limit on parameters. */
const SLICE_BATCH = 1000;

export function backfillOps(ctx: StoreContext): BackfillOps {
  const { dialect, clock } = ctx;
  return {
    async createBackfillJob(job, slices) {
      if (!STREAMS.includes(job.stream)) throw new UsageError(`Unknown stream "${job.stream}".`);
      for (const slice of slices) {
        if (!(slice.startSecs < slice.endSecs)) {
          throw new UsageError(`A backfill slice must start before it ends (${slice.startSecs}..${slice.endSecs}).`);
        }
      }
      const row = await dialect.write(async (trx) => {
        await requireSource(ctx, trx, job.sourceId);
        // A new source's history: only the transaction that sets the stream's checkpoint makes its job. One that
        // finds it set (another worker's poll of the source read no checkpoint either, then froze, say) takes
        // that job instead of fetching the history a second time.
        if (job.initialCheckpointSecs !== undefined) {
          const first = await initCheckpoint(trx, job.sourceId, job.stream, job.initialCheckpointSecs);
          const made = first
            ? undefined
            : await trx
                .selectFrom("backfill_jobs")
                .selectAll()
                .where("source_id", "=", job.sourceId)
                .where("stream", "=", job.stream)
                .orderBy("id", "desc")
                .executeTakeFirst();
          if (made !== undefined) return made;
        }
        const inserted = await trx
          .insertInto("backfill_jobs")
          .values({
            source_id: job.sourceId,
            stream: job.stream,
            since_secs: job.sinceSecs,
            until_secs: job.untilSecs,
            created_at_ms: clock.nowMs(),
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        for (let i = 0; i < slices.length; i += SLICE_BATCH) {
          const values = slices.slice(i, i + SLICE_BATCH).map((slice, offset) => ({
            job_id: inserted.id,
            slice_index: i + offset,
            start_secs: slice.startSecs,
            end_secs: slice.endSecs,
            // A fresh slice has read nothing: every event after its last second is (vacuously) stored.
            upper_bound_secs: slice.endSecs - 1,
          }));
          await trx.insertInto("backfill_slices").values(values).execute();
        }
        return inserted;
      });
      return toBackfillJob(row);
    },

    async listBackfillJobs(query = {}) {
      const rows = await dialect.run((db) => {
        let select = db.selectFrom("backfill_jobs").selectAll().orderBy("id");
        if (query.sourceId !== undefined) select = select.where("source_id", "=", query.sourceId);
        if (query.pendingOnly === true) select = select.where("done", "=", 0);
        return select.execute();
      });
      return rows.map(toBackfillJob);
    },

    async getBackfillSlices(jobId) {
      const rows = await dialect.run((db) =>
        db.selectFrom("backfill_slices").selectAll().where("job_id", "=", jobId).orderBy("slice_index").execute(),
      );
      return rows.map(toBackfillSlice);
    },

    async completeBackfillJobIfDone(jobId) {
      return dialect.write(async (trx) => {
        const job = await trx.selectFrom("backfill_jobs").select("done").where("id", "=", jobId).executeTakeFirst();
        if (job === undefined) throw new NotFoundError(`No backfill job with id ${jobId}.`);
        if (flag(job.done)) return true;
        const pending = await trx
          .selectFrom("backfill_slices")
          .select("slice_index")
          .where("job_id", "=", jobId)
          .where("done", "=", 0)
          .limit(1)
          .executeTakeFirst();
        if (pending !== undefined) return false;
        await trx.updateTable("backfill_jobs").set({ done: 1 }).where("id", "=", jobId).execute();
        return true;
      });
    },
  };
}

/**
 * A page's progress on its backfill slice, in the page's transaction. Progress is absolute (the slice's
 * current upper bound and events read so far). A slice that is not the source's fails the page: progress
 * must never be lost silently.
 */
export async function updateSliceProgress(trx: Db, sourceId: string, progress: SliceProgress): Promise<void> {
  const { numUpdatedRows } = await trx
    .updateTable("backfill_slices")
    .set({
      upper_bound_secs: progress.upperBoundSecs,
      cursor: progress.cursor ?? null,
      done: Number(progress.done),
      events_read: progress.eventsRead,
    })
    .where("job_id", "=", progress.jobId)
    .where("slice_index", "=", progress.sliceIndex)
    .where("job_id", "in", trx.selectFrom("backfill_jobs").select("id").where("source_id", "=", sourceId))
    .executeTakeFirst();
  if (numUpdatedRows === 0n) {
    throw new NotFoundError(
      `Backfill job ${progress.jobId} of source ${sourceId} has no slice ${progress.sliceIndex}.`,
    );
  }
}

function toBackfillJob(row: Selectable<BackfillJobsTable>): BackfillJob {
  return {
    id: row.id,
    sourceId: row.source_id,
    stream: row.stream as StreamName,
    sinceSecs: row.since_secs,
    untilSecs: row.until_secs,
    createdAtMs: row.created_at_ms,
    done: flag(row.done),
  };
}

function toBackfillSlice(row: Selectable<BackfillSlicesTable>): BackfillSlice {
  return {
    jobId: row.job_id,
    sliceIndex: row.slice_index,
    startSecs: row.start_secs,
    endSecs: row.end_secs,
    upperBoundSecs: row.upper_bound_secs,
    cursor: row.cursor,
    done: flag(row.done),
    eventsRead: row.events_read,
  };
}
