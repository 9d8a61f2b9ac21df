// Query parsing for `GET /organization/audit_logs` as the official SDKs encode it (API reference §3.3): bracket
// notation, raw or percent-encoded (`effective_at[gte]=…`, `event_types[]=…&event_types[]=…`). URLSearchParams
// already undoes the percent-encoding of the keys. Parameters the API does not define (e.g. Sentinel's
// `order=asc`) are ignored, as a lenient server would.

import { isTenantScoped } from "../core/event-types.ts";
import { type ApiError, apiError } from "./api-errors.ts";

export interface ParsedQuery {
  effectiveAt: { gt?: number; gte?: number; lt?: number; lte?: number };
  eventTypes?: ReadonlySet<string>;
  actorIds?: ReadonlySet<string>;
  /** Lower-cased: emails compare case-insensitively. */
  actorEmails?: ReadonlySet<string>;
  projectIds?: ReadonlySet<string>;
  resourceIds?: ReadonlySet<string>;
  tenantOnly: boolean;
  limit: number;
  after?: string;
  before?: string;
}

export type QueryParseResult = { ok: true; query: ParsedQuery } | { ok: false; error: ApiError };

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

const ARRAY_PARAMS = {
  event_types: "eventTypes",
  actor_ids: "actorIds",
  actor_emails: "actorEmails",
  project_ids: "projectIds",
  resource_ids: "resourceIds",
} as const;
type ArrayParam = keyof typeof ARRAY_PARAMS;

const RANGE_OPS = new Set(["gt", "gte", "lt", "lte"]);
const KEY_PATTERN = /^([a-z_]+)(?:\[([^\]]*)\])?$/;
const INTEGER = /^-?\d+$/;

export function parseAuditLogQuery(params: URLSearchParams): QueryParseResult {
  const query: ParsedQuery = { effectiveAt: {}, tenantOnly: false, limit: DEFAULT_LIMIT };
  const arrays = new Map<ArrayParam, Set<string>>();

  for (const [key, value] of params) {
    const match = KEY_PATTERN.exec(key);
    if (!match) continue;
    const name = match[1] as string;
    const sub = match[2];

    if (name === "effective_at") {
      if (sub === undefined || !RANGE_OPS.has(sub)) {
        return fail(`Invalid '${key}': use effective_at[gt], [gte], [lt] or [lte].`, "effective_at");
      }
      if (!INTEGER.test(value)) {
        return fail(
          `Invalid '${key}': expected an integer Unix timestamp, but got '${value}' instead.`,
          key,
          "invalid_type",
        );
      }
      query.effectiveAt[sub as "gt" | "gte" | "lt" | "lte"] = Number(value);
      continue;
    }

    if (name in ARRAY_PARAMS) {
      // name[], name[0] (qs "indices" format) and a bare repeated name all mean one more item.
      if (sub !== undefined && sub !== "" && !/^\d+$/.test(sub)) continue;
      if (value === "") continue;
      const set = arrays.get(name as ArrayParam) ?? new Set<string>();
      set.add(name === "actor_emails" ? value.toLowerCase() : value);
      arrays.set(name as ArrayParam, set);
      continue;
    }

    if (sub !== undefined) continue;
    switch (name) {
      case "limit": {
        const result = parseLimit(value);
        if (typeof result !== "number") return { ok: false, error: result };
        query.limit = result;
        break;
      }
      case "tenant_only": {
        const lowered = value.toLowerCase();
        if (lowered === "true" || lowered === "1") query.tenantOnly = true;
        else if (lowered === "false" || lowered === "0") query.tenantOnly = false;
        else
          return fail(
            `Invalid 'tenant_only': expected a boolean, but got '${value}' instead.`,
            "tenant_only",
            "invalid_type",
          );
        break;
      }
      case "after":
        if (value !== "") query.after = value;
        break;
      case "before":
        if (value !== "") query.before = value;
        break;
    }
  }

  for (const [name, set] of arrays) query[ARRAY_PARAMS[name]] = set;

  if (query.after !== undefined && query.before !== undefined) {
    return fail("Only one of 'after' and 'before' may be given.", "before");
  }
  if (query.tenantOnly && query.eventTypes) {
    for (const type of query.eventTypes) {
      if (!isTenantScoped(type)) {
        return fail(
          `Invalid 'event_types': '${type}' is not tenant-scoped. When 'tenant_only' is true, all supplied event ` +
            "types must be tenant-scoped.",
          "event_types",
        );
      }
    }
  }
  return { ok: true, query };
}

function parseLimit(value: string): number | ApiError {
  if (!INTEGER.test(value)) {
    return apiError(400, `Invalid 'limit': expected an integer, but got '${value}' instead.`, {
      param: "limit",
      code: "invalid_type",
    });
  }
  const limit = Number(value);
  if (limit < 1) {
    return apiError(
      400,
      `Invalid 'limit': integer below minimum value. Expected a value >= 1, but got ${limit} instead.`,
      {
        param: "limit",
        code: "integer_below_min_value",
      },
    );
  }
  if (limit > MAX_LIMIT) {
    return apiError(
      400,
      `Invalid 'limit': integer above maximum value. Expected a value <= ${MAX_LIMIT}, but got ${limit} instead.`,
      { param: "limit", code: "integer_above_max_value" },
    );
  }
  return limit;
}

function fail(message: string, param: string, code: string | null = null): QueryParseResult {
  return { ok: false, error: apiError(400, message, { param, code }) };
}

export function unknownCursor(param: "after" | "before", id: string): ApiError {
  return apiError(400, `Invalid '${param}': no audit log with ID '${id}' was found.`, {
    param,
    code: "invalid_cursor",
  });
}
