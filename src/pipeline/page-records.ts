// Turns the records of one API page into what the store writes: valid events with their indexed
// columns, the normalized records for detection, and quarantined records with the reasons. Pure: no I/O.
// One bad record never fails its page: whatever it holds, it goes to quarantine, kept whole when it can be
// serialized within the bounds and as a bounded preview when not (storable-record.ts says why).

import { createHash } from "node:crypto";
import type { RawAuditLog } from "../core/audit-log.ts";
import type { EventRow, QuarantineRow } from "../core/event.ts";
import { isKnownEventType } from "../core/event-types.ts";
import { storableText } from "../core/storable-text.ts";
import type { ValidationIssue } from "../core/validation.ts";
import type { PageWrite } from "../storage/ports.ts";
import {
  checkSerializable,
  checkStorable,
  checkStorableUnserialized,
  PREVIEW_DEPTH,
  previewJson,
} from "./storable-record.ts";

export interface NormalizeOutcome {
  ok: boolean;
  record?: Record<string, unknown>;
  issues?: ValidationIssue[];
}

/** What the pipeline needs of a log type's normalizer (src/schema provides it). */
export interface RecordNormalizer {
  normalize(
    raw: unknown,
    ctx: { sourceId: string; sourceLabel: string; parseTimeMs: number; rowId?: string },
  ): NormalizeOutcome;
}

/**
 * The p_row_id of an event: one per (source, event), in the hex shape of Panther's row ids, so that the normalized
 * form rebuilt on read (normalized.ts) is the one the rules saw.
 */
export function rowIdOf(sourceId: string, eventId: string): string {
  return createHash("sha256").update(sourceId).update("\0").update(eventId).digest("hex").slice(0, 28);
}

export interface PageRecordsContext {
  sourceId: string;
  sourceLabel: string;
  parseTimeMs: number;
  normalizer: RecordNormalizer;
}

type PageRecords = Pick<PageWrite, "events" | "quarantined" | "unknownTypes"> & {
  /** The normalized records of `events`, same order, for the detection engine. */
  normalized: Array<{ eventId: string; record: Record<string, unknown> }>;
};

/** The fields the store itself relies on: without them an event cannot be keyed, ordered or found. */
export function checkStorageFields(item: unknown): ValidationIssue[] {
  if (item === null || typeof item !== "object" || Array.isArray(item)) {
    return [{ code: "not_an_object", path: "$", message: "The record is not a JSON object." }];
  }
  const rec = item as Record<string, unknown>;
  const issues: ValidationIssue[] = [];
  if (typeof rec.id !== "string" || rec.id.length === 0 || rec.id.length > 256) {
    issues.push({
      code: rec.id === undefined ? "missing_required" : "wrong_type",
      path: "id",
      message: "The record has no usable id (a non-empty string of at most 256 characters is required).",
    });
  }
  if (typeof rec.type !== "string" || rec.type.length === 0 || rec.type.length > 256) {
    issues.push({
      code: rec.type === undefined ? "missing_required" : "wrong_type",
      path: "type",
      message: "The record has no usable type (a non-empty string is required).",
    });
  }
  const at = rec.effective_at;
  if (typeof at !== "number" || !Number.isSafeInteger(at) || at < 0) {
    issues.push({
      code: at === undefined ? "missing_required" : "bad_timestamp",
      path: "effective_at",
      message: "The record has no usable effective_at (Unix seconds as a non-negative integer are required).",
    });
  }
  return issues;
}

