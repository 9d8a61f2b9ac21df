// Row 3 (Panther OpenAI.CredentialStuffing): failed logins against one email from ≥5 distinct source IPs
// within 30 minutes. Threshold 5 with unique() = source IP and dedup() = the email.

import { defineRule } from "../../../src/detections/define-rule.ts";
import { loginEmail, raw, session } from "../_auth.ts";
import { payloadField, sourceIp, standardContext } from "../_common.ts";

const FAILED = { error_code: "invalid_credentials", error_message: "Invalid username or password" };

export default defineRule({
  id: "OpenAI.Login.CredentialStuffing",
  displayName: "OpenAI credential stuffing (one user, many IPs)",
  logTypes: ["OpenAI.Audit"],
  severity: "MEDIUM",
  threshold: 5,
  dedupPeriodMinutes: 30,
  description:
    "Failed OpenAI logins for one email from 5 or more distinct source IPs within 30 minutes: leaked " +
    "credentials being tried from a proxy pool or botnet. Panther's OpenAI.CredentialStuffing.",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs/object",
  runbook:
    "1. In the OpenAI dashboard (Settings > Organization > Audit logs) filter login.failed and " +
    "login.succeeded on the email: did any attempt succeed (see also OpenAI.BruteForce.Login.Success)? " +
    "2. Look up the source IPs / ASNs in the alert's events (hosting providers, Tor, residential proxies). " +
    "3. Contact the user out of band; have them rotate their password (or their IdP password when SSO is " +
    "used) and confirm MFA is on. 4. If a login succeeded, remove the user's sessions, review API keys and " +
    "invites they created afterwards, and revoke anything unexpected. 5. Consider an IP allowlist / SSO-only login.",
  reports: { MITRE: ["TA0006:T1110.004"] },
  tags: ["OpenAI", "Authentication", "Credential Access"],
  rule: (event) => event.get("type") === "login.failed" && loginEmail(event) !== null && sourceIp(event) !== null,
  title: (event) => `Credential stuffing against ${loginEmail(event)}: failed OpenAI logins from 5+ distinct IPs`,
  dedup: (event) => loginEmail(event) ?? "unknown",
  unique: (event) => sourceIp(event) ?? "",
  alertContext: (event) =>
    standardContext(event, {
      targeted_email: loginEmail(event),
      error_code: payloadField(event, "error_code"),
    }),
  tests: [
    {
      name: "Failed login from a foreign IP (counts towards 5 distinct IPs)",
      expected: true,
      log: raw(
        "login.failed",
        session("dana.lee@acme-robotics.com", { ip: "95.24.1.7", country: "RU", asn: "12389" }),
        FAILED,
      ),
      expectedTitle:
        "Credential stuffing against dana.lee@acme-robotics.com: failed OpenAI logins from 5+ distinct IPs",
      expectedDedup: "dana.lee@acme-robotics.com",
      expectedSeverity: "MEDIUM",
    },
    {
      name: "Successful login",
      expected: false,
      log: raw("login.succeeded", session("dana.lee@acme-robotics.com", { ip: "95.24.1.7" })),
    },
    {
      name: "Near miss: failed login without a source IP (cannot be counted per IP)",
      expected: false,
      log: raw(
        "login.failed",
        { type: "session", session: { user: { id: "user-1", email: "dana.lee@acme-robotics.com" } } },
        FAILED,
      ),
    },
  ],
});
