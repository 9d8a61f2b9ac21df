// Row 2: every successful dashboard login, as a signal (no alert). The second step of the correlation rule
// OpenAI.BruteForce.Login.Success (row 4); correlationKey = the lower-cased email, as in OpenAI.Login.Failed.

import { defineRule } from "../../../src/detections/define-rule.ts";
import { loginEmail, raw, session } from "../_auth.ts";
import { actorEmail, sourceIp } from "../_common.ts";

export default defineRule({
  id: "OpenAI.Login.Success",
  displayName: "OpenAI successful login (signal)",
  logTypes: ["OpenAI.Audit"],
  severity: "INFO",
  createAlert: false,
  dedupPeriodMinutes: 60,
  description:
    "A successful login to the OpenAI platform. A building block only: it records a signal and never alerts " +
    "by itself; OpenAI.BruteForce.Login.Success alerts when it follows 5 or more failed logins for the same " +
    "email within 30 minutes.",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs/object",
  runbook:
    "Signal only. When part of a brute-force correlation alert: treat the account as compromised until shown " +
    "otherwise. In the OpenAI dashboard check what the session did next (Audit logs filtered on the email: API " +
    "keys created, invites, role changes), contact the user out of band, have them reset the password / their " +
    "IdP credentials and enable MFA, and remove the user's sessions (Settings > Organization > Members).",
  reports: { MITRE: ["TA0001:T1078"] },
  tags: ["OpenAI", "Authentication", "Signal"],
  rule: (event) => event.get("type") === "login.succeeded",
  title: (event) => `OpenAI login by ${loginEmail(event) ?? "an unknown user"}`,
  dedup: (event) => loginEmail(event) ?? sourceIp(event) ?? "unknown",
  // The correlation key, who and from where: a signal is read by correlation rules alone (it never alerts), which
  // take a field from the alert context when the event lacks it. The pack's standard context copied the whole
  // event (user agent, geo, ids) into every login's match, the most frequent match of an organization, which
  // made a match as large as its event; the event is stored beside it.
  alertContext: (event) => ({
    correlationKey: loginEmail(event) ?? "",
    actor_email: actorEmail(event),
    source_ip: sourceIp(event),
  }),
  tests: [
    {
      name: "Successful login (no payload key, as in live data)",
      expected: true,
      log: raw("login.succeeded", session("dana.lee@acme-robotics.com", { country: "US", asn: "7922" })),
      expectedTitle: "OpenAI login by dana.lee@acme-robotics.com",
      expectedDedup: "dana.lee@acme-robotics.com",
      expectedSeverity: "INFO",
    },
    {
      name: "Failed login is not a success",
      expected: false,
      log: raw("login.failed", session("dana.lee@acme-robotics.com"), {
        error_code: "invalid_credentials",
        error_message: "Invalid username or password",
      }),
    },
    {
      name: "Near miss: logout succeeded",
      expected: false,
      log: raw("logout.succeeded", session("dana.lee@acme-robotics.com")),
    },
  ],
});
