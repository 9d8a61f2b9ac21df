// Wire encoding of `GET /organization/audit_logs` query parameters.
// The official SDKs serialize with `qs.stringify(query, { arrayFormat: "brackets" })`, so the API is known to accept
// `effective_at[gte]=…` and `event_types[]=a&event_types[]=b` (brackets percent-encoded, as Node's SDK sends them).
// A plain OpenAPI "form, explode" reading would send `?gte=…`, which is wrong (reference doc §3.3).

import type { AuditLogQuery } from "../../core/audit-log.ts";
import { VigilError } from "../../core/errors.ts";

/** Page size the poller asks for unless told otherwise: the API maximum, to use as few requests as possible. */
export const DEFAULT_PAGE_LIMIT = 100;

const RANGE_OPS = ["gt", "gte", "lt", "lte"] as const;
const ARRAY_PARAMS = ["event_types", "actor_ids", "actor_emails", "project_ids", "resource_ids"] as const;

/**
 * Encodes a query exactly as the SDKs do, without the leading `?`. Parameters come in a fixed order so that the
 * same query always gives the same string. `limit` defaults to 100; `tenant_only` is sent only when true.
 */
export function encodeAuditLogQuery(query: AuditLogQuery): string {
  const parts: string[] = [];
  const add = (key: string, value: string | number | boolean) => {
    parts.push(`${encodeComponent(key)}=${encodeComponent(String(value))}`);
  };

  for (const op of RANGE_OPS) {
    const bound = query.effective_at?.[op];
    if (bound === undefined) continue;
    assertInteger(`effective_at.${op}`, bound);
    add(`effective_at[${op}]`, bound);
  }
  for (const name of ARRAY_PARAMS) {
    for (const value of query[name] ?? []) add(`${name}[]`, value);
  }
  if (query.tenant_only === true) add("tenant_only", true);

  const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
  assertInteger("limit", limit);
  // The API states 1..100 in prose only; an out-of-range value has undocumented effects, so refuse to send it.
  if (limit < 1 || limit > 100) throw invalidQuery(`limit must be between 1 and 100, got ${limit}`);
  add("limit", limit);

  if (query.after !== undefined) add("after", query.after);
  if (query.before !== undefined) add("before", query.before);
  return parts.join("&");
}

/** RFC 3986 encoding as qs does it: everything but `A-Z a-z 0-9 - . _ ~` is percent-encoded (also `!'()*`). */
function encodeComponent(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function assertInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw invalidQuery(`${name} must be an integer, got ${value}`);
}

function invalidQuery(detail: string): VigilError {
  return new VigilError("openai_invalid_query", `Invalid audit log query: ${detail}.`);
}
