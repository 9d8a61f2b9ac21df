// Row 26: a fine-tuned model checkpoint shared with another project (checkpoint.permission.created).
// Fine-tuned weights can encode training data; sharing them to a project the organization does not own
// is a data-exfiltration path. Sharing to one of the organization's own projects is everyday fine-tuning
// work. The audit log does not say who owns the target, so the rule learns the organization's projects:
// every event's project.id (365-day memory, refreshed at most daily). A target never seen in the org's own
// events is MEDIUM; a known project LOW (one alert per actor a day).

import type { RuleContext } from "../../../src/detections/define-rule.ts";
import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { DAY_SECS, rememberDaily } from "../_auth.ts";
import { actorLabel, DAILY_DEDUP_MINUTES, standardContext } from "../_common.ts";
import { eventType, payloadText, rawEvent, str } from "../_controls.ts";

function target(event: PantherEvent): string | null {
  return payloadText(event, "data", "project_id");
}

function checkpoint(event: PantherEvent): string | null {
  return payloadText(event, "data", "fine_tuned_model_checkpoint");
}

const PROJECT_TTL_SECS = 365 * DAY_SECS;

/** Shares whose target rule() found among the organization's projects. */
const internal = new WeakSet<PantherEvent>();

function matches(event: PantherEvent, ctx: RuleContext): boolean {
  const own = str(event.deepGet("project", "id"));
  if (own !== null) rememberDaily(ctx.state, `project:${own}`, ctx.eventTimeSecs, PROJECT_TTL_SECS);
  if (eventType(event) !== "checkpoint.permission.created") return false;
  const t = target(event);
  if (t !== null && ctx.state.get(`project:${t}`) !== null) internal.add(event);
  return true;
}

const severity = (event: PantherEvent) => (internal.has(event) ? "LOW" : "MEDIUM");

export default defineRule({
  id: "OpenAI.Data.CheckpointShared",
  displayName: "OpenAI fine-tuned checkpoint shared to another project",
  logTypes: ["OpenAI.Audit"],
  severity: "MEDIUM",
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "A fine-tuned model checkpoint permission was created for a project (checkpoint.permission.created): the " +
    "target project can now use (and further fine-tune) the checkpoint. The audit log does not say whether " +
    "the target project belongs to this organization, so the rule learns the organization's projects from " +
    "the project.id of its events (365-day memory): MEDIUM when the target was never seen, LOW when it is a " +
    "known project (one alert per actor a day). " +
    "Reads checkpoint.permission.created.data.{project_id, fine_tuned_model_checkpoint} and project.id.",
  reference: "https://platform.openai.com/docs/api-reference/fine-tuning/permission-create",
  runbook:
    "1. Check whether the target project (alert_context.target_project_id) is one of your organization's " +
    "projects (Settings > Projects or the Admin API /organization/projects).\n" +
    "2. Ask the actor (alert_context.actor_email) why the checkpoint (alert_context.checkpoint) was shared " +
    "and what data it was trained on.\n" +
    "3. If the target is unknown, delete the permission (checkpoint.permission.deleted follows) and review " +
    "other shares by the same actor.",
  tags: ["OpenAI", "Exfiltration", "Fine-tuning", "Data Sharing"],
  reports: { MITRE: ["TA0010:T1537"] },
  rule: matches,
  title: (event) =>
    `OpenAI fine-tuned checkpoint [${checkpoint(event) ?? "unknown"}] shared to project ` +
    `[${target(event) ?? "unknown"}] by ${actorLabel(event)}`,
  dedup: (event) => `${actorLabel(event)}:checkpoint_share:${severity(event)}`,
  dynamicSeverity: severity,
  alertContext: (event) =>
    standardContext(event, {
      permission_id: payloadText(event, "id"),
      target_project_id: target(event),
      checkpoint: checkpoint(event),
      target_is_known_project: internal.has(event),
    }),
  tests: [
    {
      name: "Checkpoint shared to a project never seen in the organization → MEDIUM",
      expected: true,
      expectedSeverity: "MEDIUM",
      expectedTitle:
        "OpenAI fine-tuned checkpoint [ft:gpt-4o-mini-2024-07-18:acme::abc:ckpt-step-2000] shared to project [proj_outside] by dev@acme.test",
      log: rawEvent(
        "checkpoint.permission.created",
        {
          id: "cp_1",
          data: {
            project_id: "proj_outside",
            fine_tuned_model_checkpoint: "ft:gpt-4o-mini-2024-07-18:acme::abc:ckpt-step-2000",
          },
        },
        {
          actor: { type: "session", session: { user: { email: "dev@acme.test" }, ip_address: "198.51.100.4" } },
          project: { id: "proj_1", name: "Inference" },
        },
      ),
    },
    {
      name: "Near miss: shared within the same project is LOW",
      expected: true,
      expectedSeverity: "LOW",
      log: rawEvent(
        "checkpoint.permission.created",
        { id: "cp_2", data: { project_id: "proj_1", fine_tuned_model_checkpoint: "ft:x" } },
        { project: { id: "proj_1", name: "Inference" } },
      ),
    },
    {
      name: "Near miss: shared to another of the organization's projects (seen before) is LOW",
      expected: true,
      expectedSeverity: "LOW",
      state: [{ key: "project:proj_2", value: "20450" }],
      log: rawEvent(
        "checkpoint.permission.created",
        { id: "cp_3", data: { project_id: "proj_2", fine_tuned_model_checkpoint: "ft:x" } },
        { project: { id: "proj_1", name: "Inference" } },
      ),
    },
    {
      name: "The 2025 spec's spelling (checkpoint_permission.created) is the same event → MEDIUM",
      expected: true,
      expectedSeverity: "MEDIUM",
      log: rawEvent(
        "checkpoint_permission.created",
        { id: "cp_4", data: { project_id: "proj_outside", fine_tuned_model_checkpoint: "ft:x" } },
        { project: { id: "proj_1", name: "Inference" } },
      ),
    },
    {
      name: "Permission deleted",
      expected: false,
      log: rawEvent("checkpoint.permission.deleted", { id: "cp_1" }),
    },
  ],
});
