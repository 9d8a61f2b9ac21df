// Validation of the `ListAuditLogsResponse` envelope. Only the envelope is checked: records stay `unknown`
// because one unparsable record must never fail a page (the caller validates and quarantines records).

import type { AuditLogPage } from "../../core/audit-log.ts";

export type EnvelopeResult = { ok: true; page: AuditLogPage } | { ok: false; problem: string };

/** Parses a complete response body. Any problem means the page is unusable as a whole and should be re-fetched. */
export function parseAuditLogEnvelope(body: string): EnvelopeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    return { ok: false, problem: `not valid JSON (${body.length} bytes; ${(err as Error).message})` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { ok: false, problem: "the body is not a JSON object" };
  }
  const envelope = parsed as Record<string, unknown>;
  if (envelope.object !== "list") return { ok: false, problem: `object is ${show(envelope.object)}, not "list"` };
  if (!Array.isArray(envelope.data)) return { ok: false, problem: `data is ${show(envelope.data)}, not an array` };
  if (typeof envelope.has_more !== "boolean") {
    return { ok: false, problem: `has_more is ${show(envelope.has_more)}, not a boolean` };
  }
  const firstId = cursorId(envelope.first_id);
  const lastId = cursorId(envelope.last_id);
  if (firstId === undefined) return { ok: false, problem: `first_id is ${show(envelope.first_id)}` };
  if (lastId === undefined) return { ok: false, problem: `last_id is ${show(envelope.last_id)}` };
  return {
    ok: true,
    page: { object: "list", data: envelope.data, first_id: firstId, last_id: lastId, has_more: envelope.has_more },
  };
}

/**
 * A string, or null. An absent field also reads as null: the spec does not mark first_id/last_id as required,
 * so rejecting their absence would retry a valid response forever. Any other type is malformed (`undefined`).
 */
function cursorId(value: unknown): string | null | undefined {
  if (value === null || value === undefined) return null;
  return typeof value === "string" ? value : undefined;
}

function show(value: unknown): string {
  if (value === undefined) return "missing";
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : `a ${typeof value}`;
}
