// Row 6: a successful login from a country or ASN never seen for that user in the last 90 days.
// Stateful: per user, one state key per country and per ASN seen (ttl 90 days, refreshed at most daily),
// plus a "has history" key. A user's first login with geo details only records the baseline and never
// alerts. Logins without ip_address_details (older records) are ignored. MEDIUM; HIGH when both the
// country and the ASN are new.

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { DAY_SECS, loginEmail, raw, rememberDaily, session } from "../_auth.ts";
import { actorId, geo, sourceIp, standardContext } from "../_common.ts";

const TTL_SECS = 90 * DAY_SECS;

interface Finding {
  newCountry: boolean;
  newAsn: boolean;
}
/** rule() decides with the state as it was before this login; the other functions read its finding. */
const findings = new WeakMap<PantherEvent, Finding>();

const userOf = (event: PantherEvent) => loginEmail(event) ?? actorId(event);

export default defineRule({
  id: "OpenAI.Login.NewCountryOrASN",
  displayName: "OpenAI login from a new country or network (ASN)",
  logTypes: ["OpenAI.Audit"],
  severity: "MEDIUM",
  dedupPeriodMinutes: 60,
  description:
    "A user logs in to OpenAI from a country or an autonomous system (ASN) not seen for them in the last 90 " +
    "days. Stateful: learns each user's countries and ASNs from their logins; a user's first login only sets " +
    "the baseline. HIGH when both the country and the ASN are new (typical of a stolen session or password " +
    "used from attacker infrastructure), MEDIUM for one of the two (travel, a new ISP, a mobile network).",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs/object",
  runbook:
    "1. In the alert context compare geo (country, city, ASN) and user_agent with the user's usual logins " +
    "(OpenAI dashboard > Settings > Organization > Audit logs, filter login.succeeded on the email). " +
    "2. Check for failed logins just before (brute force / stuffing alerts) and for what the session did " +
    "after: API keys created, invites sent, role or org-setting changes. 3. Ask the user (out of band) " +
    "whether they are travelling or on a new network/VPN. 4. If not confirmed: remove the user's sessions, " +
    "reset the password / IdP credentials, enforce MFA, and revoke any API keys created from that session.",
  reports: { MITRE: ["TA0001:T1078", "TA0005:T1078"] },
  tags: ["OpenAI", "Authentication", "Initial Access", "Stateful"],
  rule: (event, ctx) => {
    if (event.get("type") !== "login.succeeded") return false;
    const user = userOf(event);
    const { country, asn } = geo(event);
    if (user === null || (country === null && asn === null)) return false;
    const now = ctx.eventTimeSecs;
    const hadHistory = rememberDaily(ctx.state, `user:${user}`, now, TTL_SECS);
    const newCountry = country !== null && !rememberDaily(ctx.state, `country:${user}:${country}`, now, TTL_SECS);
    const newAsn = asn !== null && !rememberDaily(ctx.state, `asn:${user}:${asn}`, now, TTL_SECS);
    if (!hadHistory || (!newCountry && !newAsn)) return false;
    findings.set(event, { newCountry, newAsn });
    return true;
  },
  title: (event) => {
    const f = findings.get(event);
    const { country, asn } = geo(event);
    const what = [f?.newCountry ? `new country ${country}` : null, f?.newAsn ? `new ASN ${asn}` : null]
      .filter((x) => x !== null)
      .join(" and ");
    return `OpenAI login by ${userOf(event)} from ${what || "a new location"}`;
  },
  dedup: (event) => `${userOf(event)}:${geo(event).country ?? ""}:${geo(event).asn ?? ""}`,
  dynamicSeverity: (event) => {
    const f = findings.get(event);
    return f?.newCountry && f.newAsn ? "HIGH" : "MEDIUM";
  },
  alertContext: (event) => {
    const f = findings.get(event);
    const user = userOf(event) ?? "";
    return standardContext(event, {
      new_country: f?.newCountry ?? null,
      new_asn: f?.newAsn ?? null,
      ip_address: sourceIp(event),
      ja3: event.deepGet("actor", "session", "ja3"),
      ja4: event.deepGet("actor", "session", "ja4"),
      correlationKey: user,
      state_ttl_days: Math.round(TTL_SECS / DAY_SECS),
    });
  },
  tests: [
    {
      name: "Known US/7922 user logs in from Russia on a hosting ASN: both new → HIGH",
      expected: true,
      state: [
        { key: "user:dana.lee@acme-robotics.com", value: "20400" },
        { key: "country:dana.lee@acme-robotics.com:US", value: "20400" },
        { key: "asn:dana.lee@acme-robotics.com:7922", value: "20400" },
      ],
      log: raw(
        "login.succeeded",
        session("dana.lee@acme-robotics.com", { ip: "95.24.1.7", country: "RU", asn: "12389" }),
      ),
      expectedTitle: "OpenAI login by dana.lee@acme-robotics.com from new country RU and new ASN 12389",
      expectedSeverity: "HIGH",
    },
    {
      name: "Known user, same country but a new ASN (new ISP) → MEDIUM",
      expected: true,
      state: [
        { key: "user:dana.lee@acme-robotics.com", value: "20400" },
        { key: "country:dana.lee@acme-robotics.com:US", value: "20400" },
        { key: "asn:dana.lee@acme-robotics.com:7922", value: "20400" },
      ],
      log: raw("login.succeeded", session("dana.lee@acme-robotics.com", { country: "US", asn: "701" })),
      expectedTitle: "OpenAI login by dana.lee@acme-robotics.com from new ASN 701",
      expectedSeverity: "MEDIUM",
    },
    {
      name: "Known user from the usual country and ASN",
      expected: false,
      state: [
        { key: "user:dana.lee@acme-robotics.com", value: "20400" },
        { key: "country:dana.lee@acme-robotics.com:US", value: "20400" },
        { key: "asn:dana.lee@acme-robotics.com:7922", value: "20400" },
      ],
      log: raw("login.succeeded", session("dana.lee@acme-robotics.com", { country: "US", asn: "7922" })),
    },
    {
      name: "Near miss: the user's first login ever (from abroad) only records the baseline",
      expected: false,
      log: raw("login.succeeded", session("new.hire@acme-robotics.com", { country: "DE", asn: "24940" })),
    },
    {
      name: "Near miss: failed login from a new country (only successful logins count)",
      expected: false,
      state: [
        { key: "user:dana.lee@acme-robotics.com", value: "20400" },
        { key: "country:dana.lee@acme-robotics.com:US", value: "20400" },
      ],
      log: raw("login.failed", session("dana.lee@acme-robotics.com", { country: "RU", asn: "12389" }), {
        error_code: "invalid_credentials",
        error_message: "Invalid username or password",
      }),
    },
    {
      name: "Near miss: login without ip_address_details (older record)",
      expected: false,
      state: [{ key: "user:dana.lee@acme-robotics.com", value: "20400" }],
      log: raw("login.succeeded", session("dana.lee@acme-robotics.com", { ip: "95.24.1.7" })),
    },
  ],
});
