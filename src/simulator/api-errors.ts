// OpenAI's error body, `{"error":{"message","type","param","code"}}` (spec `ErrorResponse`), with the messages
// the live API is known to use where they are known (API reference §6.3).

export interface ApiError {
  status: number;
  body: { error: { message: string; type: string; param: string | null; code: string | null } };
  headers?: Record<string, string>;
}

export function apiError(
  status: number,
  message: string,
  options: { type?: string; param?: string | null; code?: string | null } = {},
): ApiError {
  return {
    status,
    body: {
      error: {
        message,
        type: options.type ?? "invalid_request_error",
        param: options.param ?? null,
        code: options.code ?? null,
      },
    },
  };
}

/** Shows enough of a key to recognize it and never the whole of it (`sk-adm…0000`). */
export function maskKey(key: string): string {
  if (key.length < 16) return "****";
  return `${key.slice(0, 6)}…${key.slice(-4)}`;
}

export function invalidUrl(method: string, path: string): ApiError {
  return apiError(404, `Invalid URL (${method} ${path})`);
}

export function missingKey(): ApiError {
  return apiError(
    401,
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth " +
      "(i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing " +
      "the API from your browser and are prompted for a username.",
  );
}

export function incorrectKey(key: string): ApiError {
  return apiError(
    401,
    `Incorrect API key provided: ${maskKey(key)}. You can find your API key at ` +
      "https://platform.openai.com/settings/organization/admin-keys.",
    { code: "invalid_api_key" },
  );
}

export function missingScope(): ApiError {
  return apiError(
    403,
    "You have insufficient permissions for this operation. Missing scopes: api.audit_logs.read. Check that you " +
      "have the correct role in your organization (Owner), and if you're using a restricted API key, that it has " +
      "the necessary scopes.",
  );
}

export function rateLimited(retryAfter: string): ApiError {
  const error = apiError(
    429,
    "Rate limit reached for requests to /v1/organization/audit_logs. Please try again later.",
    { type: "requests", code: "rate_limit_exceeded" },
  );
  error.headers = { "retry-after": retryAfter };
  return error;
}

export function serverError(status: 500 | 502 | 503): ApiError {
  if (status === 503) {
    return apiError(503, "The server is overloaded or not ready yet.", { type: "server_error" });
  }
  if (status === 502) {
    return apiError(502, "Bad gateway.", { type: "server_error", code: "bad_gateway" });
  }
  return apiError(500, "The server had an error while processing your request. Sorry about that!", {
    type: "server_error",
  });
}
