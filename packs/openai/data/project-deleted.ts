// Row 25 (single events): a project archived or deleted, or a project resource deleted. Matches both
// project.deleted and project.archived (the seed's "project deletion" example checks only
// project.deleted, but the API's own list example shows archival, which is how the dashboard
// "deletes" a project). Bursts are OpenAI.Data.DeletionBurst.
//
// One deletion by a known actor is owners tidying up (a simulated 10k-event day has several): LOW, one alert
// per actor a day. Destruction looks like a burst (OpenAI.Data.DeletionBurst, HIGH) or comes with another
// anomaly of the actor (new origin, off hours). A deletion nobody is named for stays MEDIUM.

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { actorEmail, actorId, actorLabel, DAILY_DEDUP_MINUTES, standardContext } from "../_common.ts";
import { DELETION_TYPES, eventType, payloadText, rawEvent, str } from "../_controls.ts";

function projectLabel(event: PantherEvent): string {
  const name = str(event.deepGet("project", "name"));
  const id = payloadText(event, "id") ?? str(event.deepGet("project", "id"));
  if (name && id) return `${name} (${id})`;
  return name ?? id ?? "unknown project";
}

function severity(event: PantherEvent): "MEDIUM" | "LOW" {
  return actorEmail(event) === null && actorId(event) === null ? "MEDIUM" : "LOW";
}

export default defineRule({
  id: "OpenAI.Data.ProjectDeleted",
  displayName: "OpenAI project deleted or archived",
  logTypes: ["OpenAI.Audit"],
  severity: "LOW",
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "A project was deleted (project.deleted) or archived (project.archived; archiving revokes the project's " +
    "keys and stops its API traffic), or a project resource was deleted (resource.deleted; no payload is " +
    "published, so the project field is all there is). LOW, one alert per actor a day: single deletions by a " +
    "named actor are routine clean-up; MEDIUM when no actor is recorded. Several of these by one actor " +
    "within an hour raise OpenAI.Data.DeletionBurst (HIGH). Reads project.{id,name}, project.*.id and the actor.",
  reference: "https://help.openai.com/en/articles/9186755-managing-projects-in-the-api-platform",
  runbook:
    "1. Confirm with the actor (alert_context.actor_email) and the project's owners that the project " +
    "(alert_context.project_id / deleted_project_id) was meant to go.\n" +
    "2. Check whether production traffic depended on it (API keys and service accounts of the project stop " +
    "working).\n" +
    "3. Archived projects can be restored by an owner from the dashboard; if the change is malicious, restore " +
    "it and remove the actor's access.\n" +
    "4. Look for other destructive or admin actions by the same actor (deletion bursts, key deletions).",
  tags: ["OpenAI", "Impact", "Data Destruction", "Projects"],
  reports: { MITRE: ["TA0040:T1485", "TA0040:T1489"] },
  rule: (event) => DELETION_TYPES.has(eventType(event)),
  title: (event) => {
    const type = eventType(event);
    const verb = type === "project.archived" ? "archived" : "deleted";
    if (type === "resource.deleted")
      return `OpenAI resource deleted in project ${projectLabel(event)} by ${actorLabel(event)}`;
    return `OpenAI project ${projectLabel(event)} ${verb} by ${actorLabel(event)}`;
  },
  dedup: (event) => `${actorLabel(event)}:deletion:${severity(event)}`,
  dynamicSeverity: severity,
  alertContext: (event) =>
    standardContext(event, {
      deleted_project_id: payloadText(event, "id"),
      timestamp: event.get("effective_at"),
    }),
  tests: [
    {
      name: "Project deleted with no actor recorded (seed example) → MEDIUM",
      expected: true,
      expectedSeverity: "MEDIUM",
      expectedTitle: "OpenAI project Demo (proj_1) deleted by an unknown actor",
      log: {
        id: "audit_log-2",
        type: "project.deleted",
        effective_at: 1795186800,
        project: { id: "proj_1", name: "Demo" },
      },
    },
    {
      name: "Project deleted by an owner in the dashboard (routine clean-up) → LOW",
      expected: true,
      expectedSeverity: "LOW",
      expectedTitle: "OpenAI project Demo (proj_1) deleted by owner@acme.test",
      log: rawEvent("project.deleted", { id: "proj_1" }, { project: { id: "proj_1", name: "Demo" } }),
    },
    {
      name: "Project archived (API list example)",
      expected: true,
      expectedSeverity: "LOW",
      expectedTitle: "OpenAI project proj_abc archived by user@example.com",
      log: {
        id: "audit_log-xxx_yyyymmdd",
        type: "project.archived",
        effective_at: 1722461446,
        actor: { type: "api_key", api_key: { type: "user", user: { id: "user-xxx", email: "user@example.com" } } },
        "project.archived": { id: "proj_abc" },
      },
    },
    {
      name: "Resource deleted (no payload)",
      expected: true,
      expectedSeverity: "LOW",
      expectedTitle: "OpenAI resource deleted in project Inference (proj_1) by owner@acme.test",
      log: rawEvent("resource.deleted", undefined, { project: { id: "proj_1", name: "Inference" } }),
    },
    {
      name: "Near miss: project updated",
      expected: false,
      log: rawEvent("project.updated", { id: "proj_1", changes_requested: { title: "x" } }),
    },
    {
      name: "Near miss: API key deleted",
      expected: false,
      log: rawEvent("api_key.deleted", { id: "key_1" }),
    },
  ],
});
