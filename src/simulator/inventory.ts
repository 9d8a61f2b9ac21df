// The simulated organization's state as the Admin API list endpoints show it (users, projects, keys, invites, …),
// consistent with its audit log: the directory is the starting state, and every visible audit event up to "now"
// is folded over it in time order (api_key.created adds a key owned by the actor, user.deleted removes the user,
// invite.sent adds a pending invite, …). Silent changes — state that moves with no audit event, for the drift
// scenarios — are folded in the same timeline. The result is cached per clock second and event count.

import type { RawAuditLog } from "../core/audit-log.ts";
import type { OrgDirectory, SimUser } from "./directory.ts";
import { Rng } from "./prng.ts";

type Obj = Record<string, unknown>;

export interface InventoryState {
  adminKeys: Map<string, Obj>;
  users: Map<string, Obj>;
  invites: Map<string, Obj>;
  projects: Map<string, Obj>;
  certificates: Map<string, Obj>;
  /** projectId → id → object */
  projectKeys: Map<string, Map<string, Obj>>;
  projectUsers: Map<string, Map<string, Obj>>;
  serviceAccounts: Map<string, Map<string, Obj>>;
  rateLimits: Map<string, Map<string, Obj>>;
  /** The organization's data-retention setting; null: none configured (the API answers 404). */
  dataRetention: Obj | null;
  spendAlerts: Map<string, Obj>;
  /** projectId → settings object; a project missing here answers its default (see projectSetting). */
  projectRetention: Map<string, Obj>;
  projectSpendAlerts: Map<string, Map<string, Obj>>;
  /** projectId → model policy; a project missing here has none (404). */
  modelPermissions: Map<string, Obj>;
  toolPermissions: Map<string, Obj>;
}

/** A change with no audit event (drift), or a state set up by a posture scenario. */
export interface SilentChange {
  atSecs: number;
  apply: (state: InventoryState, nowSecs: number) => void;
}

/** Extra synthetic objects, so a benchmark can snapshot a large organization. */
export interface InventoryScale {
  users: number;
  projects: number;
  keys: number;
}

const DAY = 86_400;
/** Fixed so that objects do not change between snapshots just because time passed. */
const EPOCH = 1_735_689_600; // 2025-01-01

export function emptyState(): InventoryState {
  return {
    adminKeys: new Map(),
    users: new Map(),
    invites: new Map(),
    projects: new Map(),
    certificates: new Map(),
    projectKeys: new Map(),
    projectUsers: new Map(),
    serviceAccounts: new Map(),
    rateLimits: new Map(),
    dataRetention: null,
    spendAlerts: new Map(),
    projectRetention: new Map(),
    projectSpendAlerts: new Map(),
    modelPermissions: new Map(),
    toolPermissions: new Map(),
  };
}

/** A project's data retention when nothing set it: the organization's. */
export function defaultProjectRetention(): Obj {
  return { object: "project.data_retention", type: "organization_default" };
}

/** Hosted tools of a project when nothing set them: the common ones on, image generation and MCP off. */
export function defaultToolPermissions(): Obj {
  return {
    object: "project.hosted_tool_permissions",
    code_interpreter: { enabled: true },
    file_search: { enabled: true },
    image_generation: { enabled: false },
    mcp: { enabled: false },
    web_search: { enabled: true },
  };
}

export function spendAlert(id: string, projectId: string | null, thresholdCents: number, recipient: string): Obj {
  return {
    object: projectId ? "project.spend_alert" : "organization.spend_alert",
    id,
    threshold_amount: thresholdCents,
    currency: "usd",
    interval: "month",
    notification_channel: { type: "email", recipients: [recipient] },
  };
}

/**
 * The controls of the directory's organization: modified abuse monitoring for the organization, zero data
 * retention and a spend alert on its first project, a model allow list on every other project.
 */
