// The normalized form of a stored event (OpenAI.Audit, what rules see), rebuilt from its raw record on read.
// The store keeps only the raw record: the normalized copy was most of an event's bytes, and normalizing is
// pure, so the form rebuilt here is the one the rules saw when the page was stored: same record, same source,
// the time it was stored as p_parse_time, and a p_row_id derived from the source and the event id.

import { createHash } from "node:crypto";
import { loadOpenAIAuditLogType } from "../schema/index.ts";
import type { SourceRecord, StoredEvent } from "../storage/ports.ts";
import type { RecordNormalizer } from "./page-records.ts";

/** The p_row_id of an event: one per (source, event), in the hex shape of Panther's row ids. */
export function rowIdOf(sourceId: string, eventId: string): string {
  return createHash("sha256").update(sourceId).update("\0").update(eventId).digest("hex").slice(0, 28);
}

let builtin: RecordNormalizer | undefined;

/** The normalized record of a stored event, or null when its raw record no longer normalizes. */
export function normalizedRecord(
  event: StoredEvent,
  source: Pick<SourceRecord, "id" | "name">,
  normalizer: RecordNormalizer = (builtin ??=
    loadOpenAIAuditLogType()),
): Record<string, unknown> | null {
  let raw: unknown;
  try {
    raw = JSON.parse(event.raw);
  } catch {
    return null;
  }
  const outcome = normalizer.normalize(raw, {
    sourceId: source.id,
    sourceLabel: source.name,
    parseTimeMs: event.ingestedAtMs,
    rowId: rowIdOf(source.id, event.id),
  });
  return outcome.ok ? (outcome.record ?? null) : null;
}
