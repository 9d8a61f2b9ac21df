// Row 18: SCIM provisioning disabled or enabled (Panther OpenAI.SCIM.Configuration.Change), plus the
// tenant-scoped SCIM events. Panther's description calls the enabled case MEDIUM while its severity()
// returns LOW; here enabled is LOW, as severity() does.

import { defineRule } from "../../../src/detections/define-rule.ts";
import { actorLabel, DAILY_DEDUP_MINUTES, standardContext } from "../_common.ts";
import { eventType, payloadText, rawEvent } from "../_controls.ts";

const SEVERITY: Record<string, "HIGH" | "LOW"> = {
  "scim.disabled": "HIGH",
  "tenant.scim.deletion.requested": "HIGH",
  "scim.enabled": "LOW",
  "tenant.scim.setup.started": "LOW",
  "tenant.scim.directory.created": "LOW",
};

const WHAT: Record<string, string> = {
  "scim.disabled": "SCIM provisioning disabled",
  "tenant.scim.deletion.requested": "SCIM directory deletion requested",
  "scim.enabled": "SCIM provisioning enabled",
  "tenant.scim.setup.started": "SCIM setup started",
  "tenant.scim.directory.created": "SCIM directory created",
};

export default defineRule({
  id: "OpenAI.Controls.SCIMConfigurationChange",
  displayName: "OpenAI SCIM configuration change",
  logTypes: ["OpenAI.Audit"],
  severity: "MEDIUM",
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "SCIM provisioning was disabled or its tenant directory deletion requested (HIGH: deprovisioning in the " +
    "identity provider no longer removes OpenAI access, so departed users and attacker-added accounts " +
    "persist), or SCIM was enabled / set up (LOW). Event types: scim.disabled, scim.enabled, " +
    "tenant.scim.deletion.requested, tenant.scim.setup.started, tenant.scim.directory.created (tenant events " +
    "need a tenant_only poll and carry no payload). One alert per actor and severity a day.",
  reference: "https://help.openai.com/en/articles/9627218-scim-provisioning-for-enterprise",
  runbook:
    "1. Ask the actor (alert_context.actor_email) and the identity team whether the SCIM change was planned.\n" +
    "2. If not, re-enable SCIM in the organization's identity settings and re-sync from the IdP.\n" +
    "3. List users added or invited since the change (user.added, invite.sent, tenant.user.added) and compare " +
    "them with the IdP directory; remove accounts that the IdP does not know.\n" +
    "4. Check the actor's other recent admin changes (SSO, IP allowlist, API keys) from the same source IP.",
  tags: ["OpenAI", "Identity", "Persistence", "Defense Evasion", "Configuration Change"],
  reports: { MITRE: ["TA0005:T1562", "TA0003:T1098"] },
  rule: (event) => Object.hasOwn(SEVERITY, eventType(event)),
  title: (event) => `OpenAI ${WHAT[eventType(event)] ?? eventType(event)} by ${actorLabel(event)}`,
  dedup: (event) => `${actorLabel(event)}:${SEVERITY[eventType(event)] ?? "LOW"}`,
  dynamicSeverity: (event) => SEVERITY[eventType(event)] ?? "MEDIUM",
  alertContext: (event) => standardContext(event, { scim_target_id: payloadText(event, "id") }),
  tests: [
    {
      name: "SCIM disabled",
      expected: true,
      expectedSeverity: "HIGH",
      expectedTitle: "OpenAI SCIM provisioning disabled by owner@acme.test",
      log: rawEvent("scim.disabled", { id: "org-acme" }),
    },
    {
      name: "Tenant SCIM directory deletion requested (no payload)",
      expected: true,
      expectedSeverity: "HIGH",
      expectedTitle: "OpenAI SCIM directory deletion requested by owner@acme.test",
      log: rawEvent("tenant.scim.deletion.requested"),
    },
    {
      name: "Near miss: SCIM enabled is LOW",
      expected: true,
      expectedSeverity: "LOW",
      expectedTitle: "OpenAI SCIM provisioning enabled by owner@acme.test",
      log: rawEvent("scim.enabled", { id: "org-acme" }),
    },
    {
      name: "Near miss: SSO connection event is not SCIM",
      expected: false,
      log: rawEvent("tenant.sso_connection.updated"),
    },
    {
      name: "SCIM disabled with no actor",
      expected: true,
      expectedTitle: "OpenAI SCIM provisioning disabled by an unknown actor",
      log: rawEvent("scim.disabled", { id: "org-acme" }, { actor: null }),
    },
  ],
});
