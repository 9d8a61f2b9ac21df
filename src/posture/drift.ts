// Drift: a change between two snapshots that no audit event explains. For each change, the audit event types
// that would record it, then the stored events of those types between the two snapshots that name the object.
// Kinds no audit event type covers (project memberships) and changes that happen by themselves (an invite
// expiring) expect no type and are never called drift.

import type { Store } from "../storage/ports.ts";
import type { PostureChange } from "./diff.ts";
import type { PostureKind } from "./endpoints.ts";
import type { AuditMatch } from "./records.ts";

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
};

/** Slack around the snapshot times: an audit event's effective_at and the snapshot's clock are not one clock. */
const SLACK_SECS = 120;

export function expectedAuditTypes(change: PostureChange, atSecs: number): string[] {
  // An invite that expired on its own leaves no audit event.
  if (change.kind === "invite") {
    const expiresAt = (change.before ?? change.after)?.expires_at;
    const expired = typeof expiresAt === "number" && expiresAt <= atSecs;
    if ((change.change === "removed" && expired) || change.after?.status === "expired") return [];
  }
  return TYPES[change.kind]?.[change.change] ?? [];
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
  const events =
    wanted.size === 0
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
    // Compound ids (project/member) are named in the audit log by their last part.
    const id = c.id.includes("/") ? (c.id.split("/").pop() as string) : c.id;
    const eventIds = events
      .filter((e) => expectedTypes.includes(e.type) && e.raw.includes(JSON.stringify(id)))
      .map((e) => e.id);
    return { ...c, audit: { checked, expectedTypes, eventIds } };
  });
}
