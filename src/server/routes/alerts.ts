// Alerts: the list (filters, order, pages with a total), detail (matches with their events, runbook, deliveries,
// history), and triage: status change of one or many, assignment, comments. Analysts may triage (no admin).

import { type Context, Hono } from "hono";
import { z } from "zod";
import { ALERT_COMMENT_MAX_CHARS, type AlertRecord, BULK_STATUS_MAX } from "../../core/alert.ts";
import {
  ALERT_STATUS_FILTERS,
  ALERT_STATUSES,
  isSeverity,
  parseAlertStatus,
  parseAlertStatusFilter,
} from "../../core/detection.ts";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import type { RuleSet } from "../../detections/engine/load.ts";
import { ALERT_SORTS, type AlertCursor, type AlertFilter, type AlertSort, type Store } from "../../storage/ports.ts";
import { type AppEnv, intParam, readBody, type ServerContext, strParam } from "../context.ts";
import { keysetPages, streamJsonList } from "../json-stream.ts";
import { requestActor } from "../request-actor.ts";
import { eventView } from "./events.ts";

/** A status in any case, as the CLI takes it. */
const Status = z.string().transform((text, zc) => {
  const status = parseAlertStatus(text);
  if (status === undefined) {
    zc.issues.push({ code: "custom", input: text, message: `a status is one of ${ALERT_STATUSES.join(", ")}` });
    return z.NEVER;
  }
  return status;
});
// `expected…`: what the caller saw of the alert (its status, its assignee) when deciding. Given, a change to an
// alert that has moved on since is refused with 409 (core/alert.ts triageConflict); left out, the last write wins.
const StatusSchema = z.object({ status: Status, expectedStatus: Status.optional() });
const BulkStatusSchema = z.object({
  ids: z.array(z.string().min(1).max(200)).min(1).max(BULK_STATUS_MAX),
  status: Status,
  /** Alert id → the status the caller's list showed. */
  expectedStatuses: z.record(z.string().min(1).max(200), Status).optional(),
});
/** A username, or null to unassign. */
const Assignee = z.string().min(1).max(200).nullable();
const AssignSchema = z.object({ assignee: Assignee, expectedAssignee: Assignee.optional() });
// Two UTF-16 units per character at most: the store counts characters (commentOnAlert).
const CommentSchema = z.object({
  body: z
    .string()
    .min(1)
    .max(ALERT_COMMENT_MAX_CHARS * 2),
});

/** The list's filters from the query: status, severity, rule, source, assignee or unassigned, since/until, history. */
async function alertFilter(c: Context<AppEnv>, store: Store): Promise<AlertFilter> {
  const filter: AlertFilter = {};
  const statusText = strParam(c, "status");
  if (statusText !== undefined) {
    const status = parseAlertStatusFilter(statusText);
    if (status === undefined) {
      throw new UsageError(`The status must be one of ${ALERT_STATUS_FILTERS.join(", ")}.`);
    }
    filter.status = status;
  }
  const severity = strParam(c, "severity")?.toUpperCase();
  if (severity !== undefined) {
    if (!isSeverity(severity)) throw new UsageError("The severity must be INFO, LOW, MEDIUM, HIGH or CRITICAL.");
    filter.severity = severity;
  }
  const rule = strParam(c, "rule");
  if (rule !== undefined) filter.ruleId = rule;
  const source = strParam(c, "source");
  if (source !== undefined) {
    const record = await store.getSource(source);
    if (!record) throw new NotFoundError(`There is no source ${JSON.stringify(source)}.`);
    filter.sourceId = record.id;
  }
  const assignee = strParam(c, "assignee");
  const unassigned = boolParam(c, "unassigned");
  if (assignee !== undefined && unassigned) throw new UsageError("Use either assignee or unassigned=true, not both.");
  if (assignee !== undefined) filter.assignee = assignee;
  if (unassigned) filter.assignee = null;
  // Creation time, in Unix seconds like the events' since/until.
  const since = intParam(c, "since", { min: 0, max: 1e11 });
  if (since !== undefined) filter.sinceMs = since * 1000;
  const until = intParam(c, "until", { min: 0, max: 1e11 });
  if (until !== undefined) filter.untilMs = until * 1000;
  // history=true: only alerts raised from history (a backfill); history=false: only live ones.
  const history = boolParam(c, "history");
  if (history !== undefined) filter.fromHistory = history;
  return filter;
}

function boolParam(c: Context<AppEnv>, name: string): boolean | undefined {
  const value = strParam(c, name);
  if (value === undefined) return undefined;
  if (value !== "true" && value !== "false") throw new UsageError(`The ${name} parameter is true or false.`);
  return value === "true";
}

/**
 * The rule's `Reports` (e.g. MITRE ATT&CK tactic:technique pairs) for an alert. Alerts store the rule id only,
 * so they come from the rule as loaded now; a rule removed since falls back to what its first match recorded.
 */
function alertReports(
  ruleId: string,
  rules: RuleSet,
  recorded: Record<string, string[]> | undefined,
): Record<string, string[]> {
  const rule =
    rules.rules.find((r) => r.id === ruleId) ?? (rules.correlationRules ?? []).find((r) => r.ruleId === ruleId);
  return rule?.reports ?? recorded ?? {};
}

