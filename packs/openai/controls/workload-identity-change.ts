// Row 23: workload identity federation changes: an OIDC issuer trusted to mint OpenAI credentials, or a
// mapping from external identities (CI jobs, cloud workloads) to a service account / project.
//
// What changes trust is a NEW issuer (MEDIUM) or a wildcard mapping (HIGH). Another provider entry or mapping
// for an issuer the organization already trusts, updates, removals and the payload-less tenant events are
// routine platform work: LOW, one alert per actor and severity a day. Stateful: issuers seen in provider
// events are remembered for 365 days (refreshed at most daily).

import type { RuleContext } from "../../../src/detections/define-rule.ts";
import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { DAY_SECS, rememberDaily } from "../_auth.ts";
import { actorLabel, DAILY_DEDUP_MINUTES, payloadField, standardContext } from "../_common.ts";
import { eventType, payloadObject, payloadText, rawEvent, str } from "../_controls.ts";

const CLASSIC = /^workload_identity_provider(_mapping)?\.(created|updated|deleted)$/;
const TENANT =
  /^tenant\.workload_identity\.(provider|mapping)\.(created|updated|archived)$|^tenant\.workload_identity\.binding\.created$/;

function isMapping(type: string): boolean {
  return type.includes("mapping") || type.includes("binding");
}

/** The requested/created settings (data or changes_requested, free-form). */
function settings(event: PantherEvent): Record<string, unknown> {
  const data = payloadObject(event, "data");
  return Object.keys(data).length > 0 ? data : payloadObject(event, "changes_requested");
}

/** A mapping whose subject/claim matches anything: "*" or a pattern ending in a bare wildcard. */
function wildcardSubject(event: PantherEvent): string | null {
  for (const [key, value] of Object.entries(settings(event))) {
    if (!/subject|sub|claim|condition/i.test(key) || typeof value !== "string") continue;
    const v = value.trim();
    if (v === "*" || v === "" || /(^|:)\*$/.test(v)) return v;
  }
  return null;
}

const ISSUER_TTL_SECS = 365 * DAY_SECS;

function issuer(event: PantherEvent): string | null {
  return str(settings(event).issuer)?.toLowerCase().replace(/\/+$/, "") ?? null;
}

/** Whether rule() found the event's issuer new (rule() runs first and records it). */
const newIssuers = new WeakSet<PantherEvent>();

function matches(event: PantherEvent, ctx: RuleContext): boolean {
  const type = eventType(event);
  if (!CLASSIC.test(type) && !TENANT.test(type)) return false;
  const iss = issuer(event);
  if (iss !== null && !rememberDaily(ctx.state, `issuer:${iss}`, ctx.eventTimeSecs, ISSUER_TTL_SECS)) {
    newIssuers.add(event);
  }
  return true;
}

function severity(event: PantherEvent): "HIGH" | "MEDIUM" | "LOW" {
  if (wildcardSubject(event) !== null) return "HIGH";
  const type = eventType(event);
  const removal = type.endsWith(".deleted") || type.endsWith(".archived");
  return newIssuers.has(event) && !removal ? "MEDIUM" : "LOW";
}

