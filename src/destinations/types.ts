// What a destination receives and returns. Destinations know only alerts: this module imports nothing from
// storage, pipeline or detections; the pipeline maps its alert records onto `AlertNotification`.

import type { AlertStatus, Severity } from "../core/detection.ts";

/** Why a notification is sent: a new alert, an alert that was resolved, or `vigil destinations test`. */
export type NotificationKind = "created" | "resolved" | "test";

/** Who did it, when the alert's first event names an actor. Every field is optional data from the event. */
export interface ActorSummary {
  /** `user`, `api_key`, `service_account`, `session`, … */
  type: string | null;
  id: string | null;
  email: string | null;
  ip: string | null;
}

/**
 * One alert, as plain JSON-serialisable data. Titles, descriptions and contexts come from rules that read
 * attacker-controlled events: every destination escapes them for its own format.
 */
export interface AlertNotification {
  kind: NotificationKind;
  alertId: string;
  ruleId: string;
  /** The rule's display name (Panther `DisplayName`), or null when it has none. */
  ruleName: string | null;
  title: string;
  severity: Severity;
  status: AlertStatus;
  /** True for rule-error alerts (Panther `RULE_ERROR`). */
  isError: boolean;
  sourceId: string;
  sourceName: string;
  logType: string;
  createdAtMs: number;
  updatedAtMs: number;
  matchCount: number;
  alertContext: Record<string, unknown> | null;
  description: string | null;
  reference: string | null;
  runbook: string | null;
  tags: string[];
  /** Panther `Reports`, e.g. `{ "MITRE ATT&CK": ["TA0006:T1110"] }`. */
  reports: Record<string, string[]>;
  actor: ActorSummary | null;
  /** Raised from history (a backfill), not from live polling. */
  fromHistory?: boolean;
  /** Absolute URL of the alert in the Vigil console, or null when no public URL is configured. */
  consoleUrl: string | null;
}

/**
 * The outcome of one delivery attempt. A destination never throws for a delivery failure and never
 * swallows one: failures come back as `ok: false` with a redacted, human-readable `error`.
 */
export type DeliveryResult =
  | { ok: true; status?: number; detail?: string }
  | {
      ok: false;
      /** Whether trying again later can help (429, 5xx, timeouts, resets, SMTP 4xx). */
      retryable: boolean;
      status?: number;
      error: string;
      /** The service asked to wait this long (Retry-After) before the next attempt. */
      retryAfterMs?: number;
    };

export const DESTINATION_TYPES = ["slack", "webhook", "pagerduty", "email", "file"] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];

/**
 * The minimum severity a new destination gets when none is given (API, CLI, config file and console alike):
 * what a user would pick for it. PagerDuty wakes someone up: HIGH. Slack and email are read by people, and
 * the built-in pack keeps MEDIUM for what deserves a look the same day (a routine organization raises less
 * than one a day, docs/detections.md): MEDIUM. A webhook feeds a SIEM or SOAR and a file an archive, machines
 * that triage for themselves and should not lose the LOW and INFO context: INFO.
 */
export const DEFAULT_MIN_SEVERITY: Readonly<Record<DestinationType, Severity>> = {
  pagerduty: "HIGH",
  slack: "MEDIUM",
  email: "MEDIUM",
  webhook: "INFO",
  file: "INFO",
};

/** The default minimum severity of a destination type (INFO for a type Vigil does not know). */
export function defaultMinSeverity(type: string): Severity {
  return Object.hasOwn(DEFAULT_MIN_SEVERITY, type) ? DEFAULT_MIN_SEVERITY[type as DestinationType] : "INFO";
}

export interface Destination {
  /** Stable id (used by rule destination overrides and by the outbox). */
  readonly id: string;
  /** Display name (also accepted by rule destination overrides). */
  readonly name: string;
  readonly type: DestinationType;
  /** Default routing sends alerts of this severity and above. */
  readonly minSeverity: Severity;
  /** Default routing sends only alerts of these log types; absent or empty means all. */
  readonly logTypes?: string[];
  /** Whether alerts raised from history (backfill) are sent here too; absent means no. */
  readonly includeHistory?: boolean;
  /**
   * Delivers one notification. `deliveryId` is stable across retries of the same delivery (idempotency key).
   * Resolves with a DeliveryResult; rejects only on programming errors, never for a delivery failure.
   */
  send(notification: AlertNotification, deliveryId: string, signal?: AbortSignal): Promise<DeliveryResult>;
}

/**
 * What the operator sets for destinations, outside any destination's config: the API, the CLI and the
 * config file cannot change it.
 */
export interface DestinationEnv {
  /** The only directory file destinations write under (VIGIL_EXPORT_DIR). */
  exportDir: string;
}
