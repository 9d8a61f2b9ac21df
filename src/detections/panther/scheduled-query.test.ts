import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseScheduledQuery, type ScheduledQuerySpec, slotStart } from "./scheduled-query.ts";

const query = (schedule: Record<string, unknown>) => ({
  AnalysisType: "scheduled_query",
  QueryName: "Q",
  Enabled: true,
  Query: "SELECT 1",
  Schedule: { TimeoutMinutes: 5, ...schedule },
});

const parsed = (schedule: Record<string, unknown>) =>
  parseScheduledQuery(query(schedule), "/rules/q.yml") as ScheduledQuerySpec;

/** 2026-12-06 11:05:00 UTC. */
const NOW = Date.UTC(2026, 11, 6, 11, 5, 0) / 1000;
const at = (iso: string) => Date.parse(iso) / 1000;

describe("scheduled query schedules", () => {
  it("runs a RateMinutes query in slots of that many minutes", () => {
    assert.equal(slotStart(NOW, parsed({ RateMinutes: 60 }).schedule), at("2026-12-06T11:00:00Z"));
  });

  it("runs a CronExpression query at the times it names, in UTC: a slot starts at each", () => {
    const every6h = parsed({ CronExpression: "0 */6 * * *" }).schedule;
    assert.equal(slotStart(NOW, every6h), at("2026-12-06T06:00:00Z"));
    // A run at the very second is its own slot; one second before, the previous one.
    assert.equal(slotStart(at("2026-12-06T12:00:00Z"), every6h), at("2026-12-06T12:00:00Z"));
    assert.equal(slotStart(at("2026-12-06T11:59:59Z"), every6h), at("2026-12-06T06:00:00Z"));
    const weekdays = parsed({ CronExpression: "30 8 * * 1-5" }).schedule;
    // 2026-12-06 is a Sunday: the last run was Friday's.
    assert.equal(slotStart(NOW, weekdays), at("2026-12-04T08:30:00Z"));
  });

  it("refuses a cron expression that is not five valid fields, naming the file and what is wrong", () => {
    assert.throws(
      () => parsed({ CronExpression: "*/5 * * * * *" }),
      /q\.yml: Schedule\.CronExpression "\*\/5 \* \* \* \* \*" is not valid: it has 6 fields; Panther's have five/,
    );
    assert.throws(
      () => parsed({ CronExpression: "61 * * * *" }),
      /q\.yml: Schedule\.CronExpression "61 \* \* \* \*" is not valid: .*minute.*\(the fields: minute \(0-59\)/,
    );
    assert.throws(() => parsed({ CronExpression: "hourly" }), /is not valid: it has 1 field; Panther's have five/);
    // A date that never comes would make a query that never runs, silently.
    assert.throws(() => parsed({ CronExpression: "0 0 30 2 *" }), /is not valid: it names no time that ever comes/);
    // A query Vigil skips (data lake only) is skipped whatever its schedule says.
    assert.deepEqual(
      parseScheduledQuery(
        { ...query({ CronExpression: "0 0 30 2 *" }), Query: undefined, SnowflakeQuery: "SELECT 1" },
        "/rules/q.yml",
      ),
      { unsupported: "/rules/q.yml: scheduled query Q has no Query for Vigil's event store" },
    );
    assert.throws(
      () => parsed({ CronExpression: "0 * * * *", RateMinutes: 60 }),
      /exactly one of RateMinutes or CronExpression/,
    );
  });
});
