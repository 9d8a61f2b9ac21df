// Row 19: SSO connection, session policy and authentication/access policy changes (tenant-scoped; the
// tenant.* types carry no declared payload, so the rule reads the type and the actor only, and reports
// whatever payload a future API version adds). Without a payload an update cannot be told apart from a
// tightening, so only deletions and detachments (the control is gone) are HIGH; the rest is LOW, one alert per
// actor and severity a day.

import { defineRule } from "../../../src/detections/define-rule.ts";
import { actorLabel, DAILY_DEDUP_MINUTES, payload, standardContext } from "../_common.ts";
import { eventType, rawEvent } from "../_controls.ts";

type Sev = "HIGH" | "LOW";

const SEVERITY: Record<string, Sev> = {
  "tenant.sso_connection.deleted": "HIGH",
  "tenant.sso_connection.updated": "LOW",
  "tenant.sso_connection.created": "LOW",
  "tenant.sso_connection.setup.started": "LOW",
  "tenant.sso.migrated": "LOW",
  "tenant.session_policy.deleted": "HIGH",
  "tenant.session_policy.updated": "LOW",
  "tenant.session_policy.created": "LOW",
  "tenant.policy.deleted": "HIGH",
  "tenant.policy.detached": "HIGH",
  "tenant.policy.updated": "LOW",
  "tenant.policy.created": "LOW",
  "tenant.policy.attached": "LOW",
  "tenant.product_access_policy.updated": "LOW",
  "tenant.third_party_app_policy.updated": "LOW",
};

function subject(type: string): string {
  if (type.startsWith("tenant.sso")) return "SSO connection";
  if (type.startsWith("tenant.session_policy")) return "session policy";
  if (type.startsWith("tenant.product_access_policy")) return "product access policy";
  if (type.startsWith("tenant.third_party_app_policy")) return "third-party app policy";
  return "authentication policy";
}

function verb(type: string): string {
  const last = type.split(".").at(-1) ?? type;
  if (type.endsWith("setup.started")) return "setup started";
  return last;
}

export default defineRule({
  id: "OpenAI.Controls.SSOPolicyChange",
  displayName: "OpenAI SSO connection or authentication policy change",
  logTypes: ["OpenAI.Audit"],
  severity: "LOW",
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "A tenant SSO connection, session policy or authentication/access policy was deleted or detached (HIGH: " +
    "SSO enforcement or session limits may no longer apply), or updated, created or attached (LOW: without a " +
    "payload an update may as well tighten the policy). One alert per actor and severity a day. " +
    "Event types: tenant.sso_connection.*, tenant.sso.migrated, tenant.session_policy.*, tenant.policy.*, " +
    "tenant.product_access_policy.updated, tenant.third_party_app_policy.updated. These need a tenant_only " +
    "poll and have no published payload: the alert names the change and the actor only. " +
    "tenant.principal_authentication_policy.resolved is not alerted on: it is a high-volume, per-login " +
    "evaluation record, not a change.",
  reference: "https://help.openai.com/en/articles/9641139-setting-up-sso",
  runbook:
    "1. Confirm the change with the actor (alert_context.actor_email) and the identity team.\n" +
    "2. Open the tenant's identity/SSO settings and compare the SSO connection and policies with the approved " +
    "configuration; restore them if the change was not planned.\n" +
    "3. For deleted/detached policies, check for logins without SSO (login.succeeded with a password) and " +
    "new sessions from unusual IPs after the change.\n" +
    "4. Review the actor's other admin actions from the same source IP (alert_context.source_ip).",
  tags: ["OpenAI", "Identity", "SSO", "Defense Evasion", "Configuration Change"],
  reports: { MITRE: ["TA0006:T1556", "TA0005:T1562"] },
  rule: (event) => Object.hasOwn(SEVERITY, eventType(event)),
  title: (event) => {
    const type = eventType(event);
    return `OpenAI ${subject(type)} ${verb(type)} by ${actorLabel(event)}`;
  },
  dedup: (event) => `${actorLabel(event)}:sso_policy:${SEVERITY[eventType(event)] ?? "LOW"}`,
  dynamicSeverity: (event) => SEVERITY[eventType(event)] ?? "LOW",
  alertContext: (event) => standardContext(event, { change: verb(eventType(event)), details: payload(event) }),
  tests: [
    {
      name: "SSO connection deleted",
      expected: true,
      expectedSeverity: "HIGH",
      expectedTitle: "OpenAI SSO connection deleted by owner@acme.test",
      log: rawEvent("tenant.sso_connection.deleted"),
    },
    {
      name: "Auth policy detached",
      expected: true,
      expectedSeverity: "HIGH",
      expectedTitle: "OpenAI authentication policy detached by owner@acme.test",
      log: rawEvent("tenant.policy.detached"),
    },
    {
      name: "Session policy updated (no payload: tightened or relaxed unknown) → LOW",
      expected: true,
      expectedSeverity: "LOW",
      expectedTitle: "OpenAI session policy updated by owner@acme.test",
      log: rawEvent("tenant.session_policy.updated"),
    },
    {
      name: "Near miss: SSO setup started is LOW",
      expected: true,
      expectedSeverity: "LOW",
      expectedTitle: "OpenAI SSO connection setup started by owner@acme.test",
      log: rawEvent("tenant.sso_connection.setup.started"),
    },
    {
      name: "Near miss: per-login policy resolution is not a change",
      expected: false,
      log: rawEvent("tenant.principal_authentication_policy.resolved"),
    },
    {
      name: "Unrelated login",
      expected: false,
      log: rawEvent("login.succeeded"),
    },
  ],
});
