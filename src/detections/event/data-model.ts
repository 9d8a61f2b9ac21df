// Data models: the mappings behind `event.udm(name)` (Panther `AnalysisType: datamodel`). A mapping
// is either a JSONPath into the event or a method computing the value. Vigil ships one for
// OpenAI.Audit, so standard-field rules (actor_user, source_ip, …) work on OpenAI events.

import { deepGetFrom } from "./deep.ts";
import { type CompiledPath, compileJsonPath } from "./json-path.ts";
import type { DataModel, DataModelMethod, PantherEvent } from "./panther-event.ts";

export type { DataModel, DataModelMethod };

export interface DataModelMappingSpec {
  /** The unified field name, e.g. `source_ip`. */
  name: string;
  /** A JSONPath into the event, e.g. `$.actor.session.ip_address` (exactly one of path/method). */
  path?: string;
  method?: DataModelMethod;
}

export interface DataModelSpec {
  id: string;
  logTypes: readonly string[];
  mappings: readonly DataModelMappingSpec[];
}

/** Checks and compiles a data model; throws on a malformed mapping (as Panther's loader rejects it). */
export function defineDataModel(spec: DataModelSpec): DataModel {
  const paths = new Map<string, CompiledPath>();
  const methods = new Map<string, DataModelMethod>();
  for (const mapping of spec.mappings) {
    if (paths.has(mapping.name) || methods.has(mapping.name))
      throw new Error(`data model ${spec.id}: mapping "${mapping.name}" is defined twice`);
    if ((mapping.path === undefined) === (mapping.method === undefined))
      throw new Error(`data model ${spec.id}: mapping "${mapping.name}" needs exactly one of path or method`);
    if (mapping.path !== undefined) paths.set(mapping.name, compileJsonPath(mapping.path));
    else methods.set(mapping.name, mapping.method!);
  }
  return Object.freeze({ id: spec.id, logTypes: Object.freeze([...spec.logTypes]), paths, methods });
}

// ---- OpenAI.Audit -------------------------------------------------------------------------------

function firstString(event: PantherEvent, paths: ReadonlyArray<readonly string[]>): string | null {
  for (const path of paths) {
    const value = deepGetFrom(event, path);
    if (typeof value === "string" && value !== "") return value;
  }
  return null;
}

/** The email of the human behind the action: session user or owner of a user API key. */
function actorEmail(event: PantherEvent): string | null {
  return firstString(event, [
    ["actor", "session", "user", "email"],
    ["actor", "api_key", "user", "email"],
    ["actor", "user", "email"],
  ]);
}

/** The acting principal's id: user id, else service account id, else the API key's tracking id. */
function actorId(event: PantherEvent): string | null {
  return firstString(event, [
    ["actor", "session", "user", "id"],
    ["actor", "api_key", "user", "id"],
    ["actor", "api_key", "service_account", "id"],
    ["actor", "user", "id"],
    ["actor", "service_account", "id"],
    ["actor", "api_key", "id"],
  ]);
}

/** The role a user.updated event grants (raw API shape or the seed projection). */
function grantedRole(event: PantherEvent): string | null {
  return firstString(event, [
    ["user_updated", "changes_requested", "role"],
    ["user.updated", "changes_requested", "role"],
    ["user", "role"],
  ]);
}

// Panther's standard event types (panther_event_type_helpers) for the OpenAI types that have one.
const STANDARD_EVENT_TYPES: Readonly<Record<string, string>> = {
  "login.failed": "failed_login",
  "login.succeeded": "successful_login",
  "logout.succeeded": "successful_logout",
  "user.added": "user_account_created",
  "user.deleted": "user_account_deleted",
  "user.updated": "user_role_modified",
  "service_account.created": "user_account_created",
  "service_account.deleted": "user_account_deleted",
  "service_account.updated": "user_role_modified",
  "group.created": "user_group_created",
  "group.updated": "user_group_modified",
  "group.deleted": "user_group_deleted",
  "role.created": "user_role_created",
  "role.updated": "user_role_modified",
  "role.deleted": "user_role_deleted",
};

/**
 * Panther's standard event type where one exists (so standard rules such as brute-force-by-IP work);
 * a user made owner is `admin_role_assigned`. Other types return the OpenAI type itself, which
 * never collides with a standard constant.
 */
function eventType(event: PantherEvent): string | null {
  const type = event.get("type");
  if (typeof type !== "string") return null;
  if (type === "user.updated" && grantedRole(event) === "owner") return "admin_role_assigned";
  return Object.hasOwn(STANDARD_EVENT_TYPES, type) ? STANDARD_EVENT_TYPES[type]! : type;
}

function assignedAdminRole(event: PantherEvent): string | null {
  return event.get("type") === "user.updated" && grantedRole(event) === "owner" ? "owner" : null;
}

/** The user an action was done to (user.* events). */
function targetUser(event: PantherEvent): string | null {
  const type = event.get("type");
  if (typeof type !== "string" || !type.startsWith("user.")) return null;
  return firstString(event, [
    ["user", "id"],
    [type.replace(".", "_"), "id"],
    [type, "id"],
  ]);
}

export const OPENAI_AUDIT_DATA_MODEL: DataModel = defineDataModel({
  id: "Standard.OpenAI.Audit",
  logTypes: ["OpenAI.Audit"],
  mappings: [
    { name: "actor_user", method: actorEmail },
    { name: "actor_id", method: actorId },
    { name: "actor_type", path: "$.actor.type" },
    { name: "api_key_id", path: "$.actor.api_key.id" },
    { name: "source_ip", path: "$.actor.session.ip_address" },
    { name: "source_country", path: "$.actor.session.ip_address_details.country" },
    { name: "user_agent", path: "$.actor.session.user_agent" },
    { name: "event_type", method: eventType },
    { name: "assigned_admin_role", method: assignedAdminRole },
    { name: "user", method: targetUser },
    { name: "project_id", path: "$.project.id" },
    { name: "project_name", path: "$.project.name" },
  ],
});

const BUILTIN_DATA_MODELS: readonly DataModel[] = [OPENAI_AUDIT_DATA_MODEL];

/** The data model Panther would pick for a log type (by the event's p_log_type), if any. */
export function dataModelForLogType(logType: unknown): DataModel | null {
  if (typeof logType !== "string") return null;
  return BUILTIN_DATA_MODELS.find((m) => m.logTypes.includes(logType)) ?? null;
}
