// Helpers of the identity, credential and privilege rules of the OpenAI pack (catalogue rows 1–16):
// reading lists and roles out of payloads, per-principal keys for rule state, scope and permission
// classification, and builders of RAW API records for the rules' test cases. Files starting with `_` are
// not rules.

import type { RuleState } from "../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../src/detections/event/index.ts";
import { actorEmail, actorId, actorKind } from "./_common.ts";

export const DAY_SECS = 86_400;

/** Lower-cased strings of a list value (an event list, a plain array, or a single string). */
export function stringList(value: unknown): string[] {
  if (typeof value === "string") return value.length > 0 ? [value.toLowerCase()] : [];
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is string => typeof v === "string" && v.length > 0).map((v) => v.toLowerCase());
}

export function lowerText(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value.toLowerCase() : null;
}

/** Who the actor is, for state keys and dedup: the lower-cased email, else the id, else null. */
export function principalKey(event: PantherEvent): string | null {
  return actorEmail(event)?.toLowerCase() ?? actorId(event);
}

/** The actor email in lower case (what the login rules group and correlate on). */
export function loginEmail(event: PantherEvent): string | null {
  return actorEmail(event)?.toLowerCase() ?? null;
}

/** Whether the actor is an API key (user or service account) rather than a dashboard session. */
export function actorIsKey(event: PantherEvent): boolean {
  const kind = actorKind(event);
  return kind === "user_api_key" || kind === "service_account_api_key";
}

/**
 * Marks `key` as seen at the event's day, refreshing its TTL at most once a day (so hot keys do not write
 * on every event). Returns whether the key was already known before this call.
 */
export function rememberDaily(state: RuleState, key: string, nowSecs: number, ttlSecs: number): boolean {
  const known = state.get(key) !== null;
  touchDaily(state, key, nowSecs, ttlSecs);
  return known;
}

/**
 * Stores the event's day under `key` (with the TTL from the event) when the key holds an earlier day or none;
 * returns whether it wrote. Never a later day for an earlier one: a backfill reads its slices' days side by
 * side, and writing whichever day came last made every page of every slice write every key again (and moved
 * the expiry back).
 */
export function touchDaily(state: RuleState, key: string, nowSecs: number, ttlSecs: number): boolean {
  const day = Math.floor(nowSecs / DAY_SECS);
  // A value that is not a day (NaN) is written over.
  if (Number(state.get(key) ?? Number.NaN) >= day) return false;
  state.put(key, String(day), { ttlSecs });
  return true;
}

// ---- API key scopes (row 7) ----

/** Scopes that give everything: the dashboard's "All" permission and Panther's legacy names. */
const FULL_SCOPES = new Set(["api.all", "all", "*", "api.*", "admin"]);
/**
 * Scopes that administer the organization, its keys or members (new and legacy spellings). `api.management.write`
 * is the Admin API's: it creates keys, invites users and changes roles.
 */
const ADMIN_SCOPE =
  /(^|[.:_])(admin|owner)$|^api\.organization\.|^api\.management\.write$|^organization:write$|^api_keys:write$|^api\.api_keys\.write$|^api\.members\.write$|^api\.roles\.write$/;
/**
 * Panther's remaining elevated legacy scope, and the Admin API's read scope (`api.management.read`, what the
 * posture endpoints need: it reads every user, key and invite of the organization).
 */
const OTHER_ELEVATED = new Set(["models:write", "api.management.read"]);

export type ScopeClass = "full" | "admin" | "elevated";

export function classifyScopes(scopes: string[]): { level: ScopeClass | null; elevated: string[] } {
  const full = scopes.filter((s) => FULL_SCOPES.has(s));
  const admin = scopes.filter((s) => !FULL_SCOPES.has(s) && ADMIN_SCOPE.test(s));
  const other = scopes.filter((s) => OTHER_ELEVATED.has(s));
  const elevated = [...full, ...admin, ...other];
  const level: ScopeClass | null =
    full.length > 0 ? "full" : admin.length > 0 ? "admin" : other.length > 0 ? "elevated" : null;
  return { level, elevated };
}

// ---- Custom-role permissions (row 16) ----

/** owner-level, admin-level, or credential/member/role management, or another write permission. */
export function classifyPermissions(permissions: string[]): {
  level: "owner" | "admin" | "write" | null;
  sensitive: string[];
} {
  const owner = permissions.filter((p) => /(^|[.:_])owner$/.test(p) || FULL_SCOPES.has(p));
  const admin = permissions.filter(
    (p) => !owner.includes(p) && /(^|[.:_])admin$|api_keys|members|roles|audit_logs\.write|manage/.test(p),
  );
  const write = permissions.filter((p) => !owner.includes(p) && !admin.includes(p) && /(^|[.:_])write$/.test(p));
  const sensitive = [...owner, ...admin, ...write];
  const level = owner.length > 0 ? "owner" : admin.length > 0 ? "admin" : write.length > 0 ? "write" : null;
  return { level, sensitive };
}

// ---- Role assignments (row 14) ----

/**
 * The role named in a role-assignment id of the form `role_assignment_role-<role>__<resource type>__…`
 * (Panther's fixtures; unconfirmed against live data), lower-cased; else the whole id lower-cased.
 */
export function assignedRole(id: string | null): string | null {
  if (id === null) return null;
  const m = /^role_assignment_role-(.+?)__/i.exec(id);
  return (m?.[1] ?? id).toLowerCase();
}

// ---- Raw API records for test cases ----

export interface SessionOptions {
  id?: string;
  ip?: string;
  country?: string;
  asn?: string;
}

export function session(email: string, o: SessionOptions = {}): Record<string, unknown> {
  const s: Record<string, unknown> = {
    user: { id: o.id ?? "user-abcdefghijklmnopqrstuvwx", email },
    ip_address: o.ip ?? "203.0.113.10",
    user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
  };
  if (o.country !== undefined || o.asn !== undefined) {
    s.ip_address_details = {
      country: o.country ?? "US",
      city: "Portland",
      region: "Oregon",
      region_code: "OR",
      asn: o.asn ?? "7922",
      latitude: "45.52345",
      longitude: "-122.67621",
    };
  }
  return { type: "session", session: s };
}

export function userKey(email: string, keyId = "key_userkey000000001"): Record<string, unknown> {
  return { type: "api_key", api_key: { id: keyId, type: "user", user: { id: "user-keyowner000000000000001", email } } };
}

export function serviceAccountKey(
  serviceAccountId = "svc_acct_abcdefghijklmnopqrstuvwx",
  keyId = "key_svcacctkey000001",
): Record<string, unknown> {
  return {
    type: "api_key",
    api_key: { id: keyId, type: "service_account", service_account: { id: serviceAccountId } },
  };
}

export const TEST_PROJECT = { id: "proj_abcdefghijklmnopqrstuvwx", name: "Inference" };

/** A raw audit-log record as the API returns it: the payload under the literal (dotted) type key. */
export function raw(
  type: string,
  actor: Record<string, unknown> | null,
  payload?: unknown,
  o: { at?: number; project?: { id: string; name: string } } = {},
): Record<string, unknown> {
  const record: Record<string, unknown> = {
    object: "organization.audit_log",
    id: "audit_log-TestRecord0000000000000000",
    type,
    effective_at: o.at ?? 1_767_225_600,
  };
  if (o.project) record.project = o.project;
  record.actor = actor;
  if (payload !== undefined) record[type] = payload;
  return record;
}
