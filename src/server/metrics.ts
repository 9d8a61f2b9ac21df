// GET /metrics: Prometheus text exposition format (0.0.4), derived from the store on each scrape.

import type { Handler } from "hono";
import { isDeliveryOutage } from "../pipeline/delivery-health.ts";
import { HEALTH_STATES, readSourceHealth } from "../pipeline/health.ts";
import { WORKER_STATES, workerState } from "../usecases/workers.ts";
import { passwordChecks } from "./auth.ts";
import type { AppEnv, ServerContext } from "./context.ts";

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

class Exposition {
  readonly #lines: string[] = [];

  family(name: string, type: "counter" | "gauge", help: string, samples: Array<[Record<string, string>, number]>) {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const entries = Object.entries(labels);
      const l = entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
      this.#lines.push(`${name}${l} ${Number.isFinite(value) ? String(value) : "NaN"}`);
    }
  }

  toString(): string {
    return `${this.#lines.join("\n")}\n`;
  }
}

export async function renderMetrics(ctx: ServerContext): Promise<string> {
  const store = ctx.runtime.store;
  const [sources, counts, deliveries, workers, destinations, deadLetters] = await Promise.all([
    store.listSources(),
    store.sourceCounts(),
    store.deliveryCounts(),
    store.listWorkers(),
    store.listDestinations(),
    store.countDeadDeliveries(),
  ]);
  const nowMs = ctx.nowMs();
  const [statuses, health] = await Promise.all([
    Promise.all(sources.map((s) => store.getPollStatus(s.id))),
    Promise.all(sources.map((s) => readSourceHealth(store, s, nowMs))),
  ]);
  const label = (i: number) => ({ source: sources[i]?.name ?? "" });
  const count = (id: string) => counts.find((c) => c.sourceId === id);
  const out = new Exposition();
  out.family("vigil_up", "gauge", "1 while the Vigil server answers.", [[{}, 1]]);
  out.family(
    "vigil_events_ingested_total",
    "counter",
    "Events stored, per source.",
    sources.map((s, i) => [label(i), count(s.id)?.events ?? 0]),
  );
  out.family(
    "vigil_events_quarantined_total",
    "counter",
    "Records quarantined as invalid, per source.",
    sources.map((s, i) => [label(i), count(s.id)?.quarantined ?? 0]),
  );
  out.family(
    "vigil_rule_errors_total",
    "counter",
    "Rule evaluations that raised an error, per source.",
    sources.map((s, i) => [label(i), count(s.id)?.ruleErrors ?? 0]),
  );
  const polled = statuses
    .map((st, i) => [i, st] as const)
    .filter(([, st]) => st.lastPollStartedMs !== null && st.lastPollFinishedMs !== null);
  out.family(
    "vigil_poll_duration_seconds",
    "gauge",
    "Duration of the last completed poll, per source.",
    polled
      .filter(([, st]) => (st.lastPollFinishedMs ?? 0) >= (st.lastPollStartedMs ?? 0))
      .map(([i, st]) => [label(i), ((st.lastPollFinishedMs ?? 0) - (st.lastPollStartedMs ?? 0)) / 1000]),
  );
  out.family(
    "vigil_last_poll_timestamp_seconds",
    "gauge",
    "When the last poll finished (Unix seconds), per source.",
    polled.map(([i, st]) => [label(i), (st.lastPollFinishedMs ?? 0) / 1000]),
  );
  out.family(
    "vigil_last_successful_poll_timestamp_seconds",
    "gauge",
    "When the last successful poll finished (Unix seconds), per source.",
    statuses
      .map((st, i) => [i, st] as const)
      .filter(([, st]) => st.lastSuccessMs !== null)
      .map(([i, st]) => [label(i), (st.lastSuccessMs ?? 0) / 1000]),
  );
  out.family(
    "vigil_poll_consecutive_failures",
    "gauge",
    "Polls failed in a row, per source.",
    statuses.map((st, i) => [label(i), st.consecutiveFailures]),
  );
  out.family(
    "vigil_source_health",
    "gauge",
    "1 for the source's health state (ok, warning, no_data, failing, disabled; as in the API and CLI), 0 for the others.",
    sources.flatMap((_, i) =>
      HEALTH_STATES.map((state): [Record<string, string>, number] => [
        { ...label(i), state },
        health[i]?.state === state ? 1 : 0,
      ]),
    ),
  );
  out.family(
    "vigil_deliveries",
    "gauge",
    "Alert deliveries by status.",
    (["pending", "sent", "failed"] as const).map((status) => [
      { status },
      deliveries.find((d) => d.status === status)?.count ?? 0,
    ]),
  );
  out.family(
    "vigil_destination_failing",
    "gauge",
    "1 while deliveries to the destination are in an outage (a dead letter, or failures spanning 5 minutes), else 0.",
    destinations.map((d) => [{ destination: d.name }, isDeliveryOutage(d.failing) ? 1 : 0]),
  );
  out.family(
    "vigil_dead_letters",
    "gauge",
    "Deliveries given up that `vigil destinations retry` would send again, per destination.",
    destinations.map((d) => [{ destination: d.name }, deadLetters.get(d.id) ?? 0]),
  );
  out.family(
    "vigil_password_checks",
    "gauge",
    'Login password checks of this process, running or waiting, per lane (any: everyone\'s; known_device: logins from a browser that logged in as that user before). A full "any" queue is a flood of logins.',
    Object.entries(passwordChecks()).flatMap(([lane, counts]) =>
      Object.entries(counts).map(([state, n]): [Record<string, string>, number] => [{ lane, state }, n]),
    ),
  );
  // The fleet (docs/deploy.md), from the store's ledger: every worker's /metrics shows the whole cluster.
  const states = workers.map(workerState);
  out.family(
    "vigil_workers",
    "gauge",
    "Workers seen in the last day sharing this database, by state (live, stopped cleanly, dead: silent past its lease TTL).",
    WORKER_STATES.map((state) => [{ state }, states.filter((s) => s === state).length]),
  );
  out.family(
    "vigil_worker_leases",
    "gauge",
    "Unexpired leases (sources, backfill slices, cluster jobs) held, per worker.",
    workers.map((w) => [{ worker: w.id }, w.leases.length]),
  );
  out.family(
    "vigil_lease_rebalances_total",
    "counter",
    "Leases the worker gave up to even out the load since it started, per worker.",
    workers.map((w) => [{ worker: w.id }, w.rebalances]),
  );
  return out.toString();
}

export function metricsRoute(ctx: ServerContext): Handler<AppEnv> {
  return async (c) => {
    c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(await renderMetrics(ctx));
  };
}
