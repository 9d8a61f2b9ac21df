// A project's model or hosted-tool permissions widened between two snapshots: a model added to its allow list
// (or dropped from its deny list, or the policy removed), a hosted tool (web search, MCP, code interpreter, …)
// switched on. Widening what a project's keys may call widens what a leaked key of it can do (src/posture/
// controls.ts judges the change).

import { defineRule } from "../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../src/detections/event/index.ts";
import { changeRecord, fact, isChange, objectDedup, POSTURE, runbookAt } from "./_posture.ts";

const KINDS = ["project_model_permissions", "project_hosted_tool_permissions"];

function allowed(event: PantherEvent): string {
  const list = fact(event, "newly_allowed");
  return Array.isArray(list) && list.length > 0 ? ` (${list.map(String).join(", ")})` : "";
}

export default defineRule({
  id: "OpenAI.Posture.ProjectPermissionsWidened",
  displayName: "OpenAI project model or tool permissions widened",
  logTypes: [POSTURE],
  severity: "MEDIUM",
  dedupPeriodMinutes: 60,
  description:
    "A project's model permissions now allow models they did not, or a hosted tool was switched on for it. What " +
    "a project's keys may call is what anyone holding one of them may call.",
  reference: "https://platform.openai.com/docs/api-reference/administration",
  runbook: runbookAt(
    "permissions-widened",
    "confirm with the project's owners that the models or tools are needed; narrow the permissions back if not.",
  ),
  tags: ["OpenAI", "Posture", "Controls", "Privilege Escalation"],
  rule: (event) => isChange(event, ...KINDS) && fact(event, "widened") === true,
  title: (event) =>
    `OpenAI project ${String(event.get("project_name") ?? event.get("project_id"))} ` +
    `${event.get("kind") === "project_model_permissions" ? "model" : "hosted tool"} permissions widened: ` +
    `${String(fact(event, "how"))}${allowed(event)}`,
  dedup: objectDedup,
  alertContext: (event) => ({
    kind: event.get("kind"),
    project_id: event.get("project_id"),
    how: fact(event, "how"),
    newly_allowed: fact(event, "newly_allowed"),
    before: event.get("before"),
    after: event.get("after"),
    audit_event_ids: event.deepGet("audit", "event_ids"),
  }),
  tests: [
    {
      name: "A model added to the project's allow list",
      expected: true,
      log: changeRecord({
        kind: "project_model_permissions",
        object_id: "proj_1",
        project_id: "proj_1",
        project_name: "Support bot",
        change: "changed",
        fields: ["model_ids"],
        before: { object: "project.model_permissions", mode: "allow_list", model_ids: ["gpt-4.1-mini"] },
        after: { object: "project.model_permissions", mode: "allow_list", model_ids: ["gpt-4.1-mini", "o3"] },
        facts: { widened: true, how: "models added to the allow list", newly_allowed: ["o3"] },
      }),
      expectedTitle: "OpenAI project Support bot model permissions widened: models added to the allow list (o3)",
      expectedDedup: "project_model_permissions:proj_1",
    },
    {
      name: "MCP switched on for a project",
      expected: true,
      log: changeRecord({
        kind: "project_hosted_tool_permissions",
        object_id: "proj_2",
        project_id: "proj_2",
        change: "changed",
        fields: ["mcp"],
        before: { mcp: { enabled: false } },
        after: { mcp: { enabled: true } },
        facts: { widened: true, how: "hosted tools enabled", newly_allowed: ["mcp"] },
      }),
      expectedTitle: "OpenAI project proj_2 hosted tool permissions widened: hosted tools enabled (mcp)",
    },
    {
      name: "Permissions narrowed",
      expected: false,
      log: changeRecord({
        kind: "project_model_permissions",
        object_id: "proj_1",
        project_id: "proj_1",
        change: "changed",
        facts: { widened: false, how: null, newly_allowed: [] },
      }),
    },
    {
      name: "Near miss: the tool permissions object disappeared (cannot tell)",
      expected: false,
      log: changeRecord({
        kind: "project_hosted_tool_permissions",
        object_id: "proj_3",
        project_id: "proj_3",
        change: "removed",
        facts: { widened: null, how: null, newly_allowed: [] },
      }),
    },
  ],
});
