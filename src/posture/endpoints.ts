// The Admin API list endpoints an inventory snapshot reads (GET only), the kind of object each one yields and the
// read-only scope it needs. The scope names are the ones Vigil reports when OpenAI's 403 does not name the
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
  | "project_rate_limit";

export interface PostureEndpoint {
  kind: PostureKind;
  /** Path under the base URL; `{project_id}` is filled for per-project endpoints. */
  path: string;
  scope: string;
  perProject: boolean;
  params?: Record<string, string>;
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
];

/**
 * The object's identity within its kind. Project-scoped memberships and limits are identified by project and
 * id (the same user is a member of several projects; rate-limit ids repeat in every project).
 */
export function objectIdOf(kind: PostureKind, object: Record<string, unknown>, projectId: string | null): string {
  const id = typeof object.id === "string" ? object.id : JSON.stringify(object.id ?? null);
  return kind === "project_user" || kind === "project_rate_limit" || kind === "project_service_account"
    ? `${projectId}/${id}`
    : id;
}
