// Panther scheduled queries (`AnalysisType: scheduled_query`) over Vigil's own event store. A query runs every
// `Schedule.RateMinutes` for each source; its rows go to the scheduled rules that list it in `ScheduledQueries`,
// each row as one event. The SQL is run by Store.queryEvents (read-only, one SELECT, `events` = that source's
// events), so it must be written for Vigil's tables, not Panther's data lake: a query with only a
// SnowflakeQuery/AthenaQuery, or a CronExpression schedule, is valid Panther content that Vigil skips (said).

import { resolve } from "node:path";
import { z } from "zod";

/** The log type a scheduled rule's rows carry: routes a query's rows to the rules that list it. */
/** The log type a scheduled rule reads: its query's rows, by name. */
export const SCHEDULED_QUERY_PREFIX = "ScheduledQuery:";

export function scheduledQueryLogType(queryName: string): string {
  return `${SCHEDULED_QUERY_PREFIX}${queryName}`;
}

/** The scheduled queries a rule runs on (a scheduled rule's log types); none for a rule of events. */
export function scheduledQueriesOf(rule: { logTypes: readonly string[] }): string[] {
  return rule.logTypes
    .filter((t) => t.startsWith(SCHEDULED_QUERY_PREFIX))
    .map((t) => t.slice(SCHEDULED_QUERY_PREFIX.length));
}

export interface ScheduledQuerySpec {
  name: string;
  enabled: boolean;
  /** SQL over `events`; `{{now}}` is replaced by the run's time (Unix seconds, start of its schedule slot). */
  sql: string;
  rateMinutes: number;
  timeoutMinutes: number;
  specPath: string;
}

const schema = z.looseObject({
  AnalysisType: z.literal("scheduled_query"),
  QueryName: z.string().min(1),
  Enabled: z.boolean(),
  Query: z.string().optional(),
  SnowflakeQuery: z.string().optional(),
  AthenaQuery: z.string().optional(),
  Schedule: z.strictObject({
    RateMinutes: z.number().int().optional(),
    CronExpression: z.string().optional(),
    TimeoutMinutes: z.number().int().positive(),
  }),
});

/** A query Vigil runs, or the reason it is skipped; throws an Error naming the file when it is not valid. */
export function parseScheduledQuery(doc: unknown, specPath: string): ScheduledQuerySpec | { unsupported: string } {
  const file = resolve(specPath);
  const parsed = schema.safeParse(doc);
  if (!parsed.success)
    throw new Error(
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
    );
  const raw = parsed.data;
  const schedule = raw.Schedule;
  if ((schedule.RateMinutes === undefined) === (schedule.CronExpression === undefined))
    throw new Error(`${file}: Schedule needs exactly one of RateMinutes or CronExpression`);
  if (
    schedule.RateMinutes !== undefined &&
    (schedule.RateMinutes <= 1 || schedule.RateMinutes < schedule.TimeoutMinutes)
  )
    throw new Error(`${file}: Schedule.RateMinutes must be over 1 and at least TimeoutMinutes (Panther's rule)`);
  if (raw.Query === undefined)
    return { unsupported: `${file}: scheduled query ${raw.QueryName} has no Query for Vigil's event store` };
  if (schedule.RateMinutes === undefined)
    return { unsupported: `${file}: scheduled query ${raw.QueryName}: CronExpression schedules are not supported` };
  return {
    name: raw.QueryName,
    enabled: raw.Enabled,
    sql: raw.Query,
    rateMinutes: schedule.RateMinutes,
    timeoutMinutes: schedule.TimeoutMinutes,
    specPath: file,
  };
}
