import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, test } from "node:test";
import { createDestination, DestinationConfigError } from "../factory.ts";
import { hostileNotification, refusedOrigin, reply, startHttpServer, type TestServer } from "../test-support.ts";
import { createWebhookDestination, signWebhookBody, verifyWebhookSignature, webhookConfigSchema } from "./webhook.ts";

const SECRET = "whsec-0123456789abcdef";
let server: TestServer;
let mode: { status: number; body: string; headers?: Record<string, string>; hang?: boolean } = {
  status: 204,
  body: "",
};

before(async () => {
  server = await startHttpServer((_req, res) => {
    if (mode.hang) return;
    reply(res, mode.status, mode.body, mode.headers);
  });
});
after(async () => server.close());

function config(origin = server.origin, extra: Record<string, unknown> = {}) {
  return {
    id: "hook",
    name: "SIEM webhook",
    type: "webhook" as const,
    url: `${origin}/ingest/vigil?token=QUERYTOKEN42`,
    secret: SECRET,
    headers: { Authorization: "Bearer HEADERTOKEN99" },
    timeout_secs: 5,
    ...extra,
  };
}

test("POSTs the notification and deliveryId as JSON with delivery id, timestamp and HMAC headers", async () => {
  mode = { status: 204, body: "" };
  const start = server.requests.length;
  const n = hostileNotification();
  const dest = createDestination(config());
  const result = await dest.send(n, "delivery-42");
  assert.deepEqual(result, { ok: true, status: 204, detail: "" });
  const req = server.requests[start];
  assert.ok(req);
  assert.equal(req.method, "POST");
  assert.equal(req.url, "/ingest/vigil?token=QUERYTOKEN42");
  assert.equal(req.headers["content-type"], "application/json");
  assert.equal(req.headers["x-vigil-delivery-id"], "delivery-42");
  assert.equal(req.headers.authorization, "Bearer HEADERTOKEN99");
  assert.deepEqual(JSON.parse(req.body), { deliveryId: "delivery-42", notification: n });
  const ts = String(req.headers["x-vigil-timestamp"]);
  assert.match(ts, /^\d+$/);
  assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 60);
  // The documented scheme, recomputed independently: HMAC-SHA256(secret, `${timestamp}.${body}`).
  const expected = `sha256=${createHmac("sha256", SECRET).update(`${ts}.${req.body}`).digest("hex")}`;
  assert.equal(req.headers["x-vigil-signature"], expected);
  const verified = verifyWebhookSignature(req.body, req.headers, SECRET, 300);
  assert.deepEqual(verified, { ok: true, timestampSecs: Number(ts), deliveryId: "delivery-42" });
});

test("the delivery id is stable across retries while the timestamp and signature follow the attempt", async () => {
  mode = { status: 204, body: "" };
  const start = server.requests.length;
  let now = 1_800_000_000;
  const dest = createWebhookDestination(webhookConfigSchema.parse(config()), { nowSecs: () => now });
  await dest.send(hostileNotification(), "same-id");
  now += 60;
  await dest.send(hostileNotification(), "same-id");
  const [a, b] = server.requests.slice(start);
  assert.ok(a && b);
  assert.equal(a.headers["x-vigil-delivery-id"], "same-id");
  assert.equal(b.headers["x-vigil-delivery-id"], "same-id");
  assert.equal(a.body, b.body);
  assert.equal(a.headers["x-vigil-timestamp"], "1800000000");
  assert.equal(b.headers["x-vigil-timestamp"], "1800000060");
  assert.notEqual(a.headers["x-vigil-signature"], b.headers["x-vigil-signature"]);
  assert.equal(verifyWebhookSignature(b.body, b.headers, SECRET, 300, 1_800_000_070).ok, true);
});

