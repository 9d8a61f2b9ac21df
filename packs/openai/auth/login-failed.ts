// Row 1: every failed dashboard login, as a signal (no alert). Feeds the correlation rule
// OpenAI.BruteForce.Login.Success (auth/brute-force-then-success.yml: ≥5 of these, then an OpenAI.Login.Success
// for the same email within 30 minutes), which matches them on the normalized event's p_any_emails.

import { defineRule } from "../../../src/detections/define-rule.ts";
import { loginEmail, raw, session } from "../_auth.ts";
import { actorEmail, payloadField, sourceIp } from "../_common.ts";

const FAILED = { error_code: "invalid_credentials", error_message: "Invalid username or password" };

export default defineRule({
  id: "OpenAI.Login.Failed",
  displayName: "OpenAI failed login (signal)",
  logTypes: ["OpenAI.Audit"],
  severity: "INFO",
  createAlert: false,
  dedupPeriodMinutes: 60,
  description:
    "A failed login to the OpenAI platform. A building block only: it records a signal and never alerts by " +
    "itself; the correlation rule OpenAI.BruteForce.Login.Success alerts on 5 or more of these followed by a " +
    "successful login for the same email within 30 minutes.",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs/object",
  runbook:
    "Signal only. When it contributes to a brute-force correlation alert, review the user's recent logins in " +
    "the OpenAI dashboard (Settings > Organization > Audit logs, filter on login.failed / login.succeeded and " +
    "the email), check the source IPs and user agents, and ask the user whether the attempts were theirs.",
  reports: { MITRE: ["TA0006:T1110"] },
  tags: ["OpenAI", "Authentication", "Signal"],
  rule: (event) => event.get("type") === "login.failed",
  title: (event) => `Failed OpenAI login for ${loginEmail(event) ?? "an unknown user"}`,
  dedup: (event) => loginEmail(event) ?? sourceIp(event) ?? "unknown",
  // Who, from where and why it failed, not the whole standard context: a signal is read by correlation rules
  // alone (see OpenAI.Login.Success).
  alertContext: (event) => ({
    correlationKey: loginEmail(event) ?? "",
    actor_email: actorEmail(event),
    source_ip: sourceIp(event),
    error_code: payloadField(event, "error_code"),
    error_message: payloadField(event, "error_message"),
  }),
  tests: [
    {
      name: "Failed login (brute-force step 1 of 5: the correlation keys on this email)",
      expected: true,
      log: raw("login.failed", session("Dana.Lee@acme-robotics.com", { ip: "95.24.1.7" }), FAILED),
      expectedTitle: "Failed OpenAI login for dana.lee@acme-robotics.com",
      expectedDedup: "dana.lee@acme-robotics.com",
      expectedSeverity: "INFO",
    },
    {
      name: "Successful login is not a failure",
      expected: false,
      log: raw("login.succeeded", session("dana.lee@acme-robotics.com")),
    },
    {
      name: "Near miss: failed logout",
      expected: false,
      log: raw("logout.failed", session("dana.lee@acme-robotics.com"), {
        error_code: "session_not_found",
        error_message: "The session has already ended",
      }),
    },
  ],
});
