// The organization's or a project's data-retention control weakened between two snapshots: zero data retention
// or modified abuse monitoring given up for a setting that keeps more (src/posture/controls.ts ranks them; a project
// on organization_default is judged through the organization's setting). Seen from state, so it fires whether or
// not the audit log recorded the change (if it did not, the drift alert fires too).

import { defineRule } from "../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../src/detections/event/index.ts";
import { changeRecord, fact, isChange, objectDedup, POSTURE, runbookAt } from "./_posture.ts";

const KINDS = ["data_retention", "project_data_retention"];

function whose(event: PantherEvent): string {
  if (event.get("kind") === "data_retention") return "the organization";
  return `project ${String(event.get("project_name") ?? event.get("project_id"))}`;
}

export default defineRule({
  id: "OpenAI.Posture.DataRetentionWeakened",
  displayName: "OpenAI data retention weakened",
  logTypes: [POSTURE],
  severity: "HIGH",
  dedupPeriodMinutes: 60,
  description:
    "The data-retention control of the organization or of a project now keeps more than it did at the previous " +
    "snapshot (zero data retention or modified abuse monitoring given up): prompts and outputs that were not " +
    "retained now are.",
  reference: "https://platform.openai.com/docs/guides/your-data",
  runbook: runbookAt(
    "data-retention-weakened",
    "confirm the change with the owners and your data-protection commitments; set the retention back if unplanned.",
  ),
  tags: ["OpenAI", "Posture", "Controls", "Data Protection"],
  rule: (event) => isChange(event, ...KINDS) && fact(event, "weakened") === true,
  title: (event) =>
    `OpenAI data retention of ${whose(event)} weakened: ${String(fact(event, "retention_before"))} → ` +
    `${String(fact(event, "retention_after"))}`,
  dedup: objectDedup,
  alertContext: (event) => ({
    kind: event.get("kind"),
    object_id: event.get("object_id"),
    project_id: event.get("project_id"),
    retention_before: fact(event, "retention_before"),
    retention_after: fact(event, "retention_after"),
    before: event.get("before"),
    after: event.get("after"),
    audit_event_ids: event.deepGet("audit", "event_ids"),
  }),
  tests: [
    {
      name: "Organization gives up zero data retention",
      expected: true,
      log: changeRecord({
        kind: "data_retention",
        object_id: "organization",
        change: "changed",
        fields: ["type"],
        before: { object: "organization.data_retention", type: "zero_data_retention" },
        after: { object: "organization.data_retention", type: "modified_abuse_monitoring" },
        facts: {
          retention_before: "zero_data_retention",
          retention_after: "modified_abuse_monitoring",
          weakened: true,
        },
        audit: { checked: true, expected_types: ["organization.updated"], event_ids: ["audit_log-1"] },
      }),
      expectedTitle:
        "OpenAI data retention of the organization weakened: zero_data_retention → modified_abuse_monitoring",
      expectedDedup: "data_retention:organization",
    },
    {
      name: "A project leaves zero data retention for the standard retention",
      expected: true,
      log: changeRecord({
        kind: "project_data_retention",
        object_id: "proj_1",
        project_id: "proj_1",
        project_name: "Support bot",
        change: "changed",
        fields: ["type"],
        before: { object: "project.data_retention", type: "zero_data_retention" },
        after: { object: "project.data_retention", type: "none" },
        facts: { retention_before: "zero_data_retention", retention_after: "none", weakened: true },
      }),
      expectedTitle: "OpenAI data retention of project Support bot weakened: zero_data_retention → none",
    },
    {
      name: "Retention strengthened",
      expected: false,
      log: changeRecord({
        kind: "project_data_retention",
        object_id: "proj_1",
        project_id: "proj_1",
        change: "changed",
        facts: { retention_before: "none", retention_after: "zero_data_retention", weakened: false },
      }),
    },
    {
      name: "Near miss: cannot tell (the organization's setting was unreadable)",
      expected: false,
      log: changeRecord({
        kind: "project_data_retention",
        object_id: "proj_2",
        project_id: "proj_2",
        change: "changed",
        facts: { retention_before: null, retention_after: "none", weakened: null },
      }),
    },
    {
      name: "Near miss: a spend alert's weakening is not a retention change",
      expected: false,
      log: changeRecord({
        kind: "spend_alert",
        object_id: "spa_1",
        change: "removed",
        facts: { weakened: true, how: "removed" },
      }),
    },
  ],
});
