// The statistics behind the console's overview, a source's page and /metrics, for SQLite. Counts come
// from the counter tables that triggers keep with every write (migration 15), so a read costs a few rows
// per day and type or per source, never a pass over the events; only what the counters cannot answer
// (buckets shorter than a day) reads the events, and the store runs that off the event loop.

import type { EventQuery } from "../ports.ts";
import { countableFromCounters, histogramFitsDays } from "../store/event-search.ts";
import { validateHistogramQuery } from "./access.ts";

export interface CompiledSql {
  sql: string;
  parameters: readonly unknown[];
}

/**
 * The histogram query: from `event_counts` when the buckets are whole days (an event's day and its
 * bucket then agree), else from the events themselves.
 */
export function eventHistogramSql(query: { sourceId?: string; sinceSecs: number; bucketSecs: number }): {
  compiled: CompiledSql;
  fromCounters: boolean;
} {
  validateHistogramQuery(query);
  const source = query.sourceId ?? null;
  const parameters = [query.bucketSecs, query.bucketSecs, Math.floor(query.sinceSecs), source, source];
  if (histogramFitsDays(query)) {
    return {
      fromCounters: true,
      compiled: {
        sql: `SELECT (day_secs / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS bucket, type, sum(events) AS n FROM event_counts
              WHERE day_secs >= ? AND (? IS NULL OR source_id = ?) AND events > 0
              GROUP BY bucket, type ORDER BY bucket, type`,
        parameters,
      },
    };
  }
  return {
    fromCounters: false,
    compiled: {
      sql: `SELECT (effective_at / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS bucket, type, count(*) AS n FROM events
            WHERE effective_at >= ? AND (? IS NULL OR source_id = ?)
            GROUP BY bucket, type ORDER BY bucket, type`,
      parameters,
    },
  };
}

/** The count of a query the counters answer exactly (no filter, or only a source), else null. */
export function eventCountFromCounters(query: EventQuery): CompiledSql | null {
  if (!countableFromCounters(query)) return null;
  return {
    sql: "SELECT coalesce(sum(events), 0) AS n FROM event_counts WHERE (? IS NULL OR source_id = ?)",
    parameters: [query.sourceId ?? null, query.sourceId ?? null],
  };
}

export const sourceCountsSql: CompiledSql = {
  sql: `SELECT s.id AS sourceId,
          coalesce((SELECT sum(e.events) FROM event_counts e WHERE e.source_id = s.id), 0) AS events,
          coalesce(c.quarantined, 0) AS quarantined,
          coalesce(c.rule_errors, 0) AS ruleErrors
        FROM sources s LEFT JOIN source_counters c ON c.source_id = s.id
        ORDER BY s.id`,
  parameters: [],
};

export const alertCountsSql: CompiledSql = {
  sql: `SELECT source_id AS sourceId, status, severity, alerts AS count FROM alert_counts
        WHERE alerts > 0 ORDER BY source_id, status, severity`,
  parameters: [],
};
