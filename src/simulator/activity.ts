// Everyday activity of the simulated org: logins dominate, admin changes are rare, and every one of the 145
// known types turns up in a long enough history. Also some benign noise that detections must not mistake for an
// attack: a user mistyping a password once or twice and then getting in.

import type { AuditLogActor, RawAuditLog } from "../core/audit-log.ts";
import { CLASSIC_EVENT_TYPES, TENANT_EVENT_TYPES } from "../core/event-types.ts";
import type { OrgDirectory, SimProject, SimUser } from "./directory.ts";
import { type ClassicEventType, LOGIN_FAILURE, PAYLOAD_BUILDERS } from "./payloads.ts";
import { type Rng, WeightedTable } from "./prng.ts";
import { homeSession, makeRecord, userKeyActor } from "./records.ts";

/** Who does it and what it is scoped to. `none`: no project field; `org`: org-wide; `project`: one project. */
interface TypeProfile {
  weight: number;
  scope: "none" | "org" | "project";
  by: "anyone" | "owner" | "member";
}

const p = (weight: number, scope: TypeProfile["scope"], by: TypeProfile["by"]): TypeProfile => ({ weight, scope, by });

/** Relative frequencies (they sum to about 61). The rarest types still appear several times per 20k events. */
const CLASSIC_PROFILES: Record<
  Exclude<ClassicEventType, "role.bound_to_resource" | "role.unbound_from_resource">,
  TypeProfile
> = {
  "login.succeeded": p(38, "none", "anyone"),
  "logout.succeeded": p(9, "none", "anyone"),
  "login.failed": p(2.5, "none", "anyone"),
  "logout.failed": p(0.1, "none", "anyone"),
  "api_key.created": p(3, "project", "member"),
  "api_key.updated": p(1, "project", "member"),
  "api_key.deleted": p(1.5, "project", "member"),
  "certificate.created": p(0.06, "org", "owner"),
  "certificate.updated": p(0.05, "org", "owner"),
  "certificate.deleted": p(0.03, "org", "owner"),
  "certificates.activated": p(0.05, "org", "owner"),
  "certificates.deactivated": p(0.03, "org", "owner"),
  "checkpoint.permission.created": p(0.08, "project", "member"),
  "checkpoint.permission.deleted": p(0.04, "project", "member"),
  "external_key.registered": p(0.04, "org", "owner"),
  "external_key.removed": p(0.03, "org", "owner"),
  "group.created": p(0.12, "org", "owner"),
  "group.updated": p(0.1, "org", "owner"),
  "group.deleted": p(0.05, "org", "owner"),
  "invite.sent": p(0.8, "org", "owner"),
  "invite.accepted": p(0.6, "org", "anyone"),
  "invite.deleted": p(0.15, "org", "owner"),
  "ip_allowlist.created": p(0.05, "org", "owner"),
  "ip_allowlist.updated": p(0.08, "org", "owner"),
  "ip_allowlist.deleted": p(0.03, "org", "owner"),
  "ip_allowlist.config.activated": p(0.05, "org", "owner"),
  "ip_allowlist.config.deactivated": p(0.03, "org", "owner"),
  "organization.updated": p(0.1, "org", "owner"),
  "project.created": p(0.4, "project", "owner"),
  "project.updated": p(0.3, "project", "member"),
  "project.archived": p(0.1, "project", "owner"),
  "project.deleted": p(0.04, "project", "owner"),
  "rate_limit.updated": p(0.3, "project", "member"),
  "rate_limit.deleted": p(0.05, "project", "member"),
  "resource.deleted": p(0.1, "project", "member"),
  "tunnel.created": p(0.04, "org", "owner"),
  "tunnel.updated": p(0.03, "org", "owner"),
  "tunnel.deleted": p(0.03, "org", "owner"),
  "workload_identity_provider.created": p(0.04, "org", "owner"),
  "workload_identity_provider.updated": p(0.03, "org", "owner"),
  "workload_identity_provider.deleted": p(0.03, "org", "owner"),
  "workload_identity_provider_mapping.created": p(0.04, "project", "owner"),
  "workload_identity_provider_mapping.updated": p(0.03, "project", "owner"),
  "workload_identity_provider_mapping.deleted": p(0.03, "project", "owner"),
  "role.created": p(0.06, "project", "owner"),
  "role.updated": p(0.06, "project", "owner"),
  "role.deleted": p(0.03, "project", "owner"),
  "role.assignment.created": p(0.3, "project", "owner"),
  "role.assignment.deleted": p(0.15, "project", "owner"),
  "scim.enabled": p(0.03, "org", "owner"),
  "scim.disabled": p(0.03, "org", "owner"),
  "service_account.created": p(0.2, "project", "member"),
  "service_account.updated": p(0.1, "project", "member"),
  "service_account.deleted": p(0.08, "project", "member"),
  "user.added": p(0.5, "org", "owner"),
  "user.updated": p(0.3, "org", "owner"),
  "user.deleted": p(0.15, "org", "owner"),
};

