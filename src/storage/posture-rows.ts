// Row encoding of inventory snapshots shared by the SQLite and PostgreSQL stores. The manifest is one JSON array
// per snapshot ([kind, id, projectId, hash] per object) rather than one row per object: a snapshot is always read
// and written whole, and 2,000 keys then cost one row, not 2,000. Manifests are stored by their hash, so a
// snapshot identical to an earlier one adds only its own small row.

import { createHash } from "node:crypto";
import type { ManifestEntry } from "../posture/diff.ts";
import type { PostureKind } from "../posture/endpoints.ts";
import type { PostureSnapshotRecord, PostureSnapshotSummary, PostureSnapshotWrite } from "../posture/types.ts";

export interface PostureSnapshotRow {
  id: number | string;
  source_id: string;
  taken_at_ms: number | string;
  duration_ms: number | string;
  requests: number | string;
  endpoints: string;
  object_count: number | string;
  new_object_count: number | string;
  change_count: number | string | null;
  finding_count: number | string;
  manifest?: string;
  changes?: string | null;
  findings?: string;
}

export function encodeManifest(objects: PostureSnapshotWrite["objects"]): { text: string; hash: string } {
  const text = JSON.stringify(
    objects
      .map((o) => [o.kind, o.id, o.projectId, o.hash] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)),
  );
  return { text, hash: createHash("sha256").update(text).digest("hex").slice(0, 32) };
}

export function decodeManifest(text: string): ManifestEntry[] {
  return (JSON.parse(text) as Array<[PostureKind, string, string | null, string]>).map(
    ([kind, id, projectId, hash]) => ({
      kind,
      id,
      projectId,
      hash,
    }),
  );
}

export function toSnapshotSummary(row: PostureSnapshotRow): PostureSnapshotSummary {
  return {
    id: Number(row.id),
    sourceId: row.source_id,
    takenAtMs: Number(row.taken_at_ms),
    durationMs: Number(row.duration_ms),
    requests: Number(row.requests),
    endpoints: JSON.parse(row.endpoints),
    objectCount: Number(row.object_count),
    newObjectCount: Number(row.new_object_count),
    changeCount: row.change_count === null ? null : Number(row.change_count),
    findingCount: Number(row.finding_count),
  };
}

export function toSnapshotRecord(row: PostureSnapshotRow): PostureSnapshotRecord {
  return {
    ...toSnapshotSummary(row),
    manifest: decodeManifest(row.manifest ?? "[]"),
    changes: row.changes == null ? null : JSON.parse(row.changes),
    findings: JSON.parse(row.findings ?? "[]"),
  };
}

/** The objects of a write, each hash once (the same content can appear under two ids). */
export function distinctObjects(write: PostureSnapshotWrite): PostureSnapshotWrite["objects"] {
  const seen = new Map<string, PostureSnapshotWrite["objects"][number]>();
  for (const o of write.objects) if (!seen.has(o.hash)) seen.set(o.hash, o);
  return [...seen.values()];
}
