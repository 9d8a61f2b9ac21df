// Benign payloads for every event type with a declared payload (API reference §8.1). Each builder returns the
// object that sits under the record's `"<type>"` key, or undefined for the types whose spec entry declares no
// payload (login.succeeded, logout.succeeded, resource.deleted, tunnel.*): those records carry no payload key.
// Attack scenarios build their own, hostile payloads in scenarios.ts.

import type { CLASSIC_EVENT_TYPES } from "../core/event-types.ts";
import type { OrgDirectory, SimProject, SimUser } from "./directory.ts";
import type { Rng } from "./prng.ts";

export type ClassicEventType = (typeof CLASSIC_EVENT_TYPES)[number];

export interface PayloadContext {
  rng: Rng;
  dir: OrgDirectory;
  /** The project the event is about (the Default project for org-level events). */
  project: SimProject;
}

type PayloadBuilder = (c: PayloadContext) => unknown;

/** Permission sets of restricted keys. Benign keys never get `api.all`; scenarios do. */
export const RESTRICTED_SCOPE_SETS: readonly string[][] = [
  ["api.model.read", "api.model.request"],
  ["api.model.request"],
  ["api.model.read", "api.model.request", "api.files.read", "api.files.write"],
  ["api.fine_tuning.jobs.read", "api.fine_tuning.jobs.write", "api.files.write"],
  ["api.assistants.read", "api.assistants.write", "api.threads.read", "api.threads.write"],
  ["api.model.read"],
];

export const ALL_SCOPES: readonly string[] = ["api.all"];

/** The role-assignment id format seen in Panther's fixtures: `role_assignment_role-<role>__<resource type>__…`. */
export function roleAssignment(
  role: string,
  resourceType: "organization" | "project",
  resourceId: string,
  userId: string,
) {
  return {
    id: `role_assignment_role-api-${resourceType}-${role}__api-${resourceType}__${resourceId}_${userId}`,
    principal_id: userId,
    principal_type: "user",
    resource_id: resourceId,
    resource_type: `api.${resourceType}`,
  };
}

const pickUser = (c: PayloadContext): SimUser => c.rng.pick(c.dir.users);
const pickMember = (c: PayloadContext): SimUser => c.rng.pick(c.dir.members);
const newUserId = (c: PayloadContext) => `user-${c.rng.alnum(24)}`;
const existingKeyId = (c: PayloadContext) => c.rng.pick(pickUser(c).keyIds);
const certificates = (c: PayloadContext) => c.dir.certificates.map(({ id, name }) => ({ id, name }));
const ipConfigs = (c: PayloadContext) => [c.rng.pick(c.dir.ipAllowlists)].map(({ id, name }) => ({ id, name }));
const checkpoint = (c: PayloadContext) =>
  `ft:gpt-4o-mini-2024-07-18:acme-robotics::${c.rng.alnum(8)}:ckpt-step-${c.rng.int(1, 20) * 100}`;
/** What a failed password login records (the wording of Panther's fixtures). */
export const LOGIN_FAILURE = {
  error_code: "invalid_credentials",
  error_message: "Invalid username or password",
} as const;

const FAKE_PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU...\n-----END CERTIFICATE-----\n";

