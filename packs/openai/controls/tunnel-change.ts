// Row 28: tunnel created, updated or deleted (inform). The API publishes no payload for tunnel.* and the
// meaning of a "tunnel" is not documented (unconfirmed: likely a private network connection to the
// organization), so the rule only records who did it, plus whatever payload appears. A new tunnel is a new
// network path (LOW); updates and deletions INFO; one alert per actor and severity a day.

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { actorLabel, DAILY_DEDUP_MINUTES, payload, standardContext } from "../_common.ts";
import { eventType, rawEvent } from "../_controls.ts";

const severity = (event: PantherEvent) => (eventType(event) === "tunnel.created" ? "LOW" : "INFO");

export default defineRule({
  id: "OpenAI.Controls.TunnelChange",
  displayName: "OpenAI tunnel created or changed",
  logTypes: ["OpenAI.Audit"],
  severity: "INFO",
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "A tunnel was created (LOW: a new network path), updated or deleted (INFO). One alert per actor and " +
    "severity a day. " +
    "Informational: the API publishes no payload and the feature is undocumented, so the alert records the " +
    "actor and any payload the record carries.",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs/object",
  runbook:
    "1. Ask the actor (alert_context.actor_email) what the tunnel connects and whether it is approved.\n" +
    "2. Check the organization's network/connectivity settings for the tunnel.\n" +
    "3. Escalate if the actor or source IP is unexpected, or other control changes happened nearby.",
  tags: ["OpenAI", "Network", "Configuration Change", "Command and Control"],
  reports: { MITRE: ["TA0011:T1572"] },
  rule: (event) => eventType(event).startsWith("tunnel."),
  title: (event) => `OpenAI tunnel ${eventType(event).slice("tunnel.".length)} by ${actorLabel(event)}`,
  dedup: (event) => `${actorLabel(event)}:tunnel:${severity(event)}`,
  dynamicSeverity: severity,
  alertContext: (event) => standardContext(event, { details: payload(event) }),
  tests: [
    {
      name: "Tunnel created",
      expected: true,
      expectedTitle: "OpenAI tunnel created by owner@acme.test",
      expectedSeverity: "LOW",
      log: rawEvent("tunnel.created"),
    },
    {
      name: "Tunnel deleted via admin key",
      expected: true,
      expectedTitle: "OpenAI tunnel deleted by owner@acme.test",
      expectedSeverity: "INFO",
      log: rawEvent("tunnel.deleted", undefined, {
        actor: { type: "api_key", api_key: { id: "key_admin", type: "user", user: { email: "owner@acme.test" } } },
      }),
    },
    {
      name: "Near miss: tenant event with tunnel-like name is ignored",
      expected: false,
      log: rawEvent("tenant.third_party_app_policy.updated"),
    },
  ],
});