export function alertRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const store = ctx.runtime.store;

  // The list: filters, order, a page (offset + limit) and the total those filters match.
  app.get("/alerts", async (c) => {
    const limit = intParam(c, "limit", { min: 1, max: 10_000 }) ?? 100;
    const offset = intParam(c, "offset", { min: 0, max: 1_000_000_000 }) ?? 0;
    const sortParam = strParam(c, "sort") ?? "newest";
    if (!(ALERT_SORTS as readonly string[]).includes(sortParam)) {
      throw new UsageError(`The sort must be one of ${ALERT_SORTS.join(", ")}.`);
    }
    const sort = sortParam as AlertSort;
    const filter = await alertFilter(c, store);
    // The list as it stood at one moment of the server's clock (the one alerts are created on): now, or the
    // `asOf` (ms) of the list's first page, so its later pages neither repeat nor skip alerts created meanwhile.
    const asOfMs = intParam(c, "asOf", { min: 0, max: 1e14 }) ?? ctx.nowMs();
    // The count as of then: the filters' count (the counters answer it when they can, at any size) less the
    // alerts created since (an index range over just those), rather than a count bounded by time, which no
    // counter answers and which reads every matching alert.
    const since = await store.countAlerts({ ...filter, sinceMs: Math.max(filter.sinceMs ?? 0, asOfMs + 1) });
    const total = Math.max(0, (await store.countAlerts(filter)) - since);
    filter.untilMs = Math.min(filter.untilMs ?? Number.POSITIVE_INFINITY, asOfMs + 1);
    // Read and sent a page at a time, like the events (see json-stream.ts): the newest-first order by keyset
    // from the start, any other order or a later start by offset.
    const encoder = new TextEncoder();
    const page = (alerts: AlertRecord[]) => ({
      json: encoder.encode(alerts.map((a) => JSON.stringify(a)).join(",")),
      count: alerts.length,
    });
    const pages =
      sort === "newest" && offset === 0
        ? keysetPages(limit, async (after: AlertCursor | undefined, n) => {
            const alerts = await store.listAlerts({ ...filter, limit: n, after });
            const last = alerts.at(-1);
            return {
              ...page(alerts),
              last:
                last === undefined
                  ? null
                  : { createdAtMs: last.createdAtMs, windowStartSecs: last.windowStartSecs, id: last.id },
            };
          })
        : keysetPages(limit, async (from: number | undefined, n) => {
            const start = from ?? offset;
            const alerts = await store.listAlerts({ ...filter, sort, offset: start, limit: n });
            return { ...page(alerts), last: start + alerts.length };
          });
    return streamJsonList(
      c,
      "alerts",
      pages,
      (err) => ctx.runtime.logger.error({ err }, "An alert list failed while its answer was being sent."),
      { total, offset, asOfMs },
    );
  });

  // Who alerts can be assigned to (analysts too: they assign each other).
  app.get("/assignees", async (c) => c.json({ assignees: await store.listAssignees() }));

  // Several alerts at once (the list's selection): all change or none.
  app.post("/alerts/status", async (c) => {
    const { ids, status, expectedStatuses } = await readBody(c, BulkStatusSchema);
    const alerts = await store.setAlertsStatus(ids, status, ctx.nowMs(), requestActor(c), expectedStatuses);
    return c.json({ alerts });
  });

  app.get("/alerts/:id", async (c) => {
    const id = c.req.param("id");
    const alert = await store.getAlert(id);
    if (!alert) throw new NotFoundError(`There is no alert ${JSON.stringify(id)}.`);
    const [matches, deliveries, statusChanges, activity, rules] = await Promise.all([
      store.getAlertMatches(id, 200),
      store.listDeliveries(id),
      store.listAlertStatusChanges(id),
      store.listAlertActivity(id),
      ctx.rules(),
    ]);
    return c.json({
      alert,
      runbook: alert.runbook,
      reports: alertReports(alert.ruleId, rules, matches[0]?.match.reports),
      matches: matches.map((m) => ({ match: m.match, event: m.event ? eventView(m.event) : null })),
      deliveries,
      statusChanges,
      activity,
    });
  });

  app.post("/alerts/:id/status", async (c) => {
    const { status, expectedStatus } = await readBody(c, StatusSchema);
    const alert = await store.setAlertStatus(c.req.param("id"), status, ctx.nowMs(), requestActor(c), expectedStatus);
    return c.json({ alert });
  });

  app.post("/alerts/:id/assign", async (c) => {
    const { assignee, expectedAssignee } = await readBody(c, AssignSchema);
    const alert = await store.assignAlert(c.req.param("id"), assignee, ctx.nowMs(), requestActor(c), expectedAssignee);
    return c.json({ alert });
  });

  app.post("/alerts/:id/comments", async (c) => {
    const { body } = await readBody(c, CommentSchema);
    const comment = await store.commentOnAlert(c.req.param("id"), body, ctx.nowMs(), requestActor(c));
    return c.json({ comment }, 201);
  });

  return app;
}
