// The Admin API endpoints an inventory snapshot reads (GET only: list endpoints, and the "retrieve" endpoints of
// settings that exist once per organization or project), the kind of object each one yields and the read-only
// scope it needs. The scope names are the ones Vigil reports when OpenAI's 403 does not name the
// missing scope itself (when it does — "Missing scopes: …" — OpenAI's word wins, see admin-client.ts).

export type PostureKind =
  | "admin_api_key"
  | "user"
  | "invite"
  | "project"
  | "certificate"
  | "project_api_key"
  | "project_user"
  | "project_service_account"
  | "project_rate_limit"
  | "data_retention"
  | "spend_alert"
  | "project_data_retention"
  | "project_spend_alert"
  | "project_model_permissions"
  | "project_hosted_tool_permissions";

export interface PostureEndpoint {
  kind: PostureKind;
  /** Path under the base URL; `{project_id}` is filled for per-project endpoints. */
  path: string;
  scope: string;
  perProject: boolean;
  params?: Record<string, string>;
  /**
   * "list" (default): a paged list of objects with ids. "object": one settings object with no id (retrieve); a
   * 404 means the setting is not configured (no object), see AdminListClient.getOne.
   */
  shape?: "list" | "object";
}

/** The read scope of the organization-management endpoints. */
export const MANAGEMENT_READ_SCOPE = "api.management.read";

export const POSTURE_ENDPOINTS: readonly PostureEndpoint[] = [
  { kind: "admin_api_key", path: "/organization/admin_api_keys", scope: MANAGEMENT_READ_SCOPE, perProject: false },
  { kind: "user", path: "/organization/users", scope: MANAGEMENT_READ_SCOPE, perProject: false },
  { kind: "invite", path: "/organization/invites", scope: MANAGEMENT_READ_SCOPE, perProject: false },
  // Archived projects too: a project archived between snapshots is a change, not a removal.
  {
    kind: "project",
    path: "/organization/projects",
    scope: MANAGEMENT_READ_SCOPE,
    perProject: false,
    params: { include_archived: "true" },
  },
  { kind: "certificate", path: "/organization/certificates", scope: MANAGEMENT_READ_SCOPE, perProject: false },
  {
    kind: "project_api_key",
    path: "/organization/projects/{project_id}/api_keys",
    scope: MANAGEMENT_READ_SCOPE,
    perProject: true,
  },
  {
    kind: "project_user",
    path: "/organization/projects/{project_id}/users",
    scope: MANAGEMENT_READ_SCOPE,
    perProject: true,
  },
  {
    kind: "project_service_account",
    path: "/organization/projects/{project_id}/service_accounts",
    scope: MANAGEMENT_READ_SCOPE,
    perProject: true,
  },
  {
    kind: "project_rate_limit",
    path: "/organization/projects/{project_id}/rate_limits",
    scope: MANAGEMENT_READ_SCOPE,
    perProject: true,
  },
  // Controls (paths and shapes from OpenAI's Admin API reference, "Data retention", "Spend alerts", "Model
  // permissions", "Hosted tool permissions"). IP allowlists and hard spend limits have no read endpoint there.
  {
    kind: "data_retention",
    path: "/organization/data_retention",
    scope: MANAGEMENT_READ_SCOPE,
    perProject: false,
    shape: "object",
  },
  { kind: "spend_alert", path: "/organization/spend_alerts", scope: MANAGEMENT_READ_SCOPE, perProject: false },
  {
    kind: "project_data_retention",
    path: "/organization/projects/{project_id}/data_retention",
    scope: MANAGEMENT_READ_SCOPE,
    perProject: true,
    shape: "object",
  },
  {
    kind: "project_spend_alert",
    path: "/organization/projects/{project_id}/spend_alerts",
    scope: MANAGEMENT_READ_SCOPE,
    perProject: true,
  },
  {
    kind: "project_model_permissions",
    path: "/organization/projects/{project_id}/model_permissions",
    scope: MANAGEMENT_READ_SCOPE,
    perProject: true,
    shape: "object",
  },
  {
    kind: "project_hosted_tool_permissions",
    path: "/organization/projects/{project_id}/hosted_tool_permissions",
    scope: MANAGEMENT_READ_SCOPE,
    perProject: true,
    shape: "object",
  },
];

/** Kinds that are one settings object per organization or per project (no id of their own). */
export const SETTINGS_KINDS: ReadonlySet<PostureKind> = new Set(
  POSTURE_ENDPOINTS.filter((e) => e.shape === "object").map((e) => e.kind),
);

/** Kinds that live inside a project, identified as `{project_id}/{id}`. */
const PROJECT_MEMBER_KINDS: ReadonlySet<PostureKind> = new Set([
  "project_user",
  "project_rate_limit",
  "project_service_account",
  "project_spend_alert",
]);

/**
 * The object's identity within its kind. Project-scoped memberships and limits are identified by project and
 * id (the same user is a member of several projects; rate-limit ids repeat in every project).
 */
export function objectIdOf(kind: PostureKind, object: Record<string, unknown>, projectId: string | null): string {
  // A settings object is the organization's or its project's: it is identified by the project (or "organization").
  if (SETTINGS_KINDS.has(kind)) return projectId ?? "organization";
  const id = typeof object.id === "string" ? object.id : JSON.stringify(object.id ?? null);
  return PROJECT_MEMBER_KINDS.has(kind) ? `${projectId}/${id}` : id;
}