function baselineControls(state: InventoryState, dir: OrgDirectory): void {
  const billing = dir.owners[0]?.email ?? `billing@${dir.domains[0] ?? "example.com"}`;
  state.dataRetention = { object: "organization.data_retention", type: "modified_abuse_monitoring" };
  state.spendAlerts.set("spa_org_monthly", spendAlert("spa_org_monthly", null, 2_500_000, billing));
  for (const [i, p] of dir.projects.entries()) {
    state.toolPermissions.set(p.id, defaultToolPermissions());
    if (i === 0) {
      state.projectRetention.set(p.id, { object: "project.data_retention", type: "zero_data_retention" });
      inner(state.projectSpendAlerts, p.id).set(
        "spa_proj_monthly",
        spendAlert("spa_proj_monthly", p.id, 500_000, billing),
      );
    } else {
      state.modelPermissions.set(p.id, {
        object: "project.model_permissions",
        mode: "allow_list",
        model_ids: ["gpt-4.1", "gpt-4.1-mini"],
      });
    }
  }
}

export function inner(map: Map<string, Map<string, Obj>>, projectId: string): Map<string, Obj> {
  let m = map.get(projectId);
  if (!m) {
    m = new Map();
    map.set(projectId, m);
  }
  return m;
}

function userObject(u: { id: string; email: string; role: string }, addedAt: number): Obj {
  const name = u.email
    .split("@")[0]
    ?.split(".")
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join(" ");
  return {
    object: "organization.user",
    id: u.id,
    name: name ?? u.id,
    email: u.email,
    role: u.role === "owner" ? "owner" : "reader",
    added_at: addedAt,
  };
}

export function projectKey(id: string, projectId: string, owner: Obj, createdAt: number, name: string): Obj {
  return {
    object: "organization.project.api_key",
    id,
    name,
    redacted_value: `sk-proj-****${id.slice(-4)}`,
    created_at: createdAt,
    last_used_at: null,
    owner,
    project_id: projectId,
  };
}

function userOwner(u: Obj): Obj {
  return {
    type: "user",
    user: { object: "organization.project.user", id: u.id, name: u.name, email: u.email, role: "member" },
  };
}

function addProjectMember(state: InventoryState, projectId: string, user: Obj, addedAt: number, role = "member"): void {
  inner(state.projectUsers, projectId).set(user.id as string, {
    object: "organization.project.user",
    id: user.id,
    name: user.name,
    email: user.email,
    role,
    added_at: addedAt,
  });
}

/** The state before any audit event: the directory's cast. */
export function baselineState(dir: OrgDirectory, seed: number, scale?: InventoryScale): InventoryState {
  const rng = new Rng(seed, "inventory");
  const state = emptyState();
  for (const p of dir.projects) {
    state.projects.set(p.id, {
      object: "organization.project",
      id: p.id,
      name: p.name,
      created_at: EPOCH,
      archived_at: null,
      status: "active",
    });
    const limits = inner(state.rateLimits, p.id);
    for (const rl of dir.rateLimitIds) {
      limits.set(rl, {
        object: "project.rate_limit",
        id: rl,
        model: rl.slice(3),
        max_requests_per_1_minute: 500,
        max_tokens_per_1_minute: 200_000,
      });
    }
  }
  for (const u of dir.users) addUser(state, u, rng);
  for (const sa of dir.serviceAccounts) {
    const account = {
      object: "organization.project.service_account",
      id: sa.id,
      name: `svc-${sa.id.slice(-6)}`,
      role: "member",
      created_at: EPOCH,
    };
    inner(state.serviceAccounts, sa.projectId).set(sa.id, account);
    inner(state.projectKeys, sa.projectId).set(
      sa.keyId,
      projectKey(sa.keyId, sa.projectId, { type: "service_account", service_account: account }, EPOCH, "service key"),
    );
  }
  for (const c of dir.certificates) {
    state.certificates.set(c.id, {
      object: "certificate",
      id: c.id,
      name: c.name,
      created_at: EPOCH,
      certificate_details: { valid_at: EPOCH, expires_at: EPOCH + 730 * DAY },
      active: true,
    });
  }
  baselineControls(state, dir);
  if (scale) grow(state, dir, rng, scale);
  return state;
}

