// The one store: every operation of the Store port written once, over Kysely, with the differences between
// SQLite and PostgreSQL behind a StoreDialect (./dialect.ts). Each area of the store is its own module that
// returns its operations bound to a StoreContext; `openStore` puts them together.

import { DEFAULT_ALERT_LIMIT_PER_HOUR } from "../../alerts/limiter.ts";
import { type Clock, systemClock } from "../../core/clock.ts";
import type { Store } from "../ports.ts";
import { accessOps } from "./access.ts";
import { alertListOps } from "./alert-list.ts";
import { alertOps } from "./alerts.ts";
import { backfillOps } from "./backfill.ts";
import { deliveryOps } from "./delivery.ts";
import { detectionOps } from "./detections.ts";
import type { MigrationNotice, StoreContext, StoreDialect } from "./dialect.ts";
import { eventOps } from "./events.ts";
import { fleetOps } from "./fleet.ts";
import { loginThrottleOps } from "./login-throttle.ts";
import { postureOps } from "./posture.ts";
import { RuleStateCache } from "./rule-state-cache.ts";
import { scheduledSlotOps } from "./scheduled-slots.ts";
import { searchOps } from "./search.ts";
import { SourceNumbers } from "./source-numbers.ts";
import { sourceOps } from "./sources.ts";
import { statsOps } from "./stats.ts";
import { suppressionOps } from "./suppressions.ts";
import { textIndexer } from "./text-index.ts";
import { triageOps } from "./triage.ts";
import { userAdminOps } from "./users.ts";

export interface StoreOptions {
  clock?: Clock;
  alertLimitPerHour?: number;
  /** Told of each migration before it runs on a database with data (see StoreDialect.migrate). */
  onMigration?: MigrationNotice;
}

/** Every operation but the lifecycle: what the area modules provide between them. */
export type StoreOps = Omit<Store, "migrate" | "close">;

export function openStore(dialect: StoreDialect, options: StoreOptions = {}): Store {
  const ctx: StoreContext = {
    dialect,
    clock: options.clock ?? systemClock,
    alertLimitPerHour: options.alertLimitPerHour ?? DEFAULT_ALERT_LIMIT_PER_HOUR,
    sourceNumbers: new SourceNumbers(),
    ruleStateCache: new RuleStateCache(),
  };
  const textIndex = dialect.pageWriter?.textIndex ?? textIndexer(ctx);
  const ops: StoreOps = {
    // sources, stream state, poll status
    ...sourceOps(ctx),
    // backfill jobs and slices
    ...backfillOps(ctx),
    // events: the page write, search, quarantine, unknown types, scheduled queries
    ...eventOps(ctx, textIndex),
    ...scheduledSlotOps(ctx),
    // detections: matches, alert windows, alerts, rule state, settings, correlation
    ...detectionOps(ctx),
    ...alertOps(ctx),
    // the alert list and its count; triage: bulk status, assignment, comments, history
    ...alertListOps(ctx),
    ...triageOps(ctx),
    // destinations, outbox, deliveries
    ...deliveryOps(ctx),
    // users, sessions, API tokens
    ...accessOps(ctx),
    ...userAdminOps(ctx),
    // suppressions (issue 12) and login throttling
    ...suppressionOps(ctx),
    ...loginThrottleOps(ctx),
    // the search page: histogram of a search, saved searches
    ...searchOps(ctx),
    // overview counters
    ...statsOps(ctx),
    // inventory snapshots
    ...postureOps(ctx),
    // workers and leases of a fleet on one PostgreSQL database
    ...fleetOps(ctx),
  };
  return {
    ...ops,
    async migrate() {
      await dialect.migrate(ctx.clock.nowMs(), options.onMigration);
      // Events queued for the text index before a restart (or by a migration) are indexed now.
      textIndex.schedule();
    },
    async close() {
      await textIndex.stop();
      await dialect.close();
    },
  };
}

/** `store` once its database is migrated; when migrating fails, the store is closed and the error thrown. */
export async function migrated<S extends Store>(store: S): Promise<S> {
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
