// HTTP client for `GET {base_url}/organization/audit_logs`. It fetches and validates pages and knows nothing of
// storage or detection. A page is returned only once its whole body was read and its envelope validated, so a
// cut connection or a garbled body is retried as a whole page and never half-applied.

import { type AuditLogPage, type AuditLogQuery, pageCursor } from "../../core/audit-log.ts";
import { type Clock, systemClock } from "../../core/clock.ts";
import { ConfigurationError, VigilError } from "../../core/errors.ts";
import { redactSecrets } from "../../core/redact.ts";
import { hasQueryOrFragment } from "../../core/source.ts";
import { parseAuditLogEnvelope } from "./envelope.ts";
import {
  authError,
  badRequestError,
  cursorRejectedError,
  describeHttpFailure,
  notFoundError,
  OpenAIRequestError,
  paginationStuckError,
  parseApiError,
  RequestAbortedError,
  unavailableError,
} from "./errors.ts";
import { encodeAuditLogQuery } from "./query.ts";
import {
  createRetrier,
  isRetryableStatus,
  parseRetryAfterMs,
  type Retrier,
  type RetryInfo,
  shouldRetryOverride,
} from "./retry.ts";

export const DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1";
export const USER_AGENT = "vigil/0.1.0";

const DEFAULTS = { timeoutMs: 30_000, maxAttempts: 6, initialDelayMs: 500, maxDelayMs: 30_000 };

export interface OpenAIClientOptions {
  /** Resolved by the caller (config/env); a trailing slash is tolerated. */
  baseUrl: string;
  apiKey: string;
  /** Per attempt, covering the headers and the whole body. Default 30 s. */
  timeoutMs?: number;
  /** Total attempts per page, the first included. Default 6. */
  maxAttempts?: number;
  /** Cap on any single backoff, Retry-After included. Default 30 s. */
  maxDelayMs?: number;
  /** First backoff ceiling (full jitter draws in [0, ceiling)). Default 500 ms. */
  initialDelayMs?: number;
  fetch?: typeof fetch;
  onRetry?: (info: RetryInfo) => void;
  /** Jitter source, for deterministic tests. Default Math.random. */
  random?: () => number;
  /** Used to read Retry-After HTTP dates. Default the system clock. */
  clock?: Clock;
}

/** A validated page plus OpenAI's `x-request-id`, worth logging for support requests. */
export type OpenAIAuditLogPage = AuditLogPage & { requestId: string | null };

export class OpenAIAuditLogClient {
  private readonly endpoint: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly clock: Clock;
  private readonly retrier: Retrier;

  constructor(options: OpenAIClientOptions) {
    this.endpoint = `${validBaseUrl(options.baseUrl).replace(/\/+$/, "")}/organization/audit_logs`;
    this.apiKey = validApiKey(options.apiKey);
    this.timeoutMs = positive("timeoutMs", options.timeoutMs ?? DEFAULTS.timeoutMs);
    const maxAttempts = positive("maxAttempts", options.maxAttempts ?? DEFAULTS.maxAttempts);
    if (!Number.isInteger(maxAttempts)) throw invalidOption("maxAttempts", maxAttempts);
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.clock = options.clock ?? systemClock;
    this.retrier = createRetrier({
      maxAttempts,
      initialDelayMs: nonNegative("initialDelayMs", options.initialDelayMs ?? DEFAULTS.initialDelayMs),
      maxDelayMs: nonNegative("maxDelayMs", options.maxDelayMs ?? DEFAULTS.maxDelayMs),
      random: options.random ?? Math.random,
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    });
  }

  /** One page, with retries. */
  async listPage(query: AuditLogQuery, signal?: AbortSignal): Promise<OpenAIAuditLogPage> {
    const url = `${this.endpoint}?${encodeAuditLogQuery(query)}`;
    let attempts = 0;
    try {
      return await this.retrier.run((attempt) => {
        attempts = attempt;
        return this.attemptOnce(url, query.after, signal);
      }, signal);
    } catch (err) {
      if (signal?.aborted) throw err instanceof RequestAbortedError ? err : new RequestAbortedError(signal.reason);
      // Only errors the retrier would have retried get here still retryable: the attempts are used up.
      if (err instanceof OpenAIRequestError && err.retryable) throw unavailableError(err, attempts);
      throw err;
    }
  }

