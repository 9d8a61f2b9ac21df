// Turns a snapshot (and its diff) into the records posture rules evaluate (log type OpenAI.Posture): one per
// object, with derived facts a rule would otherwise recompute (age, days unused, whether a key's owner can still
// reach its project), one for the organization as a whole, and one per change since the previous snapshot
// (with the audit events that explain it, for the drift rule). Rules stay small and testable on plain records.

import { controlFacts, type OrgRetention } from "./controls.ts";
import type { PostureChange } from "./diff.ts";
import type { PostureKind } from "./endpoints.ts";
import { FREE_MAIL_DOMAINS, type PostureSettings } from "./settings.ts";

export const POSTURE_LOG_TYPE = "OpenAI.Posture";
const DAY_SECS = 86_400;

export interface SnapshotObject {
  kind: PostureKind;
  id: string;
  projectId: string | null;
  data: Record<string, unknown>;
}

/** What the drift check found for one change. */
export interface AuditMatch {
  /** False when the audit log is not read up to the snapshot yet: absence of events proves nothing. */
  checked: boolean;
  /** Event types that would explain this change; empty when no audit event type covers the kind. */
  expectedTypes: string[];
  /** Ids of stored audit events of those types, between the two snapshots, that name the object. */
  eventIds: string[];
}

export interface PostureRecord {
  /** Stable per object (or change) within a snapshot: kind:id, or organization. */
  key: string;
  record: Record<string, unknown>;
}

export function buildPostureRecords(input: {
  objects: readonly SnapshotObject[];
  /** Kinds read completely: facts that depend on an incomplete kind are null (unknown), never false. */
  completeKinds: ReadonlySet<PostureKind>;
  changes: readonly (PostureChange & { audit: AuditMatch })[] | null;
  settings: PostureSettings;
  nowSecs: number;
}): PostureRecord[] {
  const { objects, completeKinds, settings, nowSecs } = input;
  const common = {
    p_log_type: POSTURE_LOG_TYPE,
    p_event_time: pantherTime(nowSecs),
    snapshot_time: nowSecs,
  };
  const users = objects.filter((o) => o.kind === "user");
  const orgDomains = organizationDomains(users, settings, completeKinds.has("user"));
  const ruleSettings = { unused_days: settings.unusedDays, max_owners: settings.maxOwners, org_domains: orgDomains };
  const members = new Set(objects.filter((o) => o.kind === "project_user").map((o) => o.id));
  const serviceAccounts = new Set(objects.filter((o) => o.kind === "project_service_account").map((o) => o.id));

  const out: PostureRecord[] = [];
  for (const o of objects) {
    out.push({
      key: `${o.kind}:${o.id}`,
      record: {
        ...common,
        record_type: "object",
        kind: o.kind,
        object_id: o.id,
        project_id: o.projectId,
        object: o.data,
        facts: factsOf(o, nowSecs, { completeKinds, members, serviceAccounts, orgDomains }),
        settings: ruleSettings,
      },
    });
  }
  const owners = users.filter((u) => u.data.role === "owner");
  out.push({
    key: "organization",
    record: {
      ...common,
      record_type: "organization",
      kind: "organization",
      object_id: "organization",
      facts: {
        users_complete: completeKinds.has("user"),
        owner_count: owners.length,
        owners: owners.map((u) => ({ id: u.id, email: u.data.email ?? null })),
        user_count: users.length,
      },
      settings: ruleSettings,
    },
  });
  // The organization's data retention now, through which a project on organization_default is judged.
  const orgSetting = objects.find((o) => o.kind === "data_retention");
  const orgRetention: OrgRetention | undefined = completeKinds.has("data_retention")
    ? typeof orgSetting?.data.type === "string"
      ? orgSetting.data.type
      : "none"
    : undefined;
  const projectNames = new Map(objects.filter((o) => o.kind === "project").map((o) => [o.id, o.data.name]));
  // Projects read now and active: what disappears with an archived project is not a control weakened.
  const activeProjects = new Set(
    objects.filter((o) => o.kind === "project" && o.data.status !== "archived").map((o) => o.id),
  );
  for (const c of input.changes ?? []) {
    const goneWithProject = c.change === "removed" && c.projectId !== null && !activeProjects.has(c.projectId);
    const facts = goneWithProject ? null : controlFacts(c, orgRetention);
    out.push({
      key: `change:${c.kind}:${c.id}`,
      record: {
        ...common,
        record_type: "change",
        kind: c.kind,
        object_id: c.id,
        project_id: c.projectId,
        project_name: c.projectId === null ? null : (projectNames.get(c.projectId) ?? null),
        change: c.change,
        fields: c.fields,
        before: c.before,
        after: c.after,
        audit: { checked: c.audit.checked, expected_types: c.audit.expectedTypes, event_ids: c.audit.eventIds },
        ...(facts ? { facts } : {}),
        settings: ruleSettings,
      },
    });
  }
  return out;
}

