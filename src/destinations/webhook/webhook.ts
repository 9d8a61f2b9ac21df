// Generic signed JSON webhook.
//
// Request: POST <url> with the body `{"deliveryId": "...", "notification": {...AlertNotification}}` and headers
//   Content-Type: application/json
//   X-Vigil-Delivery-Id: <deliveryId>        the same on every retry of one delivery: deduplicate on it
//   X-Vigil-Timestamp:   <unix seconds>       the time of this attempt
//   X-Vigil-Signature:   sha256=<hex>         HMAC-SHA256(secret, `${timestamp}.${body}`), over the exact body bytes
// Receivers: recompute the HMAC over the raw body (before any JSON parsing), compare in constant time, and
// reject timestamps older than a few minutes (replay). `verifyWebhookSignature` does all three.

import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { baseConfigShape, httpUrl } from "../base-config.ts";
import { postWithTimeout } from "../http.ts";
import { redactUrl, secretRedactor } from "../redaction.ts";
import type { AlertNotification, DeliveryResult, Destination } from "../types.ts";

export const SIGNATURE_HEADER = "X-Vigil-Signature";
export const TIMESTAMP_HEADER = "X-Vigil-Timestamp";
export const DELIVERY_ID_HEADER = "X-Vigil-Delivery-Id";

const RESERVED_HEADERS = new Set([
  "content-type",
  "content-length",
  "host",
  "transfer-encoding",
  "connection",
  SIGNATURE_HEADER.toLowerCase(),
  TIMESTAMP_HEADER.toLowerCase(),
  DELIVERY_ID_HEADER.toLowerCase(),
]);

export const webhookConfigSchema = z.object({
  ...baseConfigShape,
  type: z.literal("webhook"),
  url: httpUrl,
  /** HMAC-SHA256 key for X-Vigil-Signature. */
  secret: z.string().min(16, "use a secret of at least 16 characters"),
  /** Extra request headers (e.g. an Authorization header for the receiver). Vigil's own headers are reserved. */
  headers: z
    .record(
      z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "not a valid HTTP header name"),
      z.string().regex(/^[^\r\n]*$/, "header values cannot contain line breaks"),
    )
    .refine((h) => Object.keys(h).every((k) => !RESERVED_HEADERS.has(k.toLowerCase())), {
      message: `headers cannot override Content-Type, ${DELIVERY_ID_HEADER}, ${TIMESTAMP_HEADER} or ${SIGNATURE_HEADER}`,
    })
    .optional(),
});
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;

export interface WebhookBody {
  deliveryId: string;
  notification: AlertNotification;
}

/** `sha256=<hex HMAC-SHA256(secret, `${timestamp}.${body}`)>` */
export function signWebhookBody(body: string | Uint8Array, timestampSecs: number, secret: string): string {
  const hmac = createHmac("sha256", secret);
  hmac.update(`${timestampSecs}.`);
  hmac.update(body);
  return `sha256=${hmac.digest("hex")}`;
}

export type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== lower) continue;
    return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

export type VerifyResult =
  | { ok: true; timestampSecs: number; deliveryId: string | null }
  | { ok: false; reason: string };

/**
 * Checks a Vigil webhook request: the signature over the exact raw body, and a timestamp within
 * `toleranceSecs` of now (default 300 s) to stop replays. Pass the raw body, not re-serialised JSON.
 */
export function verifyWebhookSignature(
  body: string | Uint8Array,
  headers: HeaderBag,
  secret: string,
  toleranceSecs = 300,
  nowSecs: number = Math.floor(Date.now() / 1000),
): VerifyResult {
  const signature = header(headers, SIGNATURE_HEADER);
  const timestamp = header(headers, TIMESTAMP_HEADER);
  if (!signature) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  if (!timestamp || !/^\d{1,12}$/.test(timestamp))
    return { ok: false, reason: `missing or invalid ${TIMESTAMP_HEADER}` };
  const timestampSecs = Number(timestamp);
  if (Math.abs(nowSecs - timestampSecs) > toleranceSecs) {
    return { ok: false, reason: `timestamp is outside the ${toleranceSecs} s tolerance` };
  }
  const expected = Buffer.from(signWebhookBody(body, timestampSecs, secret));
  const actual = Buffer.from(signature.trim());
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    return { ok: false, reason: "signature does not match" };
  }
  return { ok: true, timestampSecs, deliveryId: header(headers, DELIVERY_ID_HEADER) ?? null };
}

export function createWebhookDestination(config: WebhookConfig, options: { nowSecs?: () => number } = {}): Destination {
  const nowSecs = options.nowSecs ?? (() => Math.floor(Date.now() / 1000));
  const redact = secretRedactor([config.url, config.secret, ...Object.values(config.headers ?? {})]);
  const label = `Webhook ${redactUrl(config.url)}`;
  return {
    id: config.id,
    name: config.name,
    type: "webhook",
    minSeverity: config.min_severity,
    ...(config.log_types ? { logTypes: config.log_types } : {}),
    async send(notification, deliveryId, signal): Promise<DeliveryResult> {
      const payload: WebhookBody = { deliveryId, notification };
      const body = JSON.stringify(payload);
      const timestamp = nowSecs();
      return postWithTimeout({
        label,
        url: config.url,
        body,
        headers: {
          ...(config.headers ?? {}),
          "Content-Type": "application/json",
          [DELIVERY_ID_HEADER]: deliveryId,
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signWebhookBody(body, timestamp, config.secret),
        },
        timeoutMs: config.timeout_secs * 1000,
        signal,
        redact,
      });
    },
  };
}
