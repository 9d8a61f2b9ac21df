// Inventory snapshot storage for SQLite (see ports.ts and storage/posture-rows.ts). Called inside the store's
// transactions.

import type Database from "better-sqlite3";
import type { PostureSnapshotRecord, PostureSnapshotSummary, PostureSnapshotWrite } from "../../posture/types.ts";
import {
  distinctObjects,
  encodeManifest,
  type PostureSnapshotRow,
  toSnapshotRecord,
  toSnapshotSummary,
} from "../posture-rows.ts";

const WITH_MANIFEST = `SELECT s.*, m.manifest FROM posture_snapshots s
  JOIN posture_manifests m ON m.source_id = s.source_id AND m.hash = s.manifest_hash`;
const SUMMARY_COLUMNS = `id, source_id, taken_at_ms, duration_ms, requests, endpoints, object_count, new_object_count,
  change_count, finding_count`;

export function savePostureSnapshot(db: Database.Database, write: PostureSnapshotWrite): PostureSnapshotRecord {
  const insertObject = db.prepare(
    `INSERT INTO posture_objects (source_id, hash, kind, object_id, json, first_seen_ms) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (source_id, hash) DO NOTHING`,
  );
  let inserted = 0;
  for (const o of distinctObjects(write)) {
    inserted += insertObject.run(write.sourceId, o.hash, o.kind, o.id, o.json, write.takenAtMs).changes;
  }
  const manifest = encodeManifest(write.objects);
  db.prepare(
    "INSERT INTO posture_manifests (source_id, hash, manifest) VALUES (?, ?, ?) ON CONFLICT (source_id, hash) DO NOTHING",
  ).run(write.sourceId, manifest.hash, manifest.text);
  const row = db
    .prepare<unknown[], PostureSnapshotRow>(
      `INSERT INTO posture_snapshots (source_id, taken_at_ms, duration_ms, requests, endpoints, manifest_hash, changes,
         findings, object_count, new_object_count, change_count, finding_count)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    )
    .get(
      write.sourceId,
      write.takenAtMs,
      write.durationMs,
      write.requests,
      JSON.stringify(write.endpoints),
      manifest.hash,
      write.changes === null ? null : JSON.stringify(write.changes),
      JSON.stringify(write.findings),
      write.objects.length,
      inserted,
      write.changes === null ? null : write.changes.length,
      write.findings.length,
    ) as PostureSnapshotRow;
  return toSnapshotRecord({ ...row, manifest: manifest.text });
}

export function getPostureSnapshot(db: Database.Database, sourceId: string, id?: number): PostureSnapshotRecord | null {
  const row =
    id === undefined
      ? db
          .prepare<[string], PostureSnapshotRow>(
            `${WITH_MANIFEST} WHERE s.source_id = ? ORDER BY s.taken_at_ms DESC, s.id DESC LIMIT 1`,
          )
          .get(sourceId)
      : db
          .prepare<[string, number], PostureSnapshotRow>(
            "SELECT * FROM posture_snapshots WHERE source_id = ? AND id = ?",
          )
          .get(sourceId, id);
  return row ? toSnapshotRecord(row) : null;
}

export function listPostureSnapshots(db: Database.Database, sourceId: string, limit: number): PostureSnapshotSummary[] {
  return db
    .prepare<[string, number], PostureSnapshotRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM posture_snapshots WHERE source_id = ? ORDER BY taken_at_ms DESC, id DESC LIMIT ?`,
    )
    .all(sourceId, limit)
    .map(toSnapshotSummary);
}

export function getPostureObjects(db: Database.Database, sourceId: string, hashes: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const select = db.prepare<[string, string], { json: string }>(
    "SELECT json FROM posture_objects WHERE source_id = ? AND hash = ?",
  );
  for (const hash of new Set(hashes)) {
    const row = select.get(sourceId, hash);
    if (row) out.set(hash, row.json);
  }
  return out;
}

export function eventTypeCounts(
  db: Database.Database,
  sourceId: string | undefined,
): Array<{ type: string; count: number; lastSeenSecs: number }> {
  const rows =
    sourceId === undefined
      ? db
          .prepare<[], { type: string; n: number; last: number }>(
            "SELECT type, count(*) AS n, max(effective_at) AS last FROM events GROUP BY type ORDER BY type",
          )
          .all()
      : db
          .prepare<[string], { type: string; n: number; last: number }>(
            "SELECT type, count(*) AS n, max(effective_at) AS last FROM events WHERE source_id = ? GROUP BY type ORDER BY type",
          )
          .all(sourceId);
  return rows.map((r) => ({ type: r.type, count: r.n, lastSeenSecs: r.last }));
}
