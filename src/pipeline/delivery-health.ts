// Failing deliveries as a system alert (Panther's "alert delivery failure" system error): while deliveries to a
// destination fail, ONE CRITICAL alert `Vigil.System.DeliveryFailed` stands for that destination; it resolves by
// itself once a delivery to it succeeds again.
//
// It is derived from the destination's health, which every delivery attempt records in its own transaction (the
// store's `failing`: since when, from which delivery, whether one was given up). So the alert follows what was
// stored, never what one pass of one worker saw: a kill after a give-up, or two workers giving up at once, still
// raise it exactly once. Raising is idempotent by the episode (the delivery whose failure began it is the match's
// event id, and the store skips a match it holds), so workers may reconcile at the same time.
//
// A destination is failing "enough" to raise when a delivery to it was given up (a dead letter), or when its
// failed attempts, without a success between, span `failingAfterMs`: a pager that is down for an hour is told long
// before the deliveries' own retries run out, a passing 429 never raises anything, and the time Vigil itself was
// stopped does not count (the failures are observed, not assumed).
//
// It goes through the same path as the source health alarms (applyDerivedMatches with a synthetic event id), so it
// is stored, listed, delivered to every destination and resolved like any alert.

import type { AlertRecord } from "../core/alert.ts";
import type { DestinationFailing, DestinationRecord } from "../core/destination.ts";
import type { RuleMatch } from "../core/detection.ts";
import type { Store } from "../storage/ports.ts";

export const DELIVERY_FAILED_RULE_ID = "Vigil.System.DeliveryFailed";
/** Who resolves the alert in its status history. */
export const DELIVERY_ACTOR = "system:delivery";
/** Failures without a success for this long raise the alert, before any delivery is given up. */
export const DEFAULT_FAILING_AFTER_MS = 5 * 60_000;
const SYSTEM_LOG_TYPE = "Vigil.System";
const OPEN_STATUSES = ["OPEN", "ACKNOWLEDGED", "TRIAGED"] as const;

/** A destination whose deliveries are failing, as its stored health says. */
export interface FailingDestination {
  destinationId: string;
  destinationName: string;
  /** The delivery whose failure began the episode (the alert's identity), and its alert. */
  deliveryId: string;
  alertId: string;
  sinceMs: number;
  latestMs: number;
  error: string;
  dead: boolean;
}

/**
 * The match that raises the alert. Its event id (and dedup string) name the episode: the delivery whose failure
 * began it and when (one delivery can begin two episodes, when another delivery succeeded in between).
 */
export function deliveryFailedMatch(sourceId: string, failing: FailingDestination, nowMs: number): RuleMatch {
  const minutes = Math.max(1, Math.round((failing.latestMs - failing.sinceMs) / 60_000));
  return {
    ruleId: DELIVERY_FAILED_RULE_ID,
    packId: null,
    sourceId,
    eventId: `system:${DELIVERY_FAILED_RULE_ID}:${failing.destinationId}:${failing.deliveryId}:${failing.sinceMs}`,
    logType: SYSTEM_LOG_TYPE,
    eventTimeSecs: Math.floor(nowMs / 1000),
    isError: false,
    errorType: null,
    errorMessage: null,
    // Per destination and episode: a new episode after a resolution is a new alert.
    dedupString: `${failing.destinationId}:${failing.deliveryId}:${failing.sinceMs}`,
    title: `Alert delivery to destination ${failing.destinationName} is failing`,
    severity: "CRITICAL",
    alertContext: {
      destination_id: failing.destinationId,
      destination_name: failing.destinationName,
      first_failed_delivery_id: failing.deliveryId,
      first_failed_alert_id: failing.alertId,
      failing_since_ms: failing.sinceMs,
      given_up: failing.dead,
      error: failing.error,
    },
    description: failing.dead
      ? `A delivery to ${failing.destinationName} was given up (${failing.error}): alerts are not reaching it. ` +
        "This alert resolves by itself once a delivery to it succeeds again."
      : `Deliveries to ${failing.destinationName} have failed for ${minutes} min (${failing.error}) and are still ` +
        "being retried: alerts are not reaching it. This alert resolves by itself once a delivery succeeds.",
    reference: null,
    runbook:
      "Check the destination (`vigil destinations list`, `vigil destinations test NAME`): URL, credentials, " +
      "the service's status. Deliveries are retried for a day; those given up (dead letters) are sent again by " +
      "`vigil destinations retry NAME` once it works. `vigil alerts show ID` lists each alert's deliveries.",
    destinations: null,
    uniqueValue: null,
    dedupPeriodMinutes: 60,
    threshold: 1,
    createAlert: true,
    tags: ["system"],
    reports: {},
  };
}

/**
 * Whether a destination's failing episode calls for the alert: a delivery was given up, or its failed attempts,
 * without a success between, span `failingAfterMs`.
 */