  /**
   * Walks a window: yields each page, then requests the next with after=last_id while has_more, as the SDK's
   * cursor page does. Throws if has_more is true but the cursor cannot move (no last_id, or the same one again),
   * rather than silently stopping or looping: the caller must not treat the window as complete.
   */
  async *pages(query: AuditLogQuery, signal?: AbortSignal): AsyncGenerator<OpenAIAuditLogPage> {
    // The next page is fetched while the caller stores the current one, so network and storage overlap.
    // A prefetch the caller never reads (it stopped early, or failed) is aborted on the way out.
    const controller = new AbortController();
    const forwardAbort = () => controller.abort(signal?.reason);
    if (signal?.aborted) controller.abort(signal.reason);
    signal?.addEventListener("abort", forwardAbort, { once: true });
    let after = query.after;
    // The cursors this walk has followed: one coming back would walk the same pages again, for ever. (last_id is
    // followed as the SDK does, not checked against the page's last record: the spec's own example has a
    // last_id that is no record's id, so it may be an opaque cursor.)
    const followed = new Set(after === undefined ? [] : [after]);
    let next = this.listPage(after === undefined ? query : { ...query, after }, controller.signal);
    try {
      for (;;) {
        const page = await next;
        const cursor = pageCursor(page);
        // A page that cannot be continued is still yielded (its records are good); the error comes after.
        let stuck: Error | undefined;
        if (!page.has_more) {
          // The window is complete after this page.
        } else if (cursor === null) stuck = paginationStuckError("the page has no last_id or record to continue after");
        else if (cursor === after) stuck = paginationStuckError(`last_id did not advance past ${cursor}`);
        else if (followed.has(cursor)) {
          stuck = paginationStuckError(`last_id ${cursor} came back: this walk followed it before`);
        } else {
          followed.add(cursor);
          after = cursor;
          next = this.listPage({ ...query, after }, controller.signal);
          // Awaited on the next turn; this only keeps an abandoned prefetch from being an unhandled rejection.
          next.catch(() => undefined);
        }
        yield page;
        if (stuck) throw stuck;
        if (!page.has_more) return;
      }
    } finally {
      controller.abort();
      signal?.removeEventListener("abort", forwardAbort);
    }
  }

  /**
   * Proves the key works: one request with limit=1 (retried like any page; latencyMs includes any retries).
   * A sampleEventCount of 0 with a working key usually means audit logging is not enabled yet, or no events.
   */
  async verify(signal?: AbortSignal): Promise<{ ok: true; latencyMs: number; sampleEventCount: number }> {
    const started = performance.now();
    const page = await this.listPage({ limit: 1 }, signal);
    return { ok: true, latencyMs: Math.round(performance.now() - started), sampleEventCount: page.data.length };
  }

