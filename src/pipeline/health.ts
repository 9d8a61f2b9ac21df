// Source health: Panther's "Trigger an alert when no events are processed" (SOURCE_NO_DATA, per source,
// default on, 24 h), the automatic permission-check system error, polls failing for too long (network,
// 5xx), quarantined records (Panther's classification failures) and event types outside the known list,
// as system alerts. They are CRITICAL like Panther's system errors (a new event type, LOW: nothing is lost or
// failing) and go through the alerts table and the outbox, so they are delivered and resolved (PagerDuty
// resolve) like any alert.
//
// `decideHealth` is pure: given a source, its poll status, the open system alerts and the time, it says
// what to raise or resolve. Each raise carries a synthetic event id built from the episode's start (the
// last stored event, or the last successful poll): re-raising on every tick is a no-op in the store (a
// match is stored once), so one episode gives exactly one alert, even one a user closed by hand.

import type { AlertRecord } from "../core/alert.ts";
import { isOpenAlertStatus, type RuleMatch } from "../core/detection.ts";
import { formatDuration, type PollStatus, type SourceRecord } from "../core/source.ts";
import type { Store } from "../storage/ports.ts";

export const NO_DATA_RULE_ID = "Vigil.System.SourceNoData";
export const AUTH_FAILURE_RULE_ID = "Vigil.System.SourceAuthFailure";
export const POLL_FAILING_RULE_ID = "Vigil.System.SourcePollFailing";
export const QUARANTINE_RULE_ID = "Vigil.System.EventsQuarantined";
export const NEW_EVENT_TYPE_RULE_ID = "Vigil.System.NewEventType";
/** The events-quarantined alarm resolves after this long without a new quarantined record. */
export const QUARANTINE_QUIET_MS = 3_600_000;
export const SYSTEM_LOG_TYPE = "Vigil.System";

export type HealthCheck = "no_data" | "auth_failure" | "poll_failing" | "quarantine" | "new_event_type";

export type HealthAction =
  | { kind: "raise"; check: HealthCheck; match: RuleMatch }
  | { kind: "resolve"; check: HealthCheck; alertId: string };

export interface HealthInput {
  source: SourceRecord;
  status: PollStatus;
  nowMs: number;
  /** The open (OPEN, ACKNOWLEDGED or TRIAGED) system alert of each check for this source, if any. */
  open: {
    noData: AlertRecord | null;
    authFailure: AlertRecord | null;
    pollFailing?: AlertRecord | null;
    quarantine?: AlertRecord | null;
  };
  /** When the newest quarantined record of this source was received (null: none ever). */
  lastQuarantinedMs?: number | null;
  /** The source's event types outside the known list, with when each was first seen. */
  unknownTypes?: Array<{ type: string; firstSeenMs: number }>;
  /** Unknown types that already have a NewEventType alert (any status): one alert per (source, type). */
  alertedTypes?: ReadonlySet<string>;
}

function isAuthError(status: PollStatus): boolean {
  return (status.lastErrorCode ?? "").startsWith("openai_auth_");
}

function systemMatch(
  source: SourceRecord,
  ruleId: string,
  episodeStartMs: number,
  nowMs: number,
  text: { title: string; description: string; runbook: string; context: Record<string, unknown> },
): RuleMatch {
  return {
    ruleId,
    packId: null,
    sourceId: source.id,
    eventId: `system:${ruleId}:${source.id}:${episodeStartMs}`,
    logType: SYSTEM_LOG_TYPE,
    eventTimeSecs: Math.floor(nowMs / 1000),
    isError: false,
    errorType: null,
    errorMessage: null,
    // Per source and episode: a new episode after a resolution is a new alert, never merged into the old.
    dedupString: `${source.name}:${episodeStartMs}`,
    title: text.title,
    severity: "CRITICAL",
    alertContext: { source_id: source.id, source_name: source.name, ...text.context },
    description: text.description,
    reference: null,
    runbook: text.runbook,
    destinations: null,
    uniqueValue: null,
    dedupPeriodMinutes: 60,
    threshold: 1,
    createAlert: true,
    tags: ["system"],
    reports: {},
  };
}

function hours(secs: number): string {
  const h = secs / 3600;
  return Number.isInteger(h) ? `${h} hours` : `${Math.round(secs / 60)} minutes`;
}

