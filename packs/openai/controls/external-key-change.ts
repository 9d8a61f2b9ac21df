// Row 22: BYOK (customer-managed encryption key) registered or removed. Removal takes the data out from under
// the customer's key: HIGH. Registration is usually rotation within the organization's own KMS account
// (LOW); what matters is a key in an account the organization never used (MEDIUM): its owner can revoke it
// and hold the data hostage. Stateful: KMS accounts seen in registrations are remembered for 365 days.

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { DAY_SECS, rememberDaily } from "../_auth.ts";
import { actorLabel, DAILY_DEDUP_MINUTES, standardContext } from "../_common.ts";
import { eventType, payloadObject, payloadText, rawEvent } from "../_controls.ts";

const ACCOUNT_TTL_SECS = 365 * DAY_SECS;

/**
 * The KMS account (or project / vault) holding the key, from data.key_arn (AWS
 * `arn:aws:kms:<region>:<account>:key/…`), a GCP key name (`projects/<project>/…`) or an Azure vault URL;
 * null when the payload names none.
 */
export function kmsAccount(event: PantherEvent): string | null {
  const data = payloadObject(event, "data");
  for (const value of Object.values(data)) {
    if (typeof value !== "string") continue;
    const aws = /^arn:aws[\w-]*:kms:[^:]*:(\d+):/.exec(value);
    if (aws) return `aws:${aws[1]}`;
    const gcp = /^projects\/([^/]+)\/locations\//.exec(value);
    if (gcp) return `gcp:${gcp[1]}`;
    const azure = /^https:\/\/([^.]+)\.vault\.azure\.net\//i.exec(value);
    if (azure) return `azure:${azure[1]?.toLowerCase()}`;
  }
  return null;
}

/** Registrations whose account rule() found new (or that name none). */
const newAccounts = new WeakSet<PantherEvent>();

function severity(event: PantherEvent): "HIGH" | "MEDIUM" | "LOW" {
  if (eventType(event) === "external_key.removed") return "HIGH";
  return newAccounts.has(event) ? "MEDIUM" : "LOW";
}

export default defineRule({
  id: "OpenAI.Controls.ExternalKeyChange",
  displayName: "OpenAI BYOK external key change",
  logTypes: ["OpenAI.Audit"],
  severity: "MEDIUM",
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "A customer-managed encryption key (BYOK / enterprise key management) was removed (external_key.removed: " +
    "HIGH, data is no longer under the customer's key) or registered (external_key.registered): MEDIUM when " +
    "the key lives in a KMS account (AWS account, GCP project, Azure vault) not seen in a registration for " +
    "365 days, or names none (a key in an unexpected account hands control of encrypted data to its owner); " +
    "LOW for another key in a known account (rotation). One alert per actor and severity a day. Reads " +
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
  rule: (event, ctx) => {
    const type = eventType(event);
    if (type === "external_key.removed") return true;
    if (type !== "external_key.registered") return false;
    const account = kmsAccount(event);
    if (account === null || !rememberDaily(ctx.state, `account:${account}`, ctx.eventTimeSecs, ACCOUNT_TTL_SECS)) {
      newAccounts.add(event);
    }
    return true;
  },
  title: (event) => {
    const verb = eventType(event) === "external_key.removed" ? "removed" : "registered";
    return `OpenAI external encryption key [${payloadText(event, "id") ?? "unknown"}] ${verb} by ${actorLabel(event)}`;
  },
  dedup: (event) => `${actorLabel(event)}:external_key:${severity(event)}`,
  dynamicSeverity: severity,
  alertContext: (event) =>
    standardContext(event, {
      key_id: payloadText(event, "id"),
      key_data: payloadObject(event, "data"),
      kms_account: kmsAccount(event),
      new_kms_account: newAccounts.has(event),
    }),
  tests: [
    {
      name: "External key removed",
      expected: true,
      expectedSeverity: "HIGH",
      expectedTitle: "OpenAI external encryption key [ek_1] removed by owner@acme.test",
      log: rawEvent("external_key.removed", { id: "ek_1" }),
    },
    {
      name: "External key registered in a KMS account never seen → MEDIUM",
      expected: true,
      expectedSeverity: "MEDIUM",
      log: rawEvent("external_key.registered", {
        id: "ek_2",
        data: { provider: "aws_kms", key_arn: "arn:aws:kms:us-east-1:999988887777:key/1" },
      }),
    },
    {
      name: "Near miss: a new key in the organization's known KMS account (rotation) → LOW",
      expected: true,
      expectedSeverity: "LOW",
      state: [{ key: "account:aws:123456789012", value: "20450" }],
      log: rawEvent("external_key.registered", {
        id: "ek_3",
        data: { provider: "aws_kms", key_arn: "arn:aws:kms:us-east-1:123456789012:key/abc" },
      }),
    },
    {
      name: "External key registered without a recognisable account → MEDIUM",
      expected: true,
      expectedSeverity: "MEDIUM",
      log: rawEvent("external_key.registered", {
        id: "ek_4",
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
