// Inventory snapshots (src/posture). Objects are content-addressed per source: an object whose canonical JSON
// is unchanged since an earlier snapshot is not stored again. The manifest is one JSON array per snapshot
// ([kind, id, projectId, hash] per object) rather than one row per object: a snapshot is always read and
// written whole, and 2,000 keys then cost one row, not 2,000. Manifests are stored by their hash too, so a
// snapshot identical to an earlier one adds only its own small row.

import { createHash } from "node:crypto";
import { type Selectable, sql } from "kysely";
import { VigilError } from "../../core/errors.ts";
import type { ManifestEntry, PostureChange } from "../../posture/diff.ts";
import type { PostureKind } from "../../posture/endpoints.ts";
import type {
  PostureHistoryEntry,
  PosturePruneReport,
  PostureSnapshotRecord,
  PostureSnapshotSummary,
  PostureSnapshotWrite,
} from "../../posture/types.ts";
import type { Store } from "../ports.ts";
import { changeStatus, lockedAlerts } from "./alerts.ts";
import type { PostureSnapshotsTable } from "./database.ts";
import { applyMatchesIn, assertMatchesOf } from "./detections.ts";
import type { Db, StoreContext } from "./dialect.ts";
import { requireSource } from "./require-source.ts";

export type PostureOps = Pick<
  Store,
  | "savePostureSnapshot"
  | "getPostureSnapshot"
  | "listPostureSnapshots"
  | "getPostureObjects"
  | "prunePostureSnapshots"
  | "getPostureHistory"
>;

/** The manifest hash of a snapshot kept for its diff only (its manifest released by pruning). */
const PRUNED_MANIFEST = "pruned";
/** Diffs read per query when looking up one object's history. */
const HISTORY_PAGE = 100;

/** Rows (or hashes) per statement: well under either engine's limit on parameters. */
const BATCH = 500;

const SUMMARY_COLUMNS = [
  "id",
  "source_id",
  "taken_at_ms",
  "duration_ms",
  "requests",
  "endpoints",
  "object_count",
  "new_object_count",
  "change_count",
  "finding_count",
] as const;

type SummaryRow = Pick<Selectable<PostureSnapshotsTable>, (typeof SUMMARY_COLUMNS)[number]>;

/** Resolves the open alerts of the snapshot's cleared findings (`resolveAlerts`); returns their ids. */
async function resolveOpenAlerts(ctx: StoreContext, trx: Db, write: PostureSnapshotWrite): Promise<string[]> {
  const keys = write.resolveAlerts ?? [];
  if (keys.length === 0) return [];
  const found = await trx
    .selectFrom("alerts")
    .select("id")
    .where("source_id", "=", write.sourceId)
    .where("status", "not in", ["RESOLVED", "CLOSED"])
    .where((eb) =>
      eb.or(keys.map((k) => eb.and([eb("rule_id", "=", k.ruleId), eb("dedup_string", "=", k.dedupString)]))),
    )
    .execute();
  // Each alert read again under its status lock (as setAlertStatus does): a triage of the same alert at the same
  // moment records its transition once, and one resolved or closed meanwhile stays as it is. In id order.
  const locked = await lockedAlerts(
    ctx.dialect,
    trx,
    found.map((a) => a.id),
  );
  const resolved: string[] = [];
  for (const alert of locked.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (alert.status === "RESOLVED" || alert.status === "CLOSED") continue;
    await changeStatus(trx, alert, "RESOLVED", write.takenAtMs, "system:posture");
    resolved.push(alert.id);
  }
  return resolved;
}

/**
 * The source's newest snapshots, newest first: by time, as every reader orders them (savePostureSnapshot keeps
 * each snapshot later than the one it follows, so the newest is the one a new snapshot follows).
 */
function newestSnapshots(trx: Db, sourceId: string, limit: number) {
  return trx
    .selectFrom("posture_snapshots")
    .select(["id", "taken_at_ms"])
    .where("source_id", "=", sourceId)
    .orderBy("taken_at_ms", "desc")
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
}

