// The Admin API read endpoints of the simulator, served from the organization's inventory (inventory.ts):
//   lists (GET /v1/organization/users, /projects, /admin_api_keys, /invites, /certificates, /spend_alerts,
//   /projects/{id}/api_keys|users|service_accounts|rate_limits|spend_alerts) with OpenAI's paging: `limit`
//   (1…100, default 20) and `after` (the id of the last object of the previous page), answered with
//   `{object: "list", data, first_id, last_id, has_more}`;
//   settings objects (GET /v1/organization/data_retention, /projects/{id}/data_retention|model_permissions|
//   hosted_tool_permissions), answered as the object, or 404 when none is configured.

import { type ApiError, apiError } from "./api-errors.ts";
import { defaultProjectRetention, defaultToolPermissions, type InventoryState } from "./inventory.ts";

type Obj = Record<string, unknown>;

const ORG = "/v1/organization";
export const MANAGEMENT_SCOPE = "api.management.read";

export function isAdminListPath(pathname: string): boolean {
  return pathname.startsWith(`${ORG}/`) && pathname !== `${ORG}/audit_logs`;
}

export type AdminResource = { kind: "list"; objects: Obj[] } | { kind: "object"; object: Obj | null };

/** What a read path shows, or null when it is not an endpoint of the simulator (or the project is unknown). */
export function resourceFor(state: InventoryState, pathname: string, params: URLSearchParams): AdminResource | null {
  const rest = pathname.slice(ORG.length);
  if (rest === "/data_retention") return { kind: "object", object: state.dataRetention };
  const setting = /^\/projects\/([^/]+)\/(data_retention|model_permissions|hosted_tool_permissions)$/.exec(rest);
  if (setting) {
    const projectId = decodeURIComponent(setting[1] as string);
    if (!state.projects.has(projectId)) return null;
    const object =
      setting[2] === "data_retention"
        ? (state.projectRetention.get(projectId) ?? defaultProjectRetention())
        : setting[2] === "model_permissions"
          ? (state.modelPermissions.get(projectId) ?? null)
          : (state.toolPermissions.get(projectId) ?? defaultToolPermissions());
    return { kind: "object", object };
  }
  const objects = listFor(state, rest, params);
  return objects === null ? null : { kind: "list", objects };
}

function listFor(state: InventoryState, rest: string, params: URLSearchParams): Obj[] | null {
  switch (rest) {
    case "/spend_alerts":
      return [...state.spendAlerts.values()];
    case "/users":
      return [...state.users.values()];
    case "/admin_api_keys":
      return [...state.adminKeys.values()];
    case "/invites":
      return [...state.invites.values()];
    case "/certificates":
      return [...state.certificates.values()];
    case "/projects": {
      const all = [...state.projects.values()];
      return params.get("include_archived") === "true" ? all : all.filter((p) => p.status !== "archived");
    }
  }
  const m = /^\/projects\/([^/]+)\/(api_keys|users|service_accounts|rate_limits|spend_alerts)$/.exec(rest);
  if (!m) return null;
  const projectId = decodeURIComponent(m[1] as string);
  if (!state.projects.has(projectId)) return null;
  const source = {
    api_keys: state.projectKeys,
    users: state.projectUsers,
    service_accounts: state.serviceAccounts,
    rate_limits: state.rateLimits,
    spend_alerts: state.projectSpendAlerts,
  }[m[2] as "api_keys"];
  return [...(source.get(projectId)?.values() ?? [])];
}

export type ListOutcome = { ok: true; body: string } | { ok: false; error: ApiError };

export function listPage(objects: Obj[], params: URLSearchParams): ListOutcome {
  const limitText = params.get("limit") ?? "20";
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return {
      ok: false,
      error: apiError(400, `Invalid limit: ${limitText}. It must be between 1 and 100.`, { param: "limit" }),
    };
  }
  const after = params.get("after");
  let start = 0;
  if (after !== null) {
    const index = objects.findIndex((o) => o.id === after);
    if (index < 0)
      return { ok: false, error: apiError(400, `No object with id ${after} to page after.`, { param: "after" }) };
    start = index + 1;
  }
  const data = objects.slice(start, start + limit);
  return {
    ok: true,
    body: JSON.stringify({
      object: "list",
      data,
      first_id: (data[0]?.id as string | undefined) ?? null,
      last_id: (data[data.length - 1]?.id as string | undefined) ?? null,
      has_more: start + limit < objects.length,
    }),
  };
}

/** A settings endpoint with nothing configured (a project with no model policy). */
export function notConfigured(pathname: string): ApiError {
  return apiError(404, `No setting is configured at ${pathname}.`);
}

export function scopeDenied(): ApiError {
  return apiError(
    403,
    `You have insufficient permissions for this operation. Missing scopes: ${MANAGEMENT_SCOPE}. Check that you ` +
      "have the correct role in your organization (Owner), and if you're using a restricted API key, that it has " +
      "the necessary scopes.",
  );
}
