// Posture scenarios: states of the organization each OpenAI.Posture rule should find, set up either through audit
// events (so the snapshot and the audit log agree) or silently (drift: the state moves, the audit log says
// nothing). Each one acts at `at`; the inventory reflects it from then on.

import type { RawAuditLog } from "../core/audit-log.ts";
import type { OrgDirectory } from "./directory.ts";
import { defaultToolPermissions, type InventoryState, inner, projectKey, type SilentChange } from "./inventory.ts";
import type { Rng } from "./prng.ts";
import { homeSession, makeRecord } from "./records.ts";

export interface PostureScenarioResult {
  events: RawAuditLog[];
  silent: SilentChange[];
  /** Keys whose last_used_at stays where the scenario put it. */
  staleKeyIds: string[];
}

interface Context {
  rng: Rng;
  dir: OrgDirectory;
  at: number;
}

const DAY = 86_400;

/**
 * An owner changes a setting of a project: audited as project.updated naming the project (the spec has no event
 * type of its own for retention or permissions), applied to the inventory at the same time.
 */
function projectSettingChanged(
  c: Context,
  projectIndex: number,
  apply: (s: InventoryState, projectId: string) => void,
) {
  const project = c.dir.projects[projectIndex] ?? c.dir.defaultProject;
  return {
    events: [
      makeRecord(c.rng, {
        type: "project.updated",
        at: c.at,
        actor: homeSession(c.rng, c.rng.pick(c.dir.owners), 0),
        project,
        payload: { id: project.id, changes_requested: {} },
      }),
    ],
    silent: [{ atSecs: c.at, apply: (s: InventoryState) => apply(s, project.id) }],
    staleKeyIds: [],
  };
}

