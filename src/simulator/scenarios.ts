// Attack and risky-change scenarios: the events each would leave in the audit log, one scenario per detection
// area of the detection pack (peers-and-pitfalls.md §6; the number in `detection` is the row there). Events
// start at `at` and span at most about twenty minutes, except off-hours-admin, which moves to the night.

import type { AuditLogActor, RawAuditLog } from "../core/audit-log.ts";
import type { OrgDirectory, SimProject, SimUser } from "./directory.ts";
import { addressIn, browserDevice, HOSTILE_PLACES, type Place, toolDevice } from "./geo.ts";
import { ALL_SCOPES, LOGIN_FAILURE, RESTRICTED_SCOPE_SETS, roleAssignment } from "./payloads.ts";
import type { Rng } from "./prng.ts";
import { homeSession, makeRecord, serviceAccountKeyActor, sessionActor } from "./records.ts";

export interface ScenarioContext {
  rng: Rng;
  dir: OrgDirectory;
  at: number;
}

interface ScenarioDefinition {
  /** What happens, in one or two sentences. */
  description: string;
  /** The detection-pack row(s) it exercises. */
  detection: string;
  build(c: ScenarioContext): RawAuditLog[];
}

const FAILED = LOGIN_FAILURE;

function record(
  c: ScenarioContext,
  type: string,
  offsetSecs: number,
  actor: AuditLogActor,
  payload?: unknown,
  project?: SimProject,
): RawAuditLog {
  return makeRecord(c.rng, { type, at: c.at + offsetSecs, actor, project, payload });
}

/** A foreign session: an attacker's address at a hosting provider or far-away ISP. */
function hostileSession(c: ScenarioContext, user: { id?: string; email: string }, at?: Place, tool = true) {
  const where = at ?? c.rng.pick(HOSTILE_PLACES);
  return sessionActor(user, {
    ip: addressIn(c.rng, where),
    device: tool ? toolDevice(c.rng) : browserDevice(c.rng),
    details: where.details,
  });
}

const member = (c: ScenarioContext): SimUser => c.rng.pick(c.dir.members);
const owner = (c: ScenarioContext): SimUser => c.rng.pick(c.dir.owners);
const ownerAtHome = (c: ScenarioContext): AuditLogActor => homeSession(c.rng, owner(c), 0);
const someProject = (c: ScenarioContext): SimProject => c.rng.pick(c.dir.projects.slice(1));
const newKey = (c: ScenarioContext) => `key_${c.rng.alnum(16)}`;

