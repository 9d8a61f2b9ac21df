// GET /api/overview (the console's home) and GET /api/health (system health).

import { Hono } from "hono";
import { isOpenAlertStatus, SEVERITIES } from "../../core/detection.ts";
import { isDeliveryOutage } from "../../pipeline/delivery-health.ts";
import { readSourceHealth } from "../../pipeline/health.ts";
import type { Store } from "../../storage/ports.ts";
import type { AppEnv, ServerContext } from "../context.ts";

const DAY = 86_400;

/** Each source with its health (pipeline/health.ts: the same state the CLI and /metrics show). */
export async function sourcesHealth(store: Store, nowMs: number) {
  const [sources, counts] = await Promise.all([store.listSources(), store.sourceCounts()]);
  return Promise.all(
    sources.map(async (s) => {
      const [status, health] = await Promise.all([store.getPollStatus(s.id), readSourceHealth(store, s, nowMs)]);
      const c = counts.find((x) => x.sourceId === s.id);
      return {
        id: s.id,
        name: s.name,
        enabled: s.enabled,
        health: health.state,
        healthReason: health.reason,
        lastSuccessMs: status.lastSuccessMs,
        lastError: status.lastError,
        consecutiveFailures: status.consecutiveFailures,
        events: c?.events ?? 0,
        quarantined: c?.quarantined ?? 0,
        ruleErrors: c?.ruleErrors ?? 0,
      };
    }),
  );
}

export function overviewRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const store = ctx.runtime.store;

  app.get("/overview", async (c) => {
    const nowSecs = Math.floor(ctx.nowMs() / 1000);
    const sinceSecs = (Math.floor(nowSecs / DAY) - 13) * DAY;
    // Every figure comes from the stores' counters (a few rows per day, type and source), never from a
    // pass over the events or alerts: the overview costs the same at a million events as at ten.
    const [eventsPerDay, alertCounts, sources, historyAlerts] = await Promise.all([
      store.eventHistogram({ sinceSecs, bucketSecs: DAY }),
      store.alertCounts(),
      sourcesHealth(store, ctx.nowMs()),
      store.historyAlertCounts(),
    ]);
    // Open as the alert list's UNRESOLVED filter means it (OPEN, ACKNOWLEDGED, TRIAGED): an alert someone
    // acknowledged still needs attention, and the console's tiles link to that filter.
    const openAlertsBySeverity = Object.fromEntries(
      SEVERITIES.map((sev) => [
        sev,
        alertCounts.filter((a) => isOpenAlertStatus(a.status) && a.severity === sev).reduce((n, a) => n + a.count, 0),
      ]),
    );
    return c.json({ sinceSecs, bucketSecs: DAY, eventsPerDay, openAlertsBySeverity, historyAlerts, sources });
  });

  app.get("/health", async (c) => {
    const [sources, deliveries, destinations, deadLetters] = await Promise.all([
      sourcesHealth(store, ctx.nowMs()),
      store.deliveryCounts(),
      store.listDestinations(),
      store.countDeadDeliveries(),
    ]);
    const deliveriesByStatus = Object.fromEntries(deliveries.map((d) => [d.status, d.count]));
    // A destination in an outage (as its DeliveryFailed alert judges it) is a fault too: when every destination is
    // down, the alert reaches nobody, and this is what outside monitoring sees.
    const outages = destinations.filter((d) => isDeliveryOutage(d.failing)).map((d) => d.name);
    return c.json({
      // Anything to look at (a warning included) makes the system not ok; a disabled source is not a fault.
      ok: sources.every((s) => s.health === "ok" || s.health === "disabled") && outages.length === 0,
      sources,
      deliveryBacklog: deliveriesByStatus.pending ?? 0,
      deliveriesByStatus,
      destinationsFailing: outages,
      deadLetters: [...deadLetters.values()].reduce((n, k) => n + k, 0),
      ruleErrors: sources.reduce((n, s) => n + s.ruleErrors, 0),
    });
  });

  return app;
}
