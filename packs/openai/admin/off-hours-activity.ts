// Row 29: administrative changes in the middle of the night. "Night" is 00:00–06:00 **UTC** (the rule
// has no per-org timezone; an org far from UTC should shift NIGHT_START_UTC/NIGHT_END_UTC or disable
// the rule). One event does not page: the threshold is 4 admin events by the same actor in a window.
//
// LOW, one alert per actor a day: the hour alone is weak evidence. An organization with staff from San
// Francisco to Bengaluru has owners at work during the UTC night every day (the simulated org's owners make
// a dozen admin changes a night), and an actor's usual hours cannot be learned reliably from history that a
// backfill replays newest slice first. A stolen session working at night also trips the origin and login
// rules (OpenAI.Admin.NewOrigin, OpenAI.Login.NewCountryOrASN), which carry the severity.

import { defineRule } from "../../../src/detections/define-rule.ts";
import { actorKind, actorLabel, DAILY_DEDUP_MINUTES, standardContext } from "../_common.ts";
import { eventType, isAdminType, rawEvent, sessionOf, utcHour } from "../_controls.ts";

/** The off-hours window, in UTC hours: [start, end). */
export const NIGHT_START_UTC = 0;
export const NIGHT_END_UTC = 6;
export const OFF_HOURS_THRESHOLD = 4;

const at = (hh: number, mm = 0) => Date.UTC(2026, 10, 20, hh, mm) / 1000;

export default defineRule({
  id: "OpenAI.Admin.OffHoursActivity",
  displayName: "OpenAI admin activity off hours",
  logTypes: ["OpenAI.Audit"],
  severity: "LOW",
  threshold: OFF_HOURS_THRESHOLD,
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "At least 4 administrative events (any type except logins/logouts and machine events such as token " +
    "issuance, policy resolution and user look-ups) by the same human actor between 00:00 and 06:00 UTC " +
    "within a day (one LOW alert per actor a day: the hour alone is weak evidence in an organization with " +
    "staff in several timezones). The hour is taken from effective_at in UTC. Service-account API keys are " +
    "excluded (scheduled automation runs at night).",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs/object",
  runbook:
    "1. Check whether the actor (alert_context.actor_email) works in a timezone where this is daytime, or was " +
    "on call / doing planned maintenance.\n" +
    "2. Review every admin event of the actor in the hour (invites, keys, allowlist and role changes) and the " +
    "source IP / geo of each.\n" +
    "3. If the actor does not confirm, suspend the account, revoke its sessions and API keys, and revert the " +
    "changes.",
  tags: ["OpenAI", "Anomaly", "Admin Activity", "Threshold"],
  reports: { MITRE: ["TA0001:T1078", "TA0003:T1098"] },
  rule: (event, ctx) => {
    if (!isAdminType(eventType(event))) return false;
    if (actorKind(event) === "service_account_api_key") return false;
    const hour = utcHour(ctx.eventTimeSecs);
    return hour >= NIGHT_START_UTC && hour < NIGHT_END_UTC;
  },
  title: (event, ctx) =>
    `OpenAI admin activity off hours (${String(utcHour(ctx.eventTimeSecs)).padStart(2, "0")}:00 UTC) by ${actorLabel(event)}`,
  dedup: (event) => `off-hours:${actorLabel(event)}`,
  alertContext: (event, ctx) =>
    standardContext(event, {
      utc_hour: utcHour(ctx.eventTimeSecs),
      window_utc: `${NIGHT_START_UTC}:00-${NIGHT_END_UTC}:00`,
      threshold: OFF_HOURS_THRESHOLD,
    }),
  tests: [
    {
      name: "Invite sent at 03:08 UTC",
      expected: true,
      expectedTitle: "OpenAI admin activity off hours (03:00 UTC) by owner@acme.test",
      expectedSeverity: "LOW",
      log: rawEvent(
        "invite.sent",
        { id: "invite-1", data: { email: "c@acme.test", role: "member" } },
        { at: at(3, 8) },
      ),
    },
    {
      name: "IP allowlist updated at 00:14 UTC via admin key",
      expected: true,
      log: rawEvent(
        "ip_allowlist.updated",
        { id: "ipal_1", allowed_ips: ["203.0.113.0/24"] },
        {
          at: at(0, 14),
          actor: { type: "api_key", api_key: { id: "key_a", type: "user", user: { email: "owner@acme.test" } } },
        },
      ),
    },
    {
      name: "Near miss: same change at 06:00 UTC",
      expected: false,
      log: rawEvent(
        "invite.sent",
        { id: "invite-1", data: { email: "c@acme.test", role: "member" } },
        { at: at(6, 0) },
      ),
    },
    {
      name: "Near miss: login at 03:00 UTC is not admin activity",
      expected: false,
      log: rawEvent("login.succeeded", undefined, { at: at(3, 0), actor: sessionOf("owner@acme.test") }),
    },
    {
      name: "Service-account automation at night",
      expected: false,
      log: rawEvent(
        "api_key.created",
        { id: "key_n", data: { scopes: ["api.model.request"] } },
        {
          at: at(2, 0),
          actor: {
            type: "api_key",
            api_key: { id: "key_sa", type: "service_account", service_account: { id: "svc_1" } },
          },
        },
      ),
    },
  ],
});
