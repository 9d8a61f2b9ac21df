// Inventory snapshot storage for PostgreSQL (see ports.ts and storage/posture-rows.ts).

import type pg from "pg";
import type { PostureSnapshotRecord, PostureSnapshotSummary, PostureSnapshotWrite } from "../../posture/types.ts";
import {
  distinctObjects,
  encodeManifest,
  type PostureSnapshotRow,
  toSnapshotRecord,
  toSnapshotSummary,
} from "../posture-rows.ts";

type Queryable = Pick<pg.Pool | pg.PoolClient, "query">;

const WITH_MANIFEST = `SELECT s.*, m.manifest FROM posture_snapshots s
  JOIN posture_manifests m ON m.source_id = s.source_id AND m.hash = s.manifest_hash`;
const SUMMARY_COLUMNS = `id, source_id, taken_at_ms, duration_ms, requests, endpoints, object_count, new_object_count,
  change_count, finding_count`;
const BATCH = 500;

export async function savePostureSnapshotPg(
  client: Queryable,
  write: PostureSnapshotWrite,
): Promise<PostureSnapshotRecord> {
  let inserted = 0;
  const objects = distinctObjects(write);
  for (let i = 0; i < objects.length; i += BATCH) {
    const batch = objects.slice(i, i + BATCH);
    const result = await client.query(
      `INSERT INTO posture_objects (source_id, hash, kind, object_id, json, first_seen_ms)
       SELECT $1, h, k, o, j, $2 FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS t(h, k, o, j)
       ON CONFLICT (source_id, hash) DO NOTHING`,
      [
        write.sourceId,
        write.takenAtMs,
        batch.map((o) => o.hash),
        batch.map((o) => o.kind),
        batch.map((o) => o.id),
        batch.map((o) => o.json),
      ],
    );
    inserted += result.rowCount ?? 0;
  }
  const manifest = encodeManifest(write.objects);
  await client.query(
    `INSERT INTO posture_manifests (source_id, hash, manifest) VALUES ($1, $2, $3)
     ON CONFLICT (source_id, hash) DO NOTHING`,
    [write.sourceId, manifest.hash, manifest.text],
  );
  const { rows } = await client.query<PostureSnapshotRow>(
    `INSERT INTO posture_snapshots (source_id, taken_at_ms, duration_ms, requests, endpoints, manifest_hash, changes,
       findings, object_count, new_object_count, change_count, finding_count)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
    [
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
    ],
  );
  return toSnapshotRecord({ ...(rows[0] as PostureSnapshotRow), manifest: manifest.text });
}

export async function getPostureSnapshotPg(
  client: Queryable,
  sourceId: string,
  id?: number,
): Promise<PostureSnapshotRecord | null> {
  const { rows } =
    id === undefined
      ? await client.query<PostureSnapshotRow>(
          `${WITH_MANIFEST} WHERE s.source_id = $1 ORDER BY s.taken_at_ms DESC, s.id DESC LIMIT 1`,
          [sourceId],
        )
      : await client.query<PostureSnapshotRow>(`${WITH_MANIFEST} WHERE s.source_id = $1 AND s.id = $2`, [sourceId, id]);
  return rows[0] ? toSnapshotRecord(rows[0]) : null;
}

export async function listPostureSnapshotsPg(
  client: Queryable,
  sourceId: string,
  limit: number,
): Promise<PostureSnapshotSummary[]> {
  const { rows } = await client.query<PostureSnapshotRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM posture_snapshots WHERE source_id = $1 ORDER BY taken_at_ms DESC, id DESC LIMIT $2`,
    [sourceId, limit],
  );
  return rows.map(toSnapshotSummary);
}

export async function getPostureObjectsPg(
  client: Queryable,
  sourceId: string,
  hashes: string[],
): Promise<Map<string, string>> {
  const { rows } = await client.query<{ hash: string; json: string }>(
    "SELECT hash, json FROM posture_objects WHERE source_id = $1 AND hash = ANY($2::text[])",
    [sourceId, [...new Set(hashes)]],
  );
  return new Map(rows.map((r) => [r.hash, r.json]));
}

export async function eventTypeCountsPg(
  client: Queryable,
  sourceId: string | undefined,
): Promise<Array<{ type: string; count: number; lastSeenSecs: number }>> {
  const { rows } = await client.query<{ type: string; n: string | number; last: string | number }>(
    sourceId === undefined
      ? "SELECT type, count(*) AS n, max(effective_at) AS last FROM events GROUP BY type ORDER BY type"
      : "SELECT type, count(*) AS n, max(effective_at) AS last FROM events WHERE source_id = $1 GROUP BY type ORDER BY type",
    sourceId === undefined ? [] : [sourceId],
  );
  return rows.map((r) => ({ type: r.type, count: Number(r.n), lastSeenSecs: Number(r.last) }));
}
