// The per-type event counts of the coverage ledger (Store.eventTypeCounts) for SQLite.

import type Database from "better-sqlite3";

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
