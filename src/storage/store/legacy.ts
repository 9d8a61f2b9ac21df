// TEMPORARY: the operations still answered by the old per-dialect stores while they move into this folder.
// Each area's key list goes when its module lands; the file goes with the last one.

import type { Store } from "../ports.ts";

type Key = keyof Omit<Store, "migrate" | "close">;

export const EVENT_KEYS = [
  "applyPage",
  "searchEvents",
  "searchEventDocuments",
  "countEvents",
  "listEventIds",
  "listQuarantine",
  "listUnknownTypes",
  "queryEvents",
  "eventTypeCounts",
] as const satisfies readonly Key[];

export const ALERT_KEYS = [
  "loadRuleState",
  "listDetectionSettings",
  "setDetectionSetting",
  "listAlerts",
  "getAlert",
  "getAlertMatches",
  "setAlertStatus",
  "listAlertStatusChanges",
  "listMatches",
  "applyDerivedMatches",
  "listCorrelationPending",
  "clearCorrelationPending",
] as const satisfies readonly Key[];

export const DELIVERY_KEYS = [
  "createDestination",
  "listDestinations",
  "getDestination",
  "getDestinationConfig",
  "updateDestination",
  "removeDestination",
  "listUnroutedOutbox",
  "routeOutboxEntry",
  "claimDeliveries",
  "recordDeliveryAttempt",
  "listDeliveries",
  "listDeliveriesByStatus",
] as const satisfies readonly Key[];

export const ACCESS_KEYS = [
  "createUser",
  "setUserPassword",
  "replacePasswordHash",
  "getUser",
  "getUserCredentials",
  "countUsers",
  "createSession",
  "getSession",
  "deleteSession",
  "createApiToken",
  "listApiTokens",
  "authenticateApiToken",
  "revokeApiToken",
] as const satisfies readonly Key[];

export const STATS_KEYS = [
  "eventHistogram",
  "sourceCounts",
  "deliveryCounts",
  "alertCounts",
  "historyAlertCounts",
] as const satisfies readonly Key[];

/** What the old stores still answer: the lifecycle and the key lists above, one line per area. */
export type LegacyStore = Pick<
  Store,
  | "migrate"
  | "close"
  | (typeof EVENT_KEYS)[number]
  | (typeof ALERT_KEYS)[number]
  | (typeof DELIVERY_KEYS)[number]
  | (typeof ACCESS_KEYS)[number]
  | (typeof STATS_KEYS)[number]
>;

export function legacyOps<K extends Key>(legacy: Pick<Store, K>, keys: readonly K[]): Pick<Store, K> {
  const out = {} as Pick<Store, K>;
  for (const key of keys) out[key] = (legacy[key] as (...args: never[]) => unknown).bind(legacy) as Store[K];
  return out;
}
