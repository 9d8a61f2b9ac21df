// Read-only client for the Admin API's list endpoints (GET /organization/users, /projects, …), used by the
// inventory snapshots. It shares the audit-log client's retry rules (retry.ts: 408/409/429/5xx, Retry-After,
// x-should-retry, full-jitter backoff) and error wording (errors.ts), but not its envelope: list pages are
// `{object: "list", data: [...], has_more, last_id}` of any object, and a 403 here concerns one endpoint's
// scope, not the whole source, so it is reported as a ScopeMissingError the snapshot records per endpoint.

import { ConfigurationError, VigilError } from "../core/errors.ts";
import { redactSecrets } from "../core/redact.ts";
import { USER_AGENT } from "../sources/openai/client.ts";
import {
  describeHttpFailure,
  OpenAIRequestError,
  paginationStuckError,
  parseApiError,
  RequestAbortedError,
  unavailableError,
} from "../sources/openai/errors.ts";
import {
  createRetrier,
  isRetryableStatus,
  parseRetryAfterMs,
  type Retrier,
  type RetryInfo,
  shouldRetryOverride,
} from "../sources/openai/retry.ts";

export interface AdminListClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs?: number;
  maxAttempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Page size asked for; the Admin API accepts 1…100. */
  pageLimit?: number;
  fetch?: typeof fetch;
  random?: () => number;
  onRetry?: (info: RetryInfo & { path: string }) => void;
}

/** The key authenticates but lacks the scope an endpoint needs (HTTP 403). Only that endpoint is skipped. */
export class ScopeMissingError extends VigilError {
  readonly scope: string;
  constructor(path: string, scope: string, detail: string) {
    super(
      "openai_scope_missing",
      `OpenAI refused ${path} (${detail}): the Admin API key lacks the ${scope} scope. Add ${scope} to the key ` +
        "(read-only scopes are enough) at https://platform.openai.com/settings/organization/admin-keys; the " +
        "other endpoints and the audit-log polling are not affected.",
    );
    this.scope = scope;
  }
}

export interface ListStats {
  requests: number;
}

const MAX_OBJECTS_PER_LIST = 1_000_000;
/** What a stuck list leaves: its kind failed, which the diff and the findings skip (snapshot.ts). */
const LIST_UNREAD = "The list was not fully read; this snapshot does not compare its kind.";

export class AdminListClient {
  private readonly base: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly pageLimit: number;
  private readonly fetchImpl: typeof fetch;
  private readonly retrier: Retrier;
  private currentPath = "";
  /** Every HTTP request made, retries included (the bench reports it). */
  requests = 0;

  constructor(options: AdminListClientOptions) {
    this.base = options.baseUrl.trim().replace(/\/+$/, "");
    if (options.apiKey.trim() === "") {
      throw new ConfigurationError("openai_api_key_missing", "No OpenAI Admin API key is configured (sk-admin-…).");
    }
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.pageLimit = options.pageLimit ?? 100;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.retrier = createRetrier({
      maxAttempts: options.maxAttempts ?? 6,
      initialDelayMs: options.initialDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      random: options.random ?? Math.random,
      onRetry: (info) => options.onRetry?.({ ...info, path: this.currentPath }),
    });
  }

