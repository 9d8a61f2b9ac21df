import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { isRetryableStatus, parseRetryAfter, postWithTimeout, shorten } from "./http.ts";

/** Posts once to a server answering with `handler`, with `headers` and `redact`; the result and the requests received. */
async function postOnce(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: { headers?: Record<string, string>; redact?: (text: string) => string } = {},
): Promise<{ received: number; result: Awaited<ReturnType<typeof postWithTimeout>> }> {
  let received = 0;
  const server = createServer((req, res) => {
    received++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const result = await postWithTimeout({
      label: "Webhook test",
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
      body: "{}",
      headers: options.headers ?? {},
      timeoutMs: 5000,
      redact: options.redact ?? ((text) => text),
    });
    return { received, result };
  } finally {
    server.close();
  }
}

/** Posts once to a server that answers with `status` and then drops the connection in the middle of the body. */
const postToCutAnswer = (status: number) =>
  postOnce((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(status, { "content-length": "100" });
      res.write("partial");
      setTimeout(() => res.socket?.destroy(), 20);
    });
  });

test("a 2xx whose body is cut off is a delivery, not a failure to retry (which would deliver twice)", async () => {
  const { received, result } = await postToCutAnswer(200);
  assert.equal(received, 1);
  assert.deepEqual(result, { ok: true, status: 200, detail: "(the answer's body was cut off)" });
});

test("an error status whose body is cut off is judged by its status", async () => {
  const refused = await postToCutAnswer(400);
  assert.equal(refused.result.ok, false);
  assert.equal(refused.result.ok === false && refused.result.retryable, false);
  assert.equal(refused.result.ok === false && refused.result.status, 400);
  const busy = await postToCutAnswer(503);
  assert.equal(busy.result.ok === false && busy.result.retryable, true);
  assert.match(busy.result.ok === false ? busy.result.error : "", /answered HTTP 503/);
});

test("an error answer that names a secret is redacted before it is shortened, so no piece of the secret is kept", async () => {
  const secret = "HDRSECRET0123456789abcdef";
  // The receiver echoes the credential where shorten() cuts: redacted after the cut, its first half would stay.
  const { result } = await postOnce(
    (req, res) => {
      req.resume();
      res.writeHead(401, { "content-type": "text/plain" });
      res.end(`${"x".repeat(258)} rejected credential ${req.headers.authorization}`);
    },
    { headers: { Authorization: `Bearer ${secret}` }, redact: (text) => text.replaceAll(secret, "[redacted]") },
  );
  assert.equal(result.ok, false);
  const error = result.ok ? "" : result.error;
  assert.match(error, /rejected credential/);
  assert.ok(!error.includes(secret.slice(0, 8)), error);
});

test("parseRetryAfter reads delta-seconds", () => {
  assert.equal(parseRetryAfter("7"), 7000);
  assert.equal(parseRetryAfter(" 0 "), 0);
  assert.equal(parseRetryAfter("1.5"), 1500);
});

test("parseRetryAfter reads an HTTP date relative to now", () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0);
  assert.equal(parseRetryAfter(new Date(now + 30_000).toUTCString(), now), 30_000);
  assert.equal(parseRetryAfter(new Date(now - 30_000).toUTCString(), now), 0);
});

test("parseRetryAfter ignores missing or invalid values and clamps huge ones", () => {
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter(""), undefined);
  assert.equal(parseRetryAfter("soon"), undefined);
  assert.equal(parseRetryAfter("99999999"), 6 * 60 * 60 * 1000);
});

test("isRetryableStatus: 408, 429 and 5xx retry; other 4xx do not", () => {
  for (const s of [408, 425, 429, 500, 502, 503, 504]) assert.equal(isRetryableStatus(s), true, String(s));
  for (const s of [400, 401, 403, 404, 410, 413, 422]) assert.equal(isRetryableStatus(s), false, String(s));
});

test("shorten collapses whitespace and cuts long text", () => {
  assert.equal(shorten("a\n  b"), "a b");
  assert.equal(shorten("x".repeat(50), 10), `${"x".repeat(9)}…`);
});

test("a send cut by its caller's time limit says it timed out; one cut by a stop says it was cancelled", async () => {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const post = (signal: AbortSignal) =>
    postWithTimeout({
      label: "Webhook test",
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
      body: "{}",
      headers: {},
      timeoutMs: 30_000,
      redact: (text) => text,
      signal,
    });
  try {
    const limited = await post(AbortSignal.timeout(200));
    assert.ok(!limited.ok);
    assert.match(limited.error, /did not answer before the delivery's time limit \(timed out\)/);
    const stopping = new AbortController();
    setTimeout(() => stopping.abort(), 200);
    const stopped = await post(stopping.signal);
    assert.ok(!stopped.ok);
    assert.match(stopped.error, /the delivery was cancelled/);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
