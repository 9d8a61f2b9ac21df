// Row 25 (burst): several projects archived/deleted or project resources deleted by one actor within an
// hour — destruction or a cover-up, or a clean-up: MEDIUM. Three deletions are the blast radius of a project
// or three, and an organization that churns projects (the simulated one creates dozens a day) has owners
// deleting three in an hour now and then; counted exactly on main's event-time grid, a routine week at
// 10,000 events a day raised one such burst. Mass destruction also shows as many ProjectDeleted matches in
// the one daily alert of the actor.

import { defineRule } from "../../../src/detections/define-rule.ts";
import { actorLabel, standardContext } from "../_common.ts";
import { DELETION_TYPES, eventType, rawEvent } from "../_controls.ts";

export const DELETION_BURST_THRESHOLD = 3;

export default defineRule({
  id: "OpenAI.Data.DeletionBurst",
  displayName: "OpenAI burst of project deletions",
  logTypes: ["OpenAI.Audit"],
  severity: "MEDIUM",
  threshold: DELETION_BURST_THRESHOLD,
  dedupPeriodMinutes: 60,
  description:
    "One actor archived or deleted projects, or deleted project resources, at least 3 times within 60 " +
    "minutes (project.deleted, project.archived, resource.deleted; threshold 3 per actor and dedup period). " +
    "Archiving and then deleting the same project counts twice.",
  reference: "https://help.openai.com/en/articles/9186755-managing-projects-in-the-api-platform",
  runbook:
    "1. List the actor's deletions in the window (OpenAI.Data.ProjectDeleted matches, or the audit log " +
    "filtered by actor and project.* / resource.deleted).\n" +
    "2. Contact the actor out of band; if they did not do it, suspend the account and revoke its API keys " +
    "and sessions.\n" +
    "3. Restore archived projects from the dashboard and assess lost resources (files, fine-tunes, " +
    "assistants).\n" +
    "4. Check how the actor authenticated (source_ip, user_agent) and for preceding login anomalies.",
  tags: ["OpenAI", "Impact", "Data Destruction", "Projects", "Threshold"],
  reports: { MITRE: ["TA0040:T1485"] },
  rule: (event) => DELETION_TYPES.has(eventType(event)),
  title: (event) => `OpenAI burst of project/resource deletions by ${actorLabel(event)}`,
  dedup: (event) => `deletion-burst:${actorLabel(event)}`,
  alertContext: (event) => standardContext(event, { threshold: DELETION_BURST_THRESHOLD, window_minutes: 60 }),
  tests: [
    {
      name: "Project deletion counts toward the burst",
      expected: true,
      expectedTitle: "OpenAI burst of project/resource deletions by owner@acme.test",
      expectedSeverity: "MEDIUM",
      log: rawEvent("project.deleted", { id: "proj_1" }, { project: { id: "proj_1", name: "Inference" } }),
    },
    {
      name: "Resource deletion counts toward the burst",
      expected: true,
      log: rawEvent("resource.deleted", undefined, { project: { id: "proj_1", name: "Inference" } }),
    },
    {
      name: "Near miss: project created does not count",
      expected: false,
      log: rawEvent("project.created", { id: "proj_2", data: { name: "x", title: "x" } }),
    },
  ],
});