test("verifyWebhookSignature rejects a tampered body, an old timestamp, a wrong secret and missing headers", () => {
  const body = JSON.stringify({ deliveryId: "d", notification: { title: "x" } });
  const now = 1_800_000_000;
  const headers = {
    "X-Vigil-Timestamp": String(now),
    "X-Vigil-Signature": signWebhookBody(body, now, SECRET),
    "X-Vigil-Delivery-Id": "d",
  };
  assert.deepEqual(verifyWebhookSignature(body, headers, SECRET, 300, now), {
    ok: true,
    timestampSecs: now,
    deliveryId: "d",
  });
  // Works with a fetch Headers object and a Buffer body too.
  assert.equal(verifyWebhookSignature(Buffer.from(body), new Headers(headers), SECRET, 300, now).ok, true);

  const tampered = verifyWebhookSignature(body.replace('"x"', '"y"'), headers, SECRET, 300, now);
  assert.deepEqual(tampered, { ok: false, reason: "signature does not match" });

  const old = verifyWebhookSignature(body, headers, SECRET, 300, now + 301);
  assert.equal(old.ok, false);
  assert.match(old.ok ? "" : old.reason, /tolerance/);
  assert.equal(verifyWebhookSignature(body, headers, SECRET, 300, now + 299).ok, true);

  // A re-signed body with a different timestamp does not pass under the old signature.
  const swappedTs = { ...headers, "X-Vigil-Timestamp": String(now + 1) };
  assert.equal(verifyWebhookSignature(body, swappedTs, SECRET, 300, now).ok, false);

  assert.equal(verifyWebhookSignature(body, headers, "another-secret-value", 300, now).ok, false);
  assert.equal(verifyWebhookSignature(body, { "X-Vigil-Timestamp": String(now) }, SECRET, 300, now).ok, false);
  assert.equal(
    verifyWebhookSignature(body, { "X-Vigil-Signature": headers["X-Vigil-Signature"] }, SECRET, 300, now).ok,
    false,
  );
  assert.equal(
    verifyWebhookSignature(body, { ...headers, "X-Vigil-Signature": "sha256=00" }, SECRET, 300, now).ok,
    false,
  );
});

test("errors are classified and never contain the URL token, the secret or extra header values", async () => {
  mode = { status: 503, body: `echo ${SECRET} QUERYTOKEN42 HEADERTOKEN99`, headers: { "Retry-After": "3" } };
  const r503 = await createDestination(config()).send(hostileNotification(), "d1");
  assert.ok(!r503.ok);
  assert.equal(r503.retryable, true);
  assert.equal(r503.retryAfterMs, 3000);
  const text = JSON.stringify(r503);
  for (const secret of [SECRET, "QUERYTOKEN42", "HEADERTOKEN99", "/ingest/vigil"])
    assert.ok(!text.includes(secret), text);
  assert.match(r503.error, /^Webhook http:\/\/127\.0\.0\.1:\d+\/…\[redacted\] answered HTTP 503/);

  mode = { status: 422, body: "unprocessable" };
  const r422 = await createDestination(config()).send(hostileNotification(), "d2");
  assert.ok(!r422.ok);
  assert.equal(r422.retryable, false);

  mode = { status: 408, body: "" };
  const r408 = await createDestination(config()).send(hostileNotification(), "d3");
  assert.ok(!r408.ok);
  assert.equal(r408.retryable, true);

  const refused = await createDestination(config(await refusedOrigin())).send(hostileNotification(), "d4");
  assert.ok(!refused.ok);
  assert.equal(refused.retryable, true);
  assert.ok(!JSON.stringify(refused).includes("QUERYTOKEN42"));

  mode = { status: 200, body: "", hang: true };
  const timedOut = await createDestination(config(server.origin, { timeout_secs: 0.2 })).send(
    hostileNotification(),
    "d5",
  );
  assert.ok(!timedOut.ok);
  assert.equal(timedOut.retryable, true);
  assert.match(timedOut.error, /timed out/);
});

test("config validation: short secrets, reserved headers and header injection are refused, without echoing secrets", () => {
  assert.throws(() => createDestination(config(server.origin, { secret: "short" })), DestinationConfigError);
  assert.throws(
    () => createDestination(config(server.origin, { headers: { "X-Vigil-Signature": "forged" } })),
    /headers cannot override/,
  );
  assert.throws(
    () => createDestination(config(server.origin, { headers: { "X-Evil": "a\r\nInjected: 1" } })),
    /line breaks/,
  );
  try {
    createDestination(config(server.origin, { url: "ftp://example.com/SECRETPATH" }));
    assert.fail("expected a config error");
  } catch (err) {
    assert.ok(err instanceof DestinationConfigError);
    assert.ok(!err.message.includes("SECRETPATH"), err.message);
    assert.equal(err.issues[0]?.path, "url");
  }
});
