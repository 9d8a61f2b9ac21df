// Row 10: a burst of credential creation by one actor: ≥7 API keys / service accounts / admin or project
// API keys created within 10 minutes (threshold 7, dedup = the actor, dedup period 10 minutes). Windows sit on
// an event-time grid, so a burst can straddle two: the threshold must be at most half the burst to catch (the
// key-creation-burst scenario makes 14 in 8 minutes). Five was within reach of a busy owner setting up a
// project's keys (once in a routine week at 10,000 events a day); seven is not.

import { defineRule } from "../../../src/detections/define-rule.ts";
import { principalKey, raw, serviceAccountKey, session, TEST_PROJECT } from "../_auth.ts";
import { actorLabel, payloadField, standardContext } from "../_common.ts";

const TYPES = new Set([
  "api_key.created",
  "service_account.created",
  "tenant.admin_api_key.created",
  "tenant.project_api_key.created",
]);

export default defineRule({
  id: "OpenAI.Credentials.CreationBurst",
  displayName: "OpenAI burst of API key / service account creation",
  logTypes: ["OpenAI.Audit"],
  severity: "HIGH",
  threshold: 7,
  dedupPeriodMinutes: 10,
  description:
    "One actor creates 7 or more API keys or service accounts (api_key.created, service_account.created, " +
    "tenant.admin_api_key.created, tenant.project_api_key.created) within 10 minutes: credential sprawl " +
    "typical of an attacker securing persistence or harvesting keys before access is cut.",
  reference: "https://platform.openai.com/docs/api-reference/project-api-keys",
  runbook:
    "1. List what the actor created (OpenAI dashboard > Settings > Organization > Audit logs, filter on the " +
    "actor and *.created in the alert window) and in which projects. 2. Contact the actor (or the owners of " +
    "the acting service account) to confirm a legitimate bulk provisioning job. 3. If unconfirmed: revoke all " +
    "keys and service accounts created in the burst, suspend the actor's sessions / revoke the acting key, and " +
    "check for a preceding suspicious login (new location, brute force).",
  reports: { MITRE: ["TA0003:T1098.001", "TA0003:T1136.003"] },
  tags: ["OpenAI", "API Keys", "Service Accounts", "Persistence"],
  rule: (event) => TYPES.has(String(event.get("type"))),
  title: (event) =>
    `Burst of OpenAI credential creation by ${actorLabel(event)}: 7+ keys/service accounts in 10 minutes`,
  dedup: (event) => principalKey(event) ?? "unknown-actor",
  alertContext: (event) => standardContext(event, { created_id: payloadField(event, "id") }),
  tests: [
    {
      name: "API key created (counts towards 7 in 10 minutes)",
      expected: true,
      log: raw(
        "api_key.created",
        session("Sam.Ortiz@acme.ai"),
        { id: "key_burst000000001", data: { scopes: ["api.model.request"] } },
        { project: TEST_PROJECT },
      ),
      expectedTitle: "Burst of OpenAI credential creation by Sam.Ortiz@acme.ai: 7+ keys/service accounts in 10 minutes",
      expectedDedup: "sam.ortiz@acme.ai",
      expectedSeverity: "HIGH",
    },
    {
      name: "Service account created by a service-account key (counts, keyed on the service account)",
      expected: true,
      log: raw("service_account.created", serviceAccountKey(), { id: "svc_acct_x", data: { role: "member" } }),
      expectedDedup: "svc_acct_abcdefghijklmnopqrstuvwx",
    },
    {
      name: "API key deleted",
      expected: false,
      log: raw("api_key.deleted", session("sam.ortiz@acme.ai"), { id: "key_1" }),
    },
    {
      name: "Near miss: project created (not a credential)",
      expected: false,
      log: raw("project.created", session("sam.ortiz@acme.ai"), { id: "proj_1", data: { name: "tmp", title: "tmp" } }),
    },
  ],
});
