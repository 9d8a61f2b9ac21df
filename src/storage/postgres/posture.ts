// The per-type event counts of the coverage ledger (Store.eventTypeCounts) for PostgreSQL.

import type pg from "pg";

type Queryable = Pick<pg.Pool | pg.PoolClient, "query">;

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
