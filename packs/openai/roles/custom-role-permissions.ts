// Row 16: a custom role gains sensitive permissions: role.created (permissions) and role.updated
// (changes_requested.permissions_added). Owner-level permissions CRITICAL on the organization / HIGH on a
// project; admin or key/member/role management HIGH; other write permissions MEDIUM; read-only additions do
// not alert. The tenant twins (tenant.custom_role.created/updated/deleted) have no payload: LOW inform.

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { classifyPermissions, lowerText, raw, session, stringList } from "../_auth.ts";
import { actorLabel, DAILY_DEDUP_MINUTES, payloadField, standardContext } from "../_common.ts";

const TENANT = new Set(["tenant.custom_role.created", "tenant.custom_role.updated", "tenant.custom_role.deleted"]);
const ORG = "org-abcdefghijklmnopqrstuvwx";

function added(event: PantherEvent): string[] {
  const type = event.get("type");
  if (type === "role.created") return stringList(payloadField(event, "permissions"));
  if (type === "role.updated") return stringList(payloadField(event, "changes_requested", "permissions_added"));
  return [];
}

function resourceType(event: PantherEvent): string | null {
  return (
    lowerText(payloadField(event, "resource_type")) ??
    lowerText(payloadField(event, "changes_requested", "resource_type"))
  );
}

function roleName(event: PantherEvent): string {
  const name = payloadField(event, "role_name") ?? payloadField(event, "changes_requested", "role_name");
  return typeof name === "string" && name.length > 0 ? name : String(payloadField(event, "id") ?? "a custom role");
}

export default defineRule({
  id: "OpenAI.Roles.CustomRolePermissionsAdded",
  displayName: "OpenAI custom role gains sensitive permissions",
  logTypes: ["OpenAI.Audit"],
  severity: "HIGH",
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "A custom role is created with, or gains, sensitive permissions (role.created permissions, role.updated " +
    "changes_requested.permissions_added): owner-level (CRITICAL on the organization, HIGH on a project), " +
    "admin or management of API keys / members / roles (HIGH), other write permissions (MEDIUM). Read-only " +
    "additions do not alert. tenant.custom_role.* events carry no payload and are reported as LOW inform, one " +
    "alert per actor a day.",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs/object",
  runbook:
    "1. Open the role in the OpenAI dashboard (Settings > Organization or Project > Roles) by role_id / name " +
    "and compare its permissions with sensitive_permissions. 2. List who holds the role (role assignments) — " +
    "a widened role silently escalates every holder. 3. Confirm the change with the actor and the role's " +
    "owner; if unapproved, remove the added permissions (or delete the role) and review what the holders did " +
    "since the change.",
  reports: { MITRE: ["TA0004:T1098.003"] },
  tags: ["OpenAI", "Roles", "Privilege Escalation"],
  rule: (event) => TENANT.has(String(event.get("type"))) || classifyPermissions(added(event)).level !== null,
  title: (event) => {
    const type = String(event.get("type"));
    if (TENANT.has(type)) return `OpenAI custom role ${type.split(".").pop()} (tenant) by ${actorLabel(event)}`;
    const { sensitive } = classifyPermissions(added(event));
    const verb = type === "role.created" ? "created with" : "granted";
    return `OpenAI custom role ${roleName(event)} ${verb} [${sensitive.join(", ")}] by ${actorLabel(event)}`;
  },
  // Payload-less tenant twins are one LOW alert per actor a day; a role gaining permissions is keyed on the role.
  dedup: (event) =>
    TENANT.has(String(event.get("type")))
      ? `${actorLabel(event)}:tenant_custom_role`
      : `${String(payloadField(event, "id") ?? actorLabel(event))}:${String(event.get("type"))}`,
  dynamicSeverity: (event) => {
    if (TENANT.has(String(event.get("type")))) return "LOW";
    const { level } = classifyPermissions(added(event));
    if (level === "owner") return (resourceType(event) ?? "").includes("organization") ? "CRITICAL" : "HIGH";
    if (level === "admin") return "HIGH";
    return "MEDIUM";
  },
  alertContext: (event) =>
    standardContext(event, {
      role_id: payloadField(event, "id"),
      role_name: roleName(event),
      resource_type: resourceType(event),
      resource_id: payloadField(event, "resource_id") ?? payloadField(event, "changes_requested", "resource_id"),
      permissions_added: added(event),
      sensitive_permissions: classifyPermissions(added(event)).sensitive,
      permissions_removed: stringList(payloadField(event, "changes_requested", "permissions_removed")),
    }),
  tests: [
    {
      name: "Custom role created with org-admin, key and member management → HIGH",
      expected: true,
      log: raw("role.created", session("owner@acme-robotics.com"), {
        id: "role_abcdefghijklmnopqrstuvwx",
        role_name: "Break Glass",
        permissions: ["api.organization.admin", "api.api_keys.write", "api.members.write"],
        resource_type: "api.organization",
        resource_id: ORG,
      }),
      expectedTitle:
        "OpenAI custom role Break Glass created with [api.organization.admin, api.api_keys.write, api.members.write] by owner@acme-robotics.com",
      expectedSeverity: "HIGH",
    },
    {
      name: "Custom role gains organization owner → CRITICAL",
      expected: true,
      log: raw("role.updated", session("owner@acme-robotics.com"), {
        id: "role_abcdefghijklmnopqrstuvwx",
        changes_requested: {
          role_name: "Key Manager",
          resource_id: ORG,
          resource_type: "api.organization",
          permissions_added: ["api.organization.owner", "api.audit_logs.read"],
          permissions_removed: [],
          description: "Key Manager",
          metadata: {},
        },
      }),
      expectedTitle: "OpenAI custom role Key Manager granted [api.organization.owner] by owner@acme-robotics.com",
      expectedSeverity: "CRITICAL",
    },
    {
      name: "Tenant custom role updated (no payload) → LOW",
      expected: true,
      log: raw("tenant.custom_role.updated", session("owner@acme-robotics.com")),
      expectedSeverity: "LOW",
    },
    {
      name: "Custom role created read-only",
      expected: false,
      log: raw("role.created", session("owner@acme-robotics.com"), {
        id: "role_1",
        role_name: "Custom Viewer",
        permissions: ["api.model.read", "api.usage.read"],
        resource_type: "api.project",
        resource_id: "proj_1",
      }),
    },
    {
      name: "Near miss: update that only removes write permissions",
      expected: false,
      log: raw("role.updated", session("owner@acme-robotics.com"), {
        id: "role_1",
        changes_requested: {
          role_name: "Key Manager",
          resource_id: "proj_1",
          resource_type: "api.project",
          permissions_added: ["api.usage.read"],
          permissions_removed: ["api.api_keys.write"],
          description: "",
          metadata: {},
        },
      }),
    },
  ],
});
