// Row 14a (Panther OpenAI.Admin.Role.Assignment): a role assignment granting an owner or admin role.
// The role is parsed from role.assignment.created.id, `role_assignment_role-<role>__<resource type>__…`
// (Panther's fixture format, unconfirmed against live data); if the id does not have that form the whole id
// is searched, as Panther does. Organization owner CRITICAL, organization admin HIGH, project owner/admin
// MEDIUM.

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { assignedRole, lowerText, raw, session, TEST_PROJECT } from "../_auth.ts";
import { actorLabel, payloadField, standardContext } from "../_common.ts";

const ORG = "org-abcdefghijklmnopqrstuvwx";
const PRINCIPAL = "user-target0000000000000000001";

function role(event: PantherEvent): string | null {
  const id = payloadField(event, "id");
  return assignedRole(typeof id === "string" && id.length > 0 ? id : null);
}

function level(event: PantherEvent): "owner" | "admin" | null {
  const r = role(event);
  if (r === null) return null;
  if (r.includes("owner")) return "owner";
  if (r.includes("admin")) return "admin";
  return null;
}

const orgScoped = (event: PantherEvent) =>
  (lowerText(payloadField(event, "resource_type")) ?? role(event) ?? "").includes("organization");

export default defineRule({
  id: "OpenAI.Admin.Role.Assignment",
  displayName: "OpenAI owner or admin role assigned",
  logTypes: ["OpenAI.Audit"],
  severity: "HIGH",
  dedupPeriodMinutes: 60,
  description:
    "A role assignment (role.assignment.created) grants an owner or admin role. CRITICAL for the " +
    "organization owner role, HIGH for an organization admin role, MEDIUM for a project owner/admin role. " +
    "Same id as Panther's rule; the role is read from the assignment id (role_assignment_role-<role>__…).",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs/object",
  runbook:
    "1. Identify the grantee (principal_id, principal_type) and the resource (resource_type, resource_id) in " +
    "the alert context; look them up in the OpenAI dashboard (Settings > Organization > Members, or the " +
    "project's Members page). 2. Confirm the change with the actor and the grantee's manager; owner should be " +
    "limited to a few named admins. 3. If unapproved: remove the role assignment / set the member's role back " +
    "(dashboard, or POST /v1/organization/users/{user_id} with role=reader), and review what the grantee did " +
    "since. 4. If the actor's session is suspicious, handle it as an account takeover.",
  reports: { MITRE: ["TA0004:T1098.003"] },
  tags: ["OpenAI", "Roles", "Privilege Escalation"],
  rule: (event) => event.get("type") === "role.assignment.created" && level(event) !== null,
  title: (event) => {
    const scope = orgScoped(event) ? "organization" : "project";
    return `OpenAI ${scope} ${level(event)} role assigned to ${String(payloadField(event, "principal_id") ?? "a principal")} by ${actorLabel(event)}`;
  },
  dedup: (event) => `${String(payloadField(event, "principal_id") ?? "")}:${role(event) ?? ""}`,
  dynamicSeverity: (event) => {
    const l = level(event);
    if (!orgScoped(event)) return "MEDIUM";
    return l === "owner" ? "CRITICAL" : "HIGH";
  },
  alertContext: (event) =>
    standardContext(event, {
      role: role(event),
      assignment_id: payloadField(event, "id"),
      principal_id: payloadField(event, "principal_id"),
      principal_type: payloadField(event, "principal_type"),
      resource_id: payloadField(event, "resource_id"),
      resource_type: payloadField(event, "resource_type"),
    }),
  tests: [
    {
      name: "Organization owner role assigned → CRITICAL",
      expected: true,
      log: raw("role.assignment.created", session("owner@acme-robotics.com"), {
        id: `role_assignment_role-api-organization-owner__api-organization__${ORG}_${PRINCIPAL}`,
        principal_id: PRINCIPAL,
        principal_type: "user",
        resource_id: ORG,
        resource_type: "api.organization",
      }),
      expectedTitle: `OpenAI organization owner role assigned to ${PRINCIPAL} by owner@acme-robotics.com`,
      expectedSeverity: "CRITICAL",
    },
    {
      name: "Organization admin role assigned → HIGH",
      expected: true,
      log: raw("role.assignment.created", session("owner@acme-robotics.com"), {
        id: `role_assignment_role-api-organization-admin__api-organization__${ORG}_${PRINCIPAL}`,
        principal_id: PRINCIPAL,
        principal_type: "user",
        resource_id: ORG,
        resource_type: "api.organization",
      }),
      expectedSeverity: "HIGH",
    },
    {
      name: "Project owner role assigned → MEDIUM",
      expected: true,
      log: raw(
        "role.assignment.created",
        session("owner@acme-robotics.com"),
        {
          id: `role_assignment_role-api-project-owner__api-project__${TEST_PROJECT.id}_${PRINCIPAL}`,
          principal_id: PRINCIPAL,
          principal_type: "user",
          resource_id: TEST_PROJECT.id,
          resource_type: "api.project",
        },
        { project: TEST_PROJECT },
      ),
      expectedSeverity: "MEDIUM",
    },
    {
      name: "Project member role assigned",
      expected: false,
      log: raw("role.assignment.created", session("owner@acme-robotics.com"), {
        id: `role_assignment_role-api-project-member__api-project__${TEST_PROJECT.id}_${PRINCIPAL}`,
        principal_id: PRINCIPAL,
        principal_type: "user",
        resource_id: TEST_PROJECT.id,
        resource_type: "api.project",
      }),
    },
    {
      name: "Near miss: organization owner role assignment deleted (a removal)",
      expected: false,
      log: raw("role.assignment.deleted", session("owner@acme-robotics.com"), {
        id: `role_assignment_role-api-organization-owner__api-organization__${ORG}_${PRINCIPAL}`,
        principal_id: PRINCIPAL,
        principal_type: "user",
        resource_id: ORG,
        resource_type: "api.organization",
      }),
    },
  ],
});
