// Shared helpers of the OpenAI pack: where the actor, network and project details live in a normalized
// OpenAI.Audit event, and the standard alert context every rule of the pack reports. Files starting
// with `_` are not rules.

import type { PantherEvent } from "../../src/detections/event/index.ts";

function text(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

/** The event type's payload (Panther renames "api_key.created" to api_key_created). */
export function payload(event: PantherEvent): PantherEvent | null {
  const type = event.get("type");
  if (typeof type !== "string") return null;
  const value = event.get(type.replaceAll(".", "_"));
  return value !== null && typeof value === "object" ? (value as PantherEvent) : null;
}

/** A field of the payload, e.g. payloadField(event, "data", "scopes"). */
export function payloadField(event: PantherEvent, ...path: string[]): unknown {
  const type = event.get("type");
  if (typeof type !== "string") return null;
  return event.deepGet(type.replaceAll(".", "_"), ...path);
}

export function actorEmail(event: PantherEvent): string | null {
  return (
    text(event.deepGet("actor", "session", "user", "email")) ??
    text(event.deepGet("actor", "api_key", "user", "email")) ??
    text(event.deepGet("actor", "user", "email"))
  );
}

export function actorId(event: PantherEvent): string | null {
  return (
    text(event.deepGet("actor", "session", "user", "id")) ??
    text(event.deepGet("actor", "api_key", "user", "id")) ??
    text(event.deepGet("actor", "api_key", "service_account", "id")) ??
    text(event.deepGet("actor", "api_key", "id"))
  );
}

/** "session", "user_api_key", "service_account_api_key", or "unknown". */
export function actorKind(event: PantherEvent): string {
  const type = event.deepGet("actor", "type");
  if (type === "session") return "session";
  if (type === "api_key") {
    return event.deepGet("actor", "api_key", "type") === "service_account" ? "service_account_api_key" : "user_api_key";
  }
  return "unknown";
}

/** Who did it, for titles: the email, else the id, else "an unknown actor". */
export function actorLabel(event: PantherEvent): string {
  return actorEmail(event) ?? actorId(event) ?? "an unknown actor";
}

export function sourceIp(event: PantherEvent): string | null {
  return text(event.deepGet("actor", "session", "ip_address"));
}

export function userAgent(event: PantherEvent): string | null {
  return text(event.deepGet("actor", "session", "user_agent"));
}

/**
 * The login's geolocation. Every value is a string today; the schema keeps whatever comes (OpenAI.Audit.yml), and a
 * number (an asn sent as 15169) is read as its text, so that a change of type does not blind the location rules.
 */
export function geo(event: PantherEvent): {
  country: string | null;
  city: string | null;
  region: string | null;
  asn: string | null;
} {
  const detail = (key: string) => {
    const value = event.deepGet("actor", "session", "ip_address_details", key);
    return text(typeof value === "number" && Number.isFinite(value) ? String(value) : value);
  };
  return { country: detail("country"), city: detail("city"), region: detail("region"), asn: detail("asn") };
}

/** The email domain of an address, lower-cased. */
export function emailDomain(email: string | null): string | null {
  const at = email?.lastIndexOf("@") ?? -1;
  return email && at > 0 ? email.slice(at + 1).toLowerCase() : null;
}

/**
 * The alert context every rule of the pack reports: who (email, id, kind), from where (IP, user agent,
 * geo), on what (project, event type and id), plus the rule's own fields (e.g. the changed values).
 */
export function standardContext(event: PantherEvent, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    actor_email: actorEmail(event),
    actor_id: actorId(event),
    actor_type: actorKind(event),
    source_ip: sourceIp(event),
    user_agent: userAgent(event),
    geo: geo(event),
    project_id: text(event.deepGet("project", "id")),
    project_name: text(event.deepGet("project", "name")),
    event_type: event.get("type"),
    event_id: event.get("id"),
    effective_at: event.get("effective_at"),
    ...extra,
  };
}

/**
 * The dedup period of rules whose matches are mostly routine changes: one alert per actor (and severity) per
 * day, every further match of the day counted in it (Panther's DedupPeriodMinutes: 1440). Those rules put the
 * severity in their dedup string, so a HIGH match never folds into a LOW alert of the same day (an alert takes
 * its title and severity from one match of its window, the earliest).
 */
export const DAILY_DEDUP_MINUTES = 1440;
