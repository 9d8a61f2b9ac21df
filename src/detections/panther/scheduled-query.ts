// Panther scheduled queries (`AnalysisType: scheduled_query`) over Vigil's own event store. A query runs every
// `Schedule.RateMinutes`, or at each time its `Schedule.CronExpression` names (five fields, UTC, as Panther), for
// each source; its rows go to the scheduled rules that list it in `ScheduledQueries`, each row as one event. The
// SQL is run by Store.queryEvents (read-only, one SELECT, `events` = that source's events), so it must be written
// for Vigil's tables, not Panther's data lake: a query with only a SnowflakeQuery/AthenaQuery is valid Panther
// content that Vigil skips (said).

import { resolve } from "node:path";
import { Cron } from "croner";
import { z } from "zod";
import { errorMessage } from "../../core/errors.ts";

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
  schedule: QuerySchedule;
  timeoutMinutes: number;
  specPath: string;
}

/** When a query runs: every `rateMinutes`, or at each time a cron expression names (UTC). */
export type QuerySchedule = { rateMinutes: number } | { cron: Cron };

/**
 * The start of the schedule slot `nowSecs` falls in: the latest time the schedule names at or before it (null
 * before the first). A query runs once per slot (scheduled-queries.ts).
 */
export function slotStart(nowSecs: number, schedule: QuerySchedule): number | null {
  if ("rateMinutes" in schedule) {
    const rate = schedule.rateMinutes * 60;
    return Math.floor(nowSecs / rate) * rate;
  }
  // previousRuns is strictly before the time it is given: one second later includes a run at `nowSecs` itself.
  const [latest] = schedule.cron.previousRuns(1, new Date((nowSecs + 1) * 1000));
  return latest === undefined ? null : Math.floor(latest.getTime() / 1000);
}

/**
 * The slots to run at `nowSecs`, oldest first and at most `max`: those after `doneSecs` (the last slot completed)
 * up to the current one; only the current one when none was completed yet (a new query has no past to catch up).
 * None while the last one completed is ahead of the clock (recorded on a clock that ran ahead): running an earlier
 * slot again could raise its matches twice, so the query waits for the clock to come round.
 */
export function slotsDue(
  doneSecs: number | undefined,
  nowSecs: number,
  schedule: QuerySchedule,
  max: number,
): number[] {
  const current = slotStart(nowSecs, schedule);
  if (current === null || max < 1) return [];
  if (doneSecs === undefined) return [current];
  if (doneSecs >= current) return [];
  if ("rateMinutes" in schedule) {
    const rate = schedule.rateMinutes * 60;
    const due: number[] = [];
    for (let slot = (Math.floor(doneSecs / rate) + 1) * rate; slot <= current && due.length < max; slot += rate) {
      due.push(slot);
    }
    return due;
  }
  // nextRuns is strictly after the time it is given.
  return schedule.cron
    .nextRuns(max, new Date(doneSecs * 1000))
    .map((d) => Math.floor(d.getTime() / 1000))
    .filter((slot) => slot <= current);
}

const CRON_FIELDS = "minute (0-59) hour (0-23) day-of-month (1-31) month (1-12) day-of-week (0-7, 0 and 7 Sunday)";

/** A Panther cron expression (five fields, in UTC); throws saying what is wrong. */
function parseCron(expression: string): Cron {
  const fields = expression
    .trim()
    .split(/\s+/)
    .filter((f) => f !== "");
  if (fields.length !== 5)
    throw new Error(
      `it has ${fields.length} field${fields.length === 1 ? "" : "s"}; Panther's have five: ${CRON_FIELDS}`,
    );
  let cron: Cron;
  try {
    cron = new Cron(expression, { timezone: "UTC", paused: true });
  } catch (err) {
    throw new Error(`${errorMessage(err)} (the fields: ${CRON_FIELDS})`);
  }
  // A date that never comes (30 February) would make a query that never runs, silently.
  if (cron.nextRun(new Date(0)) === null) throw new Error("it names no time that ever comes");
  return cron;
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
  let querySchedule: QuerySchedule;
  if (schedule.RateMinutes !== undefined) querySchedule = { rateMinutes: schedule.RateMinutes };
  else {
    try {
      querySchedule = { cron: parseCron(schedule.CronExpression ?? "") };
    } catch (err) {
      throw new Error(
        `${file}: Schedule.CronExpression ${JSON.stringify(schedule.CronExpression)} is not valid: ${errorMessage(err)}`,
      );
    }
  }
  return {
    name: raw.QueryName,
    enabled: raw.Enabled,
    sql: raw.Query,
    schedule: querySchedule,
    timeoutMinutes: schedule.TimeoutMinutes,
    specPath: file,
  };
}
