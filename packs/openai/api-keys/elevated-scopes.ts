// Row 7 (Panther OpenAI.API.Key.Anomalous.Activity, with its field-path bug fixed): an API key created or
// updated with elevated scopes. Scopes are read from api_key.created.data.scopes, and for api_key.updated
// from changes_requested.scopes (the real API) and data.scopes (older records, the spec's own example,
// and what Panther reads) — both are merged.

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import {
  actorIsKey,
  classifyScopes,
  raw,
  serviceAccountKey,
  session,
  stringList,
  TEST_PROJECT,
  userKey,
} from "../_auth.ts";
import { actorLabel, payloadField, standardContext } from "../_common.ts";

const TYPES = new Set(["api_key.created", "api_key.updated"]);

function scopes(event: PantherEvent): string[] {
  const all = [
    ...stringList(payloadField(event, "data", "scopes")),
    ...stringList(payloadField(event, "changes_requested", "scopes")),
  ];
  return [...new Set(all)];
}

export default defineRule({
  id: "OpenAI.APIKey.ElevatedScopes",
  displayName: "OpenAI API key with elevated scopes",
  logTypes: ["OpenAI.Audit"],
  severity: "HIGH",
  dedupPeriodMinutes: 60,
  description:
    "An OpenAI API key is created, or updated, with full or administrative permissions: `api.all` (the " +
    'dashboard\'s "All" permission) or a legacy `all`/`admin`, organization/key/member administration scopes ' +
    "(`api.organization.*`, the Admin API's `api.management.write`, `api.api_keys.write`, `api.members.write`, " +
    "`organization:write`, `api_keys:write`, `*.admin`, `*.owner`), or `models:write` or the Admin API's read " +
    "scope `api.management.read`. Fixes Panther's OpenAI.API.Key.Anomalous.Activity, which reads " +
    "update scopes from data.scopes although the API sends them under changes_requested.scopes (both are read " +
    "here). Severity: full access CRITICAL when an API key minted or widened it (no human session), else HIGH; " +
    "administrative scopes HIGH; models:write and api.management.read MEDIUM.",
  reference: "https://platform.openai.com/docs/api-reference/project-api-keys",
  runbook:
    "1. Open the project in the OpenAI dashboard (Settings > Project > API keys) and find the key by the " +
    "tracking id in key_id; check its name, owner and permissions. 2. Ask the actor (actor_email; for a " +
    "service-account actor, the project's owners) why the key needs these permissions; a restricted key with " +
    "only the needed scopes (e.g. api.model.request) is the norm. 3. If unexpected or unconfirmed, revoke the key " +
    "(API keys > Revoke, or DELETE /v1/organization/projects/{project_id}/api_keys/{key_id}) and review the " +
    "actor's other recent changes in the audit log. 4. If an API key was the actor, treat that key as " +
    "compromised too and revoke it.",
  reports: { MITRE: ["TA0003:T1098.001", "TA0004:T1098"] },
  tags: ["OpenAI", "API Keys", "Privilege Escalation", "Persistence"],
  rule: (event) => TYPES.has(String(event.get("type"))) && classifyScopes(scopes(event)).level !== null,
  title: (event) => {
    const verb = event.get("type") === "api_key.created" ? "created" : "updated";
    return `OpenAI API key ${verb} with elevated scopes [${classifyScopes(scopes(event)).elevated.join(", ")}] by ${actorLabel(event)}`;
  },
  dedup: (event) => `${actorLabel(event)}:${String(payloadField(event, "id") ?? "")}`,
  dynamicSeverity: (event) => {
    const level = classifyScopes(scopes(event)).level;
    if (level === "full") return actorIsKey(event) ? "CRITICAL" : "HIGH";
    if (level === "admin") return "HIGH";
    return "MEDIUM";
  },
  alertContext: (event) =>
    standardContext(event, {
      key_id: payloadField(event, "id"),
      scopes: scopes(event),
      elevated_scopes: classifyScopes(scopes(event)).elevated,
      scope_level: classifyScopes(scopes(event)).level,
    }),
  tests: [
    {
      name: "Key created with all permissions (api.all) from the dashboard → HIGH",
      expected: true,
      log: raw(
        "api_key.created",
        session("sam.ortiz@acme.ai"),
        { id: "key_abcdEFGH12345678", data: { scopes: ["api.all"] } },
        { project: TEST_PROJECT },
      ),
      expectedTitle: "OpenAI API key created with elevated scopes [api.all] by sam.ortiz@acme.ai",
      expectedSeverity: "HIGH",
    },
    {
      name: "Key widened to all permissions: scopes under changes_requested (Panther misses this) → HIGH",
      expected: true,
      log: raw(
        "api_key.updated",
        session("sam.ortiz@acme.ai"),
        { id: "key_abcdEFGH12345678", changes_requested: { scopes: ["api.all"] } },
        { project: TEST_PROJECT },
      ),
      expectedTitle: "OpenAI API key updated with elevated scopes [api.all] by sam.ortiz@acme.ai",
      expectedSeverity: "HIGH",
    },
    {
      name: "Legacy update record with data.scopes and Panther's admin scope → HIGH",
      expected: true,
      log: raw("api_key.updated", userKey("sam.ortiz@acme.ai"), {
        id: "key_abcdEFGH12345678",
        data: { scopes: ["organization:write"] },
      }),
      expectedSeverity: "HIGH",
    },
    {
      name: "Full-access key minted by a service-account key → CRITICAL",
      expected: true,
      log: raw("api_key.created", serviceAccountKey(), { id: "key_zzzzEFGH12345678", data: { scopes: ["api.all"] } }),
      expectedTitle: "OpenAI API key created with elevated scopes [api.all] by svc_acct_abcdefghijklmnopqrstuvwx",
      expectedSeverity: "CRITICAL",
    },
    {
      name: "Legacy models:write → MEDIUM",
      expected: true,
      log: raw("api_key.created", session("sam.ortiz@acme.ai"), { id: "key_1", data: { scopes: ["models:write"] } }),
      expectedSeverity: "MEDIUM",
    },
    {
      name: "Admin API key that can manage the organization (api.management.write) → HIGH",
      expected: true,
      log: raw("api_key.created", session("sam.ortiz@acme.ai"), {
        id: "key_1",
        data: { scopes: ["api.management.read", "api.management.write"] },
      }),
      expectedSeverity: "HIGH",
      expectedTitle:
        "OpenAI API key created with elevated scopes [api.management.write, api.management.read] by sam.ortiz@acme.ai",
    },
    {
      name: "Admin API key that reads the organization's users, keys and invites (api.management.read) → MEDIUM",
      expected: true,
      log: raw("api_key.created", session("sam.ortiz@acme.ai"), {
        id: "key_1",
        data: { scopes: ["api.management.read", "api.audit_logs.read"] },
      }),
      expectedSeverity: "MEDIUM",
    },
    {
      name: "Near miss: a key that reads only the audit log (api.audit_logs.read), as Vigil's own",
      expected: false,
      log: raw("api_key.created", session("sam.ortiz@acme.ai"), {
        id: "key_1",
        data: { scopes: ["api.audit_logs.read"] },
      }),
    },
    {
      name: "Restricted key (model request + files write)",
      expected: false,
      log: raw("api_key.created", session("sam.ortiz@acme.ai"), {
        id: "key_abcdEFGH12345678",
        data: { scopes: ["api.model.read", "api.model.request", "api.files.read", "api.files.write"] },
      }),
    },
    {
      name: "Near miss: api.all on an event that is not a key create/update (key deleted)",
      expected: false,
      log: raw("api_key.deleted", session("sam.ortiz@acme.ai"), {
        id: "key_abcdEFGH12345678",
        data: { scopes: ["api.all"] },
      }),
    },
    {
      name: "Near miss: update narrowing a key to read-only",
      expected: false,
      log: raw("api_key.updated", session("sam.ortiz@acme.ai"), {
        id: "key_abcdEFGH12345678",
        changes_requested: { scopes: ["api.model.read"] },
      }),
    },
  ],
});
