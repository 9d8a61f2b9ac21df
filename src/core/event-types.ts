// The AuditLogEventType enum of OpenAI's published spec (openai-openapi @f85dbe2, plus the two
// tenant.trusted_access.* types of the 2026 spec: 147 in all), in enum order. This is the ONE list of event types:
// the normalizer, the simulator and the coverage ledger (`vigil coverage`) all read it; to follow a new spec, edit
// it here. New types appear without notice: these lists say what is known, never what is allowed.

/** The 59 event types returned without `tenant_only`. */
export const CLASSIC_EVENT_TYPES = [
  "api_key.created",
  "api_key.updated",
  "api_key.deleted",
  "certificate.created",
  "certificate.updated",
  "certificate.deleted",
  "certificates.activated",
  "certificates.deactivated",
  "checkpoint.permission.created",
  "checkpoint.permission.deleted",
  "external_key.registered",
  "external_key.removed",
  "group.created",
  "group.updated",
  "group.deleted",
  "invite.sent",
  "invite.accepted",
  "invite.deleted",
  "ip_allowlist.created",
  "ip_allowlist.updated",
  "ip_allowlist.deleted",
  "ip_allowlist.config.activated",
  "ip_allowlist.config.deactivated",
  "login.succeeded",
  "login.failed",
  "logout.succeeded",
  "logout.failed",
  "organization.updated",
  "project.created",
  "project.updated",
  "project.archived",
  "project.deleted",
  "rate_limit.updated",
  "rate_limit.deleted",
  "resource.deleted",
  "tunnel.created",
  "tunnel.updated",
  "tunnel.deleted",
  "workload_identity_provider.created",
  "workload_identity_provider.updated",
  "workload_identity_provider.deleted",
  "workload_identity_provider_mapping.created",
  "workload_identity_provider_mapping.updated",
  "workload_identity_provider_mapping.deleted",
  "role.created",
  "role.updated",
  "role.deleted",
  "role.assignment.created",
  "role.assignment.deleted",
  "role.bound_to_resource",
  "role.unbound_from_resource",
  "scim.enabled",
  "scim.disabled",
  "service_account.created",
  "service_account.updated",
  "service_account.deleted",
  "user.added",
  "user.updated",
  "user.deleted",
] as const;