/** Tenant-scoped types: a few frequent machine events, the rest rare admin changes. */
const TENANT_WEIGHTS: ReadonlyArray<readonly [string, number]> = [
  ...TENANT_EVENT_TYPES.map((type): [string, number] => {
    if (type === "tenant.user.looked_up" || type === "tenant.workload_identity.access_token.issued") return [type, 6];
    if (type === "tenant.principal_authentication_policy.resolved") return [type, 4];
    return [type, 1];
  }),
  ["role.bound_to_resource", 1.5],
  ["role.unbound_from_resource", 1],
];

/**
 * Actions that weaken an organization's controls. They are part of realistic activity (an org does delete
 * an allowlist now and then), but the "benign" profile leaves them out: detections rightly page on them.
 */
export const CONTROL_WEAKENING_TYPES: ReadonlySet<string> = new Set([
  "ip_allowlist.deleted",
  "ip_allowlist.config.deactivated",
  "scim.disabled",
  "external_key.removed",
  "tenant.sso_connection.deleted",
  "tenant.session_policy.deleted",
  "tenant.policy.deleted",
  "tenant.policy.detached",
  "tenant.scim.deletion.requested",
]);

/**
 * Changes that are not control weakening but hand out organization-wide power or data, which a security team
 * wants to hear about every time: a new admin API key (full control of the organization) and a cross-tenant
 * resource share grant. Real organizations make them a few times a year, not (as every tenant type at the
 * same weight would) several times a day; like the weakening actions they belong to scenarios.
 */
export const RISKY_CHANGE_TYPES: ReadonlySet<string> = new Set([
  "tenant.admin_api_key.created",
  "tenant.resource_share_grant.created",
  "tenant.resource_share_grant.updated",
  "tenant.resource_share_grant.accepted",
]);

/**
 * "benign" (the default): the routine organization, every known type except the control-weakening and risky
 * changes above (those are what scenarios are for). "realistic": every known type turns up, those included.
 */
export type ActivityProfile = "realistic" | "benign";

function tables(profile: ActivityProfile): { classic: WeightedTable<string>; tenant: WeightedTable<string> } {
  const keep = ([type]: readonly [string, number]) =>
    profile === "realistic" || !(CONTROL_WEAKENING_TYPES.has(type) || RISKY_CHANGE_TYPES.has(type));
  const classic = Object.entries(CLASSIC_PROFILES).map(([type, profile]): [string, number] => [type, profile.weight]);
  return {
    classic: new WeightedTable(classic.filter(keep)),
    tenant: new WeightedTable(TENANT_WEIGHTS.filter(keep).map(([t, w]): [string, number] => [t, w])),
  };
}

const PROFILE_TABLES: Record<ActivityProfile, ReturnType<typeof tables>> = {
  realistic: tables("realistic"),
  benign: tables("benign"),
};

const NEW_PROJECT_NAMES = ["Prototype", "Hackathon", "Agents Sandbox", "Batch Jobs", "Partner Demo", "Labeling v2"];

/** Share of events (by hour of the UTC day) during which the org is active: quiet nights, busy afternoons. */
const HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 10, 11, 12, 12, 11, 10, 8, 6, 4, 3, 2, 1];
const hourTable = new WeightedTable(HOUR_WEIGHTS.map((w, hour): [number, number] => [hour, w]));

if (Object.keys(CLASSIC_PROFILES).length + 2 !== CLASSIC_EVENT_TYPES.length) {
  throw new Error("simulator: every classic event type needs an activity profile");
}

export class ActivityGenerator {
  private readonly classicTable: WeightedTable<string>;
  private readonly tenantTable: WeightedTable<string>;

  constructor(
    private readonly dir: OrgDirectory,
    private readonly tenantShare: number,
    profile: ActivityProfile = "benign",
  ) {
    this.classicTable = PROFILE_TABLES[profile].classic;
    this.tenantTable = PROFILE_TABLES[profile].tenant;
  }

  /** A second of the day (0..86399), more often in working hours. */
  secondOfDay(rng: Rng): number {
    return hourTable.pick(rng) * 3600 + rng.int(0, 3599);
  }

