// Typed failures of the audit log client. Each one says what happened in words an operator can act on.
// Messages pass through VigilError's redaction; API-provided text is also scrubbed of the configured key by the
// client before it gets here, since a non-standard key would not match the redaction pattern.

import { ConfigurationError, VigilError } from "../../core/errors.ts";

export type FailureKind = "http" | "timeout" | "network" | "malformed";

const CODES: Record<FailureKind, string> = {
  http: "openai_http_error",
  timeout: "openai_timeout",
  network: "openai_network_error",
  malformed: "openai_malformed_response",
};

/**
 * One failed attempt at the API. `retryable` says whether the client tries again (the SDK rules plus
 * `x-should-retry`); `reason` is a short description used in retry notices and in the final error.
 */
export class OpenAIRequestError extends VigilError {
  readonly kind: FailureKind;
  readonly reason: string;
  readonly status: number | null;
  readonly requestId: string | null;

  constructor(
    kind: FailureKind,
    reason: string,
    options: {
      retryable: boolean;
      code?: string;
      message?: string;
      status?: number | null;
      requestId?: string | null;
      retryAfterMs?: number | null;
      cause?: unknown;
    },
  ) {
    // retryAfterMs: the server-requested delay (Retry-After / retry-after-ms), already in milliseconds.
    super(options.code ?? CODES[kind], options.message ?? `OpenAI audit log request failed: ${reason}.`, {
      retryable: options.retryable,
      cause: options.cause,
      retryAfterMs: options.retryAfterMs ?? null,
    });
    this.kind = kind;
    this.reason = reason;
    this.status = options.status ?? null;
    this.requestId = options.requestId ?? null;
  }
}

/** The caller's AbortSignal fired: the client stopped without retrying. */
export class RequestAbortedError extends VigilError {
  constructor(cause?: unknown) {
    super("aborted", "The OpenAI audit log request was aborted.", { retryable: false, cause });
  }
}

/** The `error` object of an OpenAI error body (`{ error: { message, type, param, code } }`), when there is one. */
export interface ApiErrorDetails {
  message: string | null;
  param: string | null;
  code: string | null;
}

const MAX_API_TEXT = 300;

/** Reads an error body leniently: JSON error envelope if present, else the first few hundred characters of text. */
export function parseApiError(body: string): ApiErrorDetails {
  try {
    const parsed: unknown = JSON.parse(body);
    const error = isRecord(parsed) ? parsed.error : undefined;
    if (isRecord(error)) {
      return { message: stringOrNull(error.message), param: stringOrNull(error.param), code: stringOrNull(error.code) };
    }
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): fall through to the raw text.
  }
  const text = body.trim().replace(/\s+/g, " ");
  return { message: text === "" ? null : truncate(text), param: null, code: null };
}

/** `HTTP 503: Service unavailable (request req_123)`, the short form used in reasons and messages. */
export function describeHttpFailure(status: number, api: ApiErrorDetails, requestId: string | null): string {
  const message = api.message ? `: ${truncate(api.message)}` : "";
  return `HTTP ${status}${message}${requestSuffix(requestId)}`;
}

/** Advice shared by 401 and 403: the three things that make the audit log API refuse a key. */
const AUTH_ADVICE =
  "Vigil needs an organization Admin API key (sk-admin-…; project, service-account and user keys do not work) " +
  "that has the api.audit_logs.read scope, and audit logging must be enabled in the organization settings " +
  "(Organization → Data controls → Data retention). Admin keys are managed at " +
  "https://platform.openai.com/settings/organization/admin-keys.";

export function authError(
  status: 401 | 403,
  api: ApiErrorDetails,
  requestId: string | null,
  keyLooksLikeAdminKey: boolean,
): ConfigurationError {
  const what = status === 401 ? "OpenAI rejected the API key" : "OpenAI refused the API key access to the audit logs";
  const keyHint = keyLooksLikeAdminKey
    ? ""
    : " The configured key does not start with sk-admin-, so it is probably not an Admin API key.";
  const message = `${what} (${describeHttpFailure(status, api, requestId)}). ${AUTH_ADVICE}${keyHint}`;
  return new ConfigurationError(status === 401 ? "openai_auth_invalid_key" : "openai_auth_forbidden", message);
}

export function badRequestError(api: ApiErrorDetails, requestId: string | null): OpenAIRequestError {
  const param = api.param ? ` (parameter: ${api.param})` : "";
  const reason = `${describeHttpFailure(400, api, requestId)}${param}`;
  return new OpenAIRequestError("http", reason, {
    retryable: false,
    code: "openai_bad_request",
    message: `OpenAI rejected the audit log query: ${reason}.`,
    status: 400,
    requestId,
  });
}

export function notFoundError(endpoint: string, api: ApiErrorDetails, requestId: string | null): ConfigurationError {
  return new ConfigurationError(
    "openai_not_found",
    `OpenAI answered ${describeHttpFailure(404, api, requestId)} for ${endpoint}: the base URL is probably wrong ` +
      "(it should look like https://api.openai.com/v1, including the /v1).",
  );
}

/**
 * A 404 for a request that carried a cursor: the base URL answered the walk's first page, so it is the cursor the
 * API no longer knows (an expired one, say). Not a configuration error: a backfill falls back to reading by time,
 * and a poll's next run walks its window again.
 */
export function cursorRejectedError(after: string, api: ApiErrorDetails, requestId: string | null): VigilError {
  return new VigilError(
    "openai_cursor_rejected",
    `OpenAI answered ${describeHttpFailure(404, api, requestId)} for the page after ${after}: the API no longer ` +
      "accepts that cursor.",
    // A later walk (the backfill's by time, the poll's next run) does not carry it.
    { retryable: true },
  );
}

/** What to check when the API could not be reached at all; nothing to add when it answered. */
const UNREACHABLE_ADVICE: Partial<Record<FailureKind, string>> = {
  network:
    " Check that this machine reaches the API's host (its DNS, an HTTP proxy, a firewall) and that the base URL " +
    "(OPENAI_BASE_URL, or the source's) is right.",
  timeout: " The API did not answer in time: check this machine's network path to it (a proxy, a firewall).",
};

/**
 * Retries are used up: still retryable, since a later poll may well succeed. `what` says what was asked for (the
 * audit log's page by default; posture names its Admin API endpoint).
 */
export function unavailableError(
  last: OpenAIRequestError,
  attempts: number,
  what = "The OpenAI audit log API did not return a usable page",
): VigilError {
  const times = attempts === 1 ? "1 attempt" : `${attempts} attempts`;
  return new VigilError(
    "openai_unavailable",
    `${what} after ${times}; last failure: ${last.reason}.` +
      (UNREACHABLE_ADVICE[last.kind] ?? "") +
      (last.retryAfterMs !== null
        ? ` It asked to wait ${Math.ceil(last.retryAfterMs / 1000)} s before the next request.`
        : ""),
    // The poll that failed waits that long before the next one (pipeline/scheduler.ts).
    { retryable: true, cause: last, retryAfterMs: last.retryAfterMs },
  );
}

/** `unread` says what is left unread: the audit log's window by default, a posture list's objects. */
export function paginationStuckError(detail: string, unread = "The window was not fully read."): VigilError {
  return new VigilError(
    "openai_pagination_stuck",
    `Pagination cannot continue: the API reported has_more=true but ${detail}. ${unread}`,
  );
}

function requestSuffix(requestId: string | null): string {
  return requestId ? ` (request ${requestId})` : "";
}

function truncate(text: string): string {
  return text.length > MAX_API_TEXT ? `${text.slice(0, MAX_API_TEXT)}…` : text;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
