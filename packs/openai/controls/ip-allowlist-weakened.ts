// Row 17: IP allowlist removed or weakened. Fixes Panther's OpenAI.IP.Allowlist.Changes, which rates
// every update HIGH whatever it changes: here an update is HIGH only when it allows any (or a very
// wide) range of addresses.

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { actorLabel, DAILY_DEDUP_MINUTES, payloadField, standardContext } from "../_common.ts";
import { eventType, namedItems, payloadText, strings, wideEntries } from "../_controls.ts";

const TYPES = new Set([
  "ip_allowlist.created",
  "ip_allowlist.updated",
  "ip_allowlist.deleted",
  "ip_allowlist.config.activated",
  "ip_allowlist.config.deactivated",
]);
const REMOVALS = new Set(["ip_allowlist.deleted", "ip_allowlist.config.deactivated"]);
const WIDENING = new Set(["ip_allowlist.created", "ip_allowlist.updated", "ip_allowlist.config.activated"]);

function allowedIps(event: PantherEvent): string[] {
  return strings(payloadField(event, "allowed_ips"));
}

function widened(event: PantherEvent): { any: string[]; wide: string[] } {
  return WIDENING.has(eventType(event)) ? wideEntries(allowedIps(event)) : { any: [], wide: [] };
}

function listNames(event: PantherEvent): string {
  const name = payloadText(event, "name");
  if (name) return name;
  const configs = namedItems(payloadField(event, "configs"))
    .map((c) => c.name ?? c.id)
    .filter((n): n is string => n !== null);
  if (configs.length > 0) return configs.join(", ");
  return payloadText(event, "id") ?? "an IP allowlist";
}

function severity(event: PantherEvent): "CRITICAL" | "HIGH" | "LOW" {
  if (REMOVALS.has(eventType(event))) return "CRITICAL";
  const w = widened(event);
  return w.any.length > 0 || w.wide.length > 0 ? "HIGH" : "LOW";
}

