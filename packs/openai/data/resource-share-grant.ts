// Row 27: a resource share grant created, updated or accepted (tenant-scoped, no published payload):
// resources of this tenant become reachable from another tenant, or the reverse.

import { defineRule } from "../../../src/detections/define-rule.ts";
import { actorLabel, DAILY_DEDUP_MINUTES, payload, standardContext } from "../_common.ts";
import { eventType, rawEvent } from "../_controls.ts";

const TYPES = new Set([
  "tenant.resource_share_grant.created",
  "tenant.resource_share_grant.updated",
  "tenant.resource_share_grant.accepted",
]);

export default defineRule({
  id: "OpenAI.Data.ResourceShareGrant",
  displayName: "OpenAI resource share grant created or accepted",
  logTypes: ["OpenAI.Audit"],
  severity: "MEDIUM",
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "A cross-tenant resource share grant was created, updated or accepted (tenant.resource_share_grant." +
    "{created,updated,accepted}; needs a tenant_only poll). The type has no published payload, so the alert " +
    "carries the actor and any payload present. One alert per actor a day (creating and accepting a grant " +
    "is one story). Revoked, declined and deleted grants are not alerted on.",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs/object",
  runbook:
    "1. Ask the actor (alert_context.actor_email) what was shared and with which tenant; check the sharing " +
    "settings in the dashboard for the grant.\n" +
    "2. Confirm the receiving tenant is a known partner / subsidiary and the share is approved.\n" +
    "3. If not, revoke the grant (tenant.resource_share_grant.revoked follows) and review access by the " +
    "other tenant since it was created.",
  tags: ["OpenAI", "Exfiltration", "Data Sharing", "Tenant"],
  reports: { MITRE: ["TA0010:T1537"] },
  rule: (event) => TYPES.has(eventType(event)),
  title: (event) => {
    const verb = eventType(event).split(".").at(-1) ?? "changed";
    return `OpenAI resource share grant ${verb} by ${actorLabel(event)}`;
  },
  dedup: (event) => `${actorLabel(event)}:share_grant`,
  alertContext: (event) => standardContext(event, { details: payload(event) }),
  tests: [
    {
      name: "Grant created",
      expected: true,
      expectedTitle: "OpenAI resource share grant created by owner@acme.test",
      expectedSeverity: "MEDIUM",
      log: rawEvent("tenant.resource_share_grant.created"),
    },
    {
      name: "Grant accepted",
      expected: true,
      expectedTitle: "OpenAI resource share grant accepted by owner@acme.test",
      log: rawEvent("tenant.resource_share_grant.accepted"),
    },
    {
      name: "Near miss: grant revoked",
      expected: false,
      log: rawEvent("tenant.resource_share_grant.revoked"),
    },
  ],
});