  /** One HTTP exchange with its own timeout. Throws OpenAIRequestError (retryable or not) or a typed error. */
  private async attemptOnce(
    url: string,
    after: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<OpenAIAuditLogPage> {
    if (signal?.aborted) throw new RequestAbortedError(signal.reason);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const forwardAbort = () => controller.abort();
    signal?.addEventListener("abort", forwardAbort, { once: true });

    let stage: "connect" | "body" = "connect";
    try {
      const response = await this.fetchImpl(url, { headers: this.headers(), signal: controller.signal });
      stage = "body";
      // Read the whole body before judging anything: a cut stream rejects here, not later.
      const body = await response.text();
      return this.interpret(response, body, after);
    } catch (err) {
      // Judged already (interpret): thrown as it is, not taken for a network failure.
      if (err instanceof OpenAIRequestError || err instanceof VigilError) throw err;
      if (signal?.aborted) throw new RequestAbortedError(err);
      if (timedOut) {
        const when = stage === "connect" ? "no response" : "the body did not finish";
        throw new OpenAIRequestError("timeout", `timed out after ${this.timeoutMs} ms (${when})`, {
          retryable: true,
          cause: err,
        });
      }
      const when = stage === "connect" ? "connection failed" : "connection lost while reading the body";
      throw new OpenAIRequestError("network", `${when}: ${this.scrub(describeNetworkError(err))}`, {
        retryable: true,
        cause: err,
      });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", forwardAbort);
    }
  }

  /** `after`: the cursor the request carried, if any (a 404 then most likely refuses the cursor, not the URL). */
  private interpret(response: Response, body: string, after: string | undefined): OpenAIAuditLogPage {
    const requestId = response.headers.get("x-request-id");
    if (response.ok) {
      const parsed = parseAuditLogEnvelope(body);
      if (parsed.ok) {
        const date = Date.parse(response.headers.get("date") ?? "");
        return {
          ...parsed.page,
          requestId,
          ...(Number.isFinite(date) ? { serverTimeSecs: Math.floor(date / 1000) } : {}),
        };
      }
      const reason = `malformed page (HTTP ${response.status}): ${parsed.problem}${requestSuffix(requestId)}`;
      throw new OpenAIRequestError("malformed", reason, { retryable: true, status: response.status, requestId });
    }

    const status = response.status;
    const parsedError = parseApiError(this.scrub(body));
    const api = { ...parsedError, message: parsedError.message === null ? null : this.scrub(parsedError.message) };
    const retryable = shouldRetryOverride(response.headers) ?? isRetryableStatus(status);
    if (retryable) {
      throw new OpenAIRequestError("http", describeHttpFailure(status, api, requestId), {
        retryable: true,
        status,
        requestId,
        retryAfterMs: parseRetryAfterMs(response.headers, this.clock.nowMs()),
      });
    }
    if (status === 401 || status === 403) throw authError(status, api, requestId, this.apiKey.startsWith("sk-admin-"));
    if (status === 400) throw badRequestError(api, requestId);
    if (status === 404) {
      throw after === undefined
        ? notFoundError(this.endpoint, api, requestId)
        : cursorRejectedError(after, api, requestId);
    }
    throw new OpenAIRequestError("http", describeHttpFailure(status, api, requestId), {
      retryable: false,
      status,
      requestId,
    });
  }

  private headers(): Record<string, string> {
    return { Authorization: `Bearer ${this.apiKey}`, Accept: "application/json", "User-Agent": USER_AGENT };
  }

  /** Removes the configured key from server-provided text, even if it does not look like an OpenAI key. */
  private scrub(text: string): string {
    return redactSecrets(text.split(this.apiKey).join("[redacted]"));
  }
}

/** undici wraps socket failures: `TypeError: fetch failed` ← `Error: read ECONNRESET` / `SocketError: other side closed`. */
function describeNetworkError(err: unknown): string {
  const messages: string[] = [];
  let code: string | undefined;
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current.message && !messages.includes(current.message)) messages.push(current.message);
    const errCode = (current as { code?: unknown }).code;
    if (typeof errCode === "string") code ??= errCode;
    current = current.cause;
  }
  const text = messages.join(": ") || String(err);
  return code ? `${text} (${code})` : text;
}

function requestSuffix(requestId: string | null): string {
  return requestId ? ` (request ${requestId})` : "";
}

function validBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ConfigurationError("openai_base_url_invalid", "The OpenAI base URL is not a valid URL.");
  }
  // The URL is never echoed: it may carry a key, in a query or as a user:password.
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigurationError("openai_base_url_invalid", `The OpenAI base URL must be http(s), not ${url.protocol}`);
  }
  if (hasQueryOrFragment(baseUrl)) {
    throw new ConfigurationError("openai_base_url_invalid", "The OpenAI base URL must not have a query or fragment.");
  }
  return baseUrl.trim();
}

function validApiKey(apiKey: string): string {
  if (apiKey.trim() === "") {
    throw new ConfigurationError("openai_api_key_missing", "No OpenAI Admin API key is configured (sk-admin-…).");
  }
  // fetch rejects such a header value with a TypeError that would look like a network failure and be retried.
  if (/[\s\x00-\x1f\x7f]/.test(apiKey)) {
    throw new ConfigurationError(
      "openai_api_key_invalid",
      "The OpenAI Admin API key contains whitespace or control characters (a stray newline or space?).",
    );
  }
  return apiKey;
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw invalidOption(name, value);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) throw invalidOption(name, value);
  return value;
}

function invalidOption(name: string, value: number): ConfigurationError {
  return new ConfigurationError("openai_client_option_invalid", `OpenAI client option ${name} is invalid: ${value}`);
}
