// An admin API key that never expires: a leaked copy works for ever. HIGH; admin keys manage the whole org.

import { defineRule } from "../../src/detections/define-rule.ts";
import { field, isObject, NOW_SECS, objectContext, objectDedup, objectRecord, POSTURE, runbookAt } from "./_posture.ts";

export default defineRule({
  id: "OpenAI.Posture.AdminKeyWithoutExpiry",
  displayName: "OpenAI admin API key without expiry",
  logTypes: [POSTURE],
  severity: "HIGH",
  dedupPeriodMinutes: 1440,
  description:
    "An organization admin API key has no expires_at: it stays valid until someone deletes it, so a copy that " +
    "leaked (a CI log, a laptop) keeps full admin access indefinitely.",
  reference: "https://platform.openai.com/docs/api-reference/admin-api-keys",
  runbook: runbookAt(
    "admin-key-without-expiry",
    "create a replacement admin key with an expiry and the narrowest scopes, move its users to it, delete this key.",
  ),
  tags: ["OpenAI", "Posture", "Credentials"],
  rule: (event) => isObject(event, "admin_api_key") && (field(event, "expires_at") ?? null) === null,
  title: (event) =>
    `OpenAI admin API key ${String(field(event, "name") ?? event.get("object_id"))} (${String(event.get("object_id"))}) never expires`,
  dedup: objectDedup,
  alertContext: (event) => objectContext(event, { redacted_value: field(event, "redacted_value") ?? null }),
  tests: [
    {
      name: "Admin key with expires_at null",
      expected: true,
      log: objectRecord("admin_api_key", { id: "key_abc", name: "ci-admin", expires_at: null, created_at: NOW_SECS }),
      expectedTitle: "OpenAI admin API key ci-admin (key_abc) never expires",
      expectedDedup: "admin_api_key:key_abc",
    },
    {
      name: "Admin key without an expires_at field at all",
      expected: true,
      log: objectRecord("admin_api_key", { id: "key_old", name: "legacy" }),
    },
    {
      name: "Admin key with an expiry",
      expected: false,
      log: objectRecord("admin_api_key", { id: "key_def", name: "rotating", expires_at: NOW_SECS + 86_400 }),
    },
    {
      name: "Near miss: a project key without expiry is not an admin key",
      expected: false,
      log: objectRecord("project_api_key", { id: "key_p", name: "svc", expires_at: null }, {}, {}, "proj_1"),
    },
  ],
});
