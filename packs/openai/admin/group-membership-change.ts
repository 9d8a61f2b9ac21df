// Groups and their members changed (group.*, tenant.group.*). Groups can carry project and role
// assignments, so adding a member can grant access indirectly. Low severity: context for other alerts.

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { actorLabel, DAILY_DEDUP_MINUTES, payload, standardContext } from "../_common.ts";
import { eventType, payloadText, rawEvent } from "../_controls.ts";

const TYPES = new Set([
  "group.created",
  "group.updated",
  "group.deleted",
  "tenant.group.created",
  "tenant.group.updated",
  "tenant.group.deleted",
  "tenant.group.member.added",
  "tenant.group.member.removed",
]);

function groupName(event: PantherEvent): string | null {
  return payloadText(event, "data", "group_name") ?? payloadText(event, "changes_requested", "group_name");
}

function change(type: string): string {
  if (type.endsWith("member.added")) return "member added";
  if (type.endsWith("member.removed")) return "member removed";
  return type.split(".").at(-1) ?? "changed";
}

export default defineRule({
  id: "OpenAI.Admin.GroupChange",
  displayName: "OpenAI group or group membership change",
  logTypes: ["OpenAI.Audit"],
  severity: "LOW",
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "A group was created, renamed or deleted, or a member added to / removed from a group (group.*, " +
    "tenant.group.*, tenant.group.member.{added,removed}). LOW: groups can hold role and project " +
    "assignments, so membership changes are context for privilege-escalation triage; one alert per actor a " +
    "day. Reads group.*.id, " +
    "group.created.data.group_name, group.updated.changes_requested.group_name; tenant events carry no payload.",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs/object",
  runbook:
    "1. Check which roles/projects the group grants and whether the actor is allowed to manage it.\n" +
    "2. For member additions, confirm with the group owner; correlate with role assignment alerts.",
  tags: ["OpenAI", "Identity", "Groups", "Privilege Escalation"],
  reports: { MITRE: ["TA0003:T1098", "TA0004:T1098"] },
  rule: (event) => TYPES.has(eventType(event)),
  title: (event) => {
    const name = groupName(event) ?? payloadText(event, "id");
    return `OpenAI group${name ? ` [${name}]` : ""} ${change(eventType(event))} by ${actorLabel(event)}`;
  },
  dedup: (event) => `${actorLabel(event)}:group`,
  alertContext: (event) =>
    standardContext(event, {
      group_id: payloadText(event, "id"),
      group_name: groupName(event),
      details: payload(event),
    }),
  tests: [
    {
      name: "Group created",
      expected: true,
      expectedTitle: "OpenAI group [team-admins] created by owner@acme.test",
      expectedSeverity: "LOW",
      log: rawEvent("group.created", { id: "group_1", data: { group_name: "team-admins" } }),
    },
    {
      name: "Tenant group member added",
      expected: true,
      expectedTitle: "OpenAI group member added by owner@acme.test",
      log: rawEvent("tenant.group.member.added"),
    },
    {
      name: "Near miss: role assignment is not a group change",
      expected: false,
      log: rawEvent("role.assignment.created", { id: "ra_1", principal_id: "user-1", principal_type: "user" }),
    },
  ],
});
