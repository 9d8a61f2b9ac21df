// Drift: a change between two snapshots that no audit event explains. For each change, the audit event types
// that would record it, then the stored events of those types between the two snapshots that name the object.
// Kinds no audit event type covers (project memberships) and changes that happen by themselves (an invite
// expiring) expect no type and are never called drift.

import type { Store } from "../storage/ports.ts";
import type { PostureChange } from "./diff.ts";
import type { PostureKind } from "./endpoints.ts";
import { type AuditMatch, keyOwner } from "./records.ts";

type ChangeKind = PostureChange["change"];

const TYPES: Partial<Record<PostureKind, Partial<Record<ChangeKind, string[]>>>> = {
  admin_api_key: {
    added: ["api_key.created", "tenant.admin_api_key.created"],
    removed: ["api_key.deleted", "tenant.admin_api_key.deleted"],
    changed: ["api_key.updated", "tenant.admin_api_key.updated"],
  },
  project_api_key: {
    added: ["api_key.created", "tenant.project_api_key.created"],
    removed: ["api_key.deleted"],
    changed: ["api_key.updated"],
  },
  user: {
    added: ["user.added", "invite.accepted", "tenant.user.added"],
    removed: ["user.deleted", "tenant.user.removed"],
    changed: ["user.updated", "tenant.user.updated"],
  },
  invite: {
    added: ["invite.sent", "tenant.api_organization_invite.upserted"],
    removed: ["invite.deleted", "invite.accepted", "tenant.api_organization_invite.deleted"],
    changed: ["invite.accepted", "invite.deleted"],
  },
  project: {
    added: ["project.created"],
    removed: ["project.deleted"],
    changed: ["project.updated", "project.archived"],
  },
  certificate: {
    added: ["certificate.created"],
    removed: ["certificate.deleted"],
    changed: ["certificate.updated", "certificates.activated", "certificates.deactivated"],
  },
  project_service_account: {
    added: ["service_account.created"],
    removed: ["service_account.deleted"],
    changed: ["service_account.updated"],
  },
  project_rate_limit: { changed: ["rate_limit.updated"], removed: ["rate_limit.deleted"] },
  // The spec has no event type of its own for these settings: a change to them is expected to be recorded as an
  // update of the organization or of the project that holds them (spend alerts: also the billing-alerts type).
  data_retention: allChanges(["organization.updated"]),
  spend_alert: allChanges(["organization.updated", "tenant.billing.alerts.updated"]),
  project_data_retention: allChanges(["project.updated"]),
  project_spend_alert: allChanges(["project.updated", "tenant.billing.alerts.updated"]),
  project_model_permissions: allChanges(["project.updated"]),
  project_hosted_tool_permissions: allChanges(["project.updated"]),
};

function allChanges(types: string[]): Record<ChangeKind, string[]> {
  return { added: types, removed: types, changed: types };
}

const ORGANIZATION_SETTINGS: ReadonlySet<PostureKind> = new Set(["data_retention", "spend_alert"]);
const NAMED_BY_PROJECT: ReadonlySet<PostureKind> = new Set([
  "project_data_retention",
  "project_spend_alert",
  "project_model_permissions",
  "project_hosted_tool_permissions",
]);

/**
 * What an explaining event must name. Objects with ids of their own: that id. Project settings: the project (the
 * events above name the project, not the setting). Organization settings: nothing (there is one organization).
 */
function nameToFind(change: PostureChange): string | null {
  if (ORGANIZATION_SETTINGS.has(change.kind)) return null;
  if (NAMED_BY_PROJECT.has(change.kind)) return change.projectId;
  return lastPart(change.id);
}

/**
 * The audit events to show beside an object's history: those naming it (its id, or its project for a project
 * setting); for an organization setting, which no event names, those of the types that would record its change.
 */
export function auditEventsAbout(
  kind: PostureKind,
  id: string,
  projectId: string | null,
): { text: string } | { types: string[] } {
  // A project setting's id is its project; a project member's starts with it.
  const project =
    projectId ?? (id.includes("/") ? (id.split("/")[0] as string) : NAMED_BY_PROJECT.has(kind) ? id : null);
  const name = nameToFind({ kind, id, projectId: project, change: "changed", fields: [], before: null, after: null });
  return name === null ? { types: TYPES[kind]?.changed ?? [] } : { text: name };
}

