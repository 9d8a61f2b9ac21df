// Row 5: one source IP failing to log in as ≥5 distinct emails within 30 minutes. Threshold 5 with
// unique() = the email and dedup() = the source IP.

import { defineRule } from "../../../src/detections/define-rule.ts";
import { loginEmail, raw, session } from "../_auth.ts";
import { payloadField, sourceIp, standardContext } from "../_common.ts";

const FAILED = { error_code: "invalid_credentials", error_message: "Invalid username or password" };

export default defineRule({
  id: "OpenAI.Login.PasswordSpray",
  displayName: "OpenAI password spray (one IP, many users)",
  logTypes: ["OpenAI.Audit"],
  severity: "HIGH",
  threshold: 5,
  dedupPeriodMinutes: 30,
  description:
    "One source IP fails to log in to OpenAI as 5 or more different users within 30 minutes: a password " +
    "spray against the organization's members.",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs/object",
  runbook:
    "1. In the OpenAI dashboard (Settings > Organization > Audit logs) filter login.failed and " +
    "login.succeeded on the source IP: did any of the targeted users log in from it? 2. Check the IP's owner " +
    "(ASN, hosting provider, VPN) — a corporate egress IP with a misconfigured SSO can look alike. 3. For any " +
    "user with a success from the IP: remove their sessions, rotate their password / IdP credentials, and " +
    "review what the session did (API keys, invites, role changes). 4. Block the IP at the IdP or add an " +
    "OpenAI IP allowlist; notify the targeted users.",
  reports: { MITRE: ["TA0006:T1110.003"] },
  tags: ["OpenAI", "Authentication", "Credential Access"],
  rule: (event) => event.get("type") === "login.failed" && loginEmail(event) !== null && sourceIp(event) !== null,
  title: (event) => `Password spray from ${sourceIp(event)}: failed OpenAI logins for 5+ distinct users`,
  dedup: (event) => sourceIp(event) ?? "unknown",
  unique: (event) => loginEmail(event) ?? "",
  alertContext: (event) =>
    standardContext(event, {
      targeted_email: loginEmail(event),
      error_code: payloadField(event, "error_code"),
    }),
  tests: [
    {
      name: "Failed login from a spraying IP (counts towards 5 distinct users)",
      expected: true,
      log: raw(
        "login.failed",
        session("sam.ortiz@acme.ai", { ip: "185.156.73.4", country: "RO", asn: "9009" }),
        FAILED,
      ),
      expectedTitle: "Password spray from 185.156.73.4: failed OpenAI logins for 5+ distinct users",
      expectedDedup: "185.156.73.4",
      expectedSeverity: "HIGH",
    },
    {
      name: "Successful login",
      expected: false,
      log: raw("login.succeeded", session("sam.ortiz@acme.ai", { ip: "185.156.73.4" })),
    },
    {
      name: "Near miss: failed login with no user email",
      expected: false,
      log: raw("login.failed", { type: "session", session: { ip_address: "185.156.73.4" } }, FAILED),
    },
  ],
});
