// SMTP email through nodemailer: a plain-text part and an HTML part in which every alert field is escaped
// (titles and contexts come from attacker-controlled events).
//
// Retry policy (RFC 5321 §4.2.1): a 4yz reply is a *transient* negative completion ("try again later": greylisting,
// mailbox busy, rate limits) and connection-level failures (refused, reset, timeout, DNS) are transient too, so both
// are retryable. A 5yz reply is a *permanent* negative completion: the server will give the same answer to the same
// message (unknown recipient, relaying denied, bad credentials, message rejected), so retrying cannot help and an
// operator has to fix the configuration.

import { createTransport } from "nodemailer";
import { z } from "zod";
import { isHostName, isLoopbackHost } from "../../core/outbound.ts";
import { baseConfigShape } from "../base-config.ts";
import {
  contextJson,
  escapeHtml,
  formatActor,
  formatTime,
  kindPrefix,
  reportsText,
  ruleLabel,
  truncate,
} from "../format.ts";
import { secretRedactor } from "../redaction.ts";
import type { AlertNotification, DeliveryResult, Destination } from "../types.ts";

const email = z.email();

export const emailConfigSchema = z.object({
  ...baseConfigShape,
  type: z.literal("email"),
  host: z
    .string()
    .trim()
    .min(1)
    .refine(isHostName, { message: "a host name or IP address (letters, digits, dots and hyphens)" }),
  port: z.number().int().min(1).max(65535).default(587),
  /** Implicit TLS (usually port 465). */
  secure: z.boolean().default(false),
  /**
   * Refuse to send unless the server upgrades the connection with STARTTLS. Implied for every host but a
   * loopback one (see requiresStartTls); kept for configs that set it.
   */
  require_tls: z.boolean().default(false),
  /**
   * Send without TLS (no STARTTLS) to a host that is not loopback: the password and the alerts then cross
   * the network in clear text. Off unless set explicitly.
   */
  allow_plaintext: z.boolean().default(false),
  /** Only for servers with self-signed certificates; keep true otherwise. */
  tls_reject_unauthorized: z.boolean().default(true),
  auth: z.object({ user: z.string().min(1), pass: z.string().min(1) }).optional(),
  from: z.string().min(3),
  to: z.array(email).min(1).max(50),
});
export type EmailConfig = z.infer<typeof emailConfigSchema>;

/** Subject lines are one line: attacker-controlled titles must not inject headers or folding. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\t\u0000-\u001f\u007f]+/g, " ").trim();
}

export function emailSubject(n: AlertNotification): string {
  return truncate(oneLine(`[Vigil][${n.severity}] ${kindPrefix(n)}${n.title}`), 250, "…");
}

const MAX_CONTEXT_CHARS = 20_000;

function rows(n: AlertNotification): Array<[string, string]> {
  const out: Array<[string, string]> = [
    ["Severity", n.severity],
    ["Status", n.status],
    ["Rule", ruleLabel(n)],
    ["Source", `${n.sourceName} (${n.logType})`],
    ["Actor", formatActor(n.actor) ?? "unknown"],
    ["Created", formatTime(n.createdAtMs)],
    ["Updated", formatTime(n.updatedAtMs)],
    ["Matches", String(n.matchCount)],
    ["Alert ID", n.alertId],
  ];
  const reports = reportsText(n);
  if (reports) out.push(["Reports", reports]);
  if (n.tags.length > 0) out.push(["Tags", n.tags.join(", ")]);
  if (n.reference) out.push(["Reference", n.reference]);
  return out;
}

export function emailText(n: AlertNotification): string {
  const lines: string[] = [];
  if (n.kind === "test") lines.push("This is a test notification from `vigil destinations test`.", "");
  lines.push(`${kindPrefix(n)}${n.title}`, "");
  for (const [label, value] of rows(n)) lines.push(`${label}: ${value}`);
  if (n.description) lines.push("", "Description:", n.description);
  if (n.runbook) lines.push("", "Runbook:", n.runbook);
  const context = contextJson(n);
  if (context) lines.push("", "Alert context:", truncate(context, MAX_CONTEXT_CHARS));
  if (n.consoleUrl) lines.push("", `Open in Vigil: ${n.consoleUrl}`);
  return `${lines.join("\n")}\n`;
}

export function emailHtml(n: AlertNotification): string {
  const e = escapeHtml;
  const parts: string[] = ['<!doctype html><html><body style="font-family:sans-serif">'];
  if (n.kind === "test")
    parts.push("<p><em>This is a test notification from <code>vigil destinations test</code>.</em></p>");
  parts.push(`<h2>${e(`${kindPrefix(n)}${n.title}`)}</h2>`, '<table cellpadding="4">');
  for (const [label, value] of rows(n)) parts.push(`<tr><th align="left">${e(label)}</th><td>${e(value)}</td></tr>`);
  parts.push("</table>");
  if (n.description) parts.push(`<h3>Description</h3><p style="white-space:pre-wrap">${e(n.description)}</p>`);
  if (n.runbook) parts.push(`<h3>Runbook</h3><p style="white-space:pre-wrap">${e(n.runbook)}</p>`);
  const context = contextJson(n);
  if (context) parts.push(`<h3>Alert context</h3><pre>${e(truncate(context, MAX_CONTEXT_CHARS))}</pre>`);
  if (n.consoleUrl && /^https?:\/\//i.test(n.consoleUrl)) {
    parts.push(`<p><a href="${e(n.consoleUrl)}">Open in Vigil</a></p>`);
  }
  parts.push("</body></html>");
  return parts.join("\n");
}

interface SmtpError {
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
  message?: unknown;
}

/** Classifies a nodemailer error: SMTP 4xx and connection failures are retryable, SMTP 5xx are not. */
export function classifySmtpError(err: unknown, redact: (t: string) => string, label: string): DeliveryResult {
  const e = (err ?? {}) as SmtpError;
  const responseCode = typeof e.responseCode === "number" ? e.responseCode : undefined;
  const code = typeof e.code === "string" ? e.code : undefined;
  const reply = typeof e.response === "string" ? e.response : typeof e.message === "string" ? e.message : String(err);
  const reason = redact(oneLine(reply)).slice(0, 300);
  if (responseCode !== undefined) {
    const permanent = responseCode >= 500;
    return {
      ok: false,
      retryable: !permanent,
      status: responseCode,
      error: `${label} rejected the message with SMTP ${responseCode}${permanent ? " (permanent)" : " (temporary)"}: ${reason}`,
    };
  }
  if (code === "EAUTH" || code === "ENOAUTH" || code === "EENVELOPE" || code === "EMESSAGE" || code === "ETLS") {
    return { ok: false, retryable: false, error: `${label}: ${code}: ${reason}` };
  }
  return { ok: false, retryable: true, error: `${label} could not be reached${code ? ` (${code})` : ""}: ${reason}` };
}