export const POSTURE_SCENARIOS = {
  "admin-key-without-expiry": {
    description: "An owner creates an admin API key that never expires (audited: api_key.created).",
    build: (c: Context): PostureScenarioResult => {
      const owner = c.rng.pick(c.dir.owners);
      const id = `key_${c.rng.alnum(16)}`;
      const event = makeRecord(c.rng, {
        type: "api_key.created",
        at: c.at,
        actor: homeSession(c.rng, owner, 0),
        project: c.dir.defaultProject,
        payload: { id, data: { scopes: ["api.management.read", "api.management.write"] } },
      });
      return {
        events: [event],
        staleKeyIds: [],
        silent: [
          {
            atSecs: c.at,
            apply: (s) => {
              // The audit event files it as a project key; an admin key it is.
              for (const keys of s.projectKeys.values()) keys.delete(id);
              s.adminKeys.set(id, {
                object: "organization.admin_api_key",
                id,
                name: "temporary migration key",
                redacted_value: `sk-admin-****${id.slice(-4)}`,
                created_at: c.at,
                last_used_at: null,
                expires_at: null,
                owner: { type: "user", object: "organization.user", id: owner.id, name: owner.email, role: "owner" },
              });
            },
          },
        ],
      };
    },
  },
  "stale-key": {
    description: "A project key nobody has used for 200 days.",
    build: (c: Context): PostureScenarioResult => {
      const user = c.rng.pick(c.dir.members);
      const keyId = user.keyIds[0] as string;
      return {
        events: [],
        staleKeyIds: [keyId],
        silent: [
          {
            atSecs: c.at,
            apply: (s) => {
              for (const keys of s.projectKeys.values()) {
                const key = keys.get(keyId);
                if (key) key.last_used_at = c.at - 200 * DAY;
              }
            },
          },
        ],
      };
    },
  },
  "key-owner-left-project": {
    description: "A member is removed from their project; the key they created there keeps working.",
    build: (c: Context): PostureScenarioResult => {
      const user = c.rng.pick(c.dir.members.filter((m) => m.keyIds.length > 0 && m.projectIds.length > 0));
      const projectId = user.projectIds[0] as string;
      return {
        events: [],
        staleKeyIds: [],
        silent: [{ atSecs: c.at, apply: (s) => inner(s.projectUsers, projectId).delete(user.id) }],
      };
    },
  },
  "many-owners": {
    description: "Three members are promoted to owner (audited: user.updated).",
    build: (c: Context): PostureScenarioResult => ({
      events: c.rng.sample(c.dir.members, 3).map((m, i) =>
        makeRecord(c.rng, {
          type: "user.updated",
          at: c.at + i * 30,
          actor: homeSession(c.rng, c.rng.pick(c.dir.owners), 0),
          payload: { id: m.id, changes_requested: { role: "owner" } },
        }),
      ),
      silent: [],
      staleKeyIds: [],
    }),
  },
  "outside-invite": {
    description: "An owner invites a free-mail address as owner; the invite stays pending (audited: invite.sent).",
    build: (c: Context): PostureScenarioResult => ({
      events: [
        makeRecord(c.rng, {
          type: "invite.sent",
          at: c.at,
          actor: homeSession(c.rng, c.rng.pick(c.dir.owners), 0),
          payload: { id: `invite-${c.rng.alnum(24)}`, data: { email: "acme.ops.backup@gmail.com", role: "owner" } },
        }),
      ],
      silent: [],
      staleKeyIds: [],
    }),
  },
  "silent-key": {
    description: "A project key appears with no api_key.created event (drift).",
    build: (c: Context): PostureScenarioResult => {
      const user = c.rng.pick(c.dir.members.filter((m) => m.projectIds.length > 0));
      const projectId = user.projectIds[0] as string;
      const id = `key_${c.rng.alnum(16)}`;
      return {
        events: [],
        staleKeyIds: [],
        silent: [
          {
            atSecs: c.at,
            apply: (s: InventoryState) => {
              const owner = s.users.get(user.id);
              if (!owner) return;
              inner(s.projectKeys, projectId).set(
                id,
                projectKey(
                  id,
                  projectId,
                  { type: "user", user: { id: owner.id, email: owner.email, name: owner.name } },
                  c.at,
                  "unexplained",
                ),
              );
            },
          },
        ],
      };
    },
  },
  "retention-weakened": {
    description:
      "An owner moves the zero-data-retention project to the standard retention (audited: project.updated). " +
      "Acts between two snapshots.",
    build: (c: Context): PostureScenarioResult =>
      projectSettingChanged(c, 0, (s, projectId) =>
        s.projectRetention.set(projectId, { object: "project.data_retention", type: "none" }),
      ),
  },
  "spend-alert-removed": {
    description:
      "An owner deletes the organization's monthly spend alert (audited: organization.updated). Acts between two " +
      "snapshots.",
    build: (c: Context): PostureScenarioResult => ({
      events: [
        makeRecord(c.rng, {
          type: "organization.updated",
          at: c.at,
          actor: homeSession(c.rng, c.rng.pick(c.dir.owners), 0),
          payload: { id: `org-${c.rng.alnum(24)}`, changes_requested: {} },
        }),
      ],
      silent: [{ atSecs: c.at, apply: (s) => s.spendAlerts.clear() }],
      staleKeyIds: [],
    }),
  },
  "permissions-widened": {
    description:
      "An owner adds o3 to a project's model allow list and switches MCP on for it (audited: project.updated). " +
      "Acts between two snapshots.",
    build: (c: Context): PostureScenarioResult =>
      projectSettingChanged(c, 1, (s, projectId) => {
        const policy = s.modelPermissions.get(projectId);
        const ids = Array.isArray(policy?.model_ids) ? (policy.model_ids as string[]) : [];
        s.modelPermissions.set(projectId, {
          object: "project.model_permissions",
          mode: "allow_list",
          model_ids: [...ids, "o3"],
        });
        s.toolPermissions.set(projectId, {
          ...(s.toolPermissions.get(projectId) ?? defaultToolPermissions()),
          mcp: { enabled: true },
        });
      }),
  },
} as const;

export type PostureScenarioName = keyof typeof POSTURE_SCENARIOS;
export const POSTURE_SCENARIO_NAMES = Object.keys(POSTURE_SCENARIOS) as PostureScenarioName[];

export function isPostureScenarioName(name: string): name is PostureScenarioName {
  return Object.hasOwn(POSTURE_SCENARIOS, name);
}
