// Row 22: BYOK (customer-managed encryption key) registered or removed.

import { defineRule } from "../../../src/detections/define-rule.ts";
import { actorLabel, standardContext } from "../_common.ts";
import { eventType, payloadObject, payloadText, rawEvent } from "../_controls.ts";

export default defineRule({
  id: "OpenAI.Controls.ExternalKeyChange",
  displayName: "OpenAI BYOK external key change",
  logTypes: ["OpenAI.Audit"],
  severity: "MEDIUM",
  description:
    "A customer-managed encryption key (BYOK / enterprise key management) was removed (external_key.removed: " +
    "HIGH, data is no longer under the customer's key) or registered (external_key.registered: MEDIUM, a key " +
    "in an unexpected KMS account would hand control of encrypted data to its owner). Reads " +
    "external_key.*.id and external_key.registered.data (free-form: provider, key ARN, …).",
  reference: "https://help.openai.com/en/articles/20000943-openai-enterprise-key-management-ekm-overview",
  runbook:
    "1. Confirm with the actor (alert_context.actor_email) and the key owners that the key change was planned.\n" +
    "2. Registered: check that the key (alert_context.key_data, e.g. the KMS key ARN and account) belongs to " +
    "your cloud account.\n" +
    "3. Removed: check whether a replacement key is registered; if not, restore the key registration and " +
    "review data access since the removal.\n" +
    "4. Review the actor's other admin changes from the same source IP.",
  tags: ["OpenAI", "Encryption", "Defense Evasion", "Configuration Change"],
  reports: { MITRE: ["TA0005:T1562", "TA0040:T1486"] },
  rule: (event) => eventType(event) === "external_key.removed" || eventType(event) === "external_key.registered",
  title: (event) => {
    const verb = eventType(event) === "external_key.removed" ? "removed" : "registered";
    return `OpenAI external encryption key [${payloadText(event, "id") ?? "unknown"}] ${verb} by ${actorLabel(event)}`;
  },
  dedup: (event) => `${actorLabel(event)}:${eventType(event)}`,
  dynamicSeverity: (event) => (eventType(event) === "external_key.removed" ? "HIGH" : "MEDIUM"),
  alertContext: (event) =>
    standardContext(event, { key_id: payloadText(event, "id"), key_data: payloadObject(event, "data") }),
  tests: [
    {
      name: "External key removed",
      expected: true,
      expectedSeverity: "HIGH",
      expectedTitle: "OpenAI external encryption key [ek_1] removed by owner@acme.test",
      log: rawEvent("external_key.removed", { id: "ek_1" }),
    },
    {
      name: "External key registered",
      expected: true,
      expectedSeverity: "MEDIUM",
      log: rawEvent("external_key.registered", {
        id: "ek_2",
        data: { provider: "aws_kms", key_arn: "arn:aws:kms:::key/1" },
      }),
    },
    {
      name: "Near miss: API key deleted is not an external key",
      expected: false,
      log: rawEvent("api_key.deleted", { id: "key_1" }),
    },
  ],
});