/** A Message-ID derived from the delivery id, so a receiving system can drop duplicates of a retried delivery. */
function messageId(deliveryId: string): string {
  const local = deliveryId.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 200) || "delivery";
  return `<${local}@vigil.invalid>`;
}

/**
 * Whether the connection must be upgraded with STARTTLS before anything (AUTH included) is sent: always,
 * unless it is TLS from the start (`secure`), the host is loopback, or the user opted out (`allow_plaintext`).
 * Without this, nodemailer sends AUTH in clear text to a server that offers no STARTTLS.
 */
export function requiresStartTls(config: Pick<EmailConfig, "host" | "secure" | "require_tls" | "allow_plaintext">) {
  if (config.secure) return false;
  if (config.require_tls) return true;
  return !config.allow_plaintext && !isLoopbackHost(config.host);
}

export function createEmailDestination(config: EmailConfig): Destination {
  const redact = secretRedactor([config.auth?.pass]);
  const label = `SMTP server ${config.host}:${config.port}`;
  const timeoutMs = config.timeout_secs * 1000;
  const startTls = requiresStartTls(config);
  const transport = createTransport({
    host: config.host,
    port: config.port,
    secure: config.secure,
    requireTLS: startTls,
    tls: { rejectUnauthorized: config.tls_reject_unauthorized },
    ...(config.auth ? { auth: { user: config.auth.user, pass: config.auth.pass } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    logger: false,
    debug: false,
  });
  return {
    id: config.id,
    name: config.name,
    type: "email",
    minSeverity: config.min_severity,
    ...(config.log_types ? { logTypes: config.log_types } : {}),
    async send(notification, deliveryId, signal): Promise<DeliveryResult> {
      if (signal?.aborted) return { ok: false, retryable: true, error: `${label}: the delivery was cancelled.` };
      const sending = transport
        .sendMail({
          from: config.from,
          to: config.to,
          subject: emailSubject(notification),
          text: emailText(notification),
          html: emailHtml(notification),
          messageId: messageId(deliveryId),
          headers: { "X-Vigil-Delivery-Id": deliveryId.replace(/[\r\n]/g, " ") },
        })
        .then(
          (info): DeliveryResult => {
            const rejected = (info.rejected ?? []).length;
            return {
              ok: true,
              status: 250,
              detail: redact(
                `accepted by ${label}${rejected > 0 ? `; ${rejected} recipient(s) rejected` : ""}: ${oneLine(String(info.response ?? ""))}`,
              ).slice(0, 300),
            };
          },
          (err: unknown): DeliveryResult => {
            const result = classifySmtpError(err, redact, label);
            if (result.ok || !startTls || (err as SmtpError)?.code !== "ETLS") return result;
            return {
              ...result,
              error: `${result.error} (Vigil requires TLS to SMTP servers that are not loopback; use a server with STARTTLS or port 465 with secure: true, or set allow_plaintext: true to send in clear text.)`,
            };
          },
        );
      // nodemailer has no abort signal: race it against the caller's signal and an overall deadline.
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const stop = new Promise<DeliveryResult>((resolve) => {
        timer = setTimeout(
          () =>
            resolve({
              ok: false,
              retryable: true,
              error: `${label} did not finish within ${config.timeout_secs * 2} s (timed out).`,
            }),
          timeoutMs * 2,
        );
        onAbort = () => resolve({ ok: false, retryable: true, error: `${label}: the delivery was cancelled.` });
        signal?.addEventListener("abort", onAbort, { once: true });
      });
      try {
        return await Promise.race([sending, stop]);
      } finally {
        clearTimeout(timer);
        if (onAbort) signal?.removeEventListener("abort", onAbort);
      }
    },
  };
}
