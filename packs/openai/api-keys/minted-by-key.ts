// Row 9: a credential minted by a credential: api_key.created or service_account.created whose actor is an
// API key (actor.type api_key) rather than a dashboard session. HIGH when the actor is a service account's
// key (machine identity creating more machine identities: persistence after a key leak). A user's own key
// minting keys is what provisioning scripts do all day, so it is LOW and only the first time Vigil sees that
// key mint anything (the usual actor is not news; a key that never minted before is). Stateful: acting user
// keys are remembered for 90 days, refreshed at most daily.

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import {
  actorIsKey,
  DAY_SECS,
  raw,
  rememberDaily,
  serviceAccountKey,
  session,
  stringList,
  TEST_PROJECT,
  userKey,
} from "../_auth.ts";
import { actorKind, actorLabel, payloadField, standardContext } from "../_common.ts";

const TYPES = new Set(["api_key.created", "service_account.created"]);
const MINTER_TTL_SECS = 90 * DAY_SECS;

const actingKey = (event: PantherEvent) => String(event.deepGet("actor", "api_key", "id") ?? actorLabel(event));

export default defineRule({
  id: "OpenAI.APIKey.MintedByKey",
  displayName: "OpenAI API key or service account created by an API key",
  logTypes: ["OpenAI.Audit"],
  severity: "HIGH",
  dedupPeriodMinutes: 1440,
  description:
    "An API key or a service account was created by an API key (actor.type api_key) instead of a person in " +
    "the dashboard. An attacker holding a leaked key uses it to mint more credentials for persistence. HIGH " +
    "when the acting key belongs to a service account (every time; one alert per acting key per day). A " +
    "user's own key doing it is routine for provisioning scripts: LOW, and only the first time that key is " +
    "seen minting (90-day memory).",
  reference: "https://platform.openai.com/docs/api-reference/project-service-accounts",
  runbook:
    "1. Identify the acting key: actor_id / acting_key_id (and the service account id or the key owner's " +
    "email). 2. Check with the project's owners whether an automation is supposed to create keys or service " +
    "accounts with it. 3. If not: revoke the acting key and everything it created (OpenAI dashboard > " +
    "Settings > Project > API keys / Service accounts, or DELETE /v1/organization/projects/{project_id}/" +
    "api_keys/{key_id} and .../service_accounts/{id}), then review the acting key's recent usage and audit " +
    "events for other changes.",
  reports: { MITRE: ["TA0003:T1098.001", "TA0003:T1136.003"] },
  tags: ["OpenAI", "API Keys", "Service Accounts", "Persistence"],
  rule: (event, ctx) => {
    if (!TYPES.has(String(event.get("type"))) || !actorIsKey(event)) return false;
    if (actorKind(event) === "service_account_api_key") return true;
    return !rememberDaily(ctx.state, `minter:${actingKey(event)}`, ctx.eventTimeSecs, MINTER_TTL_SECS);
  },
  title: (event) => {
    const what = event.get("type") === "api_key.created" ? "API key" : "service account";
    const by = actorKind(event) === "service_account_api_key" ? "service-account key" : "user API key";
    return `OpenAI ${what} created by a ${by} (${actorLabel(event)})`;
  },
  dedup: (event) => actingKey(event),
  dynamicSeverity: (event) => (actorKind(event) === "service_account_api_key" ? "HIGH" : "LOW"),
  alertContext: (event) =>
    standardContext(event, {
      acting_key_id: event.deepGet("actor", "api_key", "id"),
      acting_key_type: event.deepGet("actor", "api_key", "type"),
      created_id: payloadField(event, "id"),
      created_scopes: stringList(payloadField(event, "data", "scopes")),
      created_role: payloadField(event, "data", "role"),
    }),
  tests: [
    {
      name: "Service-account key creates an API key → HIGH",
      expected: true,
      log: raw(
        "api_key.created",
        serviceAccountKey(),
        { id: "key_newkey000000001", data: { scopes: ["api.model.request"] } },
        { project: TEST_PROJECT },
      ),
      expectedTitle: "OpenAI API key created by a service-account key (svc_acct_abcdefghijklmnopqrstuvwx)",
      expectedSeverity: "HIGH",
    },
    {
      name: "Service-account key creates a service account → HIGH",
      expected: true,
      log: raw("service_account.created", serviceAccountKey(), { id: "svc_acct_new", data: { role: "member" } }),
      expectedSeverity: "HIGH",
    },
    {
      name: "User API key creates an API key, the first time Vigil sees that key mint → LOW",
      expected: true,
      log: raw("api_key.created", userKey("sam.ortiz@acme.ai"), { id: "key_2", data: { scopes: ["api.model.read"] } }),
      expectedTitle: "OpenAI API key created by a user API key (sam.ortiz@acme.ai)",
      expectedSeverity: "LOW",
    },
    {
      name: "Near miss: a user API key that minted before (a provisioning script) creates another key",
      expected: false,
      state: [{ key: "minter:key_userkey000000001", value: "20450" }],
      log: raw("api_key.created", userKey("sam.ortiz@acme.ai"), { id: "key_3", data: { scopes: ["api.model.read"] } }),
    },
    {
      name: "A service-account key that minted before still alerts → HIGH",
      expected: true,
      state: [{ key: "minter:key_svcacctkey000001", value: "20450" }],
      log: raw("service_account.created", serviceAccountKey(), { id: "svc_acct_new2", data: { role: "member" } }),
      expectedSeverity: "HIGH",
    },
    {
      name: "API key created from a dashboard session",
      expected: false,
      log: raw("api_key.created", session("sam.ortiz@acme.ai"), { id: "key_3", data: { scopes: ["api.all"] } }),
    },
    {
      name: "Near miss: service-account key deletes an API key (not a creation)",
      expected: false,
      log: raw("api_key.deleted", serviceAccountKey(), { id: "key_4" }),
    },
  ],
});
