// Data faults: records the poller must survive rather than trust. New event types appear without notice (the
// enum grew from 20 to 145 types), and a record can break the schema. Both are applied to generated activity
// when it is generated, so a record is the same on every request and on every page that shows it.

import type { RawAuditLog } from "../core/audit-log.ts";
import type { Rng } from "./prng.ts";

/**
 * Plausible future types, with the payload such a type would carry. Unknown types are not in the tenant-scoped
 * set, so even the `tenant.*` ones appear in plain polls (the simulator follows core/event-types.ts).
 */
const UNKNOWN_TYPES: ReadonlyArray<{ type: string; payload: (rng: Rng) => unknown }> = [
  {
    type: "project.transferred",
    payload: (rng) => ({ id: `proj_${rng.alnum(24)}`, data: { to_organization_id: `org-${rng.alnum(24)}` } }),
  },
  { type: "api_key.rotated", payload: (rng) => ({ id: `key_${rng.alnum(16)}`, data: { expires_at: 1_900_000_000 } }) },
  { type: "user.suspended", payload: (rng) => ({ id: `user-${rng.alnum(24)}`, data: { reason: "inactivity" } }) },
  {
    type: "vector_store.shared",
    payload: (rng) => ({ id: `vs_${rng.alnum(24)}`, data: { project_id: `proj_${rng.alnum(24)}` } }),
  },
  { type: "organization.data_retention.updated", payload: () => ({ changes_requested: { retention_days: 30 } }) },
  { type: "tenant.vault.rotated", payload: (rng) => ({ id: `vault_${rng.alnum(16)}` }) },
  { type: "tenant.audit_export.created", payload: (rng) => ({ id: `export_${rng.alnum(16)}`, destination: "s3" }) },
];

export const UNKNOWN_EVENT_TYPES: readonly string[] = UNKNOWN_TYPES.map((u) => u.type);

/** The record re-typed as a type that is not in the enum, with a payload under the new type's key. */
export function withUnknownType(rng: Rng, record: RawAuditLog): RawAuditLog {
  const unknown = rng.pick(UNKNOWN_TYPES);
  const out: RawAuditLog = { ...record, type: unknown.type };
  delete out[record.type];
  out[unknown.type] = unknown.payload(rng);
  return out;
}

export const MALFORMATIONS = [
  "missing-id",
  "missing-type",
  "missing-effective_at",
  "effective_at-as-string",
  "id-as-number",
  "type-as-null",
  "actor-as-string",
] as const;
export type Malformation = (typeof MALFORMATIONS)[number];

/**
 * A broken copy of the record (for quarantine tests). The simulator still files it under the original id and
 * time, so paging is unaffected: a page's `first_id` / `last_id` may name a record whose own `id` is broken.
 */
export function malformed(rng: Rng, record: RawAuditLog): { record: RawAuditLog; malformation: Malformation } {
  const malformation = rng.pick(MALFORMATIONS);
  const out: Record<string, unknown> = { ...record };
  switch (malformation) {
    case "missing-id":
      delete out.id;
      break;
    case "missing-type":
      delete out.type;
      break;
    case "missing-effective_at":
      delete out.effective_at;
      break;
    case "effective_at-as-string":
      out.effective_at = String(record.effective_at);
      break;
    case "id-as-number":
      out.id = rng.int(100_000, 999_999);
      break;
    case "type-as-null":
      out.type = null;
      break;
    case "actor-as-string":
      out.actor = "system";
      break;
  }
  return { record: out as RawAuditLog, malformation };
}
