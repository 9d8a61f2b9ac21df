// Dead deliveries as a system alert (Panther's "alert delivery failure" system error): when a delivery to a
// destination is given up (last attempt, or a permanent error), raise ONE CRITICAL alert
// `Vigil.System.DeliveryFailed` for that destination, and none more while deliveries to it keep failing
// (dedup by destination: an open one is reused). It resolves by itself when a delivery to that destination
// succeeds again. It goes through the same path as the source health alarms (applyDerivedMatches with a
// synthetic event id), so it is stored, listed, delivered to every destination and resolved like any alert.

import type { AlertRecord } from "../core/alert.ts";
import type { RuleMatch } from "../core/detection.ts";
import type { Store } from "../storage/ports.ts";

export const DELIVERY_FAILED_RULE_ID = "Vigil.System.DeliveryFailed";
/** Who resolves the alert in its status history. */
export const DELIVERY_ACTOR = "system:delivery";
const SYSTEM_LOG_TYPE = "Vigil.System";
const OPEN_STATUSES = ["OPEN", "ACKNOWLEDGED", "TRIAGED"] as const;

export interface DeadDelivery {
  deliveryId: string;
  alertId: string;
  destinationId: string;
  destinationName: string;
  error: string;
}

/** The match that raises the alert; its event id (and dedup string) are those of the episode's first dead delivery. */
export function deliveryFailedMatch(sourceId: string, dead: DeadDelivery, nowMs: number): RuleMatch {
  return {
    ruleId: DELIVERY_FAILED_RULE_ID,
    packId: null,
    sourceId,
    eventId: `system:${DELIVERY_FAILED_RULE_ID}:${dead.destinationId}:${dead.deliveryId}`,
    logType: SYSTEM_LOG_TYPE,
    eventTimeSecs: Math.floor(nowMs / 1000),
    isError: false,
    errorType: null,
    errorMessage: null,
    // Per destination and episode: a new episode after a resolution is a new alert.
    dedupString: `${dead.destinationId}:${dead.deliveryId}`,
    title: `Alert delivery to destination ${dead.destinationName} is failing`,
    severity: "CRITICAL",
    alertContext: {
      destination_id: dead.destinationId,
      destination_name: dead.destinationName,
      first_failed_delivery_id: dead.deliveryId,
      first_failed_alert_id: dead.alertId,
      error: dead.error,
    },
    description:
      `A delivery to ${dead.destinationName} was given up (${dead.error}): alerts are not reaching it. ` +
      "This alert resolves by itself once a delivery to it succeeds again.",
    reference: null,
    runbook:
      "Check the destination (`vigil destinations list`, `vigil destinations test NAME`): URL, credentials, " +
      "the service's status. The dead deliveries are listed by `vigil alerts show ID` of each alert.",
    destinations: null,
    uniqueValue: null,
    dedupPeriodMinutes: 60,
    threshold: 1,
    createAlert: true,
    tags: ["system"],
    reports: {},
  };
}

/** The open (OPEN, ACKNOWLEDGED or TRIAGED) delivery-failed alert of each destination. */
export async function openDeliveryFailedAlerts(store: Store): Promise<Map<string, AlertRecord>> {
  const open = new Map<string, AlertRecord>();
  for (const status of OPEN_STATUSES) {
    for (const alert of await store.listAlerts({ ruleId: DELIVERY_FAILED_RULE_ID, status, limit: 10_000 })) {
      const destinationId = alert.alertContext?.destination_id;
      if (typeof destinationId === "string" && !open.has(destinationId)) open.set(destinationId, alert);
    }
  }
  return open;
}

export interface DeliveryHealthChanges {
  raised: string[];
  resolved: string[];
}

/**
 * Applies one pass's outcomes: destinations that took a delivery resolve their open alert; destinations
 * with a dead delivery (and no success in the pass) raise one when none is open.
 */
export async function updateDeliveryHealth(
  store: Store,
  outcomes: { sentTo: ReadonlySet<string>; dead: ReadonlyMap<string, DeadDelivery> },
  nowMs: number,
): Promise<DeliveryHealthChanges> {
  const changes: DeliveryHealthChanges = { raised: [], resolved: [] };
  if (outcomes.sentTo.size === 0 && outcomes.dead.size === 0) return changes;
  const open = await openDeliveryFailedAlerts(store);
  for (const destinationId of outcomes.sentTo) {
    const alert = open.get(destinationId);
    if (!alert) continue;
    await store.setAlertStatus(alert.id, "RESOLVED", nowMs, DELIVERY_ACTOR);
    changes.resolved.push(alert.id);
  }
  for (const [destinationId, dead] of outcomes.dead) {
    if (outcomes.sentTo.has(destinationId) || open.has(destinationId)) continue;
    // Alerts belong to a source: the failed alert's, else any (the alert is about the destination).
    const failed = await store.getAlert(dead.alertId);
    const sourceId = failed?.sourceId ?? (await store.listSources())[0]?.id;
    if (sourceId === undefined) continue;
    const { createdAlertIds } = await store.applyDerivedMatches(sourceId, [deliveryFailedMatch(sourceId, dead, nowMs)]);
    changes.raised.push(...createdAlertIds);
  }
  return changes;
}
