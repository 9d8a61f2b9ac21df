import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { ConfigurationError, VigilError } from "../../core/errors.ts";
import { refusedOrigin } from "../../destinations/test-support.ts";
import { DEFAULT_OPENAI_BASE_URL, OpenAIAuditLogClient, type OpenAIClientOptions } from "./client.ts";
import { OpenAIRequestError } from "./errors.ts";
import type { RetryInfo } from "./retry.ts";

// ---- a tiny scripted server: the n-th request gets the n-th handler (the last one repeats) ----

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface TestServer {
  baseUrl: string;
  requests: Array<{ url: URL; headers: IncomingHttpHeaders }>;
}

async function withServer(handlers: Handler[], body: (server: TestServer) => Promise<void>): Promise<void> {
  const requests: TestServer["requests"] = [];
  const server = createServer((req, res) => {
    requests.push({ url: new URL(req.url ?? "/", "http://test"), headers: req.headers });
    const handler = handlers[Math.min(requests.length, handlers.length) - 1];
    handler?.(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await body({ baseUrl: `http://127.0.0.1:${port}/v1`, requests });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const json =
  (status: number, payload: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, { "content-type": "application/json", "x-request-id": "req_test", ...headers });
    res.end(JSON.stringify(payload));
  };

const page = (ids: string[], hasMore = false): Handler =>
  json(200, {
    object: "list",
    data: ids.map((id) => ({ id, type: "login.succeeded", effective_at: 1720000000 })),
    first_id: ids[0] ?? null,
    last_id: ids.at(-1) ?? null,
    has_more: hasMore,
  });

const apiError = (status: number, message: string, headers: Record<string, string> = {}, param: string | null = null) =>
  json(status, { error: { message, type: "invalid_request_error", param, code: null } }, headers);

const hang: Handler = () => {};
const reset: Handler = (req) => req.socket.destroy();
const cutBody =
  (chunked: boolean): Handler =>
  (req, res) => {
    res.writeHead(200, chunked ? { "content-type": "application/json" } : { "content-length": "400" });
    res.write('{"object":"list","data":[{"id":"a"');
    setTimeout(() => req.socket.destroy(), 5);
  };

const KEY = "sk-admin-TESTKEY0123456789abcdefXYZ";

function makeClient(server: TestServer, options: Partial<OpenAIClientOptions> = {}): OpenAIAuditLogClient {
  return new OpenAIAuditLogClient({
    baseUrl: server.baseUrl,
    apiKey: KEY,
    initialDelayMs: 2,
    maxDelayMs: 5,
    timeoutMs: 2000,
    ...options,
  });
}

function recorder(): { retries: RetryInfo[]; onRetry: (info: RetryInfo) => void } {
  const retries: RetryInfo[] = [];
  return { retries, onRetry: (info) => retries.push(info) };
}

async function failure(promise: Promise<unknown>): Promise<VigilError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof VigilError, `expected a VigilError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the call to fail");
}

// ---- requests ----

test("the default base URL is OpenAI's v1 API", () => {
  assert.equal(DEFAULT_OPENAI_BASE_URL, "https://api.openai.com/v1");
});

test("sends auth, accept and user-agent headers and the SDK query encoding; tolerates a trailing slash", async () => {
  await withServer([page(["audit_log-1"])], async (server) => {
    const client = makeClient({ ...server, baseUrl: `${server.baseUrl}/` });
    const result = await client.listPage({
      effective_at: { gte: 1720000000, lt: 1720086400 },
      event_types: ["api_key.created", "login.failed"],
      tenant_only: true,
    });
    const { serverTimeSecs: _, ...body } = result;
    assert.deepEqual(body, {
      object: "list",
      data: [{ id: "audit_log-1", type: "login.succeeded", effective_at: 1720000000 }],
      first_id: "audit_log-1",
      last_id: "audit_log-1",
      has_more: false,
      requestId: "req_test",
    });
    const [request] = server.requests;
    assert.ok(request);
    assert.equal(request.url.pathname, "/v1/organization/audit_logs");
    assert.equal(request.url.searchParams.get("effective_at[gte]"), "1720000000");
    assert.equal(request.url.searchParams.get("effective_at[lt]"), "1720086400");
    assert.deepEqual(request.url.searchParams.getAll("event_types[]"), ["api_key.created", "login.failed"]);
    assert.equal(request.url.searchParams.get("tenant_only"), "true");
    assert.equal(request.url.searchParams.get("limit"), "100");
    assert.equal(request.headers.authorization, `Bearer ${KEY}`);
    assert.equal(request.headers.accept, "application/json");
    assert.equal(request.headers["user-agent"], "vigil/0.1.0");
  });
});

test("pages() walks a window with after=last_id until has_more is false, keeping the filters", async () => {
  const byCursor: Record<string, Handler> = {
    "": page(["e5", "e4"], true),
    e4: page(["e3", "e2"], true),
    e2: page(["e1"], false),
  };
  const router: Handler = (req, res) => {
    const after = new URL(req.url ?? "/", "http://test").searchParams.get("after") ?? "";
    (byCursor[after] ?? json(500, {}))(req, res);
  };
  await withServer([router], async (server) => {
    const client = makeClient(server);
    const seen: string[][] = [];
    for await (const p of client.pages({ event_types: ["login.failed"], effective_at: { gte: 5 } })) {
      seen.push(p.data.map((r) => (r as { id: string }).id));
    }
    assert.deepEqual(seen, [["e5", "e4"], ["e3", "e2"], ["e1"]]);
    assert.deepEqual(
      server.requests.map((r) => r.url.searchParams.get("after")),
      [null, "e4", "e2"],
    );
    for (const r of server.requests) {
      assert.deepEqual(r.url.searchParams.getAll("event_types[]"), ["login.failed"]);
      assert.equal(r.url.searchParams.get("effective_at[gte]"), "5");
    }
  });
});

test("pages() continues after the last record when a page has more but no last_id (the spec does not require it)", async () => {
  const noCursor = json(200, { object: "list", data: [{ id: "x" }], first_id: "x", last_id: null, has_more: true });
  await withServer([noCursor, page(["y"])], async (server) => {
    const yielded: string[][] = [];
    for await (const p of makeClient(server).pages({})) yielded.push(p.data.map((r) => (r as { id: string }).id));
    assert.deepEqual(yielded, [["x"], ["y"]]);
    assert.deepEqual(
      server.requests.map((r) => r.url.searchParams.get("after")),
      [null, "x"],
    );
  });
});

test("pages() throws when has_more is true but there is no last_id nor record to continue from", async () => {
  const stuck = json(200, { object: "list", data: [], first_id: null, last_id: null, has_more: true });
  await withServer([stuck], async (server) => {
    const yielded: unknown[] = [];
    const err = await failure(
      (async () => {
        for await (const p of makeClient(server).pages({})) yielded.push(p);
      })(),
    );
    assert.equal(err.code, "openai_pagination_stuck");
    assert.match(err.message, /has_more=true/);
    assert.match(err.message, /not fully read/);
    assert.equal(yielded.length, 1);
    assert.equal(server.requests.length, 1);
  });
});

test("pages() throws instead of looping when last_id does not advance", async () => {
  await withServer([page(["a", "b"], true)], async (server) => {
    const err = await failure(
      (async () => {
        for await (const _ of makeClient(server).pages({})) {
          // drain
        }
      })(),
    );
    assert.equal(err.code, "openai_pagination_stuck");
    assert.equal(server.requests.length, 2);
  });
});

test("pages() throws instead of looping when a cursor it followed comes back (A → B → A)", async () => {
  await withServer([page(["a", "b"], true), page(["c", "d"], true), page(["a", "b"], true)], async (server) => {
    const yielded: string[][] = [];
    const err = await failure(
      (async () => {
        for await (const p of makeClient(server).pages({})) yielded.push(p.data.map((r) => (r as { id: string }).id));
      })(),
    );
    assert.equal(err.code, "openai_pagination_stuck");
    assert.match(err.message, /last_id b came back/);
    assert.deepEqual(
      server.requests.map((r) => r.url.searchParams.get("after")),
      [null, "b", "d"],
    );
    assert.equal(yielded.length, 3, "every page read is yielded; the error comes after");
  });
});

test("a page carries the API's clock from its Date header", async () => {
  await withServer([page(["a"])], async (server) => {
    const result = await makeClient(server).listPage({});
    assert.ok(result.serverTimeSecs !== undefined && Math.abs(result.serverTimeSecs - Date.now() / 1000) < 5);
  });
});

// ---- retries ----

test("429s until the attempts run out: the error keeps how long the API asked to wait, for the next poll", async () => {
  const limited = () => apiError(429, "Rate limit", { "retry-after": "120" });
  await withServer([limited(), limited(), limited()], async (server) => {
    const err = await failure(makeClient(server, { maxAttempts: 3, maxDelayMs: 5 }).listPage({}));
    assert.equal(err.code, "openai_unavailable");
    assert.equal(err.retryAfterMs, 120_000);
    assert.match(err.message, /It asked to wait 120 s before the next request\./);
    assert.equal(server.requests.length, 3);
  });
});

test("429 with Retry-After in seconds: the delay is honoured, and capped at maxDelayMs", async () => {
  await withServer([apiError(429, "Rate limit", { "retry-after": "0.03" }), page(["a"])], async (server) => {
    const { retries, onRetry } = recorder();
    const started = performance.now();
    const result = await makeClient(server, { maxDelayMs: 1000, onRetry }).listPage({});
    assert.equal(result.data.length, 1);
    assert.equal(retries.length, 1);
    assert.equal(retries[0]?.delayMs, 30);
    assert.match(retries[0]?.reason ?? "", /HTTP 429: Rate limit/);
    assert.ok(performance.now() - started >= 25, "waited for Retry-After");
  });
  await withServer([apiError(429, "Rate limit", { "retry-after": "120" }), page(["a"])], async (server) => {
    const { retries, onRetry } = recorder();
    await makeClient(server, { maxDelayMs: 20, onRetry }).listPage({});
    assert.deepEqual(
      retries.map((r) => r.delayMs),
      [20],
    );
  });
});

test("429 with Retry-After as an HTTP date is measured against the clock", async () => {
  const retryAt = Date.parse("2026-08-21T12:00:10Z");
  const headers = { "retry-after": new Date(retryAt).toUTCString() };
  await withServer([apiError(429, "slow down", headers), page(["a"])], async (server) => {
    const { retries, onRetry } = recorder();
    const clock = { nowMs: () => retryAt - 40 };
    await makeClient(server, { maxDelayMs: 1000, onRetry, clock }).listPage({});
    assert.deepEqual(
      retries.map((r) => r.delayMs),
      [40],
    );
  });
});

test("retry-after-ms is honoured", async () => {
  await withServer([apiError(429, "x", { "retry-after-ms": "15", "retry-after": "5" }), page([])], async (server) => {
    const { retries, onRetry } = recorder();
    await makeClient(server, { maxDelayMs: 1000, onRetry }).listPage({});
    assert.equal(retries[0]?.delayMs, 15);
  });
});

test("500 and 503 are retried, then the page is returned", async () => {
  const handlers = [apiError(500, "The server had an error"), apiError(503, "Overloaded"), page(["a", "b"])];
  await withServer(handlers, async (server) => {
    const { retries, onRetry } = recorder();
    const result = await makeClient(server, { onRetry }).listPage({});
    assert.equal(result.data.length, 2);
    assert.equal(server.requests.length, 3);
    assert.deepEqual(
      retries.map((r) => r.attempt),
      [1, 2],
    );
    assert.match(retries[0]?.reason ?? "", /^HTTP 500: The server had an error \(request req_test\)$/);
    assert.match(retries[1]?.reason ?? "", /^HTTP 503: Overloaded/);
    for (const r of retries) assert.ok(r.delayMs >= 0 && r.delayMs <= 5);
  });
});

test("408 and 409 are retried", async () => {
  await withServer([apiError(408, "timeout"), apiError(409, "conflict"), page(["a"])], async (server) => {
    const result = await makeClient(server).listPage({});
    assert.equal(result.first_id, "a");
    assert.equal(server.requests.length, 3);
  });
});

test("a timeout (no headers, or a stalled body) is retried", async () => {
  const stalledBody: Handler = (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.write('{"object":"list",');
  };
  await withServer([hang, stalledBody, page(["a"])], async (server) => {
    const { retries, onRetry } = recorder();
    const result = await makeClient(server, { timeoutMs: 100, onRetry }).listPage({});
    assert.equal(result.first_id, "a");
    assert.deepEqual(
      retries.map((r) => r.reason),
      ["timed out after 100 ms (no response)", "timed out after 100 ms (the body did not finish)"],
    );
  });
});

test("a connection reset is retried", async () => {
  await withServer([reset, page(["a"])], async (server) => {
    const { retries, onRetry } = recorder();
    const result = await makeClient(server, { onRetry }).listPage({});
    assert.equal(result.first_id, "a");
    assert.equal(server.requests.length, 2);
    assert.match(retries[0]?.reason ?? "", /^connection failed: .*(other side closed|ECONNRESET)/);
  });
});

test("a body cut mid-stream (content-length or chunked) is retried, never half-applied", async () => {
  await withServer([cutBody(false), cutBody(true), page(["a"])], async (server) => {
    const { retries, onRetry } = recorder();
    const result = await makeClient(server, { onRetry }).listPage({});
    assert.deepEqual(result.data, [{ id: "a", type: "login.succeeded", effective_at: 1720000000 }]);
    assert.equal(retries.length, 2);
    for (const r of retries) assert.match(r.reason, /^connection lost while reading the body/);
  });
});

test("a malformed envelope is retried; records themselves are not validated", async () => {
  const badEnvelope = json(200, { object: "list", data: "nope", has_more: false });
  const odd = json(200, { object: "list", data: [42, { no: "id" }], first_id: null, last_id: null, has_more: false });
  await withServer([badEnvelope, odd], async (server) => {
    const { retries, onRetry } = recorder();
    const result = await makeClient(server, { onRetry }).listPage({});
    assert.deepEqual(result.data, [42, { no: "id" }]);
    assert.match(retries[0]?.reason ?? "", /^malformed page \(HTTP 200\): data is "nope", not an array/);
  });
});

test("retries exhausted: a retryable openai_unavailable error naming the last failure and the attempts", async () => {
  const echo = apiError(503, `Backend down for key ${KEY}`);
  await withServer([echo], async (server) => {
    const err = await failure(makeClient(server, { maxAttempts: 3 }).listPage({}));
    assert.equal(err.code, "openai_unavailable");
    assert.equal(err.retryable, true);
    assert.match(err.message, /after 3 attempts/);
    assert.match(err.message, /last failure: HTTP 503: Backend down/);
    assert.ok(!err.message.includes(KEY));
    assert.ok(err.cause instanceof OpenAIRequestError);
    assert.equal(server.requests.length, 3);
  });
  await withServer([json(200, "garbage")], async (server) => {
    const err = await failure(makeClient(server, { maxAttempts: 2 }).listPage({}));
    assert.equal(err.code, "openai_unavailable");
    assert.match(err.message, /after 2 attempts; last failure: malformed page/);
    // The API answered: nothing to say about the network.
    assert.doesNotMatch(err.message, /DNS|proxy/);
  });
  // Nothing listens: the message says what to check on this machine.
  const closed = `${await refusedOrigin()}/v1`;
  const unreachable = new OpenAIAuditLogClient({
    baseUrl: closed,
    apiKey: KEY,
    initialDelayMs: 2,
    maxDelayMs: 5,
    maxAttempts: 2,
  });
  const err = await failure(unreachable.listPage({}));
  assert.equal(err.code, "openai_unavailable");
  assert.match(
    err.message,
    /last failure: connection failed: .*\. Check that this machine reaches the API's host \(its DNS, an HTTP proxy, a firewall\) and that the base URL \(OPENAI_BASE_URL, or the source's\) is right\.$/,
  );
});

test("x-should-retry: false stops a retryable status; true retries a non-retryable one", async () => {
  await withServer([apiError(503, "no", { "x-should-retry": "false" }), page(["a"])], async (server) => {
    const err = await failure(makeClient(server).listPage({}));
    assert.ok(err instanceof OpenAIRequestError);
    assert.equal(err.code, "openai_http_error");
    assert.equal(err.status, 503);
    assert.equal(err.retryable, false);
    assert.equal(server.requests.length, 1);
  });
  await withServer([apiError(400, "try again", { "x-should-retry": "true" }), page(["a"])], async (server) => {
    const result = await makeClient(server).listPage({});
    assert.equal(result.first_id, "a");
    assert.equal(server.requests.length, 2);
  });
});

// ---- errors that are not retried ----

test("401 is a ConfigurationError that explains the admin key, scope and audit logging, without the key", async () => {
  await withServer([apiError(401, `Incorrect API key provided: ${KEY}.`)], async (server) => {
    const err = await failure(makeClient(server).listPage({}));
    assert.ok(err instanceof ConfigurationError);
    assert.equal(err.code, "openai_auth_invalid_key");
    assert.equal(err.retryable, false);
    assert.match(err.message, /HTTP 401: Incorrect API key provided/);
    assert.match(err.message, /Admin API key \(sk-admin-…/);
    assert.match(err.message, /project, service-account and user keys do not work/);
    assert.match(err.message, /api\.audit_logs\.read/);
    assert.match(err.message, /audit logging must be enabled/);
    assert.match(err.message, /Organization → Data controls → Data retention/);
    assert.ok(!err.message.includes(KEY), err.message);
    assert.ok(!err.message.includes("TESTKEY"), err.message);
    assert.equal(server.requests.length, 1);
  });
});

test("403 is a ConfigurationError with the API's message; a non-admin key gets a hint and is scrubbed", async () => {
  const oddKey = "proj-key-without-sk-prefix-0001";
  await withServer([apiError(403, `Missing scopes: api.audit_logs.read (key ${oddKey})`)], async (server) => {
    const err = await failure(makeClient(server, { apiKey: oddKey }).listPage({}));
    assert.ok(err instanceof ConfigurationError);
    assert.equal(err.code, "openai_auth_forbidden");
    assert.match(err.message, /HTTP 403: Missing scopes: api\.audit_logs\.read/);
    assert.match(err.message, /Admin API key/);
    assert.match(err.message, /audit logging must be enabled/);
    assert.match(err.message, /does not start with sk-admin-/);
    assert.ok(!err.message.includes(oddKey), err.message);
    assert.equal(server.requests.length, 1);
  });
});

test("400 is not retried and carries the API message and param", async () => {
  await withServer([apiError(400, "Invalid value for limit", {}, "limit")], async (server) => {
    const err = await failure(makeClient(server).listPage({}));
    assert.equal(err.code, "openai_bad_request");
    assert.equal(err.retryable, false);
    assert.match(err.message, /Invalid value for limit/);
    assert.match(err.message, /parameter: limit/);
    assert.equal(server.requests.length, 1);
  });
});

test("404 is not retried and says the base URL is probably wrong", async () => {
  await withServer([json(404, { error: { message: "Not found", type: "x", param: null, code: null } })], async (s) => {
    const err = await failure(makeClient(s).listPage({}));
    assert.ok(err instanceof ConfigurationError);
    assert.equal(err.code, "openai_not_found");
    assert.match(err.message, /base URL is probably wrong/);
    assert.equal(s.requests.length, 1);
  });
});

test("404 for a page after a cursor is the cursor refused, not the base URL (which answered the first page)", async () => {
  const notFound = json(404, { error: { message: "Not found", type: "x", param: null, code: null } });
  await withServer([page(["a", "b"], true), notFound], async (s) => {
    const err = await failure(
      (async () => {
        for await (const _ of makeClient(s).pages({})) {
          // drain
        }
      })(),
    );
    assert.equal(err.code, "openai_cursor_rejected");
    assert.equal(err instanceof ConfigurationError, false);
    assert.match(err.message, /the page after b: the API no longer accepts that cursor/);
    assert.doesNotMatch(err.message, /base URL/);
    assert.equal(s.requests.length, 2, "not retried");
  });
});

test("other 4xx statuses are not retried", async () => {
  await withServer([apiError(422, "Unprocessable")], async (server) => {
    const err = await failure(makeClient(server).listPage({}));
    assert.equal(err.code, "openai_http_error");
    assert.equal(err.retryable, false);
    assert.equal(server.requests.length, 1);
  });
});

// ---- abort ----

test("abort during a request stops at once, without retrying", async () => {
  await withServer([hang], async (server) => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const started = performance.now();
    const err = await failure(makeClient(server).listPage({}, controller.signal));
    assert.equal(err.code, "aborted");
    assert.equal(err.retryable, false);
    assert.ok(performance.now() - started < 1000);
    assert.equal(server.requests.length, 1);
  });
});

test("abort during a backoff wait stops at once", async () => {
  await withServer([apiError(503, "down")], async (server) => {
    const controller = new AbortController();
    const client = makeClient(server, {
      initialDelayMs: 20_000,
      maxDelayMs: 20_000,
      random: () => 0.99,
      onRetry: () => setTimeout(() => controller.abort(), 10),
    });
    const started = performance.now();
    const err = await failure(client.listPage({}, controller.signal));
    assert.equal(err.code, "aborted");
    assert.ok(performance.now() - started < 1000);
    assert.equal(server.requests.length, 1);
  });
});

test("an already-aborted signal sends nothing", async () => {
  await withServer([page(["a"])], async (server) => {
    const err = await failure(makeClient(server).listPage({}, AbortSignal.abort()));
    assert.equal(err.code, "aborted");
    assert.equal(server.requests.length, 0);
  });
});

// ---- verify and construction ----

test("verify() makes one limit=1 request and reports what it saw", async () => {
  await withServer([page(["a"])], async (server) => {
    const result = await makeClient(server).verify();
    assert.equal(result.ok, true);
    assert.equal(result.sampleEventCount, 1);
    assert.ok(result.latencyMs >= 0);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]?.url.search, "?limit=1");
  });
});

test("verify() surfaces the auth ConfigurationError", async () => {
  await withServer([apiError(401, "bad key")], async (server) => {
    await assert.rejects(makeClient(server).verify(), (err) => err instanceof ConfigurationError);
  });
});

test("bad construction options are ConfigurationErrors", () => {
  const isConfig = (code: string) => (err: unknown) => err instanceof ConfigurationError && err.code === code;
  assert.throws(
    () => new OpenAIAuditLogClient({ baseUrl: "api.openai.com", apiKey: KEY }),
    isConfig("openai_base_url_invalid"),
  );
  assert.throws(
    () => new OpenAIAuditLogClient({ baseUrl: "ftp://x/v1", apiKey: KEY }),
    isConfig("openai_base_url_invalid"),
  );
  assert.throws(
    () => new OpenAIAuditLogClient({ baseUrl: DEFAULT_OPENAI_BASE_URL, apiKey: " " }),
    isConfig("openai_api_key_missing"),
  );
  assert.throws(
    () => new OpenAIAuditLogClient({ baseUrl: DEFAULT_OPENAI_BASE_URL, apiKey: `${KEY}\n` }),
    isConfig("openai_api_key_invalid"),
  );
  assert.throws(
    () => new OpenAIAuditLogClient({ baseUrl: DEFAULT_OPENAI_BASE_URL, apiKey: KEY, maxAttempts: 0 }),
    isConfig("openai_client_option_invalid"),
  );
});

test("bytes that are not UTF-8 inside a record's string arrive as U+FFFD; the page is not refused", async () => {
  const record = { id: "a1", type: "login.succeeded", effective_at: 1720000000, note: "@@BAD@@" };
  const text = JSON.stringify({ object: "list", data: [record], first_id: "a1", last_id: "a1", has_more: false });
  const [before, after] = text.split("@@BAD@@") as [string, string];
  // A lone continuation byte, a lead byte without its continuation, and a byte UTF-8 never uses.
  const bad = Buffer.from([0x80, 0xc3, 0x28, 0xff]);
  const body = Buffer.concat([Buffer.from(before), bad, Buffer.from(after)]);
  const sendBytes: Handler = (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(body);
  };
  await withServer([sendBytes], async (server) => {
    const page = await makeClient(server).listPage({ limit: 1 });
    assert.deepEqual(page.data, [{ ...record, note: "\uFFFD\uFFFD(\uFFFD" }]);
    assert.equal(server.requests.length, 1, "no retry: the body is complete and is JSON");
  });
});

test("a raw NUL byte inside a record's string does not make the page malformed", async () => {
  const text = JSON.stringify({
    object: "list",
    data: [{ id: "a1", type: "login.succeeded", effective_at: 1720000000, note: "x\u0000y" }],
    first_id: "a1",
    last_id: "a1",
    has_more: false,
  }).replace("\\u0000", "\u0000");
  const sendRaw: Handler = (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(text);
  };
  await withServer([sendRaw], async (server) => {
    const page = await makeClient(server).listPage({ limit: 1 });
    assert.equal((page.data[0] as { note: string }).note, "x\u0000y");
    assert.equal(server.requests.length, 1);
  });
});
