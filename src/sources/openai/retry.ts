// Retry rules of the audit log client, on top of cockatiel's RetryPolicy.
// The rules follow the official SDKs (reference doc §6.4): retry 408, 409, 429 and 5xx, honour `retry-after-ms`
// then `Retry-After`, and let `x-should-retry` override the status. Transport failures (timeouts, resets, cut or
// malformed bodies) are retried too. Backoff is exponential with full jitter, bounded by maxDelayMs and maxAttempts.

import {
  DelegateBackoff,
  ExponentialBackoff,
  type GeneratorFn,
  handleWhen,
  type IBackoff,
  type IRetryBackoffContext,
  noJitterGenerator,
  retry,
} from "cockatiel";
import { OpenAIRequestError, RequestAbortedError } from "./errors.ts";

export interface RetryInfo {
  /** 1-based number of the attempt that just failed. */
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface RetrySettings {
  /** Total attempts, the first one included. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  random: () => number;
  onRetry?: (info: RetryInfo) => void;
}

/** Statuses the SDKs retry. 408/409 are lock or timeout conflicts on OpenAI's side; 429 is rate limiting. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** `x-should-retry: true|false` from the server wins over the status rules; anything else is no opinion. */
export function shouldRetryOverride(headers: Headers): boolean | null {
  const value = headers.get("x-should-retry");
  if (value === "true") return true;
  if (value === "false") return false;
  return null;
}

/**
 * The delay the server asks for, in ms, or null. `retry-after-ms` (OpenAI's own header) is preferred; then
 * `Retry-After` as seconds (fractions allowed, as the SDKs parse it) or as an HTTP date relative to `nowMs`.
 * A date in the past means "now" (0).
 */
export function parseRetryAfterMs(headers: Headers, nowMs: number): number | null {
  const ms = parseNonNegative(headers.get("retry-after-ms"));
  if (ms !== null) return ms;

  const retryAfter = headers.get("retry-after")?.trim();
  if (!retryAfter) return null;
  const seconds = parseNonNegative(retryAfter);
  if (seconds !== null) return seconds * 1000;
  // HTTP dates start with a day name; without this check Date.parse would read "-5" as a year.
  if (!/^[A-Za-z]/.test(retryAfter)) return null;
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

function parseNonNegative(text: string | null): number | null {
  if (text === null || !/^\s*\d+(\.\d+)?\s*$/.test(text)) return null;
  return Number.parseFloat(text);
}

/** Exponential growth (initial·2ⁿ, capped) as cockatiel computes it, then a uniform draw in [0, that): full jitter. */
function fullJitter(random: () => number): GeneratorFn<number> {
  return (state, options) => {
    const [ceiling, next] = noJitterGenerator(state, options);
    return [Math.floor(random() * ceiling), next];
  };
}

/**
 * A server-requested delay replaces the jittered one. When it exceeds maxDelayMs we wait maxDelayMs instead:
 * the poller's own bound wins over a long Retry-After, because stalling one call for minutes would hide the
 * outage from the caller; if the server is still limiting, the next 429 costs one more bounded attempt.
 */
function backoffFor(settings: RetrySettings): DelegateBackoff<IRetryBackoffContext<unknown>, IBackoff<unknown>> {
  const exponential = new ExponentialBackoff({
    generator: fullJitter(settings.random),
    initialDelay: settings.initialDelayMs,
    maxDelay: settings.maxDelayMs,
  });
  return new DelegateBackoff((context, previous?: IBackoff<unknown>) => {
    // Always advance the exponential sequence, so a Retry-After in between does not reset the growth.
    const next = previous ? previous.next(context) : exponential.next();
    const error = "error" in context.result ? context.result.error : undefined;
    const requested = error instanceof OpenAIRequestError ? error.retryAfterMs : null;
    const delay = requested === null ? next.duration : Math.min(requested, settings.maxDelayMs);
    return { delay, state: next };
  });
}

/** Runs an operation with the retry rules. `attempt` is 1-based; abort rejects at once with RequestAbortedError. */
export interface Retrier {
  run<T>(operation: (attempt: number) => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/**
 * The policy retries only OpenAIRequestErrors marked retryable; everything else (auth, 400, abort) passes through.
 * cockatiel's backoff sleep cannot be interrupted, so the timer is unref'd (an aborted call must not keep the
 * process alive for up to maxDelayMs) and an abort is raced against the whole run; the abandoned run ends on its
 * own at its next attempt, which sees the aborted signal. While a run is pending an interval holds the event loop
 * open, since the unref'd backoff timer may be the only thing left.
 */
export function createRetrier(settings: RetrySettings): Retrier {
  const policy = retry(
    handleWhen((err) => err instanceof OpenAIRequestError && err.retryable),
    // cockatiel counts retries, not attempts.
    { maxAttempts: settings.maxAttempts - 1, backoff: backoffFor(settings) },
  ).dangerouslyUnref();
  policy.onRetry((event) => {
    const reason = "error" in event && event.error instanceof OpenAIRequestError ? event.error.reason : "unknown";
    settings.onRetry?.({ attempt: event.attempt, delayMs: event.delay, reason });
  });

  return {
    async run(operation, signal) {
      if (signal?.aborted) throw new RequestAbortedError(signal.reason);
      const keepAlive = setInterval(() => {}, 1 << 30);
      try {
        return await raceAbort(
          policy.execute(({ attempt }) => operation(attempt + 1), signal),
          signal,
        );
      } finally {
        clearInterval(keepAlive);
      }
    },
  };
}

/** Settles with the run, or rejects as soon as the signal aborts. */
function raceAbort<T>(run: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return run;
  run.catch(() => {}); // The run may reject after we stopped listening; that rejection is expected.
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new RequestAbortedError(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    run.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
