// Shared helpers of the OpenAI.Posture pack. Posture records are built by src/posture/records.ts: one per object
// (`record_type: "object"`, with `object`, derived `facts` and the `settings` thresholds), one for the organization
// and one per change between two snapshots. Files starting with `_` are not rules.

import type { PantherEvent } from "../../src/detections/event/index.ts";
import { DEFAULT_POSTURE_SETTINGS } from "../../src/posture/settings.ts";

export const POSTURE = "OpenAI.Posture";
/** The runbook of each finding is a section of docs/posture.md. */
export const RUNBOOK_DOC = "docs/posture.md";

export function runbookAt(anchor: string, steps: string): string {
  return `${RUNBOOK_DOC}#${anchor} — ${steps}`;
}

export function isObject(event: PantherEvent, ...kinds: string[]): boolean {
  return event.get("record_type") === "object" && kinds.includes(String(event.get("kind")));
}

/** A change record (a diff between two snapshots) of one of these kinds of object. */
export function isChange(event: PantherEvent, ...kinds: string[]): boolean {
  return event.get("record_type") === "change" && kinds.includes(String(event.get("kind")));
}

export function fact(event: PantherEvent, name: string): unknown {
  return event.deepGet("facts", name);
}

export function field(event: PantherEvent, name: string): unknown {
  return event.deepGet("object", name);
}

export function setting(event: PantherEvent, name: string): unknown {
  return event.deepGet("settings", name);
}

/** Every posture alert groups by the object it is about. */
export function objectDedup(event: PantherEvent): string {
  return `${String(event.get("kind"))}:${String(event.get("object_id"))}`;
}

export function objectContext(event: PantherEvent, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: event.get("kind"),
    object_id: event.get("object_id"),
    project_id: event.get("project_id") ?? null,
    name: field(event, "name") ?? field(event, "email") ?? null,
    ...extra,
  };
}

const SNAPSHOT_SECS = 1_780_000_000;
const SETTINGS = {
  unused_days: DEFAULT_POSTURE_SETTINGS.unusedDays,
  max_owners: DEFAULT_POSTURE_SETTINGS.maxOwners,
  org_domains: ["acme-robotics.com"],
};

const common = { p_log_type: POSTURE, p_event_time: "2026-05-28 20:26:40.000000000", snapshot_time: SNAPSHOT_SECS };

/** A test record for one object. */
export function objectRecord(
  kind: string,
  object: Record<string, unknown>,
  facts: Record<string, unknown> = {},
  settings: Record<string, unknown> = {},
  projectId: string | null = null,
): Record<string, unknown> {
  const id = projectId && !["project_api_key"].includes(kind) ? `${projectId}/${object.id}` : object.id;
  return {
    ...common,
    record_type: "object",
    kind,
    object_id: id,
    project_id: projectId,
    object,
    facts,
    settings: { ...SETTINGS, ...settings },
  };
}

export function organizationRecord(facts: Record<string, unknown>, settings: Record<string, unknown> = {}) {
  return {
    ...common,
    record_type: "organization",
    kind: "organization",
    object_id: "organization",
    facts,
    settings: { ...SETTINGS, ...settings },
  };
}

export function changeRecord(change: Record<string, unknown>): Record<string, unknown> {
  return { ...common, record_type: "change", project_id: null, fields: [], settings: SETTINGS, ...change };
}

export const DAY_SECS = 86_400;
export const NOW_SECS = SNAPSHOT_SECS;
