// The SQL both stores run for a scheduled query (Store.queryEvents): the author's SELECT as a subquery, under a
// CTE named `events` that holds only one source's events. As a subquery it can only be one SELECT (a `;` or a
// write is a syntax error); the CTE makes `FROM events` mean "this source's events" in either database.

import { EVENT_COLUMNS } from "./store/event-search.ts";

/**
 * The columns a scheduled query sees: the indexed fields and `raw`, the record as the API returned it (JSON
 * text: json_extract(raw, '$.actor.session.ip_address') in SQLite, raw::jsonb #>> '{actor,session,ip_address}'
 * in PostgreSQL). The normalized form is not stored (it is rebuilt from raw on read), so it is not a column.
 */
export const SCHEDULED_QUERY_COLUMNS = ["source_id", ...EVENT_COLUMNS.filter((c) => c !== "ingested_at_ms")];

/**
 * `table`: how the events table is named inside the CTE (SQLite needs `main.events`, or the CTE would refer to
 * itself); `placeholder`: the source id parameter (`?` or `$1`).
 */
export function scheduledQuerySql(query: string, table: string, placeholder: string): string {
  const body = query.trim().replace(/;\s*$/, "");
  // Events name their source by number (migration 30): the source's row gives both.
  const columns = SCHEDULED_QUERY_COLUMNS.map((c) => (c === "source_id" ? "n.source_id" : `e.${c}`)).join(", ");
  return `WITH events AS (SELECT ${columns} FROM ${table} e JOIN source_numbers n ON n.num = e.source_num WHERE n.source_id = ${placeholder}) SELECT * FROM (${body}) AS scheduled_query`;
}