export function decideHealth(input: HealthInput): HealthAction[] {
  const { source, status, nowMs, open } = input;
  const actions: HealthAction[] = [];

  const lastEventMs = status.lastEventStoredMs ?? source.createdAtMs;
  const silentForMs = nowMs - lastEventMs;
  const noDataDue = source.enabled && source.noDataAlertEnabled && silentForMs >= source.noDataAlertSecs * 1000;
  if (noDataDue && open.noData === null) {
    actions.push({
      kind: "raise",
      check: "no_data",
      match: systemMatch(source, NO_DATA_RULE_ID, lastEventMs, nowMs, {
        title: `No events processed from source ${source.name} for ${hours(source.noDataAlertSecs)}`,
        description: `Source ${source.name} has stored no new event since ${new Date(lastEventMs).toISOString()}.`,
        runbook:
          "Check `vigil sources list`: a failing poll (key revoked, network), or an organization with no activity. " +
          "The threshold is the source's --no-data-alert-hours (`--no-no-data-alert` turns the alarm off).",
        context: { last_event_stored_ms: status.lastEventStoredMs, threshold_secs: source.noDataAlertSecs },
      }),
    });
  } else if (!noDataDue && open.noData !== null) {
    // Events flow again (or the alarm was turned off): the alarm clears by itself.
    actions.push({ kind: "resolve", check: "no_data", alertId: open.noData.id });
  }

  const authFailing = status.consecutiveFailures > 0 && isAuthError(status);
  if (authFailing && open.authFailure === null) {
    const episodeStartMs = status.lastSuccessMs ?? source.createdAtMs;
    actions.push({
      kind: "raise",
      check: "auth_failure",
      match: systemMatch(source, AUTH_FAILURE_RULE_ID, episodeStartMs, nowMs, {
        title: `Source ${source.name} cannot authenticate to the OpenAI API`,
        description: `Polling ${source.name} fails with ${status.lastErrorCode}: no audit events are collected.`,
        runbook: "The admin key was revoked or lost its permissions: create a new admin key and give it to the source.",
        context: { error_code: status.lastErrorCode, consecutive_failures: status.consecutiveFailures },
      }),
    });
  } else if (
    open.authFailure !== null &&
    !authFailing &&
    status.lastSuccessMs !== null &&
    status.lastSuccessMs >= open.authFailure.createdAtMs
  ) {
    actions.push({ kind: "resolve", check: "auth_failure", alertId: open.authFailure.id });
  }

  actions.push(...decidePollFailing(input), ...decideQuarantine(input), ...decideNewEventTypes(input));
  return actions;
}

/**
 * Polls failing (network, 5xx, rate limits, ...) for `pollFailureAlertSecs` since the last successful poll
 * (or the source's creation). Authentication failures have their own alert and are left out here.
 */
function decidePollFailing(input: HealthInput): HealthAction[] {
  const { source, status, nowMs } = input;
  const open = input.open.pollFailing ?? null;
  const sinceMs = status.lastSuccessMs ?? source.createdAtMs;
  const failing =
    source.enabled &&
    status.consecutiveFailures > 0 &&
    !isAuthError(status) &&
    nowMs - sinceMs >= source.pollFailureAlertSecs * 1000;
  if (failing && open === null) {
    return [
      {
        kind: "raise",
        check: "poll_failing",
        match: systemMatch(source, POLL_FAILING_RULE_ID, sinceMs, nowMs, {
          title: `Polling source ${source.name} has failed for ${hours(source.pollFailureAlertSecs)}`,
          description:
            `Every poll of ${source.name} since ${new Date(sinceMs).toISOString()} failed ` +
            `(${status.consecutiveFailures} in a row; last: ${status.lastError ?? status.lastErrorCode ?? "unknown error"}).`,
          runbook:
            "Check `vigil sources list` and `vigil sources test NAME`: network or proxy trouble, an OpenAI outage (5xx), " +
            "or a wrong --base-url. The threshold is the source's poll_failure_alert_secs.",
          context: {
            error_code: status.lastErrorCode,
            consecutive_failures: status.consecutiveFailures,
            last_success_ms: status.lastSuccessMs,
            threshold_secs: source.pollFailureAlertSecs,
          },
        }),
      },
    ];
  }
  // Resolves on the first successful poll after the alert (not merely because the source was disabled).
  if (
    open !== null &&
    status.consecutiveFailures === 0 &&
    status.lastSuccessMs !== null &&
    status.lastSuccessMs >= open.createdAtMs
  ) {
    return [{ kind: "resolve", check: "poll_failing", alertId: open.id }];
  }
  return [];
}

/**
 * Records quarantined (received but not storable as events): raised while a record was quarantined in the
 * last QUARANTINE_QUIET_MS, resolved after that long without a new one.
 */
