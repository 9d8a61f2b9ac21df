// Row 30: an admin action from a network (ASN) the admin has never used before. Stateful: per actor, the
// ASNs, countries and IPs seen on their admin actions, each with the earliest event time seen
// (TTL 90 days, refreshed on use, at most once a day). The first sighting of an actor only records.
//
// Order: backfills may replay history newest slice first. An origin only counts as new when the actor
// already had another origin at an EARLIER event time, so reversed history never alerts on the old,
// usual network.

import type { RuleContext, RuleState } from "../../../src/detections/define-rule.ts";
import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { touchDaily } from "../_auth.ts";
import { actorEmail, actorId, actorKind, actorLabel, geo, sourceIp, standardContext } from "../_common.ts";
import { eventType, isAdminType, rawEvent, sessionOf } from "../_controls.ts";

export const ORIGIN_TTL_SECS = 90 * 86400;

type Kind = "asn" | "country" | "ip";

interface Finding {
  newAsn: string | null;
  newCountry: string | null;
  newIp: string | null;
  knownAsns: string[];
  knownCountries: string[];
  knownIps: number;
}

/** What rule() found for an event, for title/severity/context (which run after the state writes). */
const findings = new WeakMap<PantherEvent, Finding>();

const setKey = (kind: Kind, who: string) => `set:${kind}:${who}`;
const firstKey = (kind: Kind, who: string, value: string) => `first:${kind}:${who}:${value}`;

function firstSeen(state: RuleState, kind: Kind, who: string, value: string): number | null {
  const raw = state.get(firstKey(kind, who, value));
  const n = raw === null ? Number.NaN : Number(raw);
  return Number.isFinite(n) ? n : null;
}

/** Is `value` new for the actor, while the actor had another value of this kind before `now`? */
function isNew(state: RuleState, kind: Kind, who: string, value: string | null, now: number): boolean {
  if (value === null) return false;
  const known = state.members(setKey(kind, who));
  if (known.includes(value)) return false;
  return known.some((m) => {
    const t = firstSeen(state, kind, who, m);
    return t !== null && t < now;
  });
}

/**
 * Adds the origin to the actor's, with its earliest time. Writes only what changes, and refreshes the TTL of the
 * actor's origins of this kind once a day (an admin's every action wrote six entries before). An earlier time
 * found for a known origin (a backfill reads older slices after newer ones) keeps the entry's expiry.
 */
function record(state: RuleState, kind: Kind, who: string, value: string | null, now: number): void {
  if (value === null) return;
  // Per kind: an action without this kind of origin (no ip_address_details) must not use up the day's refresh.
  const refresh = touchDaily(state, `day:${kind}:${who}`, now, ORIGIN_TTL_SECS);
  if (refresh || !state.members(setKey(kind, who)).includes(value)) {
    state.addToSet(setKey(kind, who), value, { ttlSecs: ORIGIN_TTL_SECS });
  }
  const t = firstSeen(state, kind, who, value);
  if (t === null || refresh) {
    state.put(firstKey(kind, who, value), String(t === null ? now : Math.min(t, now)), { ttlSecs: ORIGIN_TTL_SECS });
  } else if (now < t) {
    state.put(firstKey(kind, who, value), String(now));
  }
}

function evaluate(event: PantherEvent, ctx: RuleContext): Finding | null {
  if (!isAdminType(eventType(event)) || actorKind(event) !== "session") return null;
  const who = actorId(event) ?? actorEmail(event);
  const ip = sourceIp(event);
  if (who === null || ip === null) return null;
  const { asn, country } = geo(event);
  const now = ctx.eventTimeSecs;
  const s = ctx.state;
  const finding: Finding = {
    newAsn: isNew(s, "asn", who, asn, now) ? asn : null,
    newCountry: isNew(s, "country", who, country, now) ? country : null,
    newIp: isNew(s, "ip", who, ip, now) ? ip : null,
    knownAsns: s.members(setKey("asn", who)),
    knownCountries: s.members(setKey("country", who)),
    knownIps: s.members(setKey("ip", who)).length,
  };
  record(s, "asn", who, asn, now);
  record(s, "country", who, country, now);
  record(s, "ip", who, ip, now);
  return finding;
}