  /**
   * Every object of a list endpoint, each once, following `after=last_id` while `has_more`. A cursor that does
   * not move, or comes back (a cycle), throws: a half-read list must never be stored as the complete state (the
   * diff would call the rest removed), nor a list read for ever. An object listed twice (a page boundary that
   * moved while reading) is kept once, as last listed: counted twice, its second copy would look added.
   */
  async listAll(
    path: string,
    scope: string,
    params: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>[]> {
    const byId = new Map<unknown, Record<string, unknown>>();
    const withoutId: Record<string, unknown>[] = [];
    const cursors = new Set<string>();
    /** Objects received, repeats included: a list whose cursor moves but whose pages repeat still ends. */
    let received = 0;
    let after: string | undefined;
    for (;;) {
      const query = new URLSearchParams({ ...params, limit: String(this.pageLimit) });
      if (after !== undefined) query.set("after", after);
      const page = await this.getPage(`${path}?${query}`, path, scope, signal);
      for (const object of page.data) {
        if (typeof object.id === "string") {
          byId.delete(object.id);
          byId.set(object.id, object);
        } else withoutId.push(object);
      }
      received += page.data.length;
      if (received > MAX_OBJECTS_PER_LIST) {
        throw new VigilError("posture_list_too_large", `${path} returned over ${MAX_OBJECTS_PER_LIST} objects.`);
      }
      if (!page.hasMore) return [...byId.values(), ...withoutId];
      if (!page.lastId) throw paginationStuckError(`${path} has no last_id to continue after`, LIST_UNREAD);
      if (page.lastId === after)
        throw paginationStuckError(`last_id of ${path} did not advance past ${after}`, LIST_UNREAD);
      if (cursors.has(page.lastId))
        throw paginationStuckError(`last_id of ${path} came back to ${page.lastId}`, LIST_UNREAD);
      cursors.add(page.lastId);
      after = page.lastId;
    }
  }

  /**
   * One settings object (a "retrieve" endpoint: data retention, model permissions, …), or null when the API
   * answers 404: the setting is not configured (a project with no model policy). Any other failure throws as
   * for a list.
   */
  async getOne(path: string, scope: string, signal?: AbortSignal): Promise<Record<string, unknown> | null> {
    try {
      return await this.request(path, path, scope, signal, parseObject);
    } catch (err) {
      if (err instanceof OpenAIRequestError && err.status === 404 && !signal?.aborted) return null;
      throw err;
    }
  }

  private getPage(
    pathAndQuery: string,
    path: string,
    scope: string,
    signal: AbortSignal | undefined,
  ): Promise<{ data: Record<string, unknown>[]; hasMore: boolean; lastId: string | null }> {
    return this.request(pathAndQuery, path, scope, signal, parseListPage);
  }

  private async request<T>(
    pathAndQuery: string,
    path: string,
    scope: string,
    signal: AbortSignal | undefined,
    parse: (body: string) => T | null,
  ): Promise<T> {
    const url = `${this.base}${pathAndQuery}`;
    let attempts = 0;
    try {
      return await this.retrier.run((attempt) => {
        attempts = attempt;
        this.currentPath = path;
        return this.attemptOnce(url, path, scope, signal, parse);
      }, signal);
    } catch (err) {
      if (signal?.aborted) throw err instanceof RequestAbortedError ? err : new RequestAbortedError(signal.reason);
      if (err instanceof OpenAIRequestError && err.retryable) {
        throw unavailableError(err, attempts, `The OpenAI Admin API did not answer ${path} usably`);
      }
      throw err;
    }
  }

  private async attemptOnce<T>(
    url: string,
    path: string,
    scope: string,
    signal: AbortSignal | undefined,
    parse: (body: string) => T | null,
  ): Promise<T> {
    if (signal?.aborted) throw new RequestAbortedError(signal.reason);
    this.requests++;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    const forwardAbort = () => controller.abort();
    signal?.addEventListener("abort", forwardAbort, { once: true });
    let response: Response;
    let body: string;
    try {
      response = await this.fetchImpl(url, {
        headers: { Authorization: `Bearer ${this.apiKey}`, Accept: "application/json", "User-Agent": USER_AGENT },
        signal: controller.signal,
      });
      body = await response.text();
    } catch (err) {
      if (signal?.aborted) throw new RequestAbortedError(err);
      const what = controller.signal.aborted ? `timed out after ${this.timeoutMs} ms` : "connection failed or was cut";
      throw new OpenAIRequestError("network", `${path}: ${what}`, { retryable: true, cause: err });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", forwardAbort);
    }
    return this.interpret(response, body, path, scope, parse);
  }

  private interpret<T>(
    response: Response,
    body: string,
    path: string,
    scope: string,
    parse: (body: string) => T | null,
  ): T {
    const requestId = response.headers.get("x-request-id");
    const status = response.status;
    if (response.ok) {
      const page = parse(body);
      if (page) return page;
      throw new OpenAIRequestError("malformed", `${path}: malformed answer (HTTP ${status})`, {
        retryable: true,
        status,
        requestId,
      });
    }
    const parsed = parseApiError(this.scrub(body));
    const api = { ...parsed, message: parsed.message === null ? null : this.scrub(parsed.message) };
    const detail = describeHttpFailure(status, api, requestId);
    if (shouldRetryOverride(response.headers) ?? isRetryableStatus(status)) {
      throw new OpenAIRequestError("http", `${path}: ${detail}`, {
        retryable: true,
        status,
        requestId,
        retryAfterMs: parseRetryAfterMs(response.headers, Date.now()),
      });
    }
    if (status === 403) throw new ScopeMissingError(path, missingScopeIn(api.message) ?? scope, detail);
    if (status === 401) {
      throw new ConfigurationError("openai_auth_invalid_key", `OpenAI rejected the API key on ${path} (${detail}).`);
    }
    throw new OpenAIRequestError("http", `${path}: ${detail}`, { retryable: false, status, requestId });
  }

  private scrub(text: string): string {
    return redactSecrets(text.split(this.apiKey).join("[redacted]"));
  }
}

/** OpenAI's 403 says which scope is missing ("Missing scopes: api.management.read."); it wins over our table. */
export function missingScopeIn(message: string | null): string | null {
  const match = /Missing scopes?:\s*([A-Za-z0-9_.:,\s-]+?)(?:\.\s|\.$|$)/.exec(message ?? "");
  return match?.[1]?.trim() || null;
}

function parseObject(body: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function parseListPage(
  body: string,
): { data: Record<string, unknown>[]; hasMore: boolean; lastId: string | null } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null) return null;
  const { data, has_more, last_id } = parsed as Record<string, unknown>;
  if (!Array.isArray(data) || !data.every((o) => typeof o === "object" && o !== null && !Array.isArray(o))) return null;
  // Some list endpoints (rate limits) answer without has_more: a single page.
  const hasMore = has_more === true;
  const lastId = typeof last_id === "string" && last_id !== "" ? last_id : null;
  return { data: data as Record<string, unknown>[], hasMore, lastId };
}