function decideQuarantine(input: HealthInput): HealthAction[] {
  const { source, nowMs } = input;
  const open = input.open.quarantine ?? null;
  const last = input.lastQuarantinedMs ?? null;
  const active = last !== null && nowMs - last < QUARANTINE_QUIET_MS;
  if (active && open === null) {
    return [
      {
        kind: "raise",
        check: "quarantine",
        // The episode is named by its newest record: re-raising without new records is a no-op in the store.
        match: systemMatch(source, QUARANTINE_RULE_ID, last, nowMs, {
          title: `Source ${source.name} quarantined records it could not store as events`,
          description: `Source ${source.name} received records that failed validation (last at ${new Date(last).toISOString()}); they are kept in quarantine, not detected on.`,
          runbook:
            "Inspect the records with the console's quarantine view or the API; an API format change needs a schema update. " +
            "The alert resolves after an hour without a new quarantined record.",
          context: { last_quarantined_ms: last, quiet_period_secs: QUARANTINE_QUIET_MS / 1000 },
        }),
      },
    ];
  }
  if (!active && open !== null) return [{ kind: "resolve", check: "quarantine", alertId: open.id }];
  return [];
}

/**
 * One alert per (source, event type outside the known list), never resolved automatically. LOW, not CRITICAL as the
 * source's failures are: nothing is lost (the events are stored and searchable) and nothing is under attack; it
 * asks for a rule to be written, not for someone to be woken.
 */
function decideNewEventTypes(input: HealthInput): HealthAction[] {
  const { source, nowMs } = input;
  const alerted = input.alertedTypes ?? new Set<string>();
  const actions: HealthAction[] = [];
  for (const { type, firstSeenMs } of input.unknownTypes ?? []) {
    if (alerted.has(type)) continue;
    const match = systemMatch(source, NEW_EVENT_TYPE_RULE_ID, firstSeenMs, nowMs, {
      title: `Source ${source.name} sent a new event type: ${type}`,
      description: `The OpenAI audit log of ${source.name} returned events of type ${type}, which Vigil does not know. They are stored, but no normalizer or built-in rule covers them yet.`,
      runbook: "Review the events (`vigil search --type TYPE`) and write rules for the type if it matters.",
      context: { event_type: type, first_seen_ms: firstSeenMs },
    });
    // Keyed by type, not time: exactly one alert per (source, type), whatever the episode.
    match.eventId = `system:${NEW_EVENT_TYPE_RULE_ID}:${source.id}:${type}`;
    match.dedupString = `${source.name}:${type}`;
    match.severity = "LOW";
    actions.push({ kind: "raise", check: "new_event_type", match });
  }
  return actions;
}

async function openSystemAlert(store: Store, sourceId: string, ruleId: string): Promise<AlertRecord | null> {
  const alerts = await store.listAlerts({ sourceId, ruleId, limit: 20 });
  return alerts.find((a) => isOpenAlertStatus(a.status)) ?? null;
}

async function alertedEventTypes(store: Store, sourceId: string): Promise<Set<string>> {
  const alerts = await store.listAlerts({ sourceId, ruleId: NEW_EVENT_TYPE_RULE_ID, limit: 10_000 });
  const types = new Set<string>();
  for (const a of alerts) {
    const type = a.alertContext?.event_type;
    if (typeof type === "string") types.add(type);
  }
  return types;
}

/** Everything `decideHealth` needs about one source, read from the store. */
export async function healthInput(store: Store, source: SourceRecord, nowMs: number): Promise<HealthInput> {
  const [status, noData, authFailure, pollFailing, quarantine, lastQuarantined, unknownTypes] = await Promise.all([
    store.getPollStatus(source.id),
    openSystemAlert(store, source.id, NO_DATA_RULE_ID),
    openSystemAlert(store, source.id, AUTH_FAILURE_RULE_ID),
    openSystemAlert(store, source.id, POLL_FAILING_RULE_ID),
    openSystemAlert(store, source.id, QUARANTINE_RULE_ID),
    store.listQuarantine({ sourceId: source.id, limit: 1 }),
    store.listUnknownTypes(source.id),
  ]);
  const alertedTypes = unknownTypes.length > 0 ? await alertedEventTypes(store, source.id) : new Set<string>();
  return {
    source,
    status,
    nowMs,
    open: { noData, authFailure, pollFailing, quarantine },
    lastQuarantinedMs: lastQuarantined[0]?.receivedAtMs ?? null,
    unknownTypes: unknownTypes.map((u) => ({ type: u.type, firstSeenMs: u.firstSeenMs })),
    alertedTypes,
  };
}

