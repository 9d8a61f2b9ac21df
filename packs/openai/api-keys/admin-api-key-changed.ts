// Row 13: an admin API key created, updated or deleted (tenant.admin_api_key.*; tenant-scoped, so it needs
// a source polled with tenant_only=true). These events carry no payload: only the actor is known.
//
// Severity follows blast radius: an admin key has full control of the organization, so creating one is HIGH
// (CRITICAL when a key or an unknown actor does it), unless policy says otherwise: owners listed in
// ADMIN_KEY_MANAGERS (empty by default; edit it to name the people whose job this is) get MEDIUM. Updating or
// deleting one (renaming, revoking) narrows nothing dangerous: LOW, one alert per actor and action a day.

import { defineRule } from "../../../src/detections/define-rule.ts";
import { raw, serviceAccountKey, session, userKey } from "../_auth.ts";
import { actorEmail, actorKind, actorLabel, standardContext } from "../_common.ts";

/** Policy: the (lower-case) emails of owners who routinely manage admin keys; their creations are MEDIUM. */
export const ADMIN_KEY_MANAGERS: readonly string[] = [];

const TYPES = new Set(["tenant.admin_api_key.created", "tenant.admin_api_key.updated", "tenant.admin_api_key.deleted"]);

export default defineRule({
  id: "OpenAI.AdminAPIKey.Changed",
  displayName: "OpenAI admin API key created, updated or deleted",
  logTypes: ["OpenAI.Audit"],
  severity: "HIGH",
  dedupPeriodMinutes: 1440,
  description:
    "An organization admin API key (full control of the organization through the Admin API) was created, " +
    "updated or deleted. Tenant-scoped event: only returned when the source polls with tenant_only=true; it has " +
    "no payload, so the key itself is not named. Created HIGH (MEDIUM when the actor is listed in the " +
    "rule's ADMIN_KEY_MANAGERS policy), updated or deleted LOW; created CRITICAL and updated/deleted HIGH " +
    "whenever the actor is a service-account key or unattributed (admin keys should only be managed by " +
    "owners). One alert per actor and action a day.",
  reference: "https://platform.openai.com/docs/api-reference/admin-api-keys",
  runbook:
    "1. Confirm with the actor (an organization owner) that they created/changed the admin key and why. " +
    "2. In the OpenAI dashboard (Settings > Organization > Admin keys) list the admin keys, their names, " +
    "creators and last use; or GET /v1/organization/admin_api_keys. 3. Delete any admin key nobody claims " +
    "(DELETE /v1/organization/admin_api_keys/{key_id}) and review the audit log for what it did. 4. If the " +
    "actor was not an owner's dashboard session, treat the acting credential as compromised.",
  reports: { MITRE: ["TA0003:T1098.001", "TA0004:T1098"] },
  tags: ["OpenAI", "API Keys", "Admin", "Tenant"],
  rule: (event) => TYPES.has(String(event.get("type"))),
  title: (event) => {
    const verb = String(event.get("type")).split(".").pop() ?? "changed";
    return `OpenAI admin API key ${verb} by ${actorLabel(event)}`;
  },
  dedup: (event) => `${actorLabel(event)}:${String(event.get("type"))}`,
  dynamicSeverity: (event) => {
    const kind = actorKind(event);
    const created = event.get("type") === "tenant.admin_api_key.created";
    if (kind === "service_account_api_key" || kind === "unknown") return created ? "CRITICAL" : "HIGH";
    if (!created) return "LOW";
    return ADMIN_KEY_MANAGERS.includes(actorEmail(event)?.toLowerCase() ?? "") ? "MEDIUM" : "HIGH";
  },
  alertContext: (event) => standardContext(event, { action: String(event.get("type")).split(".").pop() }),
  tests: [
    {
      name: "Owner creates an admin key in the dashboard → HIGH (full control of the organization)",
      expected: true,
      log: raw("tenant.admin_api_key.created", session("owner@acme-robotics.com")),
      expectedTitle: "OpenAI admin API key created by owner@acme-robotics.com",
      expectedSeverity: "HIGH",
    },
    {
      name: "Admin key renamed by an owner → LOW",
      expected: true,
      log: raw("tenant.admin_api_key.updated", session("owner@acme-robotics.com")),
      expectedSeverity: "LOW",
    },
    {
      name: "Admin key deleted with an owner's key → LOW",
      expected: true,
      log: raw("tenant.admin_api_key.deleted", userKey("owner@acme-robotics.com")),
      expectedSeverity: "LOW",
    },
    {
      name: "Admin key created by a service-account key → CRITICAL",
      expected: true,
      log: raw("tenant.admin_api_key.created", serviceAccountKey()),
      expectedSeverity: "CRITICAL",
    },
    {
      name: "Project API key created (tenant event, not an admin key)",
      expected: false,
      log: raw("tenant.project_api_key.created", session("owner@acme-robotics.com")),
    },
    {
      name: "Near miss: a regular api_key.created",
      expected: false,
      log: raw("api_key.created", session("owner@acme-robotics.com"), { id: "key_1", data: { scopes: ["api.all"] } }),
    },
  ],
});