/** Compound ids (project/member) are named in the audit log by their last part. */
function lastPart(id: string): string {
  return id.includes("/") ? (id.split("/").pop() as string) : id;
}

/** Slack around the snapshot times: an audit event's effective_at and the snapshot's clock are not one clock. */
const SLACK_SECS = 120;

/**
 * Project lifecycle events explain what is read per project: archiving (or deleting) a project takes away its keys,
 * members and settings (archived projects are not read), creating one brings its settings. They name the project.
 */
const PROJECT_LIFECYCLE = new Set(["project.created", "project.archived", "project.deleted"]);

const KEYS: ReadonlySet<PostureKind> = new Set(["admin_api_key", "project_api_key"]);
/** A key's fields that describe its owner (the user's name and role as they are now, its access to the project). */
const OWNER_FIELDS: ReadonlySet<string> = new Set(["owner", "owner_project_access"]);

/** Who owns a key: its owner's type and id, without the details (name, role) the API embeds as they are now. */
function ownerIdentity(key: Record<string, unknown> | null): string {
  const { type, id } = keyOwner(key);
  return JSON.stringify([type, id]);
}

export function expectedAuditTypes(change: PostureChange, atSecs: number): string[] {
  // A key that changed only with its owner (the user renamed or promoted, which user.updated records; or removed
  // from the project, which KeyOwnerLostProjectAccess judges): nothing happened to the key for an event to record.
  if (
    KEYS.has(change.kind) &&
    change.change === "changed" &&
    change.fields.every((f) => OWNER_FIELDS.has(f)) &&
    ownerIdentity(change.before) === ownerIdentity(change.after)
  ) {
    return [];
  }
  // An invite that expired on its own leaves no audit event.
  if (change.kind === "invite") {
    const expiresAt = (change.before ?? change.after)?.expires_at;
    const expired = typeof expiresAt === "number" && expiresAt <= atSecs;
    if ((change.change === "removed" && expired) || change.after?.status === "expired") return [];
  }
  const own = TYPES[change.kind]?.[change.change] ?? [];
  // Kinds no event type records stay without expectation (never drift), lifecycle or not.
  if (change.projectId === null || own.length === 0) return own;
  const lifecycle =
    change.change === "removed"
      ? ["project.archived", "project.deleted"]
      : change.change === "added" && NAMED_BY_PROJECT.has(change.kind)
        ? ["project.created"]
        : [];
  return [...own, ...lifecycle.filter((t) => !own.includes(t))];
}

/**
 * Annotates each change with the audit events that explain it. `checked` is false while the source's audit-log
 * checkpoint is behind the snapshot: the events may simply not be read yet (the caller re-checks later).
 */
export async function matchAuditEvents(
  store: Store,
  sourceId: string,
  changes: readonly PostureChange[],
  window: { fromSecs: number; toSecs: number },
): Promise<Array<PostureChange & { audit: AuditMatch }>> {
  const state = await store.getStreamState(sourceId, "main");
  const checked = state.checkpointSecs !== null && state.checkpointSecs >= window.toSecs;
  const wanted = new Set<string>();
  for (const c of changes) for (const t of expectedAuditTypes(c, window.toSecs)) wanted.add(t);
  // Not read that far: nothing found now would be judged (a long outage would otherwise search every hour for
  // each window carried).
  const events =
    wanted.size === 0 || !checked
      ? []
      : await store.searchEvents({
          sourceId,
          types: [...wanted],
          sinceSecs: window.fromSecs - SLACK_SECS,
          untilSecs: window.toSecs + SLACK_SECS,
          limit: 100_000,
        });
  return changes.map((c) => {
    const expectedTypes = expectedAuditTypes(c, window.toSecs);
    const name = nameToFind(c);
    const names = (type: string) => {
      const wanted = PROJECT_LIFECYCLE.has(type) ? c.projectId : name;
      return (raw: string) => wanted === null || raw.includes(JSON.stringify(wanted));
    };
    const eventIds = events.filter((e) => expectedTypes.includes(e.type) && names(e.type)(e.raw)).map((e) => e.id);
    return { ...c, audit: { checked, expectedTypes, eventIds } };
  });
}
