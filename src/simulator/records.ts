// Building audit-log records in the shape the live API returns (API reference §7): `object`, `id`, `type`,
// `effective_at`, an optional `project`, the `actor`, and the payload under a key named after the type.

import type { AuditLogActor, AuditLogIpAddressDetails, RawAuditLog } from "../core/audit-log.ts";
import type { SimProject, SimUser } from "./directory.ts";
import type { Device } from "./geo.ts";
import type { Rng } from "./prng.ts";

export function auditLogId(rng: Rng): string {
  return `audit_log-${rng.alnum(24)}`;
}

export interface RecordSpec {
  type: string;
  at: number;
  actor: AuditLogActor | null;
  project?: SimProject | undefined;
  /** Omitted for types without a declared payload (login.succeeded, logout.succeeded, tunnel.*, tenant.*, …). */
  payload?: unknown;
}

export function makeRecord(rng: Rng, spec: RecordSpec): RawAuditLog {
  const record: RawAuditLog = {
    object: "organization.audit_log",
    id: auditLogId(rng),
    type: spec.type,
    effective_at: spec.at,
  };
  if (spec.project) record.project = { id: spec.project.id, name: spec.project.name };
  record.actor = spec.actor;
  if (spec.payload !== undefined) record[spec.type] = spec.payload;
  return record;
}

export interface SessionOrigin {
  ip: string;
  device: Device;
  details: AuditLogIpAddressDetails;
  /** Older records lack ja3, ja4 and ip_address_details (API reference §7.2). */
  bare?: boolean;
}

export function sessionActor(user: { id?: string; email: string }, origin: SessionOrigin): AuditLogActor {
  const userField = user.id === undefined ? { email: user.email } : { id: user.id, email: user.email };
  if (origin.bare) {
    return {
      type: "session",
      session: { user: userField, ip_address: origin.ip, user_agent: origin.device.user_agent },
    };
  }
  return {
    type: "session",
    session: {
      user: userField,
      ip_address: origin.ip,
      user_agent: origin.device.user_agent,
      ja3: origin.device.ja3,
      ja4: origin.device.ja4,
      // Shared, not copied: a user's home details are the same object in each of their records, which keeps a
      // 200k-event org small. Records are read-only once generated.
      ip_address_details: origin.details,
    },
  };
}

/** A user's usual browser session from home. */
export function homeSession(rng: Rng, user: SimUser, bareProbability = 0.03): AuditLogActor {
  return sessionActor(user, {
    ip: rng.pick(user.addresses),
    device: user.device,
    details: user.home.details,
    bare: rng.chance(bareProbability),
  });
}

export function userKeyActor(keyId: string, user: SimUser): AuditLogActor {
  return { type: "api_key", api_key: { id: keyId, type: "user", user: { id: user.id, email: user.email } } };
}

export function serviceAccountKeyActor(keyId: string, serviceAccountId: string): AuditLogActor {
  return {
    type: "api_key",
    api_key: { id: keyId, type: "service_account", service_account: { id: serviceAccountId } },
  };
}
