// Row 8: every API key created, updated or deleted, as a signal (no alert). Keys are created and deleted all
// day by the people and scripts that use them (a simulated 10k-event day has ~700 of these): alerting on each
// buried the real findings. The risky cases alert through their own rules: elevated scopes
// (OpenAI.APIKey.ElevatedScopes), a key minted by a service-account key (OpenAI.APIKey.MintedByKey), a burst
// (OpenAI.Credentials.CreationBurst), a user's first key (OpenAI.APIKey.FirstForUser). The signal keeps its
// severity by actor kind (a dashboard session INFO, a user API key LOW, a service-account key or an unknown
// actor MEDIUM) for search and correlation.

import { defineRule } from "../../../src/detections/define-rule.ts";
import { raw, serviceAccountKey, session, stringList, TEST_PROJECT, userKey } from "../_auth.ts";
import { actorKind, actorLabel, payloadField, standardContext } from "../_common.ts";

const TYPES = new Set(["api_key.created", "api_key.updated", "api_key.deleted"]);

export default defineRule({
  id: "OpenAI.APIKey.Changed",
  displayName: "OpenAI API key created, updated or deleted",
  logTypes: ["OpenAI.Audit"],
  severity: "INFO",
  createAlert: false,
  dedupPeriodMinutes: 60,
  description:
    "An OpenAI API key was created, updated or deleted. A signal only (routine: keys are created and deleted " +
    "all day); the risky cases alert through OpenAI.APIKey.ElevatedScopes, OpenAI.APIKey.MintedByKey, " +
    "OpenAI.Credentials.CreationBurst and OpenAI.APIKey.FirstForUser. " +
    "INFO from a dashboard session, LOW from a user's API key, MEDIUM from a service-account key or an " +
    "unattributed actor (automation changing credentials).",
  reference: "https://platform.openai.com/docs/api-reference/project-api-keys",
  runbook:
    "Signal only (search it when triaging another alert of the actor). Confirm the change with the actor (actor_email) or, for a service-account actor, with the " +
    "project's owners. In the OpenAI dashboard (Settings > Project > API keys) check the key's name, owner and " +
    "permissions. Revoke keys nobody claims. Escalate if it coincides with other alerts for the actor " +
    "(new-location login, elevated scopes, key burst).",
  reports: { MITRE: ["TA0003:T1098.001"] },
  tags: ["OpenAI", "API Keys", "Signal"],
  rule: (event) => TYPES.has(String(event.get("type"))),
  title: (event) => {
    const verb = String(event.get("type")).split(".")[1] ?? "changed";
    return `OpenAI API key ${verb} by ${actorLabel(event)}`;
  },
  dedup: (event) => `${actorLabel(event)}:${String(event.get("type"))}`,
  dynamicSeverity: (event) => {
    const kind = actorKind(event);
    if (kind === "session") return "INFO";
    if (kind === "user_api_key") return "LOW";
    return "MEDIUM";
  },
  alertContext: (event) =>
    standardContext(event, {
      key_id: payloadField(event, "id"),
      scopes: [
        ...stringList(payloadField(event, "data", "scopes")),
        ...stringList(payloadField(event, "changes_requested", "scopes")),
      ],
    }),
  tests: [
    {
      name: "Key created from the dashboard → INFO",
      expected: true,
      log: raw(
        "api_key.created",
        session("sam.ortiz@acme.ai"),
        { id: "key_abcdEFGH12345678", data: { scopes: ["api.model.request"] } },
        { project: TEST_PROJECT },
      ),
      expectedTitle: "OpenAI API key created by sam.ortiz@acme.ai",
      expectedSeverity: "INFO",
    },
    {
      name: "Key deleted with a user's API key → LOW",
      expected: true,
      log: raw("api_key.deleted", userKey("sam.ortiz@acme.ai"), { id: "key_abcdEFGH12345678" }),
      expectedTitle: "OpenAI API key deleted by sam.ortiz@acme.ai",
      expectedSeverity: "LOW",
    },
    {
      name: "Key updated by a service-account key → MEDIUM",
      expected: true,
      log: raw("api_key.updated", serviceAccountKey(), {
        id: "key_abcdEFGH12345678",
        changes_requested: { scopes: ["api.model.read"] },
      }),
      expectedSeverity: "MEDIUM",
    },
    {
      name: "Service account created (not an API key event)",
      expected: false,
      log: raw("service_account.created", session("sam.ortiz@acme.ai"), { id: "svc_acct_1", data: { role: "member" } }),
    },
    {
      name: "Near miss: admin API key created (tenant event, covered by OpenAI.AdminAPIKey.Changed)",
      expected: false,
      log: raw("tenant.admin_api_key.created", session("owner@acme-robotics.com")),
    },
  ],
});