export default defineRule({
  id: "OpenAI.Controls.IPAllowlistWeakened",
  displayName: "OpenAI IP allowlist removed or weakened",
  logTypes: ["OpenAI.Audit"],
  severity: "LOW",
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "An organization IP allowlist was deleted or deactivated (CRITICAL: API access is no longer restricted by " +
    "source address), or created/updated/activated with an entry allowing any address (0.0.0.0/0, ::/0: " +
    "HIGH) or a very wide range (IPv4 shorter than /8, IPv6 shorter than /32: HIGH). Other allowlist changes " +
    "(adding a narrow range, creating or activating a list) strengthen the control: LOW. One alert per " +
    "actor and severity a day.",
  reference: "https://help.openai.com/en/articles/10479289-ip-allowlisting",
  runbook:
    "1. Confirm the change with the actor (alert_context.actor_email) out of band; an owner acting from an " +
    "unusual IP (source_ip, geo) or at an unusual time is suspicious.\n" +
    "2. For a deletion/deactivation, check the Security > IP allowlist settings and restore the list or " +
    "re-activate the configuration if the change was not planned.\n" +
    "3. For a wide entry (alert_context.any_address_entries / wide_entries), replace it with the intended " +
    "egress ranges.\n" +
    "4. Review API activity and admin events after the change (same actor, same source IP) for follow-on " +
    "actions such as new API keys or invites.",
  tags: ["OpenAI", "Defense Evasion", "Network Controls", "Configuration Change"],
  reports: { MITRE: ["TA0005:T1562.007", "TA0005:T1556"] },
  rule: (event) => TYPES.has(eventType(event)),
  title: (event) => {
    const type = eventType(event);
    const who = actorLabel(event);
    const target = listNames(event);
    if (type === "ip_allowlist.deleted") return `OpenAI IP allowlist [${target}] deleted by ${who}`;
    if (type === "ip_allowlist.config.deactivated") return `OpenAI IP allowlist [${target}] deactivated by ${who}`;
    const w = widened(event);
    if (w.any.length > 0)
      return `OpenAI IP allowlist [${target}] opened to any address (${w.any.join(", ")}) by ${who}`;
    if (w.wide.length > 0) return `OpenAI IP allowlist [${target}] widened to ${w.wide.join(", ")} by ${who}`;
    return `OpenAI IP allowlist [${target}] changed (${type}) by ${who}`;
  },
  dedup: (event) => `${actorLabel(event)}:ip_allowlist:${severity(event)}`,
  dynamicSeverity: severity,
  alertContext: (event) => {
    const w = widened(event);
    return standardContext(event, {
      allowlist_id: payloadText(event, "id"),
      allowlist_name: payloadText(event, "name"),
      allowed_ips: allowedIps(event),
      configs: namedItems(payloadField(event, "configs")),
      any_address_entries: w.any,
      wide_entries: w.wide,
    });
  },
  tests: [
    {
      name: "Allowlist deleted",
      expected: true,
      expectedSeverity: "CRITICAL",
      expectedTitle: "OpenAI IP allowlist [Office] deleted by owner@acme.test",
      log: {
        object: "organization.audit_log",
        id: "audit_log-ipal1",
        type: "ip_allowlist.deleted",
        effective_at: 1763650800,
        actor: {
          type: "session",
          session: { user: { id: "user-own1", email: "owner@acme.test" }, ip_address: "203.0.113.7" },
        },
        "ip_allowlist.deleted": { id: "ipal_1", name: "Office", allowed_ips: ["198.51.100.0/24"] },
      },
    },
    {
      name: "Allowlist config deactivated",
      expected: true,
      expectedSeverity: "CRITICAL",
      expectedTitle: "OpenAI IP allowlist [Office] deactivated by owner@acme.test",
      log: {
        id: "audit_log-ipal2",
        type: "ip_allowlist.config.deactivated",
        effective_at: 1763650800,
        actor: { type: "session", session: { user: { email: "owner@acme.test" }, ip_address: "203.0.113.7" } },
        "ip_allowlist.config.deactivated": { configs: [{ id: "ipal_1", name: "Office" }] },
      },
    },
    {
      name: "Allowlist opened to 0.0.0.0/0",
      expected: true,
      expectedSeverity: "HIGH",
      expectedTitle: "OpenAI IP allowlist [ipal_1] opened to any address (0.0.0.0/0) by owner@acme.test",
      log: {
        id: "audit_log-ipal3",
        type: "ip_allowlist.updated",
        effective_at: 1763650800,
        actor: { type: "session", session: { user: { email: "owner@acme.test" }, ip_address: "203.0.113.7" } },
        "ip_allowlist.updated": { id: "ipal_1", allowed_ips: ["0.0.0.0/0"] },
      },
    },
    {
      name: "Allowlist created with ::/0 via admin key",
      expected: true,
      expectedSeverity: "HIGH",
      log: {
        id: "audit_log-ipal4",
        type: "ip_allowlist.created",
        effective_at: 1763650800,
        actor: { type: "api_key", api_key: { id: "key_admin", type: "user", user: { email: "owner@acme.test" } } },
        "ip_allowlist.created": { id: "ipal_2", name: "v6", allowed_ips: ["2001:db8::/48", "::/0"] },
      },
    },
    {
      name: "Near miss: allowlist updated with a /32 added (LOW)",
      expected: true,
      expectedSeverity: "LOW",
      log: {
        id: "audit_log-ipal5",
        type: "ip_allowlist.updated",
        effective_at: 1763650800,
        actor: { type: "session", session: { user: { email: "owner@acme.test" }, ip_address: "203.0.113.7" } },
        "ip_allowlist.updated": { id: "ipal_1", allowed_ips: ["198.51.100.0/24", "192.0.2.7/32", "10.0.0.0/9"] },
      },
    },
    {
      name: "Near miss: very wide /4 range is HIGH",
      expected: true,
      expectedSeverity: "HIGH",
      log: {
        id: "audit_log-ipal6",
        type: "ip_allowlist.updated",
        effective_at: 1763650800,
        actor: { type: "session", session: { user: { email: "owner@acme.test" } } },
        "ip_allowlist.updated": { id: "ipal_1", allowed_ips: ["0.0.0.0/4"] },
      },
    },
    {
      name: "Other event type",
      expected: false,
      log: {
        id: "audit_log-ipal7",
        type: "certificate.created",
        effective_at: 1763650800,
        actor: { type: "session", session: { user: { email: "owner@acme.test" } } },
        "certificate.created": { id: "cert_1", name: "corp" },
      },
    },
  ],
});