/**
 * The one health state of a source, shown as is by the API (`health`), the console, the CLI and `/metrics`:
 * - disabled: the source is turned off (not polled);
 * - failing: it cannot authenticate, or its polls have failed past its poll-failure threshold;
 * - no_data: no new event for its no-data threshold (the no-data alert is, or is about to be, open);
 * - warning: the last poll failed, records were quarantined in the last hour, or polls stalled (no
 *   successful poll for 3 intervals and a minute);
 * - ok: anything else, including a source not polled yet.
 */
export type HealthState = "ok" | "warning" | "no_data" | "failing" | "disabled";
export const HEALTH_STATES: readonly HealthState[] = ["ok", "warning", "no_data", "failing", "disabled"];

export interface SourceHealth {
  state: HealthState;
  /** One sentence saying why, for people (the API's `healthReason`, the CLI's list). */
  reason: string;
}

/** Polls stalled: no successful poll for this many intervals, plus STALL_GRACE_MS. */
const STALL_INTERVALS = 3;
const STALL_GRACE_MS = 60_000;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * A source's health, from the same input as its system alerts: an open alert counts until this input would
 * resolve it, and a check past its threshold counts before its alert is raised. Pure.
 */
export function sourceHealth(input: HealthInput): SourceHealth {
  const { source, open, status, nowMs } = input;
  if (!source.enabled) return { state: "disabled", reason: "Turned off: the source is not polled." };
  const decisions = decideHealth(input);
  const active = new Set<HealthCheck>();
  for (const a of decisions) if (a.kind === "raise" && a.check !== "new_event_type") active.add(a.check);
  if (open.authFailure) active.add("auth_failure");
  if (open.pollFailing) active.add("poll_failing");
  if (open.noData) active.add("no_data");
  if (open.quarantine) active.add("quarantine");
  // An open alert that this tick would resolve no longer counts.
  for (const a of decisions) if (a.kind === "resolve") active.delete(a.check);

  const lastError = status.lastError ?? status.lastErrorCode ?? "unknown error";
  if (active.has("auth_failure")) {
    return { state: "failing", reason: `Cannot authenticate to the OpenAI API: ${lastError}` };
  }
  if (active.has("poll_failing")) {
    const since = status.lastSuccessMs === null ? "it was added" : iso(status.lastSuccessMs);
    return {
      state: "failing",
      reason: `Every poll since ${since} failed (${status.consecutiveFailures} in a row): ${lastError}`,
    };
  }
  if (active.has("no_data")) {
    const last = status.lastEventStoredMs === null ? "it was added" : iso(status.lastEventStoredMs);
    return {
      state: "no_data",
      reason: `No new event since ${last} (the no-data alarm is at ${formatDuration(source.noDataAlertSecs)}).`,
    };
  }
  if (status.consecutiveFailures > 0) {
    return { state: "warning", reason: `The last poll failed (${status.consecutiveFailures} in a row): ${lastError}` };
  }
  if (active.has("quarantine")) {
    return { state: "warning", reason: "Records were quarantined in the last hour (not stored as events)." };
  }
  const stallMs = STALL_INTERVALS * source.pollIntervalSecs * 1000 + STALL_GRACE_MS;
  if (status.lastSuccessMs !== null && nowMs - status.lastSuccessMs > stallMs) {
    return {
      state: "warning",
      reason: `No successful poll since ${iso(status.lastSuccessMs)} (it polls every ${formatDuration(source.pollIntervalSecs)}); is vigil start running?`,
    };
  }
  if (status.lastSuccessMs === null) return { state: "ok", reason: "Not polled yet." };
  return { state: "ok", reason: `Last successful poll at ${iso(status.lastSuccessMs)}.` };
}

/** Reads what `sourceHealth` needs from the store and decides. */
export async function readSourceHealth(store: Store, source: SourceRecord, nowMs: number): Promise<SourceHealth> {
  return sourceHealth(await healthInput(store, source, nowMs));
}

/** Runs the checks for one source and applies the decisions; returns what it changed. */
export async function checkSourceHealth(store: Store, source: SourceRecord, nowMs: number): Promise<HealthAction[]> {
  const done: HealthAction[] = [];
  for (const action of decideHealth(await healthInput(store, source, nowMs))) {
    if (action.kind === "raise") {
      // Nothing is created when this episode already raised its alert (e.g. a user closed it by hand).
      const { createdAlertIds } = await store.applyDerivedMatches(source.id, [action.match]);
      if (createdAlertIds.length > 0) done.push(action);
    } else {
      await store.setAlertStatus(action.alertId, "RESOLVED", nowMs);
      done.push(action);
    }
  }
  return done;
}
