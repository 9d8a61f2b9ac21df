// Row 11: the first API key a user creates (as far as Vigil has seen). Stateful: a user becomes a known key
// holder when they create a key or act with their own user API key (actor.type api_key, api_key.type
// user); the state key lasts 365 days, refreshed at most daily. LOW, inform: a first key is normal for a new
// member, but a dormant account suddenly minting keys is a classic account-takeover step.

import { defineRule } from "../../../src/detections/define-rule.ts";
import { DAY_SECS, raw, rememberDaily, session, stringList, TEST_PROJECT, userKey } from "../_auth.ts";
import { actorEmail, actorKind, payloadField, standardContext } from "../_common.ts";

const TTL_SECS = 365 * DAY_SECS;

export default defineRule({
  id: "OpenAI.APIKey.FirstForUser",
  displayName: "OpenAI user creates their first API key",
  logTypes: ["OpenAI.Audit"],
  severity: "LOW",
  dedupPeriodMinutes: 60,
  description:
    "A user creates an API key for the first time as far as Vigil has seen (365-day memory). Stateful: users " +
    "who created a key, or who act through their own user API key, are remembered as key holders. Starts " +
    "quiet only after the history has been ingested: right after onboarding, every user's first key alerts once.",
  reference: "https://platform.openai.com/docs/api-reference/project-api-keys",
  runbook:
    "Inform. 1. Check that the user is an active member who is expected to use the API (HR / team lead). " +
    "2. Review the key's permissions and project (OpenAI dashboard > Settings > Project > API keys, by key_id). " +
    "3. Look at the user's recent logins for a new location or failed attempts; if the account looks taken " +
    "over, revoke the key and the user's sessions and reset their credentials.",
  reports: { MITRE: ["TA0003:T1098.001"] },
  tags: ["OpenAI", "API Keys", "Stateful"],
  rule: (event, ctx) => {
    const email = actorEmail(event)?.toLowerCase();
    if (email === undefined) return false;
    const kind = actorKind(event);
    const key = `holder:${email}`;
    if (kind === "user_api_key") {
      rememberDaily(ctx.state, key, ctx.eventTimeSecs, TTL_SECS);
      return false;
    }
    if (event.get("type") !== "api_key.created" || kind !== "session") return false;
    return !rememberDaily(ctx.state, key, ctx.eventTimeSecs, TTL_SECS);
  },
  title: (event) => `${actorEmail(event)} created their first OpenAI API key`,
  dedup: (event) => actorEmail(event)?.toLowerCase() ?? "unknown",
  alertContext: (event) =>
    standardContext(event, {
      key_id: payloadField(event, "id"),
      scopes: stringList(payloadField(event, "data", "scopes")),
    }),
  tests: [
    {
      name: "User never seen with a key creates one",
      expected: true,
      log: raw(
        "api_key.created",
        session("new.hire@acme-robotics.com"),
        { id: "key_first000000001", data: { scopes: ["api.model.request"] } },
        { project: TEST_PROJECT },
      ),
      expectedTitle: "new.hire@acme-robotics.com created their first OpenAI API key",
      expectedSeverity: "LOW",
    },
    {
      name: "Known key holder creates another key",
      expected: false,
      state: [{ key: "holder:sam.ortiz@acme.ai", value: "20450" }],
      log: raw("api_key.created", session("sam.ortiz@acme.ai"), { id: "key_2", data: { scopes: ["api.model.read"] } }),
    },
    {
      name: "Near miss: a key created through the user's own API key (they already hold one)",
      expected: false,
      log: raw("api_key.created", userKey("dormant@acme-robotics.com"), { id: "key_3", data: { scopes: [] } }),
    },
    {
      name: "Near miss: a new user deletes a key (not a creation)",
      expected: false,
      log: raw("api_key.deleted", session("new.hire@acme-robotics.com"), { id: "key_4" }),
    },
  ],
});
