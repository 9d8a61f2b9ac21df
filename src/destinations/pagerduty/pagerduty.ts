// PagerDuty Events API v2 (developer.pagerduty.com/docs/events-api-v2/trigger-events).
// trigger with dedup_key = alert id; resolve with the same dedup_key when the alert is resolved.
// 202 = accepted; 400 = invalid event (not retryable); 429 and 5xx = retry.

import { z } from "zod";
import type { Severity } from "../../core/detection.ts";
import { baseConfigShape, httpUrl } from "../base-config.ts";
import { formatActor, kindPrefix, ruleLabel, truncate } from "../format.ts";
import { postWithTimeout, shorten } from "../http.ts";
import { secretRedactor } from "../redaction.ts";
import type { AlertNotification, DeliveryResult, Destination } from "../types.ts";

export const PAGERDUTY_DEFAULT_BASE_URL = "https://events.pagerduty.com";
export const PAGERDUTY_SUMMARY_MAX = 1024;
/** PagerDuty's dedup_key limit. */
const DEDUP_KEY_MAX = 255;

export const pagerdutyConfigSchema = z.object({
  ...baseConfigShape,
  type: z.literal("pagerduty"),
  /** The Events API v2 integration (routing) key; a secret. */
  routing_key: z.string().trim().min(1),
  /** Override for tests or EU accounts (https://events.eu.pagerduty.com). */
  base_url: httpUrl.default(PAGERDUTY_DEFAULT_BASE_URL),
});
export type PagerDutyConfig = z.infer<typeof pagerdutyConfigSchema>;

export type PagerDutySeverity = "critical" | "error" | "warning" | "info";

export function pagerdutySeverity(severity: Severity): PagerDutySeverity {
  switch (severity) {
    case "CRITICAL":
      return "critical";
    case "HIGH":
      return "error";
    case "MEDIUM":
      return "warning";
    default:
      return "info";
  }
}

export function buildPagerDutyEvent(n: AlertNotification, routingKey: string): Record<string, unknown> {
  const dedupKey = n.alertId.slice(0, DEDUP_KEY_MAX);
  if (n.kind === "resolved") {
    return { routing_key: routingKey, event_action: "resolve", dedup_key: dedupKey };
  }
  const event: Record<string, unknown> = {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key: dedupKey,
    client: "Vigil",
    payload: {
      summary: truncate(`[${n.severity}] ${kindPrefix(n)}${n.title}`, PAGERDUTY_SUMMARY_MAX),
      source: n.sourceName,
      severity: pagerdutySeverity(n.severity),
      timestamp: new Date(n.createdAtMs).toISOString(),
      component: n.logType,
      group: n.sourceId,
      class: n.ruleId,
      custom_details: {
        alert_id: n.alertId,
        kind: n.kind,
        rule: ruleLabel(n),
        severity: n.severity,
        status: n.status,
        match_count: n.matchCount,
        actor: formatActor(n.actor),
        description: n.description,
        runbook: n.runbook,
        reference: n.reference,
        tags: n.tags,
        reports: n.reports,
        alert_context: n.alertContext,
      },
    },
  };
  if (n.consoleUrl) {
    event.client_url = n.consoleUrl;
    event.links = [{ href: n.consoleUrl, text: "View alert in Vigil" }];
  }
  return event;
}

function describePagerDutyError(_status: number, bodyText: string): string {
  try {
    const body = JSON.parse(bodyText) as { message?: unknown; errors?: unknown };
    const message = typeof body.message === "string" ? body.message : "";
    const errors = Array.isArray(body.errors) ? body.errors.filter((e) => typeof e === "string").join("; ") : "";
    const text = [message, errors].filter(Boolean).join(": ");
    if (text) return shorten(text);
  } catch {
    // not JSON
  }
  return shorten(bodyText);
}

export function createPagerDutyDestination(config: PagerDutyConfig): Destination {
  const redact = secretRedactor([config.routing_key]);
  const url = `${config.base_url.replace(/\/+$/, "")}/v2/enqueue`;
  const label = `PagerDuty Events API ${new URL(url).host}`;
  return {
    id: config.id,
    name: config.name,
    type: "pagerduty",
    minSeverity: config.min_severity,
    ...(config.log_types ? { logTypes: config.log_types } : {}),
    async send(notification, _deliveryId, signal): Promise<DeliveryResult> {
      // Idempotency comes from dedup_key: a retried trigger for the same alert updates one incident.
      return postWithTimeout({
        label,
        url,
        body: JSON.stringify(buildPagerDutyEvent(notification, config.routing_key)),
        headers: { "Content-Type": "application/json" },
        timeoutMs: config.timeout_secs * 1000,
        signal,
        redact,
        isSuccess: (status) => status === 202 || status === 200,
        describeError: describePagerDutyError,
      });
    },
  };
}
