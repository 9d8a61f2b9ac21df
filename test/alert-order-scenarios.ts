// Seeded scenarios for the arrival-order property of alert grouping (docs/security.md, finding 7): a set of
// events with their rule matches, and random ways of delivering that same set — shuffled or newest first,
// cut into pages of random sizes, spread over parallel slices, with already-delivered events read again.
// Used by the pure test of src/alerts/windows.ts and by the store contract (both stores).

import type { RuleMatch, Severity } from "../src/core/detection.ts";
import { Rng } from "../src/simulator/prng.ts";

export { Rng };

/** One event and the matches the rules made of it: a page carries them together. */
export interface ScenarioEvent {
  id: string;
  t: number;
  matches: RuleMatch[];
}

/** Aligned to no period on purpose: grid windows must not depend on a friendly origin. */
const BASE_SECS = 1_700_000_123;
const SEVERITIES: readonly Severity[] = ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"];

interface RuleShape {
  ruleId: string;
  threshold: () => number;
  periodMinutes: number;
  unique: boolean;
  isError: boolean;
  createAlert: boolean;
}

function ruleShapes(rng: Rng): RuleShape[] {
  const threshold = rng.int(1, 4);
  const uniqueThreshold = rng.int(2, 4);
  return [
    {
      ruleId: "T.Count",
      threshold: () => threshold,
      periodMinutes: rng.pick([5, 15, 60]),
      unique: false,
      isError: false,
      createAlert: true,
    },
    {
      ruleId: "T.Unique",
      threshold: () => uniqueThreshold,
      periodMinutes: rng.pick([15, 30, 60]),
      unique: true,
      isError: false,
      createAlert: true,
    },
    // Two rule versions with different thresholds in one window: the lowest decides.
    {
      ruleId: "T.Versioned",
      threshold: () => rng.pick([2, 3]),
      periodMinutes: 30,
      unique: false,
      isError: false,
      createAlert: true,
    },
    { ruleId: "T.Count", threshold: () => 1, periodMinutes: 60, unique: false, isError: true, createAlert: true },
    { ruleId: "T.Signal", threshold: () => 1, periodMinutes: 60, unique: false, isError: false, createAlert: false },
  ];
}

function scenarioMatch(rng: Rng, shape: RuleShape, sourceId: string, eventId: string, t: number): RuleMatch {
  const dedupString = shape.isError ? "KeyError" : rng.pick(["alice", "bob", "carol"]);
  return {
    ruleId: shape.ruleId,
    packId: null,
    sourceId,
    eventId,
    logType: "OpenAI.Audit",
    eventTimeSecs: t,
    isError: shape.isError,
    errorType: shape.isError ? "KeyError" : null,
    errorMessage: shape.isError ? `'field' on ${eventId}` : null,
    dedupString,
    // Every match has its own fields, so an alert shows which match it took them from.
    title: `${shape.ruleId} on ${eventId}`,
    severity: rng.pick(SEVERITIES),
    alertContext: { eventId, n: rng.int(0, 9) },
    description: null,
    reference: null,
    runbook: null,
    destinations: null,
    // One in six valueless: a unique() that failed on the event.
    uniqueValue: shape.unique && !rng.chance(1 / 6) ? rng.pick(["ip-1", "ip-2", "ip-3", "ip-4", "ip-5"]) : null,
    dedupPeriodMinutes: shape.periodMinutes,
    threshold: shape.threshold(),
    createAlert: shape.createAlert,
    tags: [],
    reports: {},
  };
}

/**
 * `count` events over about three hours, on whole minutes so that several share a second (ties are broken
 * by event id), each matched by some of the scenario's rules.
 */
export function scenarioEvents(rng: Rng, sourceId: string, count: number): ScenarioEvent[] {
  const shapes = ruleShapes(rng);
  return Array.from({ length: count }, (_, i) => {
    const id = `evt_${rng.alnum(6)}_${i}`;
    const t = BASE_SECS + rng.int(0, 180) * 60;
    const matches = shapes.filter(() => rng.chance(0.45)).map((shape) => scenarioMatch(rng, shape, sourceId, id, t));
    return { id, t, matches };
  });
}

/**
 * One random delivery of `events`: parallel slices, each a list of pages. Every event is delivered at least
 * once; some are delivered again later (a re-read overlap, a retried page).
 */
export function randomDelivery(rng: Rng, events: readonly ScenarioEvent[]): ScenarioEvent[][][] {
  const order = rng.chance(0.25)
    ? [...events].sort((a, b) => b.t - a.t || (a.id < b.id ? 1 : -1)) // newest first, as the API pages
    : rng.sample(events, events.length);
  const sliceCount = rng.int(1, 3);
  const slices: ScenarioEvent[][][] = Array.from({ length: sliceCount }, () => []);
  let at = 0;
  while (at < order.length) {
    const size = rng.int(1, 12);
    const page = order.slice(at, at + size);
    at += size;
    // A re-read: events already delivered (by any slice) come again with this page.
    if (rng.chance(0.3)) page.push(...rng.sample(order.slice(0, at), rng.int(1, 4)));
    rng.pick(slices).push(page);
  }
  return slices.filter((s) => s.length > 0);
}

/** The fields the property compares, of one alert, as one sortable line. */
export interface AlertShape {
  ruleId: string;
  dedupString: string;
  isError: boolean;
  windowStartSecs: number;
  windowEndSecs: number;
  matchCount: number;
  title: string;
  severity: string;
  alertContext: unknown;
  /** The events of the alert's matches, sorted. */
  eventIds: string[];
}

export function sortShapes(shapes: AlertShape[]): AlertShape[] {
  const line = (a: AlertShape) =>
    JSON.stringify([a.ruleId, a.dedupString, a.isError, a.windowStartSecs, a.windowEndSecs]);
  return [...shapes].sort((a, b) => (line(a) < line(b) ? -1 : line(a) > line(b) ? 1 : 0));
}
