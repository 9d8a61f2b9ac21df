// Row 20: organization settings weakened: API call logging disabled, threads / usage dashboard made
// visible to any role, name/title/description changes.

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { actorLabel, DAILY_DEDUP_MINUTES, standardContext } from "../_common.ts";
import { eventType, payloadObject, payloadText, rawEvent } from "../_controls.ts";

const VISIBILITY_FIELDS = ["threads_ui_visibility", "usage_dashboard_visibility"] as const;
const NAME_FIELDS = ["name", "title", "description"] as const;

function changes(event: PantherEvent): Record<string, unknown> {
  return payloadObject(event, "changes_requested");
}

function loggingDisabled(event: PantherEvent): boolean {
  const value = changes(event).api_call_logging;
  return typeof value === "string" && value.toLowerCase() === "disabled";
}

function widenedVisibility(event: PantherEvent): string[] {
  const c = changes(event);
  return VISIBILITY_FIELDS.filter((f) => typeof c[f] === "string" && (c[f] as string).toUpperCase() === "ANY_ROLE");
}

export default defineRule({
  id: "OpenAI.Org.SettingWeakened",
  displayName: "OpenAI organization setting weakened",
  logTypes: ["OpenAI.Audit"],
  severity: "LOW",
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "organization.updated: API call logging set to `disabled` (HIGH: removes the record of API calls), " +
    "threads_ui_visibility or usage_dashboard_visibility set to ANY_ROLE (MEDIUM: every member can read " +
    "other users' threads or the org's usage), any other change (name, title, description, narrower " +
    "visibility, other logging modes) LOW; one alert per actor and kind of change a day. Reads organization.updated.changes_requested.{api_call_logging, " +
    "api_call_logging_project_ids, threads_ui_visibility, usage_dashboard_visibility, name, title, description}.",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs/object",
  runbook:
    "1. Ask the actor (alert_context.actor_email) why the setting changed; compare with change tickets.\n" +
    "2. Logging disabled: re-enable API call logging in Organization settings > Data controls and look for " +
    "API activity (new keys, file uploads, fine-tunes) in the window it was off.\n" +
    "3. Visibility widened: set threads / usage dashboard visibility back to OWNERS unless the change is " +
    "approved.\n" +
    "4. Review the actor's other admin changes from the same source IP.",
  tags: ["OpenAI", "Defense Evasion", "Configuration Change", "Logging"],
  reports: { MITRE: ["TA0005:T1562.008", "TA0005:T1562"] },
  rule: (event) => eventType(event) === "organization.updated",
  title: (event) => {
    const who = actorLabel(event);
    if (loggingDisabled(event)) return `OpenAI API call logging disabled by ${who}`;
    const widened = widenedVisibility(event);
    if (widened.length > 0) return `OpenAI ${widened.join(" and ")} set to ANY_ROLE by ${who}`;
    const fields = Object.keys(changes(event)).sort();
    return `OpenAI organization settings changed (${fields.join(", ") || "unknown fields"}) by ${who}`;
  },
  dedup: (event) => {
    const kind = loggingDisabled(event) ? "logging" : widenedVisibility(event).length > 0 ? "visibility" : "other";
    return `${actorLabel(event)}:${kind}`;
  },
  dynamicSeverity: (event) => {
    if (loggingDisabled(event)) return "HIGH";
    if (widenedVisibility(event).length > 0) return "MEDIUM";
    return "LOW";
  },
  alertContext: (event) => {
    const c = changes(event);
    const out: Record<string, unknown> = { organization_id: payloadText(event, "id") };
    for (const f of ["api_call_logging", "api_call_logging_project_ids", ...VISIBILITY_FIELDS, ...NAME_FIELDS]) {
      out[f] = c[f] ?? null;
    }
    return standardContext(event, out);
  },
  tests: [
    {
      name: "API call logging disabled",
      expected: true,
      expectedSeverity: "HIGH",
      expectedTitle: "OpenAI API call logging disabled by owner@acme.test",
      log: rawEvent("organization.updated", { id: "org-acme", changes_requested: { api_call_logging: "disabled" } }),
    },
    {
      name: "Visibility widened to any role",
      expected: true,
      expectedSeverity: "MEDIUM",
      expectedTitle: "OpenAI threads_ui_visibility and usage_dashboard_visibility set to ANY_ROLE by owner@acme.test",
      log: rawEvent("organization.updated", {
        id: "org-acme",
        changes_requested: { threads_ui_visibility: "ANY_ROLE", usage_dashboard_visibility: "ANY_ROLE" },
      }),
    },
    {
      name: "Near miss: logging set to selected projects is LOW",
      expected: true,
      expectedSeverity: "LOW",
      expectedTitle:
        "OpenAI organization settings changed (api_call_logging, api_call_logging_project_ids) by owner@acme.test",
      log: rawEvent("organization.updated", {
        id: "org-acme",
        changes_requested: {
          api_call_logging: "enabled_for_selected_projects",
          api_call_logging_project_ids: "proj_1",
        },
      }),
    },
    {
      name: "Near miss: visibility narrowed to owners is LOW",
      expected: true,
      expectedSeverity: "LOW",
      log: rawEvent("organization.updated", { id: "org-acme", changes_requested: { threads_ui_visibility: "OWNERS" } }),
    },
    {
      name: "Name change is LOW",
      expected: true,
      expectedSeverity: "LOW",
      expectedTitle: "OpenAI organization settings changed (title) by owner@acme.test",
      log: rawEvent("organization.updated", { id: "org-acme", changes_requested: { title: "Acme" } }),
    },
    {
      name: "Project update is not an org update",
      expected: false,
      log: rawEvent("project.updated", { id: "proj_1", changes_requested: { title: "x" } }),
    },
  ],
});