function factsOf(
  o: SnapshotObject,
  nowSecs: number,
  ctx: {
    completeKinds: ReadonlySet<PostureKind>;
    members: ReadonlySet<string>;
    serviceAccounts: ReadonlySet<string>;
    orgDomains: string[] | null;
  },
): Record<string, unknown> {
  const d = o.data;
  if (o.kind === "admin_api_key" || o.kind === "project_api_key") {
    const created = num(d.created_at);
    const lastUsed = num(d.last_used_at);
    const owner = keyOwner(o.data);
    let ownerHasProjectAccess: boolean | null = null;
    if (o.kind === "project_api_key" && owner.id !== null) {
      const kind = owner.type === "service_account" ? "project_service_account" : "project_user";
      const set = owner.type === "service_account" ? ctx.serviceAccounts : ctx.members;
      if (ctx.completeKinds.has(kind)) ownerHasProjectAccess = set.has(`${o.projectId}/${owner.id}`);
    }
    return {
      age_days: created === null ? null : Math.floor((nowSecs - created) / DAY_SECS),
      // Never used: counted from creation, so a key minted and forgotten is stale too.
      unused_days:
        lastUsed !== null
          ? Math.floor((nowSecs - lastUsed) / DAY_SECS)
          : created === null
            ? null
            : Math.floor((nowSecs - created) / DAY_SECS),
      never_used: lastUsed === null,
      expires_at: num(d.expires_at),
      owner_type: owner.type,
      owner_id: owner.id,
      owner_label: owner.label,
      owner_has_project_access: ownerHasProjectAccess,
    };
  }
  if (o.kind === "invite") {
    const email = typeof d.email === "string" ? d.email.toLowerCase() : null;
    const domain = email?.includes("@") ? (email.split("@").pop() ?? null) : null;
    return {
      email_domain: domain,
      pending: d.status === "pending",
      // A free-mail domain is never the organization's (organizationDomains), known or not.
      outside_org_domains:
        domain === null
          ? null
          : ctx.orgDomains !== null
            ? !ctx.orgDomains.includes(domain)
            : FREE_MAIL_DOMAINS.has(domain)
              ? true
              : null,
      free_mail: domain !== null && FREE_MAIL_DOMAINS.has(domain),
    };
  }
  return {};
}

/**
 * The owner of a key (its object as the API lists it). Admin keys: `owner: {type, id, name, …}`; project keys:
 * `owner: {type, user: {…}} | {type, service_account: {…}}`.
 */
export function keyOwner(key: Record<string, unknown> | null): {
  type: string | null;
  id: string | null;
  label: string | null;
} {
  const owner = key?.owner;
  if (!owner || typeof owner !== "object") return { type: null, id: null, label: null };
  const ow = owner as Record<string, unknown>;
  const type = typeof ow.type === "string" ? ow.type : null;
  const inner = (type && typeof ow[type] === "object" && ow[type] !== null ? ow[type] : ow) as Record<string, unknown>;
  const id = typeof inner.id === "string" ? inner.id : null;
  const label = [inner.email, inner.name, id].find((v) => typeof v === "string" && v !== "") as string | undefined;
  return { type, id, label: label ?? null };
}

/**
 * The kinds a finding about an object of `kind` is judged with: its own, and those its facts read (unknown, null,
 * when one was not read completely). A finding is resolved only when all of them were read (run.ts): an invite's
 * domain is judged against the users' (unless VIGIL_ORG_DOMAINS names them), a project key's owner against the
 * project's members, the organization's owners among its users.
 */
export function kindsJudgedWith(kind: PostureKind | "organization"): PostureKind[] {
  switch (kind) {
    case "organization":
      return ["user"];
    case "invite":
      return ["invite", "user"];
    case "project_api_key":
      return ["project_api_key", "project_user", "project_service_account"];
    default:
      return [kind];
  }
}

/**
 * The configured domains, else the domains of the users' own addresses (free-mail excluded); null (unknown) when
 * they would be learned from a user list that was not read completely: every invite would look outside them.
 */
export function organizationDomains(
  users: readonly SnapshotObject[],
  settings: PostureSettings,
  usersComplete: boolean,
): string[] | null {
  if (settings.orgDomains.length > 0) return [...settings.orgDomains].sort();
  if (!usersComplete) return null;
  const domains = new Set<string>();
  for (const u of users) {
    const email = typeof u.data.email === "string" ? u.data.email.toLowerCase() : "";
    const domain = email.includes("@") ? email.split("@").pop() : undefined;
    if (domain && !FREE_MAIL_DOMAINS.has(domain)) domains.add(domain);
  }
  return [...domains].sort();
}

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Panther's p_event_time format. */
export function pantherTime(secs: number): string {
  return `${new Date(secs * 1000).toISOString().replace("T", " ").slice(0, 19)}.000000000`;
}
