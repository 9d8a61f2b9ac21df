// Helpers for the control-plane rules of the OpenAI pack (allowlists, SCIM/SSO, org settings, keys,
// deletions, off-hours and new-origin admin activity). Files starting with `_` are not rules.

import { currentEventType } from "../../src/core/event-types.ts";
import type { PantherEvent } from "../../src/detections/event/index.ts";
import { ImmutableDict } from "../../src/detections/event/index.ts";
import { payloadField } from "./_common.ts";

/** The event type in the spelling the spec uses now (a former one read as its current one), or "" when absent. */
export function eventType(event: PantherEvent): string {
  const type = event.get("type");
  return typeof type === "string" ? currentEventType(type) : "";
}

/** A non-empty string, else null. */
export function str(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

/** A list value as a plain array (ImmutableList is an Array); anything else → []. */
export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? [...value] : [];
}

/** The strings of a list value. */
export function strings(value: unknown): string[] {
  return list(value).filter((v): v is string => typeof v === "string");
}

/** A payload field as a string. */
export function payloadText(event: PantherEvent, ...path: string[]): string | null {
  return str(payloadField(event, ...path));
}

/** A payload object as a plain record (empty when absent or not an object). */
export function payloadObject(event: PantherEvent, ...path: string[]): Record<string, unknown> {
  const value = payloadField(event, ...path);
  return value instanceof ImmutableDict ? value.toDict() : {};
}

/** `[{id, name}, …]` lists (ip_allowlist.config.*, certificates.*) as `{id, name}` records. */
export function namedItems(value: unknown): Array<{ id: string | null; name: string | null }> {
  return list(value)
    .filter((v): v is ImmutableDict => v instanceof ImmutableDict)
    .map((v) => ({ id: str(v.get("id")), name: str(v.get("name")) }));
}

/** A number from a number or numeric string, else null. */
export function num(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return null;
}

/**
 * The number of addresses a CIDR (or bare address) covers, as a power of two: 32 - prefix for IPv4,
 * 128 - prefix for IPv6. null when it does not parse. A bare address is a /32 (/128).
 */
export function cidrHostBits(cidr: string): number | null {
  const trimmed = cidr.trim();
  const [addr, prefixText] = trimmed.split("/", 2);
  if (!addr) return null;
  const v6 = addr.includes(":");
  const max = v6 ? 128 : 32;
  if (!v6 && !/^\d{1,3}(\.\d{1,3}){3}$/.test(addr)) return null;
  if (prefixText === undefined) return 0;
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > max) return null;
  return max - prefix;
}

/** IPv4 prefixes shorter than /8 (more than 16M addresses) and IPv6 shorter than /32 count as "very wide". */
export const WIDE_V4_HOST_BITS = 24;
export const WIDE_V6_HOST_BITS = 96;

/** Entries of an allowlist that allow any address (0.0.0.0/0, ::/0) or a very wide range. */
export function wideEntries(ips: readonly string[]): { any: string[]; wide: string[] } {
  const any: string[] = [];
  const wide: string[] = [];
  for (const ip of ips) {
    const bits = cidrHostBits(ip);
    if (bits === null) continue;
    const v6 = ip.includes(":");
    if (bits === (v6 ? 128 : 32)) any.push(ip);
    else if (bits > (v6 ? WIDE_V6_HOST_BITS : WIDE_V4_HOST_BITS)) wide.push(ip);
  }
  return { any, wide };
}

/**
 * Event types that are administrative changes (not logins, logouts or machine events such as token
 * issuance and policy resolution). Used by the off-hours and new-origin rules.
 */
const NON_ADMIN_TYPES = new Set([
  "login.succeeded",
  "login.failed",
  "logout.succeeded",
  "logout.failed",
  "tenant.user.looked_up",
  "tenant.workload_identity.access_token.issued",
  "tenant.workload_identity.principal.provisioned",
  "tenant.principal_authentication_policy.resolved",
  "tenant.migration_rollout.status.updated",
  "tenant.migration_rollout.tier.updated",
  "tenant.migration.completed",
  "tenant.membership.accepted",
  "tenant.membership.declined",
  "invite.accepted",
]);

export function isAdminType(type: string): boolean {
  return type.length > 0 && !NON_ADMIN_TYPES.has(type);
}

/** Project deletion-like events (OpenAI.Data.ProjectDeleted and OpenAI.Data.DeletionBurst). */
export const DELETION_TYPES: ReadonlySet<string> = new Set(["project.deleted", "project.archived", "resource.deleted"]);

/** The UTC hour (0–23) of Unix seconds. */
export function utcHour(secs: number): number {
  return new Date(secs * 1000).getUTCHours();
}

/** Test fixtures: a raw API record (as the audit-log endpoint returns it) made by `actor`. */
export interface RawFixtureOptions {
  id?: string;
  at?: number;
  actor?: Record<string, unknown> | null;
  project?: { id: string; name: string };
}

/** A dashboard session of an owner, as the API reports it. */
export function sessionOf(
  email: string,
  ip = "198.51.100.20",
  details: Record<string, unknown> | null = {
    country: "US",
    city: "San Francisco",
    region: "California",
    region_code: "CA",
    asn: "7922",
    latitude: "37.77490",
    longitude: "-122.41940",
  },
): Record<string, unknown> {
  const session: Record<string, unknown> = {
    user: { id: `user-${email.split("@")[0]}`, email },
    ip_address: ip,
    user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/130.0 Safari/537.36",
  };
  if (details) session.ip_address_details = details;
  return { type: "session", session };
}

/** An admin API key of a user. */
export function adminKeyOf(email: string): Record<string, unknown> {
  return { type: "api_key", api_key: { id: "key_admin01", type: "user", user: { id: "user-admin01", email } } };
}

/** 2026-11-20 15:00:00 UTC. */
export const FIXTURE_TIME = 1795186800;

export function rawEvent(type: string, payload?: unknown, options: RawFixtureOptions = {}): Record<string, unknown> {
  const record: Record<string, unknown> = {
    object: "organization.audit_log",
    id: options.id ?? `audit_log-${type.replaceAll(".", "")}`.slice(0, 34),
    type,
    effective_at: options.at ?? FIXTURE_TIME,
  };
  if (options.project) record.project = options.project;
  record.actor = options.actor === undefined ? sessionOf("owner@acme.test") : options.actor;
  if (payload !== undefined) record[type] = payload;
  return record;
}
