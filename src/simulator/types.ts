// The simulator's public contract (re-exported by index.ts).

import type { RawAuditLog } from "../core/audit-log.ts";
import type { Clock } from "../core/clock.ts";
import type { OrgDirectory } from "./directory.ts";
import type { FaultConfig } from "./faults.ts";
import type { InventoryScale, InventoryState, SilentChange } from "./inventory.ts";
import type { PostureScenarioName } from "./posture-scenarios.ts";
import type { ScenarioName } from "./scenarios.ts";

export type { FaultConfig } from "./faults.ts";
export type { ScenarioName } from "./scenarios.ts";

export interface SimulatorOptions {
  /** Everything (org, history, live activity, scenarios, faults) is deterministic from the seed. Default 1. */
  seed?: number;
  /** The only key accepted. Default "sk-admin-vigil-simulator-0000000000000000". */
  adminKey?: string;
  /** A key that authenticates but lacks `api.audit_logs.read`: 403 "Missing scopes". Default DEFAULT_NO_SCOPE_KEY. */
  readOnlyKeyWithoutScope?: string;
  /** Default systemClock. Visibility and live activity follow it. */
  clock?: Clock;
  /** Background history of `days × eventsPerDay` events ending at endSecs (default: the clock's now at start). */
  history?: { days: number; eventsPerDay: number; endSecs?: number };
  /** Ongoing activity after the history (or after start), generated lazily per clock minute; deterministic. */
  live?: { eventsPerMinute: number };
  /**
   * Background activity: "benign" (default) is the routine organization, a week no detection should page on:
   * every known type except control-weakening actions (`scim.disabled`, …) and risky changes (a new admin
   * API key, a cross-tenant share grant), which belong to scenarios. "realistic" includes those too.
   */
  profile?: "realistic" | "benign";
  /** Fraction of background events that are tenant-scoped. Default 0.05. */
  tenantShare?: number;
  /** `count` background events all in the one second `atSecs`. */
  bursts?: Array<{ atSecs: number; count: number }>;
  /** Scenarios to run at start. Without atSecs they are spread over the hour before the history end / now. */
  scenarios?: Array<{ name: ScenarioName; atSecs?: number }>;
  /** Posture scenarios (posture-scenarios.ts) acting on the Admin API state; same default times as scenarios. */
  postureScenarios?: Array<{ name: PostureScenarioName; atSecs?: number }>;
  /** Grow the organization to at least this many users, projects and project keys (benchmarks). */
  inventory?: InventoryScale;
  /**
   * Admin API list paths (e.g. "/organization/invites", or a per-project suffix "/service_accounts") that answer
   * 403 "Missing scopes: api.management.read", as for a key created without that scope.
   */
  deniedPaths?: string[];
  /** All default to 0 / off. */
  faults?: Partial<FaultConfig>;
  /** Fixed latency added to every response (benchmarks). */
  pageDelayMs?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
}

/** Which events `visibleEvents` returns: everything, only what a plain poll sees, or only `tenant_only=true`. */
export type VisibleScope = "all" | "classic" | "tenant";

export interface SimulatedOrg {
  /** The org's users, projects, keys, … (read-only; for tests and demos). */
  readonly directory: OrgDirectory;
  /** Every event the org holds, visible or not yet visible, newest first. Live activity is generated up to now. */
  allEvents(): RawAuditLog[];
  /**
   * The events the API shows at nowSecs (late ones only once visible), newest first. By default both the plain
   * poll's events and the tenant-scoped ones; `scope: "classic"` gives exactly what a poll without
   * `tenant_only` can see.
   */
  visibleEvents(nowSecs: number, options?: { scope?: VisibleScope }): RawAuditLog[];
  /** Adds records as given; they become visible at visibleAtSecs (default: their effective_at). */
  addEvents(events: RawAuditLog[], options?: { visibleAtSecs?: number }): void;
  /** Adds and returns the scenario's events (newest first). */
  runScenario(name: ScenarioName, atSecs: number): RawAuditLog[];
  /** Sets up a posture scenario (Admin API state, with or without audit events); returns its audit events. */
  runPostureScenario(name: PostureScenarioName, atSecs: number): RawAuditLog[];
  /** A change of the Admin API state that leaves no audit event (drift). */
  addSilentChange(change: SilentChange): void;
  /** The Admin API state at nowSecs. */
  inventory(nowSecs: number): InventoryState;
}

export interface SimulatorStats {
  requests: number;
  /** Status code (as a string) → responses sent. Hung requests send none. */
  byStatus: Record<string, number>;
  /** rateLimit, serverError, slow, hang, reset, truncate (per request) and unknownType, malformedRecord, lateEvent (per generated event). */
  faultsInjected: Record<string, number>;
}

export interface RunningSimulator {
  /** "http://127.0.0.1:PORT/v1" */
  baseUrl: string;
  adminKey: string;
  /** The key that gets 403 "Missing scopes: api.audit_logs.read". */
  noScopeKey: string;
  org: SimulatedOrg;
  /** Replaces the fault configuration (what is not given returns to off). Data faults apply to events generated from now on. */
  setFaults(faults: Partial<FaultConfig>): void;
  /** Admin API list paths answered 403 "Missing scopes" from now on (see SimulatorOptions.deniedPaths). */
  setDeniedPaths(paths: string[]): void;
  stats(): SimulatorStats;
  /** Closes the server and every socket, hung ones included. */
  close(): Promise<void>;
}
