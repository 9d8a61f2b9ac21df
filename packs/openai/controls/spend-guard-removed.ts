// Row 24: rate limits and spend guards removed or raised far above normal: a stolen key or a rogue
// insider can then burn budget or bulk-exfiltrate through the API. Ordinary rate-limit edits (below the
// ceilings) are routine tuning and do not match; a deleted project limit (the organization's limit still
// applies) and the payload-less tenant spend-guard updates (their direction is unknown) are LOW, one alert per
// actor a day; only a raise past the ceilings is HIGH.

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { actorLabel, DAILY_DEDUP_MINUTES, standardContext } from "../_common.ts";
import { eventType, num, payloadObject, payloadText, rawEvent } from "../_controls.ts";

/**
 * Per-project rate-limit values above which a raise counts as "a lot". The API does not report the old
 * value, so these are absolute ceilings, well above the highest published usage-tier limits.
 */
export const RATE_LIMIT_CEILINGS: Readonly<Record<string, number>> = {
  max_requests_per_1_minute: 100_000,
  max_tokens_per_1_minute: 150_000_000,
  max_images_per_1_minute: 10_000,
  max_audio_megabytes_per_1_minute: 10_000,
  max_requests_per_1_day: 10_000_000,
  batch_1_day_max_input_tokens: 10_000_000_000,
};

/** Tenant spend guards. They carry no payload, so a raise cannot be told from a cut. */
const TENANT_TYPES: ReadonlySet<string> = new Set([
  "tenant.billing.overage_limit.updated",
  "tenant.usage_limit.workspace.updated",
  "tenant.usage_limit.group.updated",
  "tenant.usage_limit.user.updated",
  "tenant.usage_limit.increase_request.resolved",
  "tenant.billing.alerts.updated",
]);

function exceeded(event: PantherEvent): Record<string, number> {
  if (eventType(event) !== "rate_limit.updated") return {};
  const out: Record<string, number> = {};
  for (const [field, value] of Object.entries(payloadObject(event, "changes_requested"))) {
    const n = num(value);
    const ceiling = RATE_LIMIT_CEILINGS[field];
    if (n !== null && ceiling !== undefined && n > ceiling) out[field] = n;
  }
  return out;
}

function what(event: PantherEvent): string {
  const type = eventType(event);
  const id = payloadText(event, "id");
  if (type === "rate_limit.deleted") return `rate limit [${id ?? "unknown"}] deleted`;
  if (type === "rate_limit.updated") {
    const over = Object.keys(exceeded(event));
    return over.length > 0
      ? `rate limit [${id ?? "unknown"}] raised far above normal (${over.join(", ")})`
      : `rate limit [${id ?? "unknown"}] updated`;
  }
  return type
    .replace(/^tenant\./, "")
    .replaceAll("_", " ")
    .replaceAll(".", " ");
}

function severity(event: PantherEvent): "HIGH" | "LOW" {
  return Object.keys(exceeded(event)).length > 0 ? "HIGH" : "LOW";
}

export default defineRule({
  id: "OpenAI.Controls.SpendGuardRemoved",
  displayName: "OpenAI rate limit or spend guard removed",
  logTypes: ["OpenAI.Audit"],
  severity: "LOW",
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "A project rate limit was raised far above normal (rate_limit.updated with any " +
    "changes_requested.max_* value above a fixed ceiling, e.g. > 100k requests/min or > 150M tokens/min: " +
    "HIGH), deleted (rate_limit.deleted: LOW, the project falls back to the organization limit), or a " +
    "tenant spend guard changed (overage limit, workspace/group/user usage limits, increase requests, billing " +
    "alerts: LOW, they carry no payload). Ordinary rate-limit edits below the ceilings do not match. LOW " +
    "matches make one alert per actor a day. The API does not report the previous value, so 'raised a lot' " +
    "is an absolute ceiling.",
  reference: "https://platform.openai.com/docs/guides/rate-limits",
  runbook:
    "1. Check with the project owner / actor (alert_context.actor_email) that the limit change is approved " +
    "(alert_context.changes, exceeded_ceilings).\n" +
    "2. Look at usage for the project (Usage dashboard, usage API) since the change for a spike in requests, " +
    "tokens or batch jobs.\n" +
    "3. If unapproved, restore the limit / overage cap and rotate the API keys of the project.\n" +
    "4. Check for other changes by the same actor and IP (new keys, service accounts).",
  tags: ["OpenAI", "Impact", "Resource Hijacking", "Spend", "Configuration Change"],
  reports: { MITRE: ["TA0040:T1496", "TA0005:T1562"] },
  rule: (event) => {
    const type = eventType(event);
    if (type === "rate_limit.updated") return severity(event) === "HIGH";
    return type === "rate_limit.deleted" || TENANT_TYPES.has(type);
  },
  title: (event) => `OpenAI ${what(event)} by ${actorLabel(event)}`,
  dedup: (event) => `${actorLabel(event)}:spend_guard:${severity(event)}`,
  dynamicSeverity: severity,
  alertContext: (event) =>
    standardContext(event, {
      rate_limit_id: payloadText(event, "id"),
      changes: payloadObject(event, "changes_requested"),
      exceeded_ceilings: exceeded(event),
    }),
  tests: [
    {
      name: "Rate limit raised a thousandfold",
      expected: true,
      expectedSeverity: "HIGH",
      expectedTitle:
        "OpenAI rate limit [rl-gpt-4o] raised far above normal (max_requests_per_1_minute, max_tokens_per_1_minute) by owner@acme.test",
      log: rawEvent(
        "rate_limit.updated",
        {
          id: "rl-gpt-4o",
          changes_requested: { max_requests_per_1_minute: 5_000_000, max_tokens_per_1_minute: 2_000_000_000 },
        },
        { project: { id: "proj_1", name: "Inference" } },
      ),
    },
    {
      name: "Rate limit deleted (the organization limit still applies) → LOW",
      expected: true,
      expectedSeverity: "LOW",
      expectedTitle: "OpenAI rate limit [rl-gpt-4o] deleted by owner@acme.test",
      log: rawEvent("rate_limit.deleted", { id: "rl-gpt-4o" }, { project: { id: "proj_1", name: "Inference" } }),
    },
    {
      name: "Overage limit updated (tenant, no payload: raise or cut unknown) → LOW",
      expected: true,
      expectedSeverity: "LOW",
      expectedTitle: "OpenAI billing overage limit updated by owner@acme.test",
      log: rawEvent("tenant.billing.overage_limit.updated"),
    },
    {
      name: "Near miss: ordinary rate-limit edit below the ceilings is routine tuning",
      expected: false,
      log: rawEvent("rate_limit.updated", {
        id: "rl-gpt-4o",
        changes_requested: { max_requests_per_1_minute: 5000, max_tokens_per_1_minute: 200_000 },
      }),
    },
    {
      name: "Near miss: billing info update is not a spend guard",
      expected: false,
      log: rawEvent("tenant.billing.info.updated"),
    },
  ],
});