function addUser(state: InventoryState, u: SimUser, rng: Rng): void {
  const user = userObject(u, EPOCH);
  state.users.set(u.id, user);
  for (const projectId of u.projectIds)
    addProjectMember(state, projectId, user, EPOCH, u.role === "owner" ? "owner" : "member");
  const home = u.projectIds[0];
  for (const [i, keyId] of u.keyIds.entries()) {
    if (!home) break;
    inner(state.projectKeys, home).set(
      keyId,
      projectKey(keyId, home, userOwner(user), EPOCH + rng.int(0, 90) * DAY, `key ${i + 1}`),
    );
  }
  if (u.adminKeyId) {
    state.adminKeys.set(u.adminKeyId, {
      object: "organization.admin_api_key",
      id: u.adminKeyId,
      name: `${String(user.name)} automation`,
      redacted_value: `sk-admin-****${u.adminKeyId.slice(-4)}`,
      created_at: EPOCH,
      last_used_at: null,
      expires_at: EPOCH + 730 * DAY,
      owner: { type: "user", object: "organization.user", id: u.id, name: user.name, role: "owner" },
    });
  }
}

/** Synthetic users, projects and keys up to the requested totals (benchmarks). */
function grow(state: InventoryState, dir: OrgDirectory, rng: Rng, scale: InventoryScale): void {
  const domain = dir.domains[0] ?? "example.com";
  for (let i = state.projects.size; i < scale.projects; i++) {
    const id = `proj_${rng.alnum(24)}`;
    state.projects.set(id, {
      object: "organization.project",
      id,
      name: `Project ${i}`,
      created_at: EPOCH,
      archived_at: null,
      status: "active",
    });
  }
  const projectIds = [...state.projects.keys()];
  const users: Obj[] = [];
  for (let i = state.users.size; i < scale.users; i++) {
    const id = `user-${rng.alnum(24)}`;
    const user = userObject({ id, email: `user${i}@${domain}`, role: "member" }, EPOCH);
    state.users.set(id, user);
    users.push(user);
    for (let j = 0; j < 3; j++) addProjectMember(state, rng.pick(projectIds), user, EPOCH);
  }
  const pool = users.length > 0 ? users : [...state.users.values()];
  let keys = 0;
  for (const m of state.projectKeys.values()) keys += m.size;
  for (; keys < scale.keys; keys++) {
    const owner = rng.pick(pool);
    const memberships = [...state.projectUsers.entries()].filter(([, m]) => m.has(owner.id as string));
    const projectId = memberships.length > 0 ? rng.pick(memberships)[0] : rng.pick(projectIds);
    const id = `key_${rng.alnum(16)}`;
    inner(state.projectKeys, projectId).set(id, projectKey(id, projectId, userOwner(owner), EPOCH, `key ${keys}`));
  }
}