function snapshotConflict(sourceId: string): VigilError {
  return new VigilError(
    "posture_snapshot_conflict",
    `Another snapshot of source ${sourceId} was stored after the one this run compared with; this one was dropped whole, and the next run compares with the newer one.`,
    { retryable: true },
  );
}

export function postureOps(ctx: StoreContext): PostureOps {
  const { dialect } = ctx;
  return {
    async savePostureSnapshot(write) {
      const manifest = encodeManifest(write.objects);
      const alertMatches = write.alertMatches ?? [];
      assertMatchesOf(write.sourceId, alertMatches);
      const { row, createdAlertIds, resolvedAlertIds } = await dialect.write(async (trx) => {
        const sourceNum = await requireSource(ctx, trx, write.sourceId);
        // Only the newest snapshot may be followed (see PostureSnapshotWrite.previousId); of two runs that
        // compared with it at once, the unique key on (source, previous_id) refuses the second to commit.
        const [newest] = await newestSnapshots(trx, write.sourceId, 1);
        const previousId = write.previousId === undefined ? (newest?.id ?? 0) : (write.previousId ?? 0);
        if (previousId !== (newest?.id ?? 0)) throw snapshotConflict(write.sourceId);
        // Later than the one it follows even when two workers' clocks disagree, so that it is the newest next.
        const takenAtMs = newest === undefined ? write.takenAtMs : Math.max(write.takenAtMs, newest.taken_at_ms + 1);
        const createdAlertIds = await applyMatchesIn(ctx, trx, alertMatches, ctx.clock.nowMs(), {
          fromHistory: false,
          sourceNum,
        });
        const resolvedAlertIds = await resolveOpenAlerts(ctx, trx, write);
        await markReleased(trx, write);
        let newObjects = 0;
        const objects = distinctObjects(write);
        for (let i = 0; i < objects.length; i += BATCH) {
          const values = objects.slice(i, i + BATCH).map((o) => ({
            source_id: write.sourceId,
            hash: o.hash,
            kind: o.kind,
            object_id: o.id,
            json: o.json,
            first_seen_ms: write.takenAtMs,
          }));
          const inserted = await trx
            .insertInto("posture_objects")
            .values(values)
            .onConflict((oc) => oc.columns(["source_id", "hash"]).doNothing())
            .returning("hash")
            .execute();
          newObjects += inserted.length;
        }
        await trx
          .insertInto("posture_manifests")
          .values({ source_id: write.sourceId, hash: manifest.hash, manifest: manifest.text })
          .onConflict((oc) => oc.columns(["source_id", "hash"]).doNothing())
          .execute();
        const row = await trx
          .insertInto("posture_snapshots")
          .values({
            previous_id: previousId,
            source_id: write.sourceId,
            taken_at_ms: takenAtMs,
            duration_ms: write.durationMs,
            requests: write.requests,
            endpoints: JSON.stringify(write.endpoints),
            manifest_hash: manifest.hash,
            changes: write.changes === null ? null : JSON.stringify(write.changes),
            findings: JSON.stringify(write.findings),
            object_count: write.objects.length,
            new_object_count: newObjects,
            // Changes carried from an earlier diff to be judged (PostureChange.carried) are not this snapshot's.
            change_count: write.changes === null ? null : write.changes.filter((c) => c.carried === undefined).length,
            finding_count: write.findings.length,
          })
          .returningAll()
          .executeTakeFirstOrThrow()
          .catch((err) => {
            throw dialect.violatedConstraint(err) === "unique" ? snapshotConflict(write.sourceId) : err;
          });
        return { row, createdAlertIds, resolvedAlertIds };
      });
      return { ...toSnapshotRecord({ ...row, manifest: manifest.text }), createdAlertIds, resolvedAlertIds };
    },

    async getPostureSnapshot(sourceId, id) {
      const row = await dialect.run((db) => {
        let select = db
          .selectFrom("posture_snapshots as s")
          .innerJoin("posture_manifests as m", (join) =>
            join.onRef("m.source_id", "=", "s.source_id").onRef("m.hash", "=", "s.manifest_hash"),
          )
          .selectAll("s")
          .select("m.manifest")
          .where("s.source_id", "=", sourceId);
        select =
          id === undefined
            ? select.orderBy("s.taken_at_ms", "desc").orderBy("s.id", "desc").limit(1)
            : select.where("s.id", "=", id);
        return select.executeTakeFirst();
      });
      return row === undefined ? null : toSnapshotRecord(row);
    },

    async listPostureSnapshots(sourceId, limit = 50) {
      const rows = await dialect.run((db) =>
        db
          .selectFrom("posture_snapshots")
          .select(SUMMARY_COLUMNS)
          .where("source_id", "=", sourceId)
          .orderBy("taken_at_ms", "desc")
          .orderBy("id", "desc")
          .limit(limit)
          .execute(),
      );
      return rows.map(toSnapshotSummary);
    },

    async prunePostureSnapshots(sourceId, { fullSinceMs, historySinceMs }) {
      return dialect.write(async (trx) => {
        const newest = await newestSnapshots(trx, sourceId, 2);
        const report: PosturePruneReport = {
          snapshotsDeleted: 0,
          snapshotsThinned: 0,
          manifestsDeleted: 0,
          objectsDeleted: 0,
        };
        if (newest.length === 0) return report;
        const kept = newest.map((r) => r.id);
        const old = (before: number) =>
          trx
            .deleteFrom("posture_snapshots")
            .where("source_id", "=", sourceId)
            .where("taken_at_ms", "<", before)
            .where("id", "not in", kept);
        const gone = await old(historySinceMs).executeTakeFirst();
        // Past the full horizon, a snapshot that saw no change has nothing left to show.
        const quiet = await old(fullSinceMs)
          .where((eb) => eb.or([eb("change_count", "is", null), eb("change_count", "=", 0)]))
          .executeTakeFirst();
        const thinned = await trx
          .updateTable("posture_snapshots")
          .set({ manifest_hash: PRUNED_MANIFEST })
          .where("source_id", "=", sourceId)
          .where("taken_at_ms", "<", fullSinceMs)
          .where("id", "not in", kept)
          .where("manifest_hash", "!=", PRUNED_MANIFEST)
          .executeTakeFirst();
        const manifests = await trx
          .deleteFrom("posture_manifests as m")
          .where("m.source_id", "=", sourceId)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom("posture_snapshots as s")
                  .select("s.id")
                  .whereRef("s.source_id", "=", "m.source_id")
                  .whereRef("s.manifest_hash", "=", "m.hash"),
              ),
            ),
          )
          .executeTakeFirst();
        await releaseUntracked(trx, sourceId);
        // An object released before every snapshot still kept whole is referenced by none of them (an object's
        // released_ms is the time of the last snapshot that held it; null while the newest holds it).
        const objectCutoff = Math.min(fullSinceMs, ...newest.map((r) => r.taken_at_ms));
        const objects = await trx
          .deleteFrom("posture_objects")
          .where("source_id", "=", sourceId)
          .where("released_ms", "is not", null)
          .where("released_ms", "<", objectCutoff)
          .executeTakeFirst();
        report.snapshotsDeleted = Number(gone.numDeletedRows) + Number(quiet.numDeletedRows);
        report.snapshotsThinned = Number(thinned.numUpdatedRows);
        report.manifestsDeleted = Number(manifests.numDeletedRows);
        report.objectsDeleted = Number(objects.numDeletedRows);
        return report;
      });
    },

    async getPostureHistory(sourceId, kind, objectId, limit = 200) {
      // A cheap pre-filter on the diff's text, the id's JSON with LIKE's wildcards escaped (an id of "%" must not
      // read every diff); the exact test is below, as the id may also appear in other objects' fields.
      const pattern = `%${JSON.stringify(objectId).replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      const first = await dialect.run((db) =>
        db
          .selectFrom("posture_objects")
          .select((eb) => eb.fn.min("first_seen_ms").as("first"))
          .where("source_id", "=", sourceId)
          .where("kind", "=", kind)
          .where("object_id", "=", objectId)
          .executeTakeFirst(),
      );
      const entries: PostureHistoryEntry[] = [];
      // A change judged after its own snapshot (PostureChange.carried) has its judgement in a later snapshot, read
      // first (newest first): snapshot time → the audit events found.
      const judgedLater = new Map<number, string[]>();
      // Newest first, a page of diffs at a time, until `limit` entries: old history is read only when asked for.
      for (let offset = 0; entries.length < limit; offset += HISTORY_PAGE) {
        const rows = await dialect.run((db) =>
          db
            .selectFrom("posture_snapshots")
            .select(["id", "taken_at_ms", "changes"])
            .where("source_id", "=", sourceId)
            // Not change_count > 0: a snapshot may hold only the judgement of an earlier one's change (carried).
            .where(sql<boolean>`changes LIKE ${pattern} ESCAPE '\\'`)
            .orderBy("taken_at_ms", "desc")
            .orderBy("id", "desc")
            .limit(HISTORY_PAGE)
            .offset(offset)
            .execute(),
        );
        for (const row of rows) {
          const changes = JSON.parse(row.changes ?? "[]") as Array<
            PostureChange & { audit?: { checked: boolean; eventIds: string[] } }
          >;
          for (const c of changes) {
            if (c.kind !== kind || c.id !== objectId) continue;
            if (c.carried !== undefined) {
              if (c.audit?.checked) judgedLater.set(c.carried.takenAtMs, c.audit.eventIds);
              continue;
            }
            const judged = c.audit?.checked ? c.audit.eventIds : judgedLater.get(row.taken_at_ms);
            entries.push({
              snapshotId: row.id,
              takenAtMs: row.taken_at_ms,
              change: c.change,
              fields: c.fields,
              before: c.before,
              after: c.after,
              auditEventIds: judged ?? null,
            });
          }
        }
        if (rows.length < HISTORY_PAGE) break;
      }
      entries.splice(limit);
      const firstSeen = first?.first;
      return { firstSeenMs: firstSeen === null || firstSeen === undefined ? null : Number(firstSeen), entries };
    },

    async getPostureObjects(sourceId, hashes) {
      const distinct = [...new Set(hashes)];
      const out = new Map<string, string>();
      for (let i = 0; i < distinct.length; i += BATCH) {
        const rows = await dialect.run((db) =>
          db
            .selectFrom("posture_objects")
            .select(["hash", "json"])
            .where("source_id", "=", sourceId)
            .where("hash", "in", distinct.slice(i, i + BATCH))
            .execute(),
        );
        for (const r of rows) out.set(r.hash, r.json);
      }
      return out;
    },
  };
}

/** The newest snapshot's time and manifest (the newest two are always kept whole). */
function newestManifest(trx: Db, sourceId: string) {
  return trx
    .selectFrom("posture_snapshots as s")
    .innerJoin("posture_manifests as m", (join) =>
      join.onRef("m.source_id", "=", "s.source_id").onRef("m.hash", "=", "s.manifest_hash"),
    )
    .select(["s.taken_at_ms", "m.manifest"])
    .where("s.source_id", "=", sourceId)
    .orderBy("s.taken_at_ms", "desc")
    .orderBy("s.id", "desc")
    .limit(1)
    .executeTakeFirst();
}

/**
 * Keeps each object's released_ms current against the newest snapshot so far (the previous one): objects it held
 * that this snapshot does not are released at its time; objects held again are no longer released.
 */
async function markReleased(trx: Db, write: PostureSnapshotWrite): Promise<void> {
  const previous = await newestManifest(trx, write.sourceId);
  if (!previous) return;
  const before = new Set(decodeManifest(previous.manifest).map((e) => e.hash));
  const now = new Set(write.objects.map((o) => o.hash));
  const released = [...before].filter((h) => !now.has(h));
  const back = [...now].filter((h) => !before.has(h));
  for (let i = 0; i < released.length; i += BATCH) {
    await trx
      .updateTable("posture_objects")
      .set({ released_ms: previous.taken_at_ms })
      .where("source_id", "=", write.sourceId)
      .where("hash", "in", released.slice(i, i + BATCH))
      .execute();
  }
  for (let i = 0; i < back.length; i += BATCH) {
    await trx
      .updateTable("posture_objects")
      .set({ released_ms: null })
      .where("source_id", "=", write.sourceId)
      .where("hash", "in", back.slice(i, i + BATCH))
      .where("released_ms", "is not", null)
      .execute();
  }
}

/**
 * Objects stored before released_ms existed (migration 24) that the newest snapshot does not hold have a null
 * released_ms, as if still held, and would never be pruned. They are released at the newest snapshot's time: no
 * later than they really left, so pruning still deletes them only once no snapshot kept whole can hold them.
 */
async function releaseUntracked(trx: Db, sourceId: string): Promise<void> {
  const newest = await newestManifest(trx, sourceId);
  if (!newest) return;
  const held = new Set(decodeManifest(newest.manifest).map((e) => e.hash));
  const unreleased = await trx
    .selectFrom("posture_objects")
    .select("hash")
    .where("source_id", "=", sourceId)
    .where("released_ms", "is", null)
    .execute();
  const stray = unreleased.map((r) => r.hash).filter((h) => !held.has(h));
  for (let i = 0; i < stray.length; i += BATCH) {
    await trx
      .updateTable("posture_objects")
      .set({ released_ms: newest.taken_at_ms })
      .where("source_id", "=", sourceId)
      .where("hash", "in", stray.slice(i, i + BATCH))
      .execute();
  }
}

function encodeManifest(objects: PostureSnapshotWrite["objects"]): { text: string; hash: string } {
  const text = JSON.stringify(
    objects
      .map((o) => [o.kind, o.id, o.projectId, o.hash] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)),
  );
  return { text, hash: createHash("sha256").update(text).digest("hex").slice(0, 32) };
}

function decodeManifest(text: string): ManifestEntry[] {
  return (JSON.parse(text) as Array<[PostureKind, string, string | null, string]>).map(
    ([kind, id, projectId, hash]) => ({ kind, id, projectId, hash }),
  );
}

/** The objects of a write, each hash once (the same content can appear under two ids). */
function distinctObjects(write: PostureSnapshotWrite): PostureSnapshotWrite["objects"] {
  const seen = new Map<string, PostureSnapshotWrite["objects"][number]>();
  for (const o of write.objects) if (!seen.has(o.hash)) seen.set(o.hash, o);
  return [...seen.values()];
}

function toSnapshotSummary(row: SummaryRow): PostureSnapshotSummary {
  return {
    id: row.id,
    sourceId: row.source_id,
    takenAtMs: row.taken_at_ms,
    durationMs: row.duration_ms,
    requests: row.requests,
    endpoints: JSON.parse(row.endpoints),
    objectCount: row.object_count,
    newObjectCount: row.new_object_count,
    changeCount: row.change_count,
    findingCount: row.finding_count,
  };
}

function toSnapshotRecord(row: Selectable<PostureSnapshotsTable> & { manifest: string }): PostureSnapshotRecord {
  return {
    ...toSnapshotSummary(row),
    manifest: decodeManifest(row.manifest),
    changes: row.changes === null ? null : JSON.parse(row.changes),
    findings: JSON.parse(row.findings),
  };
}
