// Event and quarantine rows as SQLite returns them (snake_case) and their mapping to the port's records.

import type { QuarantineRecord, StoredEvent, ValidationIssue } from "../ports.ts";
import type { EventsTable, QuarantineTable } from "./search.ts";

export function toStoredEvent(row: EventsTable): StoredEvent {
  return {
    sourceId: row.source_id,
    id: row.id,
    type: row.type,
    effectiveAtSecs: row.effective_at,
    actorType: row.actor_type,
    actorId: row.actor_id,
    actorEmail: row.actor_email,
    ip: row.ip,
    projectId: row.project_id,
    raw: row.raw,
    normalized: row.normalized,
    ingestedAtMs: row.ingested_at_ms,
  };
}

export function toQuarantineRecord(row: QuarantineTable): QuarantineRecord {
  return {
    id: row.id,
    sourceId: row.source_id,
    eventId: row.event_id,
    reason: row.reason,
    issues: JSON.parse(row.issues) as ValidationIssue[],
    raw: row.raw,
    receivedAtMs: row.received_at_ms,
  };
}