/** The 88 `tenant.*` event types. */
export const TENANT_EVENT_TYPES = [
  "tenant.metadata.updated",
  "tenant.microsoft_entra_mapping.upserted",
  "tenant.microsoft_entra_mapping.deleted",
  "tenant.workload_identity.provider.created",
  "tenant.workload_identity.provider.updated",
  "tenant.workload_identity.provider.archived",
  "tenant.workload_identity.mapping.created",
  "tenant.workload_identity.mapping.updated",
  "tenant.workload_identity.mapping.archived",
  "tenant.workload_identity.binding.created",
  "tenant.workload_identity.principal.provisioned",
  "tenant.workload_identity.access_token.issued",
  "tenant.admin_api_key.created",
  "tenant.admin_api_key.updated",
  "tenant.admin_api_key.deleted",
  "tenant.project_api_key.created",
  "tenant.trusted_access.business_verification.started",
  "tenant.trusted_access.application.submitted",
  "tenant.chatgpt_access_token.revoked",
  "tenant.migration.completed",
  "tenant.sso.migrated",
  "tenant.domains.migrated",
  "tenant.sso_connection.created",
  "tenant.sso_connection.updated",
  "tenant.sso_connection.deleted",
  "tenant.sso_connection.setup.started",
  "tenant.policy.created",
  "tenant.policy.updated",
  "tenant.policy.deleted",
  "tenant.policy.attached",
  "tenant.policy.detached",
  "tenant.principal_authentication_policy.resolved",
  "tenant.scim.setup.started",
  "tenant.scim.deletion.requested",
  "tenant.scim.directory.created",
  "tenant.product_access_policy.updated",
  "tenant.resource_share_grant.created",
  "tenant.resource_share_grant.updated",
  "tenant.resource_share_grant.accepted",
  "tenant.resource_share_grant.declined",
  "tenant.resource_share_grant.revoked",
  "tenant.resource_share_grant.deleted",
  "tenant.service_account.updated",
  "tenant.service_account.deleted",
  "tenant.service_account.token.revoked",
  "tenant.billing.overage_limit.updated",
  "tenant.billing.alerts.updated",
  "tenant.billing.info.updated",
  "tenant.usage_limit.workspace.updated",
  "tenant.usage_limit.group.updated",
  "tenant.usage_limit.user.updated",
  "tenant.usage_limit.increase_request.updated",
  "tenant.usage_limit.increase_request.resolved",
  "tenant.group.created",
  "tenant.group.updated",
  "tenant.group.deleted",
  "tenant.group.member.added",
  "tenant.group.member.removed",
  "tenant.migration_rollout.status.updated",
  "tenant.migration_rollout.tier.updated",
  "tenant.role.metadata.updated",
  "tenant.custom_role.created",
  "tenant.custom_role.updated",
  "tenant.custom_role.deleted",
  "tenant.role_assignment.created",
  "tenant.role_assignment.deleted",
  "tenant.resource_role_assignment.created",
  "tenant.resource_role_assignment.deleted",
  "tenant.resource_access.updated",
  "tenant.resource_access.deleted",
  "tenant.ads_account.onboarding.redemption",
  "tenant.session_policy.created",
  "tenant.session_policy.updated",
  "tenant.session_policy.deleted",
  "tenant.session_revocation.started",
  "tenant.third_party_app_policy.updated",
  "tenant.user.added",
  "tenant.user.updated",
  "tenant.user.removed",
  "tenant.user.looked_up",
  "tenant.user.invited",
  "tenant.membership.revoked",
  "tenant.api_organization_invite.upserted",
  "tenant.api_organization_invite.deleted",
  "tenant.chatgpt_workspace_invite.upserted",
  "tenant.membership.accepted",
  "tenant.membership.declined",
  "tenant.workspace_invite_email_settings.updated",
] as const;

/**
 * Types returned only with `tenant_only=true`. The spec names `role.bound_to_resource` and
 * `role.unbound_from_resource` explicitly; the `tenant.*` types are tenant-scoped by their name.
 */
export const TENANT_SCOPED_EVENT_TYPES: ReadonlySet<string> = new Set<string>([
  ...TENANT_EVENT_TYPES,
  "role.bound_to_resource",
  "role.unbound_from_resource",
]);

export const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set<string>([...CLASSIC_EVENT_TYPES, ...TENANT_EVENT_TYPES]);

/**
 * Former spellings of a type, each with the spelling the spec uses now. The 2025-04-29 spec named the checkpoint
 * permission events `checkpoint_permission.*`; since 2026-05-13 they are `checkpoint.permission.*`, the same
 * events. Records in the old spelling can still come (old history read by a backfill; the API reference asks to
 * keep accepting them): they are known types, and rules read them under the current spelling.
 */
export const FORMER_EVENT_TYPE_SPELLINGS: ReadonlyMap<string, string> = new Map([
  ["checkpoint_permission.created", "checkpoint.permission.created"],
  ["checkpoint_permission.deleted", "checkpoint.permission.deleted"],
]);

/** The spelling the spec uses now for `type` (itself, unless it is a former spelling). */
export function currentEventType(type: string): string {
  return FORMER_EVENT_TYPE_SPELLINGS.get(type) ?? type;
}

export function isKnownEventType(type: string): boolean {
  return KNOWN_EVENT_TYPES.has(currentEventType(type));
}

export function isTenantScoped(type: string): boolean {
  return TENANT_SCOPED_EVENT_TYPES.has(type);
}