function str(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

function obj(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The indexed columns of an event, read from the real API shape (see the API reference §7.3). */
export function indexedColumns(
  rec: RawAuditLog,
): Pick<EventRow, "actorType" | "actorId" | "actorEmail" | "ip" | "projectId"> {
  const actor = obj(rec.actor);
  const session = obj(actor?.session);
  const apiKey = obj(actor?.api_key);
  const sessionUser = obj(session?.user);
  const keyUser = obj(apiKey?.user);
  const serviceAccount = obj(apiKey?.service_account);
  return {
    actorType: str(actor?.type),
    actorId: str(sessionUser?.id) ?? str(keyUser?.id) ?? str(serviceAccount?.id) ?? str(apiKey?.id),
    actorEmail: str(sessionUser?.email) ?? str(keyUser?.email),
    ip: str(session?.ip_address),
    projectId: str(obj(rec.project)?.id),
  };
}

// Bounds of a quarantine row's text fields: the issues may quote the record (a 10 MB id, a key with a NUL).
const MAX_ISSUES = 50;
const MAX_ISSUE_TEXT = 2000;

/**
 * A quarantine row both stores can hold. `json` is the record's whole JSON text when it is already known to be
 * within the bounds; otherwise it is serialized here if it can be, and cut to a preview if not (too deep for
 * JSON.stringify, or megabytes). A preview says so in an extra issue. Two records with the same preview are one
 * row (the stores key quarantine on the raw text): they agree on everything the preview kept.
 */
function quarantine(item: unknown, issues: ValidationIssue[], json?: string): QuarantineRow {
  const rec = obj(item);
  const kept = issues.slice(0, MAX_ISSUES).map((issue) => ({
    code: storableText(issue.code, 100),
    path: storableText(issue.path, MAX_ISSUE_TEXT),
    message: storableText(issue.message, MAX_ISSUE_TEXT),
  }));
  let raw = json;
  if (raw === undefined) {
    const whole = checkSerializable(item);
    if (whole.ok) raw = whole.json;
    else {
      raw = previewJson(item);
      kept.push({
        code: "raw_preview",
        path: "$",
        message: `The record cannot be kept whole (${whole.issue.code}); raw is a preview of at most ${PREVIEW_DEPTH} levels, 1,024 characters per string and 100 entries per object or array.`,
      });
    }
  }
  const first = kept[0];
  return {
    eventId: typeof rec?.id === "string" && rec.id.length > 0 ? storableText(rec.id, 256) : null,
    reason: first ? `${first.path}: ${first.message}` : "The record is invalid.",
    issues: kept,
    raw,
  };
}

export function pageRecords(items: readonly unknown[], ctx: PageRecordsContext): PageRecords {
  const events: EventRow[] = [];
  const quarantined: QuarantineRow[] = [];
  const unknownTypes = new Set<string>();
  const normalized: PageRecords["normalized"] = [];
  // An id the page holds twice is one event: the store keeps the first copy, and the rules see only that one
  // (a rule's state changes and matches would otherwise count the event twice).
  const ids = new Set<string>();
  for (const item of items) {
    // First, before any step that recurses or writes: a record that cannot be stored never reaches them.
    const storable = checkStorable(item);
    if (!storable.ok) {
      quarantined.push(quarantine(item, [storable.issue]));
      continue;
    }
    const storageIssues = checkStorageFields(item);
    if (storageIssues.length > 0) {
      quarantined.push(quarantine(item, storageIssues, storable.json));
      continue;
    }
    const rec = item as RawAuditLog;
    if (ids.has(rec.id)) continue;
    const outcome = ctx.normalizer.normalize(rec, { ...ctx, rowId: rowIdOf(ctx.sourceId, rec.id) });
    if (!outcome.ok) {
      quarantined.push(quarantine(item, outcome.issues ?? [], storable.json));
      continue;
    }
    const record = outcome.record ?? {};
    // The normalized form is checked too: an embedded-JSON field, once parsed, can hold what its text did not.
    const storableRecord = checkStorableUnserialized(record);
    if (!storableRecord.ok) {
      const issue = storableRecord.issue;
      quarantined.push(
        quarantine(item, [{ ...issue, message: `After normalization: ${issue.message}` }], storable.json),
      );
      continue;
    }
    if (!isKnownEventType(rec.type)) unknownTypes.add(rec.type);
    ids.add(rec.id);
    normalized.push({ eventId: rec.id, record });
    events.push({
      id: rec.id,
      type: rec.type,
      effectiveAtSecs: rec.effective_at,
      ...indexedColumns(rec),
      raw: storable.json,
    });
  }
  return { events, quarantined, unknownTypes: [...unknownTypes], normalized };
}