export default defineRule({
  id: "OpenAI.Controls.WorkloadIdentityChange",
  displayName: "OpenAI workload identity federation change",
  logTypes: ["OpenAI.Audit"],
  severity: "LOW",
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "A workload identity provider (trusted OIDC issuer) or a provider→service-account mapping was created, " +
    "updated or removed. A provider with an issuer not seen before (365-day memory): MEDIUM (a new trust " +
    "path for minting OpenAI credentials without keys). A mapping whose subject is a wildcard (`*`, " +
    "`repo:org/*:…*`) HIGH: any identity of that issuer gets the service account. Everything else (known " +
    "issuers, specific mappings, updates, removals, payload-less tenant events): LOW, one alert per actor " +
    "and severity a day. Event types: workload_identity_provider.*, " +
    "workload_identity_provider_mapping.*, tenant.workload_identity.{provider,mapping}.{created,updated," +
    "archived}, tenant.workload_identity.binding.created (tenant events: no payload). Reads id, " +
    "identity_provider_id, project_id, service_account_id, data / changes_requested (issuer, audience, subject).",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs/object",
  runbook:
    "1. Confirm with the actor (alert_context.actor_email) and the platform team that the issuer " +
    "(alert_context.settings.issuer) is your CI / cloud identity provider.\n" +
    "2. For mappings, check the subject/claim condition (alert_context.settings.subject): it must name one " +
    "repository/branch/workload, never `*`.\n" +
    "3. If unexpected, delete the provider or mapping and revoke tokens issued through it " +
    "(tenant.workload_identity.access_token.issued events after the change).\n" +
    "4. Review the target project and service account for new activity.",
  tags: ["OpenAI", "Identity", "Persistence", "Workload Identity", "Configuration Change"],
  reports: { MITRE: ["TA0003:T1098.001", "TA0006:T1556", "TA0003:T1484.002"] },
  rule: matches,
  title: (event) => {
    const type = eventType(event);
    const what = isMapping(type) ? "workload identity mapping" : "workload identity provider";
    const verb = type.split(".").at(-1) ?? "changed";
    const wildcard = wildcardSubject(event);
    const issuer = str(settings(event).issuer);
    const detail = wildcard !== null ? ` with wildcard subject "${wildcard}"` : issuer ? ` (${issuer})` : "";
    return `OpenAI ${what} ${verb}${detail} by ${actorLabel(event)}`;
  },
  dedup: (event) => `${actorLabel(event)}:workload_identity:${severity(event)}`,
  dynamicSeverity: severity,
  alertContext: (event) =>
    standardContext(event, {
      object_id: payloadText(event, "id"),
      identity_provider_id: payloadText(event, "identity_provider_id"),
      mapped_project_id: payloadText(event, "project_id") ?? str(settings(event).project_id),
      service_account_id: payloadText(event, "service_account_id"),
      provider_name: payloadText(event, "name"),
      settings: settings(event),
      wildcard_subject: wildcardSubject(event),
      new_issuer: newIssuers.has(event),
      raw_payload_present: payloadField(event) !== null,
    }),
  tests: [
    {
      name: "Provider created with unknown issuer",
      expected: true,
      expectedSeverity: "MEDIUM",
      expectedTitle:
        "OpenAI workload identity provider created (https://oidc.build-runner.example.net) by owner@acme.test",
      log: rawEvent("workload_identity_provider.created", {
        id: "wip_1",
        data: { name: "ci-prod", issuer: "https://oidc.build-runner.example.net", audience: "openai" },
      }),
    },
    {
      name: "Mapping with wildcard subject",
      expected: true,
      expectedSeverity: "HIGH",
      expectedTitle: 'OpenAI workload identity mapping created with wildcard subject "*" by owner@acme.test',
      log: rawEvent(
        "workload_identity_provider_mapping.created",
        { id: "wipm_1", identity_provider_id: "wip_1", data: { subject: "*", project_id: "proj_1" } },
        { project: { id: "proj_1", name: "Inference" } },
      ),
    },
    {
      name: "Near miss: another provider for an issuer already trusted → LOW",
      expected: true,
      expectedSeverity: "LOW",
      state: [{ key: "issuer:https://gitlab.com", value: "20450" }],
      log: rawEvent("workload_identity_provider.created", {
        id: "wip_2",
        data: { name: "gitlab-ci", issuer: "https://gitlab.com/", audience: "openai" },
      }),
    },
    {
      name: "Tenant provider created (no payload) → LOW",
      expected: true,
      expectedSeverity: "LOW",
      expectedTitle: "OpenAI workload identity provider created by owner@acme.test",
      log: rawEvent("tenant.workload_identity.provider.created"),
    },
    {
      name: "Near miss: mapping to one branch is LOW",
      expected: true,
      expectedSeverity: "LOW",
      log: rawEvent("workload_identity_provider_mapping.updated", {
        id: "wipm_1",
        identity_provider_id: "wip_1",
        changes_requested: { subject: "repo:acme/inference:environment:production" },
      }),
    },
    {
      name: "Near miss: token issuance is not a configuration change",
      expected: false,
      log: rawEvent("tenant.workload_identity.access_token.issued"),
    },
    {
      name: "Provider deleted is LOW",
      expected: true,
      expectedSeverity: "LOW",
      log: rawEvent("workload_identity_provider.deleted", { id: "wip_1", name: "github-actions" }),
    },
  ],
});