export const SCENARIOS = {
  "credential-stuffing": {
    description:
      "Eight failed logins against one real user's email, each from a different foreign IP, within six minutes.",
    detection: "3 credential stuffing",
    build: (c) => {
      const victim = member(c);
      return c.rng
        .sample(HOSTILE_PLACES, 8)
        .map((where, i) =>
          record(c, "login.failed", i * 40 + c.rng.int(0, 30), hostileSession(c, victim, where), FAILED),
        );
    },
  },
  "brute-force-then-success": {
    description:
      "Seven failed logins for one user from one foreign IP in three minutes, then a successful login from it.",
    detection: "4 brute force then success",
    build: (c) => {
      const victim = member(c);
      const actor = hostileSession(c, victim);
      const out = Array.from({ length: 7 }, (_, i) =>
        record(c, "login.failed", i * 20 + c.rng.int(0, 10), actor, FAILED),
      );
      out.push(record(c, "login.succeeded", 7 * 20 + 15, actor));
      return out;
    },
  },
  "password-spray": {
    description: "One foreign IP fails to log in as twelve different users within five minutes.",
    detection: "5 password spray",
    build: (c) => {
      const where = c.rng.pick(HOSTILE_PLACES);
      const origin = { ip: addressIn(c.rng, where), device: toolDevice(c.rng), details: where.details };
      return c.rng
        .sample(c.dir.users, 12)
        .map((user, i) => record(c, "login.failed", i * 25, sessionActor(user, origin), FAILED));
    },
  },
  "login-new-country": {
    description:
      "A known user logs in from a country and ASN they never used, with a new browser fingerprint. The " +
      "user's earlier logins (background history) are the baseline.",
    detection: "6 login from new country/ASN",
    build: (c) => {
      const user = member(c);
      const where = c.rng.pick(HOSTILE_PLACES.filter((p) => p.details.country !== user.home.details.country));
      return [record(c, "login.succeeded", 0, hostileSession(c, user, where, false))];
    },
  },
  "impossible-travel": {
    description: "A user logs in from home, then fifteen minutes later from another continent.",
    detection: "6 impossible travel",
    build: (c) => {
      const user = member(c);
      const far = HOSTILE_PLACES.filter(
        (p) => Math.abs(Number(p.details.longitude) - Number(user.home.details.longitude)) > 60,
      );
      return [
        record(c, "login.succeeded", 0, homeSession(c.rng, user, 0)),
        record(c, "login.succeeded", 900, hostileSession(c, user, c.rng.pick(far), false)),
      ];
    },
  },
  "api-key-all-scopes": {
    description: 'An API key created with all permissions (scopes ["api.all"]) and another key widened to all of them.',
    detection: "7 API key with elevated scopes",
    build: (c) => {
      const user = member(c);
      const project = someProject(c);
      const actor = homeSession(c.rng, user, 0);
      return [
        record(c, "api_key.created", 0, actor, { id: newKey(c), data: { scopes: [...ALL_SCOPES] } }, project),
        record(
          c,
          "api_key.updated",
          120,
          actor,
          { id: c.rng.pick(user.keyIds), changes_requested: { scopes: [...ALL_SCOPES] } },
          project,
        ),
      ];
    },
  },
  "key-minted-by-key": {
    description: "A service account's API key creates a new API key and a new service account (no human session).",
    detection: "9 key minted by a key",
    build: (c) => {
      const account = c.rng.pick(c.dir.serviceAccounts);
      const project = c.dir.projects.find((p) => p.id === account.projectId) ?? c.dir.defaultProject;
      const actor = serviceAccountKeyActor(account.keyId, account.id);
      return [
        record(
          c,
          "api_key.created",
          0,
          actor,
          { id: newKey(c), data: { scopes: [...c.rng.pick(RESTRICTED_SCOPE_SETS)] } },
          project,
        ),
        record(
          c,
          "service_account.created",
          60,
          actor,
          { id: `svc_acct_${c.rng.alnum(24)}`, data: { role: "member" } },
          project,
        ),
      ];
    },
  },
  "key-creation-burst": {
    description: "One member creates twelve API keys, two service accounts and a project in about eight minutes.",
    detection: "8 API key created, 10 credential / project sprawl",
    build: (c) => {
      const user = member(c);
      const actor = homeSession(c.rng, user, 0);
      const out: RawAuditLog[] = [];
      for (let i = 0; i < 12; i++) {
        const payload = { id: newKey(c), data: { scopes: [...c.rng.pick(RESTRICTED_SCOPE_SETS)] } };
        out.push(record(c, "api_key.created", i * 40, actor, payload, someProject(c)));
      }
      for (let i = 0; i < 2; i++) {
        const payload = { id: `svc_acct_${c.rng.alnum(24)}`, data: { role: "member" } };
        out.push(record(c, "service_account.created", 60 + i * 180, actor, payload, someProject(c)));
      }
      const project = { id: `proj_${c.rng.alnum(24)}`, name: "tmp-export" };
      out.push(
        record(
          c,
          "project.created",
          300,
          actor,
          { id: project.id, data: { name: project.name, title: project.name } },
          project,
        ),
      );
      return out;
    },
  },
  "service-account-owner": {
    description: "A service account is created with the owner role, and an existing one is promoted to owner.",
    detection: "11 service account with owner role",
    build: (c) => {
      const actor = ownerAtHome(c);
      const existing = c.rng.pick(c.dir.serviceAccounts);
      return [
        record(
          c,
          "service_account.created",
          0,
          actor,
          { id: `svc_acct_${c.rng.alnum(24)}`, data: { role: "owner" } },
          someProject(c),
        ),
        record(
          c,
          "service_account.updated",
          90,
          actor,
          { id: existing.id, changes_requested: { role: "owner" } },
          someProject(c),
        ),
      ];
    },
  },
  "admin-api-key-created": {
    description: "An owner creates a new admin API key (tenant-scoped: needs tenant_only=true).",
    detection: "12 admin API key created",
    build: (c) => [record(c, "tenant.admin_api_key.created", 0, ownerAtHome(c))],
  },
  "owner-role-granted": {
    description:
      'A member is promoted to organization owner: user.updated with changes_requested.role "owner" and the ' +
      "matching role.assignment.created for the org-owner role.",
    detection: "13 owner/admin role assignment, 14 user promoted to owner",
    build: (c) => {
      const actor = ownerAtHome(c);
      const target = member(c);
      return [
        record(c, "user.updated", 0, actor, { id: target.id, changes_requested: { role: "owner" } }),
        record(c, "role.assignment.created", 2, actor, roleAssignment("owner", "organization", c.dir.orgId, target.id)),
      ];
    },
  },
  "invite-outside-domain": {
    description: "An owner invites an address at an outside domain (gmail.com) as an owner.",
    detection: "14 user invited as owner, 15 invite to outside domain",
    build: (c) => [
      record(c, "invite.sent", 0, ownerAtHome(c), {
        id: `invite-${c.rng.alnum(24)}`,
        data: { email: `acme.ops.${c.rng.int(10, 99)}@gmail.com`, role: "owner" },
      }),
    ],
  },
  "custom-role-escalated": {
    description:
      "A custom role is created with org-admin permissions, then gains more; the tenant logs the change too.",
    detection: "16 custom role gains permissions",
    build: (c) => {
      const actor = ownerAtHome(c);
      const role = c.rng.pick(c.dir.customRoles);
      return [
        record(c, "role.created", 0, actor, {
          id: `role_${c.rng.alnum(24)}`,
          role_name: "Break Glass",
          permissions: ["api.organization.admin", "api.api_keys.write", "api.members.write"],
          resource_type: "api.organization",
          resource_id: c.dir.orgId,
        }),
        record(c, "role.updated", 60, actor, {
          id: role.id,
          changes_requested: {
            role_name: role.name,
            resource_id: c.dir.orgId,
            resource_type: "api.organization",
            permissions_added: ["api.organization.owner", "api.audit_logs.read"],
            permissions_removed: [],
            description: role.name,
            metadata: {},
          },
        }),
        record(c, "tenant.custom_role.updated", 61, actor),
      ];
    },
  },
  "ip-allowlist-deleted": {
    description: "The IP allowlist is deactivated and then deleted.",
    detection: "17 IP allowlist removed",
    build: (c) => {
      const actor = ownerAtHome(c);
      const list = c.rng.pick(c.dir.ipAllowlists);
      return [
        record(c, "ip_allowlist.config.deactivated", 0, actor, { configs: [{ id: list.id, name: list.name }] }),
        record(c, "ip_allowlist.deleted", 45, actor, {
          id: list.id,
          name: list.name,
          allowed_ips: [...list.allowed_ips],
        }),
      ];
    },
  },
  "ip-allowlist-opened": {
    description: "An IP allowlist is widened to 0.0.0.0/0 (any address).",
    detection: "17 IP allowlist weakened",
    build: (c) => {
      const list = c.rng.pick(c.dir.ipAllowlists);
      return [record(c, "ip_allowlist.updated", 0, ownerAtHome(c), { id: list.id, allowed_ips: ["0.0.0.0/0"] })];
    },
  },
  "scim-disabled": {
    description: "SCIM provisioning is disabled and the tenant's SCIM directory deletion is requested.",
    detection: "18 SCIM disabled",
    build: (c) => {
      const actor = ownerAtHome(c);
      return [
        record(c, "scim.disabled", 0, actor, { id: c.dir.orgId }),
        record(c, "tenant.scim.deletion.requested", 30, actor),
      ];
    },
  },
  "sso-connection-deleted": {
    description: "The tenant's SSO connection is deleted and its session policy relaxed (tenant-scoped).",
    detection: "19 SSO / session policy change",
    build: (c) => {
      const actor = ownerAtHome(c);
      return [
        record(c, "tenant.sso_connection.deleted", 0, actor),
        record(c, "tenant.session_policy.updated", 40, actor),
      ];
    },
  },
  "api-call-logging-disabled": {
    description: 'organization.updated with changes_requested.api_call_logging "disabled".',
    detection: "20 org setting weakened (logging)",
    build: (c) => [
      record(c, "organization.updated", 0, ownerAtHome(c), {
        id: c.dir.orgId,
        changes_requested: { api_call_logging: "disabled" },
      }),
    ],
  },
  "org-visibility-widened": {
    description: "Threads and the usage dashboard are made visible to any role.",
    detection: "20 org setting weakened (visibility)",
    build: (c) => [
      record(c, "organization.updated", 0, ownerAtHome(c), {
        id: c.dir.orgId,
        changes_requested: { threads_ui_visibility: "ANY_ROLE", usage_dashboard_visibility: "ANY_ROLE" },
      }),
    ],
  },
  "mtls-certificates-removed": {
    description: "All mTLS certificates are deactivated and one is deleted.",
    detection: "21 mTLS certificates removed",
    build: (c) => {
      const actor = ownerAtHome(c);
      const certificates = c.dir.certificates.map(({ id, name }) => ({ id, name }));
      const deleted = c.rng.pick(certificates);
      return [
        record(c, "certificates.deactivated", 0, actor, { certificates }),
        record(c, "certificate.deleted", 50, actor, {
          ...deleted,
          certificate: "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU...\n-----END CERTIFICATE-----\n",
        }),
      ];
    },
  },
  "external-key-removed": {
    description: "The customer-managed (BYOK) encryption key is removed.",
    detection: "22 BYOK / external key change",
    build: (c) => [record(c, "external_key.removed", 0, ownerAtHome(c), { id: c.rng.pick(c.dir.externalKeyIds) })],
  },
  "workload-identity-added": {
    description: "An unknown OIDC issuer is added as a workload identity provider and mapped to a project.",
    detection: "23 workload identity federation change",
    build: (c) => {
      const actor = ownerAtHome(c);
      const providerId = `wip_${c.rng.alnum(24)}`;
      const project = someProject(c);
      return [
        record(c, "workload_identity_provider.created", 0, actor, {
          id: providerId,
          data: { name: "ci-prod", issuer: "https://oidc.build-runner.example.net", audience: "openai" },
        }),
        record(
          c,
          "workload_identity_provider_mapping.created",
          40,
          actor,
          {
            id: `wipm_${c.rng.alnum(24)}`,
            identity_provider_id: providerId,
            data: { subject: "*", project_id: project.id },
          },
          project,
        ),
        record(c, "tenant.workload_identity.provider.created", 41, actor),
      ];
    },
  },
  "rate-limit-removed": {
    description: "A model's rate limit is raised a thousandfold, another is deleted, and the overage limit changes.",
    detection: "24 rate-limit / spend guard removed",
    build: (c) => {
      const actor = ownerAtHome(c);
      const project = someProject(c);
      const [raised, deleted] = c.rng.sample(c.dir.rateLimitIds, 2);
      return [
        record(
          c,
          "rate_limit.updated",
          0,
          actor,
          {
            id: raised,
            changes_requested: {
              max_requests_per_1_minute: 5_000_000,
              max_tokens_per_1_minute: 2_000_000_000,
              max_requests_per_1_day: 100_000_000,
              batch_1_day_max_input_tokens: 50_000_000_000,
            },
          },
          project,
        ),
        record(c, "rate_limit.deleted", 30, actor, { id: deleted }, project),
        record(c, "tenant.billing.overage_limit.updated", 90, actor),
      ];
    },
  },
  "project-deleted": {
    description: "A project is archived, then deleted, and one of its resources deleted.",
    detection: "25 project deleted/archived",
    build: (c) => {
      const actor = ownerAtHome(c);
      const project = someProject(c);
      return [
        record(c, "project.archived", 0, actor, { id: project.id }, project),
        record(c, "project.deleted", 60, actor, { id: project.id }, project),
        record(c, "resource.deleted", 90, actor, undefined, project),
      ];
    },
  },
  "checkpoint-shared": {
    description: "A fine-tuned model checkpoint is shared with a project outside the organization.",
    detection: "26 fine-tuned checkpoint shared",
    build: (c) => {
      const project = someProject(c);
      return [
        record(
          c,
          "checkpoint.permission.created",
          0,
          homeSession(c.rng, member(c), 0),
          {
            id: `cp_${c.rng.alnum(24)}`,
            data: {
              project_id: `proj_${c.rng.alnum(24)}`,
              fine_tuned_model_checkpoint: `ft:gpt-4o-mini-2024-07-18:acme-robotics::${c.rng.alnum(8)}:ckpt-step-2000`,
            },
          },
          project,
        ),
      ];
    },
  },
  "resource-share-grant": {
    description: "A resource share grant to another tenant is created and accepted (tenant-scoped).",
    detection: "27 resource share grant",
    build: (c) => {
      const actor = ownerAtHome(c);
      return [
        record(c, "tenant.resource_share_grant.created", 0, actor),
        record(c, "tenant.resource_share_grant.accepted", 300, actor),
      ];
    },
  },
  "tunnel-created": {
    description: "A tunnel is created (no payload is published for tunnel events).",
    detection: "28 tunnel created",
    build: (c) => [record(c, "tunnel.created", 0, ownerAtHome(c))],
  },
  "off-hours-admin": {
    description: "Admin changes at 03:00–03:15 UTC, on the last night that ends before the scenario's time.",
    detection: "29 off-hours admin activity",
    build: (c) => {
      const night = Math.floor((c.at - 3 * 3600 - 1200) / 86400) * 86400 + 3 * 3600;
      const atNight: ScenarioContext = { ...c, at: night };
      const actor = ownerAtHome(c);
      return [
        record(atNight, "user.added", 0, actor, { id: `user-${c.rng.alnum(24)}`, data: { role: "member" } }),
        record(
          atNight,
          "api_key.created",
          240,
          actor,
          { id: newKey(c), data: { scopes: ["api.model.request"] } },
          someProject(c),
        ),
        record(atNight, "invite.sent", 480, actor, {
          id: `invite-${c.rng.alnum(24)}`,
          data: { email: `contractor${c.rng.int(1, 99)}@${c.dir.domains[0]}`, role: "member" },
        }),
        record(atNight, "ip_allowlist.updated", 840, actor, {
          id: c.dir.ipAllowlists[0]?.id,
          allowed_ips: ["203.0.113.0/24", "192.0.2.77/32"],
        }),
      ];
    },
  },
  "admin-new-ip": {
    description: "An owner makes routine admin changes, but from a hosting-provider IP and ASN they never used.",
    detection: "30 admin action from a new IP/ASN",
    build: (c) => {
      const admin = owner(c);
      const where = c.rng.pick(HOSTILE_PLACES);
      const actor = sessionActor(admin, { ip: addressIn(c.rng, where), device: admin.device, details: where.details });
      return [
        record(c, "user.updated", 0, actor, { id: member(c).id, changes_requested: { role: "member" } }),
        record(c, "invite.sent", 120, actor, {
          id: `invite-${c.rng.alnum(24)}`,
          data: { email: `ops${c.rng.int(1, 99)}@${c.dir.domains[0]}`, role: "member" },
        }),
        record(c, "api_key.deleted", 200, actor, { id: c.rng.pick(member(c).keyIds) }, someProject(c)),
      ];
    },
  },
} satisfies Record<string, ScenarioDefinition>;

export type ScenarioName = keyof typeof SCENARIOS;

export const SCENARIO_NAMES = Object.keys(SCENARIOS) as ScenarioName[];

/** The scenario list with a short description of each, for `--help`, the demo and docs. */
export const SCENARIO_LIST: ReadonlyArray<{ name: ScenarioName; description: string; detection: string }> =
  SCENARIO_NAMES.map((name) => ({
    name,
    description: SCENARIOS[name].description,
    detection: SCENARIOS[name].detection,
  }));

export function isScenarioName(name: string): name is ScenarioName {
  return Object.hasOwn(SCENARIOS, name);
}

export function buildScenario(name: ScenarioName, context: ScenarioContext): RawAuditLog[] {
  return SCENARIOS[name].build(context);
}