export function callsForAlert(
  failing: DestinationRecord["failing"],
  failingAfterMs = DEFAULT_FAILING_AFTER_MS,
): failing is DestinationFailing {
  return failing !== null && (failing.dead || failing.latestMs - failing.sinceMs >= failingAfterMs);
}

/** An outage now (what /api/health and /metrics show): an episode that calls for the alert and has not recovered. */
export function isDeliveryOutage(failing: DestinationRecord["failing"], failingAfterMs = DEFAULT_FAILING_AFTER_MS) {
  return callsForAlert(failing, failingAfterMs) && !failing.recovered;
}

/** The open (OPEN, ACKNOWLEDGED or TRIAGED) delivery-failed alerts, by the destination they are about. */
export async function openDeliveryFailedAlerts(store: Store): Promise<Map<string, AlertRecord[]>> {
  const open = new Map<string, AlertRecord[]>();
  for (const status of OPEN_STATUSES) {
    for (const alert of await store.listAlerts({ ruleId: DELIVERY_FAILED_RULE_ID, status, limit: 10_000 })) {
      const destinationId = alert.alertContext?.destination_id;
      if (typeof destinationId !== "string") continue;
      open.set(destinationId, [...(open.get(destinationId) ?? []), alert]);
    }
  }
  return open;
}

export interface DeliveryHealthPlan {
  /** Failing destinations with no open alert. */
  raise: FailingDestination[];
  /** Open alerts of destinations that work again, or were removed. */
  resolve: AlertRecord[];
  /** Episodes with a give-up that a success recovered from: ended (then their alerts resolved) once raised. */
  end: FailingDestination[];
}

/** What to raise and resolve, from the destinations' stored health and the open alerts. Pure. */
export function planDeliveryHealth(
  destinations: readonly DestinationRecord[],
  open: ReadonlyMap<string, readonly AlertRecord[]>,
  failingAfterMs = DEFAULT_FAILING_AFTER_MS,
): DeliveryHealthPlan {
  const plan: DeliveryHealthPlan = { raise: [], resolve: [], end: [] };
  const byId = new Map(destinations.map((d) => [d.id, d]));
  for (const [destinationId, alerts] of open) {
    if (byId.get(destinationId)?.failing == null) plan.resolve.push(...alerts);
  }
  for (const d of destinations) {
    const f = d.failing;
    if (!callsForAlert(f, failingAfterMs)) continue;
    const failing: FailingDestination = {
      destinationId: d.id,
      destinationName: d.name,
      deliveryId: f.deliveryId,
      alertId: f.alertId,
      sinceMs: f.sinceMs,
      latestMs: f.latestMs,
      error: f.error ?? "no error recorded",
      dead: f.dead,
    };
    if (!open.has(d.id)) plan.raise.push(failing);
    if (f.dead && f.recovered) plan.end.push(failing);
  }
  return plan;
}

export interface DeliveryHealthChanges {
  raised: string[];
  resolved: string[];
}

/** Brings the delivery-failed alerts in line with the stored health (safe to run from several workers at once). */
export async function reconcileDeliveryHealth(
  store: Store,
  nowMs: number,
  failingAfterMs = DEFAULT_FAILING_AFTER_MS,
): Promise<DeliveryHealthChanges> {
  const changes: DeliveryHealthChanges = { raised: [], resolved: [] };
  // The alerts first: an alert another worker raises after this read is not seen, so not resolved, even though
  // the health read after it shows the failure (read the other way round, it would be resolved as "working").
  const open = await openDeliveryFailedAlerts(store);
  const plan = planDeliveryHealth(await store.listDestinations(), open, failingAfterMs);
  const resolve = async (alerts: readonly AlertRecord[]) => {
    for (const alert of alerts) {
      await store.setAlertStatus(alert.id, "RESOLVED", nowMs, DELIVERY_ACTOR);
      changes.resolved.push(alert.id);
    }
  };
  await resolve(plan.resolve);
  for (const failing of plan.raise) {
    // Alerts belong to a source: the failed alert's, else the first (the alert is about the destination). Both
    // are the same for every worker, so the match's identity is too.
    const failed = await store.getAlert(failing.alertId);
    const sourceId = failed?.sourceId ?? (await store.listSources())[0]?.id;
    if (sourceId === undefined) continue;
    const { createdAlertIds } = await store.applyDerivedMatches(sourceId, [
      deliveryFailedMatch(sourceId, failing, nowMs),
    ]);
    changes.raised.push(...createdAlertIds);
  }
  // A give-up a success followed: raised above (or before), now ended, and its alert resolved. One that another
  // worker ends first is resolved by the next reconcile, which finds the destination healthy.
  const ended: string[] = [];
  for (const failing of plan.end) {
    if (await store.endDeliveryEpisode(failing.destinationId, failing.sinceMs)) ended.push(failing.destinationId);
  }
  if (ended.length > 0) {
    const nowOpen = await openDeliveryFailedAlerts(store);
    await resolve(ended.flatMap((id) => nowOpen.get(id) ?? []));
  }
  return changes;
}