/** Alert on a new ASN; on a new IP only when the record has no ASN to compare. */
function alerts(f: Finding, event: PantherEvent): boolean {
  return f.newAsn !== null || (f.newIp !== null && geo(event).asn === null);
}

function findingOf(event: PantherEvent): Finding {
  return (
    findings.get(event) ?? {
      newAsn: geo(event).asn,
      newCountry: null,
      newIp: sourceIp(event),
      knownAsns: [],
      knownCountries: [],
      knownIps: 0,
    }
  );
}

/** The tests' owner, seen before from ASN 7922 in the US. */
const OWNER_SEEN_FROM_US_7922 = [
  { key: "set:asn:user-owner", members: ["7922"] },
  { key: "first:asn:user-owner:7922", value: "1790000000" },
  { key: "set:country:user-owner", members: ["US"] },
  { key: "first:country:user-owner:US", value: "1790000000" },
];

export default defineRule({
  id: "OpenAI.Admin.NewOrigin",
  displayName: "OpenAI admin action from a new network",
  logTypes: ["OpenAI.Audit"],
  severity: "MEDIUM",
  description:
    "A human admin (dashboard session) made an administrative change from an ASN they have not used for " +
    "admin actions in the last 90 days (MEDIUM), also from a new country (HIGH). Records without " +
    "ip_address_details alert LOW on a new IP. The first admin action seen for an actor only records " +
    "their origin; new IPs inside a known ASN only record. Reads actor.session.{user.id, user.email, " +
    "ip_address, ip_address_details.asn, ip_address_details.country}. Admin API key actions carry no IP " +
    "and are skipped.",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs/object",
  runbook:
    "1. Look up the new network (alert_context.new_asn, geo, source_ip): hosting/VPN providers and " +
    "countries where you have no staff are suspicious.\n" +
    "2. Contact the admin (alert_context.actor_email) out of band and ask whether they were travelling or " +
    "using a new VPN.\n" +
    "3. Review all events from this IP (logins, admin changes) and revert unexpected changes.\n" +
    "4. If not confirmed: revoke the admin's sessions, reset credentials/MFA, rotate admin API keys.",
  tags: ["OpenAI", "Anomaly", "Admin Activity", "Initial Access", "Stateful"],
  reports: { MITRE: ["TA0001:T1078", "TA0001:T1078.004"] },
  rule: (event, ctx) => {
    const finding = evaluate(event, ctx);
    if (finding === null) return false;
    findings.set(event, finding);
    return alerts(finding, event);
  },
  title: (event) => {
    const f = findingOf(event);
    const where = f.newAsn !== null ? `new ASN ${f.newAsn}` : `new IP ${f.newIp ?? sourceIp(event) ?? "unknown"}`;
    const country = geo(event).country;
    return `OpenAI admin action by ${actorLabel(event)} from ${where}${country ? ` (${country})` : ""}`;
  },
  dedup: (event) => `${actorLabel(event)}:${geo(event).asn ?? sourceIp(event) ?? ""}`,
  dynamicSeverity: (event) => {
    const f = findingOf(event);
    if (f.newAsn !== null && f.newCountry !== null) return "HIGH";
    return f.newAsn !== null ? "MEDIUM" : "LOW";
  },
  alertContext: (event) => {
    const f = findingOf(event);
    return standardContext(event, {
      new_asn: f.newAsn,
      new_country: f.newCountry,
      new_ip: f.newIp,
      known_asns: f.knownAsns,
      known_countries: f.knownCountries,
      known_ip_count: f.knownIps,
    });
  },
  tests: [
    {
      name: "Owner acts from a hosting ASN in a new country",
      expected: true,
      expectedSeverity: "HIGH",
      expectedTitle: "OpenAI admin action by owner@acme.test from new ASN 14061 (NL)",
      state: [
        ...OWNER_SEEN_FROM_US_7922,
        { key: "set:ip:user-owner", members: ["198.51.100.20"] },
        { key: "first:ip:user-owner:198.51.100.20", value: "1790000000" },
      ],
      log: rawEvent(
        "user.updated",
        { id: "user-m1", changes_requested: { role: "member" } },
        { actor: sessionOf("owner@acme.test", "188.166.10.20", { country: "NL", city: "Amsterdam", asn: "14061" }) },
      ),
    },
    {
      name: "The same with the ASN and coordinates sent as numbers: the ASN is read as its text",
      expected: true,
      expectedSeverity: "HIGH",
      expectedTitle: "OpenAI admin action by owner@acme.test from new ASN 14061 (NL)",
      state: OWNER_SEEN_FROM_US_7922,
      log: rawEvent(
        "user.updated",
        { id: "user-m1", changes_requested: { role: "member" } },
        {
          actor: sessionOf("owner@acme.test", "188.166.10.20", {
            country: "NL",
            asn: 14061,
            latitude: 52.37,
            longitude: 4.89,
          }),
        },
      ),
    },
    {
      name: "New ASN in the usual country is MEDIUM",
      expected: true,
      expectedSeverity: "MEDIUM",
      state: OWNER_SEEN_FROM_US_7922,
      log: rawEvent(
        "invite.sent",
        { id: "invite-1", data: { email: "x@acme.test", role: "member" } },
        { actor: sessionOf("owner@acme.test", "54.1.2.3", { country: "US", asn: "16509" }) },
      ),
    },
    {
      name: "First sighting of the actor only records",
      expected: false,
      log: rawEvent(
        "user.updated",
        { id: "user-m1", changes_requested: { role: "member" } },
        { actor: sessionOf("owner@acme.test", "188.166.10.20", { country: "NL", asn: "14061" }) },
      ),
    },
    {
      name: "Near miss: new IP inside a known ASN",
      expected: false,
      state: [
        { key: "set:asn:user-owner", members: ["7922"] },
        { key: "first:asn:user-owner:7922", value: "1790000000" },
        { key: "set:ip:user-owner", members: ["198.51.100.20"] },
        { key: "first:ip:user-owner:198.51.100.20", value: "1790000000" },
      ],
      log: rawEvent("api_key.deleted", { id: "key_1" }, { actor: sessionOf("owner@acme.test", "198.51.100.99") }),
    },
    {
      name: "Near miss: origins known only from later events (history replayed newest first)",
      expected: false,
      state: [
        { key: "set:asn:user-owner", members: ["7922"] },
        { key: "first:asn:user-owner:7922", value: "1799999999" },
      ],
      log: rawEvent(
        "user.updated",
        { id: "user-m1", changes_requested: { role: "member" } },
        { actor: sessionOf("owner@acme.test", "188.166.10.20", { country: "NL", asn: "14061" }) },
      ),
    },
    {
      name: "Record without geo details from a new IP is LOW",
      expected: true,
      expectedSeverity: "LOW",
      expectedTitle: "OpenAI admin action by owner@acme.test from new IP 203.0.113.50",
      state: [
        { key: "set:ip:user-owner", members: ["198.51.100.20"] },
        { key: "first:ip:user-owner:198.51.100.20", value: "1790000000" },
      ],
      log: rawEvent("api_key.deleted", { id: "key_1" }, { actor: sessionOf("owner@acme.test", "203.0.113.50", null) }),
    },
    {
      name: "Login from a new ASN is not an admin action",
      expected: false,
      state: [
        { key: "set:asn:user-owner", members: ["7922"] },
        { key: "first:asn:user-owner:7922", value: "1790000000" },
      ],
      log: rawEvent("login.succeeded", undefined, {
        actor: sessionOf("owner@acme.test", "188.166.10.20", { country: "NL", asn: "14061" }),
      }),
    },
  ],
});
