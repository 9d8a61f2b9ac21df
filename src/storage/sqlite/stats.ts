// The event count that the day counters answer, for the SQLite store's `countEvents` (the events area, not yet
// moved to ../store). The counter-backed statistics themselves are ../store/stats.ts.

import { countableFromCounters } from "../event-search.ts";
import type { EventQuery } from "../ports.ts";

export interface CompiledSql {
  sql: string;
  parameters: readonly unknown[];
}

/** The count of a query the counters answer exactly (no filter, or only a source), else null. */
export function eventCountFromCounters(query: EventQuery): CompiledSql | null {
  if (!countableFromCounters(query)) return null;
  return {
    sql: "SELECT coalesce(sum(events), 0) AS n FROM event_counts WHERE (? IS NULL OR source_id = ?)",
    parameters: [query.sourceId ?? null, query.sourceId ?? null],
  };
}
