// Alerts: list, detail (matches with their events, runbook, deliveries), status change.

import { Hono } from "hono";
import { z } from "zod";
import { ALERT_STATUSES, isSeverity } from "../../core/detection.ts";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import type { AlertQuery } from "../../storage/ports.ts";
import { type AppEnv, intParam, readBody, type ServerContext, strParam } from "../context.ts";
import { eventView } from "./events.ts";

const STATUSES = ALERT_STATUSES;
const StatusSchema = z.object({ status: z.enum(STATUSES) });

export function alertRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const store = ctx.runtime.store;

  app.get("/alerts", async (c) => {
    const query: AlertQuery = { limit: intParam(c, "limit", { min: 1, max: 10_000 }) ?? 100 };
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
    return c.json({ alerts: await store.listAlerts(query) });
  });

  app.get("/alerts/:id", async (c) => {
    const id = c.req.param("id");
    const alert = await store.getAlert(id);
    if (!alert) throw new NotFoundError(`There is no alert ${JSON.stringify(id)}.`);
    const [matches, deliveries, statusChanges] = await Promise.all([
      store.getAlertMatches(id, 200),
      store.listDeliveries(id),
      store.listAlertStatusChanges(id),
    ]);
    return c.json({
      alert,
      runbook: alert.runbook,
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
