// The wire shapes of the OpenAI Audit Logs API, as the poller receives them.
// Every field is optional on the wire except `id`, `type` and `effective_at` (spec: AuditLog.required);
// `actor` is nullable since the 2026 spec. Unknown fields are kept, never dropped.

export interface AuditLogActorUser {
  id?: string;
  email?: string;
}

/**
 * Strings as seen live; no spec declares them, so a value may come as a number (kept as sent: OpenAI.Audit.yml).
 */
export interface AuditLogIpAddressDetails {
  country?: string;
  city?: string;
  region?: string;
  region_code?: string;
  asn?: string | number;
  latitude?: string | number;
  longitude?: string | number;
}

export interface AuditLogActorSession {
  user?: AuditLogActorUser;
  ip_address?: string;
  user_agent?: string;
  ja3?: string;
  ja4?: string;
  ip_address_details?: AuditLogIpAddressDetails;
}

export interface AuditLogActorApiKey {
  id?: string;
  type?: "user" | "service_account";
  user?: AuditLogActorUser;
  service_account?: { id?: string };
}

export interface AuditLogActor {
  type?: "session" | "api_key";
  session?: AuditLogActorSession;
  api_key?: AuditLogActorApiKey;
}

/** One audit log record. The type-keyed payload (e.g. `"api_key.created"`) sits beside these fields. */
export interface RawAuditLog {
  id: string;
  type: string;
  effective_at: number;
  object?: string;
  actor?: AuditLogActor | null;
  project?: { id?: string; name?: string };
  [payloadKey: string]: unknown;
}

/** `ListAuditLogsResponse`. `data` items are unknown until validated: one bad record never fails a page. */
export interface AuditLogPage {
  object: "list";
  data: unknown[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
  /** The API's clock when it answered (its Date header, Unix seconds), where it said. Not part of the body. */
  serverTimeSecs?: number;
}

/**
 * Where the walk goes on after this page: its `last_id`, or, since the spec does not require one, its last record's
 * id, which is what `last_id` is in real responses. Null when the page has neither (it cannot be continued).
 */
export function pageCursor(page: Pick<AuditLogPage, "data" | "last_id">): string | null {
  const lastRecord = page.data.at(-1) as { id?: unknown } | null | undefined;
  return page.last_id || (typeof lastRecord?.id === "string" && lastRecord.id !== "" ? lastRecord.id : null);
}

/** The query parameters of `GET /organization/audit_logs`, named as the SDKs name them. */
export interface AuditLogQuery {
  effective_at?: { gt?: number; gte?: number; lt?: number; lte?: number };
  event_types?: string[];
  actor_ids?: string[];
  actor_emails?: string[];
  project_ids?: string[];
  resource_ids?: string[];
  tenant_only?: boolean;
  limit?: number;
  after?: string;
  before?: string;
}
