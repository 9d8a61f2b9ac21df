// Which destinations an alert goes to, with Panther's precedence:
//   1. the rule's destinations() result, when it returned a list ([] suppresses every delivery);
//   2. else the rule's static destination overrides (YAML `OutputIds`), when non-empty;
//   3. else default routing: destinations whose minimum severity the alert reaches and whose log types
//      (if any) include the alert's log type.
// Whatever the level, an alert raised from history (a backfill) goes only to destinations that ask for history.
// Entries may be destination ids or names (id first, then exact name, then case-insensitive name). At most
// 10 entries are considered (Panther drops the rest). Unknown entries are ignored and reported; when none
// of a non-empty list is known, routing falls through to the next level rather than losing the alert.

import { type Severity, severityRank } from "../core/detection.ts";
import type { Destination } from "./types.ts";

export const MAX_ROUTED_DESTINATIONS = 10;

export interface RoutableAlert {
  severity: Severity;
  logType: string;
  /** The rule's destinations() result: null when it has none (or returned nothing). */
  ruleDestinations: string[] | null;
  /** The rule's static destination overrides. */
  ruleDestinationOverrides?: string[] | null;
  /** Raised from history (a backfill): sent only to destinations with includeHistory. */
  fromHistory?: boolean;
}

export type RouteReason = "dynamic" | "override" | "default" | "suppressed" | "history";

export interface RouteDecision {
  destinations: Destination[];
  reason: RouteReason;
  /** Entries that named no configured destination (ignored). */
  unknown: string[];
  /** Entries beyond the first 10 (ignored). */
  dropped: string[];
}

function resolve(names: string[], all: Destination[], decision: RouteDecision): Destination[] {
  const kept = names.slice(0, MAX_ROUTED_DESTINATIONS);
  decision.dropped.push(...names.slice(MAX_ROUTED_DESTINATIONS));
  const out: Destination[] = [];
  for (const entry of kept) {
    const key = entry.trim();
    const lower = key.toLowerCase();
    const found =
      all.find((d) => d.id === key) ??
      all.find((d) => d.name === key) ??
      all.find((d) => d.name.toLowerCase() === lower);
    if (!found) decision.unknown.push(entry);
    else if (!out.includes(found)) out.push(found);
  }
  return out;
}

export function defaultRoute(alert: Pick<RoutableAlert, "severity" | "logType">, all: Destination[]): Destination[] {
  const rank = severityRank(alert.severity);
  return all.filter(
    (d) =>
      rank >= severityRank(d.minSeverity) &&
      (!d.logTypes || d.logTypes.length === 0 || d.logTypes.includes(alert.logType)),
  );
}

/** The full routing decision, with the reason and the ignored entries. */
export function explainRoute(alert: RoutableAlert, all: Destination[]): RouteDecision {
  const decision = routeByRule(alert, all);
  if (alert.fromHistory && decision.destinations.length > 0) {
    decision.destinations = decision.destinations.filter((d) => d.includeHistory === true);
    if (decision.destinations.length === 0) decision.reason = "history";
  }
  return decision;
}

function routeByRule(alert: RoutableAlert, all: Destination[]): RouteDecision {
  const decision: RouteDecision = { destinations: [], reason: "default", unknown: [], dropped: [] };
  if (alert.ruleDestinations !== null) {
    if (alert.ruleDestinations.length === 0) {
      decision.reason = "suppressed";
      return decision;
    }
    const found = resolve(alert.ruleDestinations, all, decision);
    if (found.length > 0) {
      decision.destinations = found;
      decision.reason = "dynamic";
      return decision;
    }
  }
  const overrides = alert.ruleDestinationOverrides ?? null;
  if (overrides !== null && overrides.length > 0) {
    const found = resolve(overrides, all, decision);
    if (found.length > 0) {
      decision.destinations = found;
      decision.reason = "override";
      return decision;
    }
  }
  decision.destinations = defaultRoute(alert, all);
  decision.reason = "default";
  return decision;
}

/**
 * The destinations an alert goes to. `onIgnored` hears about unknown and dropped entries (log them: a rule
 * names a destination that does not exist).
 */
export function routeAlert(
  alert: RoutableAlert,
  destinations: Destination[],
  onIgnored?: (ignored: { unknown: string[]; dropped: string[] }) => void,
): Destination[] {
  const decision = explainRoute(alert, destinations);
  if (onIgnored && (decision.unknown.length > 0 || decision.dropped.length > 0)) {
    onIgnored({ unknown: decision.unknown, dropped: decision.dropped });
  }
  return decision.destinations;
}
