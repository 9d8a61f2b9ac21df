// Row 15: an invitation to an email domain outside the organization (invite.sent data.email).
//
// The organization's domains are (a) the ORG_EMAIL_DOMAINS allow-list below — empty by default; edit it to
// pin them — plus (b) learned: every event whose actor has an email (dashboard session or user API key)
// teaches the rule that actor's domain (rule state, 180-day TTL refreshed daily). The inviter's own domain
// is learned before the check, so invites to one's own domain never alert. Free-mail domains are never
// treated as the org's. MEDIUM; HIGH when the invite grants owner or goes to a free-mail domain as owner.

import { FREE_MAIL_DOMAINS } from "../../../src/core/email-domains.ts";
import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { DAY_SECS, lowerText, raw, rememberDaily, session } from "../_auth.ts";
import { actorEmail, actorLabel, emailDomain, payloadField, standardContext } from "../_common.ts";

/** The organization's email domains, lower-case (optional: domains are also learned from actors). */
export const ORG_EMAIL_DOMAINS: readonly string[] = [];

const TTL_SECS = 180 * DAY_SECS;

const invitee = (event: PantherEvent) => lowerText(payloadField(event, "data", "email"));
const inviteeDomain = (event: PantherEvent) => emailDomain(invitee(event));

export default defineRule({
  id: "OpenAI.Users.InviteOutsideDomain",
  displayName: "OpenAI invite to an outside email domain",
  logTypes: ["OpenAI.Audit"],
  severity: "MEDIUM",
  dedupPeriodMinutes: 60,
  description:
    "An invitation (invite.sent) to an email whose domain is not one of the organization's: neither in the " +
    "ORG_EMAIL_DOMAINS allow-list of the rule nor learned from the emails of the organization's own actors " +
    "(180-day memory). Free-mail domains never count as the organization's. MEDIUM; HIGH when the invite " +
    "grants the owner role. Early on, before the rule has seen an actor from every org domain, an invite to a " +
    "rarely-used org domain can alert once: add it to ORG_EMAIL_DOMAINS.",
  reference: "https://platform.openai.com/docs/api-reference/invite",
  runbook:
    "1. Check the invited address (invitee_email) and role with the actor: contractor, partner, personal " +
    "address? 2. Organization policy usually requires corporate addresses (or SSO) for members. 3. If not " +
    "approved, delete the pending invite in the OpenAI dashboard (Settings > Organization > Members > " +
    "Invites) or DELETE /v1/organization/invites/{invite_id}; if already accepted (invite.accepted), remove " +
    "the user. 4. If the domain is legitimately the org's, add it to ORG_EMAIL_DOMAINS in this rule.",
  reports: { MITRE: ["TA0003:T1136.003", "TA0003:T1098"] },
  tags: ["OpenAI", "Users", "Persistence", "Stateful"],
  rule: (event, ctx) => {
    const own = emailDomain(actorEmail(event));
    if (own !== null && !FREE_MAIL_DOMAINS.has(own))
      rememberDaily(ctx.state, `domain:${own}`, ctx.eventTimeSecs, TTL_SECS);
    if (event.get("type") !== "invite.sent") return false;
    const domain = inviteeDomain(event);
    if (domain === null) return false;
    if (FREE_MAIL_DOMAINS.has(domain)) return true;
    if (ORG_EMAIL_DOMAINS.includes(domain)) return false;
    return ctx.state.get(`domain:${domain}`) === null;
  },
  title: (event) =>
    `OpenAI invite to outside domain ${inviteeDomain(event)}: ${invitee(event)} invited as ${String(payloadField(event, "data", "role") ?? "member")} by ${actorLabel(event)}`,
  dedup: (event) => invitee(event) ?? "unknown",
  dynamicSeverity: (event) => (lowerText(payloadField(event, "data", "role")) === "owner" ? "HIGH" : "MEDIUM"),
  alertContext: (event) =>
    standardContext(event, {
      invite_id: payloadField(event, "id"),
      invitee_email: invitee(event),
      invitee_domain: inviteeDomain(event),
      invited_role: payloadField(event, "data", "role"),
      free_mail: FREE_MAIL_DOMAINS.has(inviteeDomain(event) ?? ""),
    }),
  tests: [
    {
      name: "Free-mail address invited as owner → HIGH",
      expected: true,
      state: [{ key: "domain:acme-robotics.com", value: "20450" }],
      log: raw("invite.sent", session("owner@acme-robotics.com"), {
        id: "invite-abcdefghijklmnopqrstuvwx",
        data: { email: "acme.ops.42@gmail.com", role: "owner" },
      }),
      expectedTitle:
        "OpenAI invite to outside domain gmail.com: acme.ops.42@gmail.com invited as owner by owner@acme-robotics.com",
      expectedSeverity: "HIGH",
    },
    {
      name: "Unknown corporate domain invited as member → MEDIUM",
      expected: true,
      state: [
        { key: "domain:acme-robotics.com", value: "20450" },
        { key: "domain:acme.ai", value: "20450" },
      ],
      log: raw("invite.sent", session("owner@acme-robotics.com"), {
        id: "invite-2",
        data: { email: "j.doe@competitor.example", role: "member" },
      }),
      expectedSeverity: "MEDIUM",
    },
    {
      name: "Invite to a learned org domain (the subsidiary's)",
      expected: false,
      state: [{ key: "domain:acme.ai", value: "20450" }],
      log: raw("invite.sent", session("owner@acme-robotics.com"), {
        id: "invite-3",
        data: { email: "new.hire@acme.ai", role: "member" },
      }),
    },
    {
      name: "Near miss: invite to the inviter's own domain with no history (learned from the inviter)",
      expected: false,
      log: raw("invite.sent", session("owner@acme-robotics.com"), {
        id: "invite-4",
        data: { email: "new.hire@ACME-robotics.com", role: "member" },
      }),
    },
    {
      name: "Near miss: user added with an outside id (user.added carries no email)",
      expected: false,
      log: raw("user.added", session("owner@acme-robotics.com"), { id: "user-x", data: { role: "member" } }),
    },
  ],
});
