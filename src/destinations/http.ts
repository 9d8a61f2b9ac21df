// One HTTP POST with a timeout, the caller's abort signal, no redirects, and a classified, redacted result.

import type { DeliveryResult } from "./types.ts";

export const DEFAULT_TIMEOUT_MS = 10_000;
/** Retry-After values above this are clamped: the outbox should not park a delivery for days. */
const MAX_RETRY_AFTER_MS = 6 * 60 * 60 * 1000;
const MAX_ERROR_BODY_CHARS = 300;

export interface PostOptions {
  /** Shown in errors, e.g. "Slack webhook https://hooks.slack.com/…[redacted]". Must hold no secret. */
  label: string;
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Removes secrets from any text that reaches an error message. */
  redact: (text: string) => string;
  /** Statuses that mean success (default: any 2xx). */
  isSuccess?: (status: number) => boolean;
  /** Extracts a readable reason from an error response body (default: the body text, shortened). */
  describeError?: (status: number, bodyText: string) => string;
}

/** Parses Retry-After (delta-seconds or an HTTP date) into milliseconds from `nowMs`. */
export function parseRetryAfter(value: string | null, nowMs: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    ms = Math.round(Number(trimmed) * 1000);
  } else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** Whether an HTTP status is worth retrying: 408, 425, 429 and every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

export function shorten(text: string, max: number = MAX_ERROR_BODY_CHARS): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/** The network-level reason of a failed fetch (ECONNREFUSED, ECONNRESET, …), without any URL. */
function networkReason(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = cause && typeof cause.code === "string" ? cause.code : undefined;
  if (code) return code;
  if (cause && typeof cause.message === "string") return cause.message;
  return err instanceof Error ? err.message : String(err);
}

export async function postWithTimeout(options: PostOptions): Promise<DeliveryResult> {
  const { label, redact } = options;
  if (options.signal?.aborted) {
    return { ok: false, retryable: true, error: `${label}: the delivery was cancelled before it started.` };
  }
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const failed = (err: unknown): DeliveryResult => {
    if (timeout.aborted) {
      return {
        ok: false,
        retryable: true,
        error: `${label} did not answer within ${options.timeoutMs / 1000} s (timed out).`,
      };
    }
    if (options.signal?.aborted) {
      // The caller's own time limit (the delivery worker gives one send at most a minute, whatever the
      // destination's timeout_secs) is a timeout too, not a cancellation.
      const timedOut = (options.signal.reason as { name?: unknown } | undefined)?.name === "TimeoutError";
      return {
        ok: false,
        retryable: true,
        error: timedOut
          ? `${label} did not answer before the delivery's time limit (timed out).`
          : `${label}: the delivery was cancelled.`,
      };
    }
    return {
      ok: false,
      retryable: true,
      error: redact(`${label} could not be reached (${networkReason(err)}).`),
    };
  };

  let response: Response;
  try {
    response = await fetch(options.url, {
      method: "POST",
      headers: options.headers,
      body: options.body,
      redirect: "manual",
      signal,
    });
  } catch (err) {
    return failed(err);
  }
  // The status decides, not the body: a receiver that answered 2xx took the alert even if its answer's body is
  // then cut off (a dropped connection, the timeout), and sending it again would deliver it twice.
  const status = response.status;
  let bodyText = "";
  let bodyCut = false;
  try {
    // Redacted before anything shortens it (a secret cut in two by shorten() would no longer match), over its
    // first 64 KiB only: a receiver's multi-megabyte error page is not redacted whole at every retry.
    bodyText = redact((await response.text()).slice(0, 65_536));
  } catch {
    bodyCut = true;
  }
  const success = options.isSuccess ? options.isSuccess(status) : status >= 200 && status < 300;
  if (success) {
    return { ok: true, status, detail: bodyCut ? "(the answer's body was cut off)" : shorten(bodyText) };
  }

  if (status >= 300 && status < 400) {
    return {
      ok: false,
      retryable: false,
      status,
      error: `${label} answered HTTP ${status} (a redirect); redirects are not followed, so configure the final URL.`,
    };
  }
  const reason = options.describeError ? options.describeError(status, bodyText) : shorten(bodyText);
  const retryable = isRetryableStatus(status);
  const result: DeliveryResult = {
    ok: false,
    retryable,
    status,
    error: redact(`${label} answered HTTP ${status}${reason ? `: ${reason}` : ""}.`),
  };
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
  if (retryable && retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
  return result;
}