/** Folds one audit event into the state. Events about objects the state does not hold are ignored. */
export function applyEvent(state: InventoryState, event: RawAuditLog, dir: OrgDirectory): void {
  const at = event.effective_at;
  const payload = (event as Record<string, unknown>)[event.type] as Obj | undefined;
  const id = typeof payload?.id === "string" ? payload.id : null;
  const projectId = (event.project as { id?: string } | undefined)?.id ?? dir.defaultProject.id;
  const actorUserId = actorUser(event);
  switch (event.type) {
    case "api_key.created": {
      if (!id) return;
      const owner = actorUserId ? state.users.get(actorUserId) : undefined;
      if (!owner) return;
      // Creating a project key takes membership of the project: the background activity does not model joining
      // a project, so the key's creator is a member from then on.
      if (!inner(state.projectUsers, projectId).has(owner.id as string)) addProjectMember(state, projectId, owner, at);
      inner(state.projectKeys, projectId).set(id, projectKey(id, projectId, userOwner(owner), at, "new key"));
      return;
    }
    case "api_key.deleted":
      if (id) for (const keys of state.projectKeys.values()) keys.delete(id);
      if (id) state.adminKeys.delete(id);
      return;
    case "user.added": {
      if (!id) return;
      const role = (payload?.data as Obj | undefined)?.role === "owner" ? "owner" : "member";
      state.users.set(id, userObject({ id, email: `${id.slice(5, 13).toLowerCase()}@${dir.domains[0]}`, role }, at));
      return;
    }
    case "user.updated": {
      const user = id ? state.users.get(id) : undefined;
      const role = (payload?.changes_requested as Obj | undefined)?.role;
      if (user && typeof role === "string") user.role = role === "owner" ? "owner" : "reader";
      return;
    }
    case "user.deleted":
      if (!id) return;
      state.users.delete(id);
      for (const members of state.projectUsers.values()) members.delete(id);
      return;
    case "invite.sent": {
      if (!id) return;
      const data = (payload?.data as Obj | undefined) ?? {};
      state.invites.set(id, {
        object: "organization.invite",
        id,
        email: data.email ?? null,
        role: data.role === "owner" ? "owner" : "reader",
        status: "pending",
        invited_at: at,
        expires_at: at + 7 * DAY,
        accepted_at: null,
      });
      return;
    }
    case "invite.accepted": {
      const invite = id ? state.invites.get(id) : undefined;
      if (invite) Object.assign(invite, { status: "accepted", accepted_at: at });
      return;
    }
    case "invite.deleted":
      if (id) state.invites.delete(id);
      return;
    case "project.created":
      if (id && !state.projects.has(id)) {
        const name = ((payload?.data as Obj | undefined)?.name as string | undefined) ?? id;
        state.projects.set(id, {
          object: "organization.project",
          id,
          name,
          created_at: at,
          archived_at: null,
          status: "active",
        });
      }
      return;
    case "project.archived": {
      const project = id ? state.projects.get(id) : undefined;
      if (project) Object.assign(project, { status: "archived", archived_at: at });
      return;
    }
    case "certificate.created":
      if (id)
        state.certificates.set(id, {
          object: "certificate",
          id,
          name: payload?.name ?? id,
          created_at: at,
          active: false,
        });
      return;
    case "certificate.deleted":
      if (id) state.certificates.delete(id);
      return;
    case "certificates.activated":
    case "certificates.deactivated": {
      const listed = Array.isArray(payload?.certificates) ? (payload.certificates as Obj[]) : [];
      for (const c of listed) {
        const cert = typeof c.id === "string" ? state.certificates.get(c.id) : undefined;
        if (cert) cert.active = event.type === "certificates.activated";
      }
      return;
    }
    default:
      return;
  }
}

function actorUser(event: RawAuditLog): string | null {
  const actor = event.actor as Obj | undefined;
  const session = actor?.session as Obj | undefined;
  const apiKey = actor?.api_key as Obj | undefined;
  const user = (session?.user ?? apiKey?.user) as Obj | undefined;
  return typeof user?.id === "string" ? user.id : null;
}

/** Keys are used daily in this org: last_used_at moves with the day, except for keys a scenario made stale. */
export function withUsage(state: InventoryState, nowSecs: number, stale: ReadonlySet<string>): void {
  const today = Math.floor(nowSecs / DAY) * DAY;
  const touch = (key: Obj) => {
    if (stale.has(key.id as string)) return;
    if (typeof key.created_at === "number" && key.created_at > today) return;
    // Never before the key existed: a key made two days ago was not last used thirteen days ago.
    const used = today - (hashOf(key.id as string) % 20) * DAY;
    key.last_used_at = typeof key.created_at === "number" ? Math.max(used, key.created_at) : used;
  };
  for (const keys of state.projectKeys.values()) for (const key of keys.values()) touch(key);
  for (const key of state.adminKeys.values()) touch(key);
}

function hashOf(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
  return Math.abs(h);
}