export const PAYLOAD_BUILDERS: Record<ClassicEventType, PayloadBuilder | undefined> = {
  "api_key.created": (c) => ({
    id: `key_${c.rng.alnum(16)}`,
    data: { scopes: [...c.rng.pick(RESTRICTED_SCOPE_SETS)] },
  }),
  "api_key.updated": (c) => ({
    id: existingKeyId(c),
    changes_requested: { scopes: [...c.rng.pick(RESTRICTED_SCOPE_SETS)] },
  }),
  "api_key.deleted": (c) => ({ id: existingKeyId(c) }),
  "certificate.created": (c) => ({ id: `cert_${c.rng.alnum(24)}`, name: `corp-mtls-${c.rng.int(2026, 2027)}` }),
  "certificate.updated": (c) => ({ ...c.rng.pick(c.dir.certificates) }),
  "certificate.deleted": (c) => ({ ...c.rng.pick(c.dir.certificates), certificate: FAKE_PEM }),
  "certificates.activated": (c) => ({ certificates: certificates(c) }),
  "certificates.deactivated": (c) => ({ certificates: certificates(c).slice(0, 1) }),
  "checkpoint.permission.created": (c) => ({
    id: `cp_${c.rng.alnum(24)}`,
    data: { project_id: c.rng.pick(c.dir.projects).id, fine_tuned_model_checkpoint: checkpoint(c) },
  }),
  "checkpoint.permission.deleted": (c) => ({ id: `cp_${c.rng.alnum(24)}` }),
  "external_key.registered": (c) => ({
    id: `ek_${c.rng.alnum(24)}`,
    // A rotation within one of the org's own KMS accounts (one draw, as before: the event stream is unchanged).
    data: {
      provider: "aws_kms",
      key_arn: `arn:aws:kms:us-east-1:${c.rng.pick(c.dir.kmsAccountIds)}:key/${c.rng.hex(8)}`,
    },
  }),
  "external_key.removed": (c) => ({ id: c.rng.pick(c.dir.externalKeyIds) }),
  "group.created": (c) => ({
    id: `group_${c.rng.alnum(24)}`,
    data: { group_name: `team-${c.rng.alnum(5).toLowerCase()}` },
  }),
  "group.updated": (c) => {
    const group = c.rng.pick(c.dir.groups);
    return { id: group.id, changes_requested: { group_name: `${group.name}-team` } };
  },
  "group.deleted": (c) => ({ id: c.rng.pick(c.dir.groups).id }),
  "invite.sent": (c) => ({
    id: `invite-${c.rng.alnum(24)}`,
    data: { email: `new.hire${c.rng.int(1, 999)}@${c.rng.pick(c.dir.domains)}`, role: "member" },
  }),
  "invite.accepted": (c) => ({ id: `invite-${c.rng.alnum(24)}` }),
  "invite.deleted": (c) => ({ id: `invite-${c.rng.alnum(24)}` }),
  "ip_allowlist.created": (c) => ({
    id: `ipal_${c.rng.alnum(24)}`,
    name: "VPN egress",
    allowed_ips: [`198.51.100.${c.rng.int(0, 15) * 16}/28`],
  }),
  "ip_allowlist.updated": (c) => {
    const list = c.rng.pick(c.dir.ipAllowlists);
    return { id: list.id, allowed_ips: [...list.allowed_ips, `192.0.2.${c.rng.int(1, 254)}/32`] };
  },
  "ip_allowlist.deleted": (c) => {
    const list = c.rng.pick(c.dir.ipAllowlists);
    return { id: list.id, name: list.name, allowed_ips: [...list.allowed_ips] };
  },
  "ip_allowlist.config.activated": (c) => ({ configs: ipConfigs(c) }),
  "ip_allowlist.config.deactivated": (c) => ({ configs: ipConfigs(c) }),
  "login.succeeded": undefined,
  "login.failed": () => ({ ...LOGIN_FAILURE }),
  "logout.succeeded": undefined,
  "logout.failed": () => ({ error_code: "session_not_found", error_message: "The session has already ended" }),
  "organization.updated": (c) => {
    const changes = c.rng.pick<Record<string, string>>([
      { title: "Acme Robotics" },
      { description: "Robotics R&D and customer products" },
      { threads_ui_visibility: "OWNERS" },
      { usage_dashboard_visibility: "OWNERS" },
      { api_call_logging: "enabled_per_call" },
      { api_call_logging: "enabled_for_selected_projects", api_call_logging_project_ids: c.project.id },
    ]);
    return { id: c.dir.orgId, changes_requested: changes };
  },
  "project.created": (c) => ({
    id: c.project.id,
    data: { name: c.project.name, title: c.project.name },
  }),
  "project.updated": (c) => ({ id: c.project.id, changes_requested: { title: `${c.project.name} (v2)` } }),
  "project.archived": (c) => ({ id: c.project.id }),
  "project.deleted": (c) => ({ id: c.project.id }),
  "rate_limit.updated": (c) => ({
    id: c.rng.pick(c.dir.rateLimitIds),
    changes_requested: {
      max_requests_per_1_minute: c.rng.int(1, 10) * 500,
      max_tokens_per_1_minute: c.rng.int(1, 20) * 10_000,
    },
  }),
  "rate_limit.deleted": (c) => ({ id: c.rng.pick(c.dir.rateLimitIds) }),
  "resource.deleted": undefined,
  "tunnel.created": undefined,
  "tunnel.updated": undefined,
  "tunnel.deleted": undefined,
  "workload_identity_provider.created": (c) => ({
    id: `wip_${c.rng.alnum(24)}`,
    data: { name: "gitlab-ci", issuer: "https://gitlab.com", audience: "openai" },
  }),
  "workload_identity_provider.updated": (c) => ({
    id: c.rng.pick(c.dir.workloadIdentityProviders).id,
    changes_requested: { audience: "openai-prod" },
  }),
  "workload_identity_provider.deleted": (c) => ({ ...c.rng.pick(c.dir.workloadIdentityProviders) }),
  "workload_identity_provider_mapping.created": (c) => ({
    id: `wipm_${c.rng.alnum(24)}`,
    identity_provider_id: c.rng.pick(c.dir.workloadIdentityProviders).id,
    data: { subject: "repo:acme-robotics/inference:ref:refs/heads/main", project_id: c.project.id },
  }),
  "workload_identity_provider_mapping.updated": (c) => ({
    id: `wipm_${c.rng.alnum(24)}`,
    identity_provider_id: c.rng.pick(c.dir.workloadIdentityProviders).id,
    changes_requested: { subject: "repo:acme-robotics/inference:environment:production" },
  }),
  "workload_identity_provider_mapping.deleted": (c) => ({
    id: `wipm_${c.rng.alnum(24)}`,
    identity_provider_id: c.rng.pick(c.dir.workloadIdentityProviders).id,
    project_id: c.project.id,
    service_account_id: c.rng.pick(c.dir.serviceAccounts).id,
  }),
  "role.created": (c) => ({
    id: `role_${c.rng.alnum(24)}`,
    role_name: `Custom ${c.rng.pick(["Viewer", "Reviewer", "Operator"])}`,
    permissions: ["api.model.read", "api.usage.read"],
    resource_type: "api.project",
    resource_id: c.project.id,
  }),
  "role.updated": (c) => {
    const role = c.rng.pick(c.dir.customRoles);
    return {
      id: role.id,
      changes_requested: {
        role_name: role.name,
        resource_id: c.project.id,
        resource_type: "api.project",
        permissions_added: ["api.usage.read"],
        permissions_removed: [],
        description: `${role.name} for ${c.project.name}`,
        metadata: {},
      },
    };
  },
  "role.deleted": (c) => ({ id: c.rng.pick(c.dir.customRoles).id }),
  "role.assignment.created": (c) =>
    roleAssignment(c.rng.pick(["member", "viewer"]), "project", c.project.id, pickMember(c).id),
  "role.assignment.deleted": (c) =>
    roleAssignment(c.rng.pick(["member", "viewer"]), "project", c.project.id, pickMember(c).id),
  "role.bound_to_resource": (c) => roleBinding(c, true),
  "role.unbound_from_resource": (c) => roleBinding(c, false),
  "scim.enabled": (c) => ({ id: c.dir.orgId }),
  "scim.disabled": (c) => ({ id: c.dir.orgId }),
  "service_account.created": (c) => ({ id: `svc_acct_${c.rng.alnum(24)}`, data: { role: "member" } }),
  "service_account.updated": (c) => ({
    id: c.rng.pick(c.dir.serviceAccounts).id,
    changes_requested: { role: "member" },
  }),
  "service_account.deleted": (c) => ({ id: c.rng.pick(c.dir.serviceAccounts).id }),
  "user.added": (c) => ({ id: newUserId(c), data: { role: "member" } }),
  // Benign role changes demote or keep members; promotions to owner are the owner-role-granted scenario.
  "user.updated": (c) => ({ id: pickMember(c).id, changes_requested: { role: "member" } }),
  // Someone who left (an account from before the history): never one of the directory's members, who go on
  // logging in afterwards. Deleting a member left a user deleted yet active, and that user's keys owned by
  // someone no longer in the project, a HIGH posture finding raised by a benign org.
  "user.deleted": (c) => ({ id: newUserId(c) }),
};

function roleBinding(c: PayloadContext, enabled: boolean) {
  const workspace = `ws_${c.rng.alnum(16)}`;
  const connector = `connector_${c.rng.alnum(16)}`;
  return {
    id: `${workspace}__${connector}`,
    role_id: c.rng.pick(c.dir.customRoles).id,
    resource_id: `${workspace}__${connector}`,
    resource_type: "workspace_connector",
    permissions: ["connector.use"],
    workspace_id: workspace,
    connector_id: connector,
    connector_name: c.rng.pick(["Google Drive", "GitHub", "SharePoint", "Slack"]),
    enabled,
    source: enabled ? "role_toggle" : "role_delete",
  };
}
