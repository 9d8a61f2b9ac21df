// Source health: Panther's "Trigger an alert when no events are processed" (SOURCE_NO_DATA, per source,
// default on, 24 h) and the automatic permission-check system error, as system alerts. They are CRITICAL
// like Panther's system errors and go through the alerts table and the outbox, so they are delivered and
// resolved (PagerDuty resolve) like any alert.
//
// `decideHealth` is pure: given a source, its poll status, the open system alerts and the time, it says
// what to raise or resolve. Each raise carries a synthetic event id built from the episode's start (the
// last stored event, or the last successful poll): re-raising on every tick is a no-op in the store (a
// match is stored once), so one episode gives exactly one alert, even one a user closed by hand.

import type { RuleMatch } from "../core/detection.ts";
import type { AlertRecord, PollStatus, SourceRecord, Store } from "../storage/ports.ts";

export const NO_DATA_RULE_ID = "Vigil.System.SourceNoData";
export const AUTH_FAILURE_RULE_ID = "Vigil.System.SourceAuthFailure";
export const SYSTEM_LOG_TYPE = "Vigil.System";

export type HealthCheck = "no_data" | "auth_failure";

export type HealthAction =
  | { kind: "raise"; check: HealthCheck; match: RuleMatch }
  | { kind: "resolve"; check: HealthCheck; alertId: string };

export interface HealthInput {
  source: SourceRecord;
  status: PollStatus;
  nowMs: number;
  /** The open (OPEN or TRIAGED) system alert of each check for this source, if any. */
  open: { noData: AlertRecord | null; authFailure: AlertRecord | null };
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

  const authFailing = status.consecutiveFailures > 0 && (status.lastErrorCode ?? "").startsWith("openai_auth_");
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
  return actions;
}

async function openSystemAlert(store: Store, sourceId: string, ruleId: string): Promise<AlertRecord | null> {
  const alerts = await store.listAlerts({ sourceId, ruleId, limit: 20 });
  return alerts.find((a) => a.status === "OPEN" || a.status === "TRIAGED") ?? null;
}

/** Runs the checks for one source and applies the decisions; returns what it changed. */
export async function checkSourceHealth(store: Store, source: SourceRecord, nowMs: number): Promise<HealthAction[]> {
  const [status, noData, authFailure] = await Promise.all([
    store.getPollStatus(source.id),
    openSystemAlert(store, source.id, NO_DATA_RULE_ID),
    openSystemAlert(store, source.id, AUTH_FAILURE_RULE_ID),
  ]);
  const done: HealthAction[] = [];
  for (const action of decideHealth({ source, status, nowMs, open: { noData, authFailure } })) {
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
