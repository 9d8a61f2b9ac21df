// Row 12: a service account created with, or changed to, the owner role (service_account.created
// data.role / service_account.updated changes_requested.role == "owner").

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { actorIsKey, lowerText, raw, serviceAccountKey, session, TEST_PROJECT } from "../_auth.ts";
import { actorLabel, payloadField, standardContext } from "../_common.ts";

function newRole(event: PantherEvent): string | null {
  const type = event.get("type");
  if (type === "service_account.created") return lowerText(payloadField(event, "data", "role"));
  if (type === "service_account.updated") return lowerText(payloadField(event, "changes_requested", "role"));
  return null;
}

export default defineRule({
  id: "OpenAI.ServiceAccount.OwnerRole",
  displayName: "OpenAI service account with the owner role",
  logTypes: ["OpenAI.Audit"],
  severity: "HIGH",
  dedupPeriodMinutes: 60,
  description:
    "A project service account is created with, or promoted to, the owner role. Its keys then manage the " +
    "project (members, keys, settings) with no human behind them. HIGH; CRITICAL when an API key made the " +
    "change.",
  reference: "https://platform.openai.com/docs/api-reference/project-service-accounts",
  runbook:
    "1. Identify the service account (service_account_id) and project in the OpenAI dashboard (Settings > " +
    "Project > Service accounts). 2. Ask the actor and the project owners why it needs owner; member is " +
    "enough for API use. 3. If unjustified: change its role back to member or delete it (DELETE " +
    "/v1/organization/projects/{project_id}/service_accounts/{id}), revoke its keys, and review what its keys " +
    "did since the change.",
  reports: { MITRE: ["TA0004:T1098.003", "TA0003:T1136.003"] },
  tags: ["OpenAI", "Service Accounts", "Privilege Escalation"],
  rule: (event) => newRole(event) === "owner",
  title: (event) => {
    const verb = event.get("type") === "service_account.created" ? "created with" : "promoted to";
    return `OpenAI service account ${String(payloadField(event, "id") ?? "")} ${verb} the owner role by ${actorLabel(event)}`;
  },
  dedup: (event) => String(payloadField(event, "id") ?? actorLabel(event)),
  dynamicSeverity: (event) => (actorIsKey(event) ? "CRITICAL" : "HIGH"),
  alertContext: (event) =>
    standardContext(event, { service_account_id: payloadField(event, "id"), new_role: newRole(event) }),
  tests: [
    {
      name: "Service account created as owner → HIGH",
      expected: true,
      log: raw(
        "service_account.created",
        session("owner@acme-robotics.com"),
        { id: "svc_acct_new000000000000000001", data: { role: "owner" } },
        { project: TEST_PROJECT },
      ),
      expectedTitle:
        "OpenAI service account svc_acct_new000000000000000001 created with the owner role by owner@acme-robotics.com",
      expectedSeverity: "HIGH",
    },
    {
      name: "Existing service account promoted to owner by a service-account key → CRITICAL",
      expected: true,
      log: raw("service_account.updated", serviceAccountKey(), {
        id: "svc_acct_old000000000000000001",
        changes_requested: { role: "owner" },
      }),
      expectedSeverity: "CRITICAL",
    },
    {
      name: "Service account created as member",
      expected: false,
      log: raw("service_account.created", session("owner@acme-robotics.com"), {
        id: "svc_1",
        data: { role: "member" },
      }),
    },
    {
      name: "Near miss: a user (not a service account) promoted to owner",
      expected: false,
      log: raw("user.updated", session("owner@acme-robotics.com"), {
        id: "user-1",
        changes_requested: { role: "owner" },
      }),
    },
  ],
});
