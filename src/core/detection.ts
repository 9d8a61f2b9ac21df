// Domain types shared by the detection engine, alert grouping, storage and destinations.

export const SEVERITIES = ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;
export type Severity = (typeof SEVERITIES)[number];

export function isSeverity(value: unknown): value is Severity {
  return typeof value === "string" && (SEVERITIES as readonly string[]).includes(value);
}

/** Orders severities: INFO < LOW < MEDIUM < HIGH < CRITICAL. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/**
 * What one rule concluded about one event: a match (rule() returned true) or a rule error. The engine
 * produces these before the page transaction (rules are pure); the store applies them inside it, and
 * only for events that the page actually inserted.
 */
export interface RuleMatch {
  ruleId: string;
  /** The pack the rule came from, if any. */
  packId: string | null;
  sourceId: string;
  eventId: string;
  logType: string;
  /** The event's time (Unix seconds): alert windows run on event time, so replays group identically. */
  eventTimeSecs: number;
  /** A rule error rather than a match; errors group apart from matches, by exception name. */
  isError: boolean;
  /** For errors: the exception's name (the error dedup string) and message. */
  errorType: string | null;
  errorMessage: string | null;
  /** Already resolved with Panther's fallbacks and truncation. */
  dedupString: string;
  title: string;
  severity: Severity;
  alertContext: Record<string, unknown> | null;
  description: string | null;
  reference: string | null;
  runbook: string | null;
  /** null: default routing; []: suppressed (no destination). */
  destinations: string[] | null;
  /** The rule's unique() value, when it defines unique(). Threshold then counts distinct values. */
  uniqueValue: string | null;
  dedupPeriodMinutes: number;
  threshold: number;
  createAlert: boolean;
  tags: string[];
  reports: Record<string, string[]>;
}

/**
 * A change to rule state (first-seen sets, counters), applied in the page transaction only for events the
 * page inserted, so a crash never double-counts. `expiresAtSecs` is event time + TTL (so replays agree);
 * null keeps the entry's current expiry (none for a new entry).
 */
export type RuleStateOp =
  | { kind: "put"; ruleId: string; key: string; value: string; expiresAtSecs: number | null }
  | { kind: "increment"; ruleId: string; key: string; by: number; expiresAtSecs: number | null }
  | { kind: "add_to_set"; ruleId: string; key: string; member: string; expiresAtSecs: number | null }
  | { kind: "delete"; ruleId: string; key: string };

/**
 * An alert's lifecycle: OPEN → ACKNOWLEDGED (someone is on it) → RESOLVED (dealt with). TRIAGED and CLOSED
 * predate ACKNOWLEDGED and still work: TRIAGED is an older word for acknowledged (the alert is still open), CLOSED
 * ends an alert as not needing action (e.g. a false positive). An open alert that ends either way sends the resolve
 * notification (the PagerDuty incident ends too); moving between the two ended statuses sends nothing. Every change
 * is recorded with who made it and when (`listAlertStatusChanges`).
 */
export const ALERT_STATUSES = ["OPEN", "ACKNOWLEDGED", "TRIAGED", "RESOLVED", "CLOSED"] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/** Still needs attention: OPEN, ACKNOWLEDGED or TRIAGED (not RESOLVED or CLOSED). */
export function isOpenAlertStatus(status: AlertStatus): boolean {
  return status === "OPEN" || status === "ACKNOWLEDGED" || status === "TRIAGED";
}

/**
 * The log type of the matches a correlation rule derives. A correlation completes once per anchor event and key,
 * so its matches are told apart by their dedup string too (storage/store/detection-rows.ts matchKey).
 */
export const CORRELATION_LOG_TYPE = "Vigil.Correlation";

/**
 * Dedup strings that begin with this are Vigil's own (a rule's noisy alert: alerts/limiter.ts). A rule's dedup
 * string is attacker-reachable (it is often an event field), so one that begins with it is escaped
 * (detections/engine/resolve.ts): otherwise a login named "vigil:noisy-rule" would join, or open, the rule's
 * noisy alert, escape the alert budget, and lock the same window as the noisy alert in another order. A
 * correlation rule's key is not escaped (a stored completion is known by it): its matches are never folded, so a
 * correlation rule has no noisy alert to name.
 */
export const VIGIL_DEDUP_PREFIX = "vigil:";

/**
 * The dedup string of a match keyed on several values (a correlation's criteria, a Simple Detection's GroupBy):
 * the values joined by `separator`, each with its backslashes and the separator's first character escaped, so
 * that two keys never read alike. The values come from events, which an attacker writes: joined as they are,
 * {ip: "x", user: "y, z"} and {ip: "x, y", user: "z"} would both read "x, y, z" and share one alert (and an IPv6
 * address holds colons of its own). A single value is its own dedup string: a rule has a fixed number of key
 * values, so there is nothing to tell it apart from.
 */
export function joinKeyValues(values: readonly string[], separator: string): string {
  if (values.length === 1) return values[0]!;
  const special = separator.charAt(0);
  return values.map((v) => v.replaceAll("\\", "\\\\").replaceAll(special, `\\${special}`)).join(separator);
}

/** The dedup string of a rule's match when neither dedup() nor title() gave one (Panther's default). */
export function defaultDedupString(ruleId: string): string {
  return `defaultDedupString:${ruleId}`;
}

/**
 * The dedup strings every match of a rule may share, whatever its event: the default, and a correlation rule's
 * own id (its matches' dedup string when it correlates on no key). Pinning one of them mutes the whole rule.
 */
export function ruleWideDedups(ruleId: string): string[] {
  return [defaultDedupString(ruleId), ruleId];
}

/** The open statuses, for queries that filter on them. */
export const OPEN_ALERT_STATUSES: readonly AlertStatus[] = ALERT_STATUSES.filter(isOpenAlertStatus);

/** A status filter: one status, or UNRESOLVED for every open one (what still needs attention). */
export type AlertStatusFilter = AlertStatus | "UNRESOLVED";
export const ALERT_STATUS_FILTERS: readonly AlertStatusFilter[] = [...ALERT_STATUSES, "UNRESOLVED"];

/** The statuses a filter stands for: ACKNOWLEDGED and TRIAGED, the older word for it, stand for both. */
export function statusesOf(filter: AlertStatusFilter): readonly AlertStatus[] {
  if (filter === "UNRESOLVED") return OPEN_ALERT_STATUSES;
  if (filter === "ACKNOWLEDGED" || filter === "TRIAGED") return ["ACKNOWLEDGED", "TRIAGED"];
  return [filter];
}

/** A status as typed (any case), or undefined if it is none. */
export function parseAlertStatus(text: string): AlertStatus | undefined {
  const upper = text.trim().toUpperCase();
  return ALERT_STATUSES.find((s) => s === upper);
}

/** A status filter as typed (any case), or undefined if it is none. */
export function parseAlertStatusFilter(text: string): AlertStatusFilter | undefined {
  const upper = text.toUpperCase();
  return ALERT_STATUS_FILTERS.find((s) => s === upper);
}

/** One row of an alert's status history; `from` is null for the creation (→ OPEN), `by` null when unknown. */
export interface AlertStatusChange {
  from: AlertStatus | null;
  to: AlertStatus;
  atMs: number;
  /** Who: `cli:<os user>`, `user:<name>`, `token:<name>`, `system:<component>`; null for rows from before. */
  by: string | null;
}
