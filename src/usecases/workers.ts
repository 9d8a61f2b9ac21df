// The fleet as an operator sees it (issue 14): the workers sharing this database, whether each is live, stopped
// or dead, and what it holds — the sources it polls by name, and how many backfill slices and cluster jobs.
// Written once for `vigil workers`, GET /api/workers (and through it the console) and /metrics, all read from
// the store's ledger (storage/store/fleet.ts), so any worker shows the whole cluster.

import type { WorkerRecord } from "../core/fleet.ts";
import { leaseKind } from "../fleet/lease-names.ts";
import type { Runtime } from "../pipeline/runtime.ts";

export const WORKER_STATES = ["live", "stopped", "dead"] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

/**
 * live: heartbeats younger than its lease TTL (on the database's clock); stopped: it left cleanly and released
 * its leases; dead: it went silent without leaving (killed, crashed, cut off), so its leases expire on their own.
 */
export function workerState(w: Pick<WorkerRecord, "live" | "stoppedAtMs">): WorkerState {
  if (w.stoppedAtMs !== null) return "stopped";
  return w.live ? "live" : "dead";
}

export interface WorkerView {
  id: string;
  host: string;
  pid: number;
  version: string;
  state: WorkerState;
  startedAtMs: number;
  heartbeatAtMs: number;
  /** This process's clock minus the database's heartbeat time: a skewed clock shows here, never in a lease. */
  heartbeatAgeMs: number;
  leaseTtlMs: number;
  stoppedAtMs: number | null;
  rebalances: number;
  /** The sources it polls, by name (a source removed meanwhile shows its id). */
  sources: Array<{ id: string; name: string }>;
  backfillSlices: number;
  clusterJobs: number;
  /** Leases of no known kind. */
  otherLeases: number;
}

export interface FleetView {
  /** Fleets need PostgreSQL: on SQLite one process does all the work. */
  database: "postgresql" | "sqlite";
  /** Said wherever the fleet is shown, so that nobody looks for a second worker on SQLite. */
  note: string | null;
  workers: WorkerView[];
  /**
   * Enabled sources no live worker holds, by name. Empty on SQLite (its one process polls every source without
   * leases) and while no worker is live (nobody to hold them).
   */
  unassignedSources: string[];
}

export const SQLITE_FLEET_NOTE =
  "The store is SQLite: a single process does all the work; fleets need PostgreSQL (VIGIL_DATABASE_URL, see docs/deploy.md).";

export async function describeFleet(runtime: Pick<Runtime, "env" | "store" | "clock">): Promise<FleetView> {
  const [workers, sources] = await Promise.all([runtime.store.listWorkers(), runtime.store.listSources()]);
  const nameOf = new Map(sources.map((s) => [s.id, s.name]));
  const nowMs = runtime.clock.nowMs();
  const held = new Set<string>();
  const views = workers.map((w): WorkerView => {
    const view: WorkerView = {
      id: w.id,
      host: w.host,
      pid: w.pid,
      version: w.version,
      state: workerState(w),
      startedAtMs: w.startedAtMs,
      heartbeatAtMs: w.heartbeatAtMs,
      heartbeatAgeMs: Math.max(0, nowMs - w.heartbeatAtMs),
      leaseTtlMs: w.leaseTtlMs,
      stoppedAtMs: w.stoppedAtMs,
      rebalances: w.rebalances,
      sources: [],
      backfillSlices: 0,
      clusterJobs: 0,
      otherLeases: 0,
    };
    for (const name of w.leases) {
      const lease = leaseKind(name);
      if (lease.kind === "source") {
        view.sources.push({ id: lease.sourceId, name: nameOf.get(lease.sourceId) ?? lease.sourceId });
        if (view.state === "live") held.add(lease.sourceId);
      } else if (lease.kind === "backfill") view.backfillSlices++;
      else if (lease.kind === "cluster") view.clusterJobs++;
      else view.otherLeases++;
    }
    view.sources.sort((a, b) => a.name.localeCompare(b.name));
    return view;
  });
  const anyLive = views.some((w) => w.state === "live");
  const sqlite = runtime.env.databaseUrl === undefined;
  return {
    database: sqlite ? "sqlite" : "postgresql",
    note: sqlite ? SQLITE_FLEET_NOTE : null,
    workers: views,
    unassignedSources:
      !sqlite && anyLive
        ? sources
            .filter((s) => s.enabled && !held.has(s.id))
            .map((s) => s.name)
            .sort((a, b) => a.localeCompare(b))
        : [],
  };
}
