// A pending invite to an address outside the organization's email domains (VIGIL_ORG_DOMAINS, else the domains
// of the org's own users; free-mail never counts as the org's). Unlike the audit-log rule
// OpenAI.Users.InviteOutsideDomain, this one sees invites that are still open now, whenever they were sent.

import { defineRule } from "../../src/detections/define-rule.ts";
import { fact, field, isObject, objectContext, objectDedup, objectRecord, POSTURE, runbookAt } from "./_posture.ts";

export default defineRule({
  id: "OpenAI.Posture.PendingInviteOutsideDomain",
  displayName: "OpenAI pending invite to an outside domain",
  logTypes: [POSTURE],
  severity: "MEDIUM",
  dedupPeriodMinutes: 1440,
  description:
    "An invite that is still pending goes to an email domain that is not the organization's. Whoever controls " +
    "that mailbox can join. HIGH when the invite grants the owner role.",
  reference: "https://platform.openai.com/docs/api-reference/invite",
  runbook: runbookAt(
    "pending-invite-outside-domain",
    "confirm the invite with whoever sent it; if unexpected, delete it (DELETE /v1/organization/invites/{id}).",
  ),
  tags: ["OpenAI", "Posture", "Users"],
  rule: (event) =>
    isObject(event, "invite") && fact(event, "pending") === true && fact(event, "outside_org_domains") === true,
  title: (event) =>
    `OpenAI invite pending for ${String(field(event, "email"))} (outside domain ${String(fact(event, "email_domain"))}) as ${String(field(event, "role") ?? "reader")}`,
  dedup: objectDedup,
  dynamicSeverity: (event) => (field(event, "role") === "owner" ? "HIGH" : "MEDIUM"),
  alertContext: (event) =>
    objectContext(event, {
      email: field(event, "email"),
      role: field(event, "role"),
      free_mail: fact(event, "free_mail"),
    }),
  tests: [
    {
      name: "Pending owner invite to a free-mail address → HIGH",
      expected: true,
      log: objectRecord(
        "invite",
        { id: "invite-1", email: "x@gmail.com", role: "owner", status: "pending" },
        { pending: true, outside_org_domains: true, email_domain: "gmail.com", free_mail: true },
      ),
      expectedTitle: "OpenAI invite pending for x@gmail.com (outside domain gmail.com) as owner",
      expectedSeverity: "HIGH",
    },
    {
      name: "Pending invite to the org's domain",
      expected: false,
      log: objectRecord(
        "invite",
        { id: "invite-2", email: "y@acme-robotics.com", role: "reader", status: "pending" },
        { pending: true, outside_org_domains: false },
      ),
    },
    {
      name: "Near miss: accepted invite to an outside domain (no longer pending)",
      expected: false,
      log: objectRecord(
        "invite",
        { id: "invite-3", email: "z@partner.example", status: "accepted" },
        { pending: false, outside_org_domains: true },
      ),
    },
  ],
});
