// Validation of the `ListAuditLogsResponse` envelope. Only the envelope is checked: records stay `unknown`
// because one unparsable record must never fail a page (the caller validates and quarantines records).

import type { AuditLogPage } from "../../core/audit-log.ts";

export type EnvelopeResult = { ok: true; page: AuditLogPage } | { ok: false; problem: string };

/**
 * Parses a complete response body. Any problem means the page is unusable as a whole and should be re-fetched.
 *
 * Text: the client decodes the body as UTF-8 the WHATWG way, so bytes that are not UTF-8 arrive here as U+FFFD
 * (inside a string they are kept as U+FFFD and the record is stored with it; outside a string the body is not
 * JSON). Control characters left unescaped inside strings (a raw NUL byte, a raw newline) break JSON.parse; a
 * server that sends them sends them again on every retry, so the page would block its window forever. Such a
 * body is read as if they had been escaped, and the records then go through the storable check like any other
 * (a NUL is quarantined). Anything else wrong with the body still fails it.
 */
export function parseAuditLogEnvelope(body: string): EnvelopeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    const repaired = escapeControlCharactersInStrings(body);
    try {
      if (repaired === body) throw err;
      parsed = JSON.parse(repaired);
    } catch {
      return { ok: false, problem: `not valid JSON (${body.length} bytes; ${(err as Error).message})` };
    }
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

/**
 * The body with every control character (U+0000–U+001F) inside a JSON string written as a \u00XX escape;
 * outside strings nothing changes, so JSON whitespace stays whitespace and any other fault stays a fault.
 * Only called once JSON.parse has failed: the usual page never pays for it.
 */
export function escapeControlCharactersInStrings(body: string): string {
  let out = "";
  let from = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const code = body.charCodeAt(i);
    if (!inString) {
      inString = code === 0x22;
    } else if (code === 0x5c) {
      i++; // a backslash: the next character is escaped, whatever it is
    } else if (code === 0x22) {
      inString = false;
    } else if (code < 0x20) {
      out += `${body.slice(from, i)}\\u${code.toString(16).padStart(4, "0")}`;
      from = i + 1;
    }
  }
  return out === "" ? body : out + body.slice(from);
}
