// Alerts: list, detail (matches with their events, runbook, deliveries), status change.

import { Hono } from "hono";
import { z } from "zod";
import { ALERT_STATUSES, isSeverity } from "../../core/detection.ts";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import type { RuleSet } from "../../detections/engine/load.ts";
import type { AlertCursor, AlertQuery } from "../../storage/ports.ts";
import { type AppEnv, intParam, readBody, type ServerContext, strParam } from "../context.ts";
import { keysetPages, streamJsonList } from "../json-stream.ts";
import { eventView } from "./events.ts";

const STATUSES = ALERT_STATUSES;
const StatusSchema = z.object({ status: z.enum(STATUSES) });

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

  app.get("/alerts", async (c) => {
    const limit = intParam(c, "limit", { min: 1, max: 10_000 }) ?? 100;
    const query: AlertQuery = {};
    const status = strParam(c, "status")?.toUpperCase();
    if (status !== undefined) {
      if (!(STATUSES as readonly string[]).includes(status)) {
        throw new UsageError(`The status must be one of ${STATUSES.join(", ")}.`);
      }
      query.status = status as AlertQuery["status"] & string;
    }
    const severity = strParam(c, "severity")?.toUpperCase();
    if (severity !== undefined) {
      if (!isSeverity(severity)) throw new UsageError("The severity must be INFO, LOW, MEDIUM, HIGH or CRITICAL.");
      query.severity = severity;
    }
    const rule = strParam(c, "rule");
    if (rule !== undefined) query.ruleId = rule;
    const source = strParam(c, "source");
    if (source !== undefined) {
      const record = await store.getSource(source);
      if (!record) throw new NotFoundError(`There is no source ${JSON.stringify(source)}.`);
      query.sourceId = record.id;
    }
    // history=true: only alerts raised from history (a backfill); history=false: only live ones.
    const history = strParam(c, "history");
    if (history !== undefined) {
      if (history !== "true" && history !== "false") throw new UsageError("The history parameter is true or false.");
      query.fromHistory = history === "true";
    }
    // Read and sent a page at a time, like the events (see json-stream.ts).
    const encoder = new TextEncoder();
    const pages = keysetPages(limit, async (after: AlertCursor | undefined, n) => {
      const alerts = await store.listAlerts({ ...query, limit: n, after });
      const last = alerts.at(-1);
      return {
        json: encoder.encode(alerts.map((a) => JSON.stringify(a)).join(",")),
        count: alerts.length,
        last:
          last === undefined
            ? null
            : { createdAtMs: last.createdAtMs, windowStartSecs: last.windowStartSecs, id: last.id },
      };
    });
    return streamJsonList(c, "alerts", pages, (err) =>
      ctx.runtime.logger.error({ err }, "An alert list failed while its answer was being sent."),
    );
  });

  app.get("/alerts/:id", async (c) => {
    const id = c.req.param("id");
    const alert = await store.getAlert(id);
    if (!alert) throw new NotFoundError(`There is no alert ${JSON.stringify(id)}.`);
    const [matches, deliveries, statusChanges, rules] = await Promise.all([
      store.getAlertMatches(id, 200),
      store.listDeliveries(id),
      store.listAlertStatusChanges(id),
      ctx.rules(),
    ]);
    return c.json({
      alert,
      runbook: alert.runbook,
      reports: alertReports(alert.ruleId, rules, matches[0]?.match.reports),
      matches: matches.map((m) => ({ match: m.match, event: m.event ? eventView(m.event) : null })),
      deliveries,
      statusChanges,
    });
  });

  app.post("/alerts/:id/status", async (c) => {
    const { status } = await readBody(c, StatusSchema);
    const auth = c.get("auth");
    const by =
      auth.kind === "session" ? `user:${auth.user?.username ?? "unknown"}` : `token:${auth.tokenName ?? "unknown"}`;
    const alert = await store.setAlertStatus(c.req.param("id"), status, ctx.nowMs(), by);
    return c.json({ alert });
  });

  return app;
}
