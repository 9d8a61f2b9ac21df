// The one store: every operation of the Store port written once, over Kysely, with the differences between
// SQLite and PostgreSQL behind a StoreDialect (./dialect.ts). Each area of the store is its own module that
// returns its operations bound to a StoreContext; `openStore` puts them together.
//
// MIGRATION IN PROGRESS: areas not yet moved here are answered by the old per-dialect store (`legacy`), which
// shares the same connection. Each area replaces its `legacyOps(...)` line below with its own module.

import { DEFAULT_ALERT_LIMIT_PER_HOUR } from "../../alerts/limiter.ts";
import { type Clock, systemClock } from "../../core/clock.ts";
import type { Store } from "../ports.ts";
import { backfillOps } from "./backfill.ts";
import type { StoreContext, StoreDialect } from "./dialect.ts";
import {
  ACCESS_KEYS,
  ALERT_KEYS,
  DELIVERY_KEYS,
  EVENT_KEYS,
  type LegacyStore,
  legacyOps,
  STATS_KEYS,
} from "./legacy.ts";
import { postureOps } from "./posture.ts";
import { sourceOps } from "./sources.ts";

export interface StoreOptions {
  clock?: Clock;
  alertLimitPerHour?: number;
}

/** Every operation but the lifecycle: what the area modules provide between them. */
export type StoreOps = Omit<Store, "migrate" | "close">;

export function openStore(dialect: StoreDialect, legacy: LegacyStore, options: StoreOptions = {}): Store {
  const ctx: StoreContext = {
    dialect,
    clock: options.clock ?? systemClock,
    alertLimitPerHour: options.alertLimitPerHour ?? DEFAULT_ALERT_LIMIT_PER_HOUR,
  };
  const ops: StoreOps = {
    // sources, stream state, poll status
    ...sourceOps(ctx),
    // backfill jobs and slices
    ...backfillOps(ctx),
    // events: the page write, search, quarantine, unknown types, scheduled queries
    ...legacyOps(legacy, EVENT_KEYS),
    // detections: matches, alert windows, alerts, rule state, settings, correlation
    ...legacyOps(legacy, ALERT_KEYS),
    // destinations, outbox, deliveries
    ...legacyOps(legacy, DELIVERY_KEYS),
    // users, sessions, API tokens
    ...legacyOps(legacy, ACCESS_KEYS),
    // overview counters
    ...legacyOps(legacy, STATS_KEYS),
    // inventory snapshots
    ...postureOps(ctx),
  };
  return {
    ...ops,
    migrate: () => legacy.migrate(),
    close: () => legacy.close(),
  };
}
