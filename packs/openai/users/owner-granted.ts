// Row 14b: a user promoted to, added as, or invited as organization owner: user.updated
// changes_requested.role, user.added data.role, invite.sent data.role == "owner". HIGH; CRITICAL when an
// API key (not a person in the dashboard) did it.

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { actorIsKey, lowerText, raw, session, userKey } from "../_auth.ts";
import { actorLabel, payloadField, standardContext } from "../_common.ts";

function grantedRole(event: PantherEvent): string | null {
  switch (event.get("type")) {
    case "user.updated":
      return lowerText(payloadField(event, "changes_requested", "role"));
    case "user.added":
    case "invite.sent":
      return lowerText(payloadField(event, "data", "role"));
    default:
      return null;
  }
}

function target(event: PantherEvent): string {
  const email = payloadField(event, "data", "email");
  if (typeof email === "string" && email.length > 0) return email;
  return String(payloadField(event, "id") ?? "a user");
}

const VERB: Record<string, string> = {
  "user.updated": "promoted to",
  "user.added": "added as",
  "invite.sent": "invited as",
};

export default defineRule({
  id: "OpenAI.Users.OwnerGranted",
  displayName: "OpenAI user promoted, added or invited as owner",
  logTypes: ["OpenAI.Audit"],
  severity: "HIGH",
  dedupPeriodMinutes: 60,
  description:
    "A user is promoted to organization owner (user.updated changes_requested.role), added as owner " +
    "(user.added data.role) or invited as owner (invite.sent data.role). Owners control keys, members, " +
    "billing and security settings. HIGH; CRITICAL when done through an API key.",
  reference: "https://platform.openai.com/docs/api-reference/users",
  runbook:
    "1. Identify the user (target: user id or invited email) and confirm the promotion with the actor and " +
    "the organization's other owners; owners should be a short, named list. 2. In the OpenAI dashboard " +
    "(Settings > Organization > Members / Invites) check the member's role. 3. If unapproved: revert the role " +
    "(POST /v1/organization/users/{user_id} role=reader) or delete the invite (DELETE " +
    "/v1/organization/invites/{invite_id}), and review the actor's session (location, recent logins) and what " +
    "the new owner did.",
  reports: { MITRE: ["TA0004:T1098.003", "TA0003:T1136.003"] },
  tags: ["OpenAI", "Users", "Privilege Escalation"],
  rule: (event) => grantedRole(event) === "owner",
  title: (event) =>
    `OpenAI ${target(event)} ${VERB[String(event.get("type"))] ?? "granted"} owner by ${actorLabel(event)}`,
  dedup: (event) => `${target(event)}:owner`,
  dynamicSeverity: (event) => (actorIsKey(event) ? "CRITICAL" : "HIGH"),
  alertContext: (event) =>
    standardContext(event, {
      target_id: payloadField(event, "id"),
      target_email: payloadField(event, "data", "email"),
      new_role: grantedRole(event),
    }),
  tests: [
    {
      name: "Member promoted to owner → HIGH",
      expected: true,
      log: raw("user.updated", session("owner@acme-robotics.com"), {
        id: "user-target0000000000000000001",
        changes_requested: { role: "owner" },
      }),
      expectedTitle: "OpenAI user-target0000000000000000001 promoted to owner by owner@acme-robotics.com",
      expectedSeverity: "HIGH",
    },
    {
      name: "Outside address invited as owner → HIGH",
      expected: true,
      log: raw("invite.sent", session("owner@acme-robotics.com"), {
        id: "invite-abcdefghijklmnopqrstuvwx",
        data: { email: "acme.ops.42@gmail.com", role: "owner" },
      }),
      expectedTitle: "OpenAI acme.ops.42@gmail.com invited as owner by owner@acme-robotics.com",
    },
    {
      name: "User added as owner through an API key → CRITICAL",
      expected: true,
      log: raw("user.added", userKey("owner@acme-robotics.com"), { id: "user-new", data: { role: "owner" } }),
      expectedSeverity: "CRITICAL",
    },
    {
      name: "Member invited as member",
      expected: false,
      log: raw("invite.sent", session("owner@acme-robotics.com"), {
        id: "invite-1",
        data: { email: "new.hire@acme-robotics.com", role: "member" },
      }),
    },
    {
      name: "Near miss: owner demoted to member",
      expected: false,
      log: raw("user.updated", session("owner@acme-robotics.com"), {
        id: "user-target0000000000000000001",
        changes_requested: { role: "member" },
      }),
    },
  ],
});
