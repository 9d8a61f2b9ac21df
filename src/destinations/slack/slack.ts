// Slack incoming webhook with a Block Kit message.
// Limits (api.slack.com/reference/block-kit/blocks): header text 150 chars; section text 3000 chars; each
// section field 2000 chars and at most 10 fields; button text 75 chars; button url 3000 chars; 50 blocks.

import { z } from "zod";
import { baseConfigShape, httpUrl } from "../base-config.ts";
import {
  contextJson,
  formatActor,
  formatTime,
  kindPrefix,
  reportsText,
  ruleLabel,
  SEVERITY_EMOJI,
  truncate,
} from "../format.ts";
import { postWithTimeout } from "../http.ts";
import { redactUrl, secretRedactor } from "../redaction.ts";
import type { AlertNotification, DeliveryResult, Destination } from "../types.ts";

export const SLACK_LIMITS = {
  headerText: 150,
  sectionText: 3000,
  fieldText: 2000,
  buttonText: 75,
  buttonUrl: 3000,
  fallbackText: 3000,
} as const;

export const slackConfigSchema = z.object({
  ...baseConfigShape,
  type: z.literal("slack"),
  /** The incoming webhook URL; its path is a secret token. */
  webhook_url: httpUrl,
});
export type SlackConfig = z.infer<typeof slackConfigSchema>;

/** Escapes the three characters Slack's mrkdwn treats as control characters (so `<url|text>` cannot be forged). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Escapes, then cuts to `max` characters without leaving half an entity behind. */
function mrkdwn(raw: string, max: number): string {
  const escaped = escapeMrkdwn(raw);
  if (escaped.length <= max) return escaped;
  const suffix = "… (truncated)";
  const cut = escaped.slice(0, max - suffix.length).replace(/&[a-z]{0,3}$/, "");
  return cut + suffix;
}

/** A code block holding `raw`, at most `max` characters in all. */
function codeBlock(raw: string, max: number): string {
  // A ``` inside the text would close the block early: break it with a zero-width space.
  const safe = escapeMrkdwn(raw.replace(/```/g, "`\u200b``"));
  const fence = "```";
  const room = max - fence.length * 2 - 1;
  if (safe.length <= room) return `${fence}\n${safe}${fence}`;
  const suffix = "\n… (truncated)";
  const cut = safe.slice(0, room - suffix.length).replace(/&[a-z]{0,3}$/, "");
  return `${fence}\n${cut}${suffix}${fence}`;
}

type Block = Record<string, unknown>;

export function buildSlackMessage(n: AlertNotification): { text: string; blocks: Block[] } {
  const emoji = SEVERITY_EMOJI[n.severity];
  if (n.kind === "resolved") {
    const text = `✅ Resolved: ${n.title}`;
    const blocks: Block[] = [
      {
        type: "section",
        text: {
          type: "mrkdwn",
          text: mrkdwn(
            `✅ Resolved: ${n.title}\n${n.severity} · ${ruleLabel(n)} · ${n.sourceName} · ${formatTime(n.updatedAtMs)}`,
            SLACK_LIMITS.sectionText,
          ),
        },
      },
    ];
    if (n.consoleUrl && n.consoleUrl.length <= SLACK_LIMITS.buttonUrl) blocks.push(linkButton(n.consoleUrl));
    return { text: mrkdwn(text, SLACK_LIMITS.fallbackText), blocks };
  }

  const headerRaw = `${emoji} ${kindPrefix(n)}${n.title}`;
  const blocks: Block[] = [
    {
      type: "header",
      // plain_text: no escaping needed, Slack renders it verbatim.
      text: { type: "plain_text", text: truncate(headerRaw, SLACK_LIMITS.headerText, "…"), emoji: true },
    },
  ];
  const fields: Array<[string, string]> = [
    ["Severity", `${emoji} ${n.severity}`],
    ["Rule", ruleLabel(n)],
    ["Source", `${n.sourceName} (${n.logType})`],
    ["Actor", formatActor(n.actor) ?? "unknown"],
    ["Time", formatTime(n.createdAtMs)],
    ["Matches", String(n.matchCount)],
  ];
  blocks.push({
    type: "section",
    fields: fields.map(([label, value]) => ({
      type: "mrkdwn",
      text: `*${label}*\n${mrkdwn(value, SLACK_LIMITS.fieldText - label.length - 3)}`,
    })),
  });
  if (n.kind === "test") {
    blocks.push({
      type: "context",
      elements: [{ type: "mrkdwn", text: "This is a test notification from `vigil destinations test`." }],
    });
  }
  if (n.description) {
    blocks.push({ type: "section", text: { type: "mrkdwn", text: mrkdwn(n.description, SLACK_LIMITS.sectionText) } });
  }
  const context = contextJson(n);
  if (context) {
    blocks.push({ type: "section", text: { type: "mrkdwn", text: codeBlock(context, SLACK_LIMITS.sectionText) } });
  }
  if (n.runbook) {
    const label = "*Runbook*\n";
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: label + mrkdwn(truncate(n.runbook, 500), SLACK_LIMITS.sectionText - label.length) },
    });
  }
  const reports = reportsText(n);
  const extras = [reports, n.tags.length > 0 ? `Tags: ${n.tags.join(", ")}` : null].filter((x): x is string => !!x);
  if (extras.length > 0) {
    blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: mrkdwn(extras.join(" · "), 2000) }] });
  }
  if (n.consoleUrl && n.consoleUrl.length <= SLACK_LIMITS.buttonUrl) blocks.push(linkButton(n.consoleUrl));
  // The top-level text is mrkdwn too (notifications, and clients that do not show blocks): escaped like the rest.
  const text = `${emoji} [${n.severity}] ${kindPrefix(n)}${n.title}`;
  return { text: mrkdwn(text, SLACK_LIMITS.fallbackText), blocks };
}

function linkButton(url: string): Block {
  return {
    type: "actions",
    elements: [{ type: "button", text: { type: "plain_text", text: "Open in Vigil" }, url }],
  };
}

export function createSlackDestination(config: SlackConfig): Destination {
  const redact = secretRedactor([config.webhook_url]);
  const label = `Slack webhook ${redactUrl(config.webhook_url)}`;
  const destination: Destination = {
    id: config.id,
    name: config.name,
    type: "slack",
    minSeverity: config.min_severity,
    ...(config.log_types ? { logTypes: config.log_types } : {}),
    async send(notification, _deliveryId, signal): Promise<DeliveryResult> {
      // Slack webhooks have no idempotency key; the outbox retries only retryable failures.
      return postWithTimeout({
        label,
        url: config.webhook_url,
        body: JSON.stringify(buildSlackMessage(notification)),
        headers: { "Content-Type": "application/json" },
        timeoutMs: config.timeout_secs * 1000,
        signal,
        redact,
      });
    },
  };
  return destination;
}
