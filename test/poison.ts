// Poison records for the tests of issue 16, finding 3: each kind is an otherwise real audit record holding one
// thing no store can keep as an event, with the issue code it must be quarantined under.

import type { RawAuditLog } from "../src/core/audit-log.ts";

/** Each kind of poison and the issue code its quarantine row must carry. */
export const POISON_KINDS = {
  nul_in_email: "nul_character",
  nul_in_ip: "nul_character",
  nul_in_id: "nul_character",
  nul_in_type: "nul_character",
  nul_in_nested_value: "nul_character",
  nul_in_key: "nul_character",
  lone_high_surrogate: "lone_surrogate",
  lone_low_surrogate: "lone_surrogate",
  lone_surrogate_in_key: "lone_surrogate",
  deep_10k: "too_deep",
  string_10mb: "too_large",
  over_1mib_of_fields: "too_large",
} as const;

export type PoisonKind = keyof typeof POISON_KINDS;

/**
 * Stands for 10,000 levels of nesting in a record served over HTTP: the simulator serializes pages with
 * JSON.stringify, which cannot write them, so the test's fetch puts the levels into the body text instead.
 */
export const DEEP_MARKER = "@@vigil-test-deep-10000@@";

/** 10,000 levels of arrays as JSON text (what DEEP_MARKER, quotes included, becomes). */
export const DEEP_JSON = `${"[".repeat(10_000)}"bottom"${"]".repeat(10_000)}`;

/** `levels` nested objects, built without recursion. */
export function nestedObject(levels: number): unknown {
  let value: unknown = "bottom";
  for (let i = 0; i < levels; i++) value = { inner: value };
  return value;
}

function sessionActor(id: string, email: string, ip: string): RawAuditLog["actor"] {
  return { type: "session", session: { user: { id: `user-${id.slice(-12)}`, email }, ip_address: ip } };
}

/**
 * A copy of `template` under `id` carrying one poison. With `deep: "marker"` the 10,000 levels are DEEP_MARKER,
 * for a fetch that rewrites the body; with "inline" (default) they are real nested objects.
 */
export function poisonRecord(
  kind: PoisonKind,
  template: RawAuditLog,
  id: string,
  options: { deep?: "inline" | "marker" } = {},
): Record<string, unknown> {
  const base: Record<string, unknown> = { ...template, id, actor: sessionActor(id, `${id}@example.com`, "10.0.0.1") };
  switch (kind) {
    case "nul_in_email":
      return { ...base, actor: sessionActor(id, `evil\u0000${id}@example.com`, "10.0.0.1") };
    case "nul_in_ip":
      return { ...base, actor: sessionActor(id, `${id}@example.com`, "10.0.0.1\u0000") };
    case "nul_in_id":
      return { ...base, id: `${id}\u0000` };
    case "nul_in_type":
      return { ...base, type: `login.succeeded\u0000${id}` };
    case "nul_in_nested_value":
      return { ...base, details: { notes: [`fine ${id}`, { text: "before\u0000after" }] } };
    case "nul_in_key":
      return { ...base, details: { [`key\u0000${id}`]: true } };
    case "lone_high_surrogate":
      return { ...base, actor: sessionActor(id, `${id}\uD83D@example.com`, "10.0.0.1") };
    case "lone_low_surrogate":
      return { ...base, details: { text: `${id} \uDE00 alone` } };
    case "lone_surrogate_in_key":
      return { ...base, details: { [`\uD800${id}`]: 1 } };
    case "deep_10k":
      return { ...base, details: options.deep === "marker" ? DEEP_MARKER : nestedObject(10_000) };
    case "string_10mb":
      return { ...base, details: { blob: `${id}:${"x".repeat(10 * 1024 * 1024)}` } };
    case "over_1mib_of_fields":
      return {
        ...base,
        details: Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`field_${i}`, `${id}-${i}`.repeat(8)])),
      };
  }
}

/** The id a quarantine row keeps for a poison record: NUL written as an escape, so the store can hold it. */
export function quarantinedId(kind: PoisonKind, id: string): string {
  return kind === "nul_in_id" ? `${id}\\u0000` : id;
}
