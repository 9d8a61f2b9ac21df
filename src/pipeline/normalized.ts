// The normalized form of a stored event (OpenAI.Audit, what rules see), rebuilt from its raw record on read.
// The store keeps only the raw record: the normalized copy was most of an event's bytes, and normalizing is
// pure, so the form rebuilt here is the one the rules saw when the page was stored: same record, same source,
// the time it was stored as p_parse_time, and a p_row_id derived from the source and the event id.

import type { StoredEvent } from "../core/event.ts";
import type { SourceRecord } from "../core/source.ts";
import { loadOpenAIAuditLogType } from "../schema/index.ts";
import { type RecordNormalizer, rowIdOf } from "./page-records.ts";

let builtin: RecordNormalizer | undefined;

/** OpenAI.Audit's normalizer, loaded once. */
function builtinNormalizer(): RecordNormalizer {
  if (builtin === undefined) builtin = loadOpenAIAuditLogType();
  return builtin;
}

/** The normalized record of a stored event, or null when its raw record no longer normalizes. */
export function normalizedRecord(
  event: StoredEvent,
  source: Pick<SourceRecord, "id" | "name">,
  normalizer: RecordNormalizer = builtinNormalizer(),
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