  /**
   * Exactly `count` events; each episode starts at `startAt(rng)` and none is later than `maxAt`.
   * Episodes of several events (a failed login and the retry) are cut short when `count` is reached.
   */
  fill(rng: Rng, count: number, startAt: (rng: Rng) => number, maxAt: number): RawAuditLog[] {
    const out: RawAuditLog[] = [];
    while (out.length < count) {
      for (const record of this.episode(rng, startAt(rng), maxAt)) {
        if (out.length >= count) break;
        out.push(record);
      }
    }
    return out;
  }

  episode(rng: Rng, at: number, maxAt: number): RawAuditLog[] {
    if (rng.chance(this.tenantShare)) return [this.tenantEvent(rng, at)];
    const type = this.classicTable.pick(rng) as keyof typeof CLASSIC_PROFILES;
    if (type === "login.failed") return this.mistypedPassword(rng, at, maxAt);
    const profile = CLASSIC_PROFILES[type];
    const { actor, project: actorProject } = this.actorFor(rng, profile);
    let project = actorProject;
    // project.* events are about a project: a brand-new one, or any but the Default project.
    if (type === "project.created") project = { id: `proj_${rng.alnum(24)}`, name: rng.pick(NEW_PROJECT_NAMES) };
    else if (type.startsWith("project.")) project = rng.pick(this.dir.projects.slice(1));
    const builder = PAYLOAD_BUILDERS[type];
    const payload = builder?.({ rng, dir: this.dir, project: project ?? this.dir.defaultProject });
    return [makeRecord(rng, { type, at, actor, project, payload })];
  }

  /** Benign noise: one or two failed logins, then a success from the same browser a little later. */
  private mistypedPassword(rng: Rng, at: number, maxAt: number): RawAuditLog[] {
    const user = rng.pick(this.dir.users);
    const actor = homeSession(rng, user, 0);
    const failures = rng.chance(0.7) ? 1 : 2;
    const out: RawAuditLog[] = [];
    let t = at;
    for (let i = 0; i < failures; i++) {
      out.push(
        makeRecord(rng, {
          type: "login.failed",
          at: Math.min(t, maxAt),
          actor,
          payload: { ...LOGIN_FAILURE },
        }),
      );
      t += rng.int(5, 40);
    }
    out.push(makeRecord(rng, { type: "login.succeeded", at: Math.min(t, maxAt), actor }));
    return out;
  }

  private tenantEvent(rng: Rng, at: number): RawAuditLog {
    const type = this.tenantTable.pick(rng);
    const owner = rng.pick(this.dir.owners);
    // Tenant changes come from the dashboard, or from an owner's admin key (attributed to the Default project).
    const viaKey = owner.adminKeyId !== undefined && rng.chance(0.2);
    const actor = viaKey ? userKeyActor(owner.adminKeyId as string, owner) : homeSession(rng, owner);
    const project = viaKey ? this.dir.defaultProject : undefined;
    const builder =
      type === "role.bound_to_resource" || type === "role.unbound_from_resource" ? PAYLOAD_BUILDERS[type] : undefined;
    const payload = builder?.({ rng, dir: this.dir, project: this.dir.defaultProject });
    return makeRecord(rng, { type, at, actor, project, payload });
  }

  private actorFor(rng: Rng, profile: TypeProfile): { actor: AuditLogActor; project: SimProject | undefined } {
    if (profile.by === "anyone") {
      return { actor: homeSession(rng, rng.pick(this.dir.users)), project: undefined };
    }
    if (profile.by === "owner") {
      const owner = rng.pick(this.dir.owners);
      const project = profile.scope === "project" ? this.someProject(rng) : undefined;
      if (owner.adminKeyId !== undefined && rng.chance(0.15)) {
        // "Admin actions taken via Admin API keys are associated with the default project" (spec).
        return { actor: userKeyActor(owner.adminKeyId, owner), project: project ?? this.dir.defaultProject };
      }
      return { actor: homeSession(rng, owner), project };
    }
    const project = this.someProject(rng);
    const user = this.memberOf(rng, project);
    if (rng.chance(0.12)) return { actor: userKeyActor(rng.pick(user.keyIds), user), project };
    return { actor: homeSession(rng, user), project };
  }

  private someProject(rng: Rng): SimProject {
    return rng.chance(0.15) ? this.dir.defaultProject : rng.pick(this.dir.projects);
  }

  private memberOf(rng: Rng, project: SimProject): SimUser {
    const members = this.dir.users.filter((u) => u.projectIds.includes(project.id));
    return members.length > 0 ? rng.pick(members) : rng.pick(this.dir.owners);
  }
}
