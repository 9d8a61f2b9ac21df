import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createDestination } from "../factory.ts";
import { hostileNotification, refusedOrigin, reply, startHttpServer, type TestServer } from "../test-support.ts";
import { PAGERDUTY_SUMMARY_MAX, pagerdutyConfigSchema, pagerdutySeverity } from "./pagerduty.ts";

const ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF";
let server: TestServer;
let mode: { status: number; body: string; headers?: Record<string, string>; hang?: boolean } = {
  status: 202,
  body: '{"status":"success","message":"Event processed","dedup_key":"x"}',
};

before(async () => {
  server = await startHttpServer((_req, res) => {
    if (mode.hang) return;
    reply(res, mode.status, mode.body, { "Content-Type": "application/json", ...mode.headers });
  });
});
after(async () => server.close());

function pd(origin = server.origin, timeoutSecs = 5) {
  return createDestination({
    id: "pd",
    name: "On-call",
    type: "pagerduty",
    routing_key: ROUTING_KEY,
    base_url: origin,
    timeout_secs: timeoutSecs,
  });
}

const accepted = { status: 202, body: '{"status":"success","message":"Event processed","dedup_key":"x"}' };

test("trigger: exact Events API v2 shape with dedup_key = alert id and links to the console", async () => {
  mode = accepted;
  const start = server.requests.length;
  const n = hostileNotification();
  const result = await pd().send(n, "d-1");
  assert.equal(result.ok, true);
  assert.equal(result.ok && result.status, 202);
  const req = server.requests[start];
  assert.ok(req);
  assert.equal(req.method, "POST");
  assert.equal(req.url, "/v2/enqueue");
  assert.equal(req.headers["content-type"], "application/json");
  assert.deepEqual(JSON.parse(req.body), {
    routing_key: ROUTING_KEY,
    event_action: "trigger",
    dedup_key: n.alertId,
    client: "Vigil",
    client_url: "https://vigil.example.com/alerts/a1",
    links: [{ href: "https://vigil.example.com/alerts/a1", text: "View alert in Vigil" }],
    payload: {
      summary: `[HIGH] ${n.title}`,
      source: "OpenAI production",
      severity: "error",
      timestamp: "2026-01-02T03:04:05.000Z",
      component: "OpenAI.Audit",
      group: "src-openai",
      class: "OpenAI.Admin.Key.Created",
      custom_details: {
        alert_id: n.alertId,
        kind: "created",
        rule: "OpenAI admin key created (OpenAI.Admin.Key.Created)",
        severity: "HIGH",
        status: "OPEN",
        match_count: 3,
        actor: "mallory@example.com (user user-abc) from 203.0.113.9",
        description: n.description,
        runbook: n.runbook,
        reference: null,
        tags: ["OpenAI", "Persistence"],
        reports: { "MITRE ATT&CK": ["TA0003:T1098"] },
        alert_context: n.alertContext,
      },
    },
  });
});

test("resolve uses the same dedup_key", async () => {
  mode = accepted;
  const start = server.requests.length;
  const n = hostileNotification({ kind: "resolved", status: "RESOLVED" });
  assert.equal((await pd().send(n, "d-2")).ok, true);
  assert.deepEqual(JSON.parse(server.requests[start]?.body ?? "{}"), {
    routing_key: ROUTING_KEY,
    event_action: "resolve",
    dedup_key: n.alertId,
  });
});

test("severity mapping and summary limit", () => {
  assert.equal(pagerdutySeverity("CRITICAL"), "critical");
  assert.equal(pagerdutySeverity("HIGH"), "error");
  assert.equal(pagerdutySeverity("MEDIUM"), "warning");
  assert.equal(pagerdutySeverity("LOW"), "info");
  assert.equal(pagerdutySeverity("INFO"), "info");
  assert.equal(
    pagerdutyConfigSchema.parse({ id: "p", name: "p", type: "pagerduty", routing_key: "k" }).base_url,
    "https://events.pagerduty.com",
  );
});

test("a long title is cut to 1024 characters in the summary", async () => {
  mode = accepted;
  const start = server.requests.length;
  await pd().send(hostileNotification({ title: "A".repeat(5000) }), "d-3");
  const body = JSON.parse(server.requests[start]?.body ?? "{}") as { payload: { summary: string } };
  assert.equal(body.payload.summary.length, PAGERDUTY_SUMMARY_MAX);
  assert.match(body.payload.summary, /… \(truncated\)$/);
});

test("400 is not retryable and carries PagerDuty's message; the routing key never appears", async () => {
  mode = {
    status: 400,
    body: JSON.stringify({
      status: "invalid event",
      message: "Event object is invalid",
      errors: [`'routing_key' ${ROUTING_KEY} is invalid`],
    }),
  };
  const result = await pd().send(hostileNotification(), "d-4");
  assert.ok(!result.ok);
  assert.equal(result.retryable, false);
  assert.equal(result.status, 400);
  assert.match(result.error, /Event object is invalid: 'routing_key' \[redacted\] is invalid/);
  assert.ok(!JSON.stringify(result).includes(ROUTING_KEY));
});

test("429 with Retry-After and 5xx are retryable", async () => {
  mode = {
    status: 429,
    body: '{"status":"throttle event","message":"Requests for this service are arriving too quickly."}',
    headers: { "Retry-After": "30" },
  };
  const r429 = await pd().send(hostileNotification(), "d-5");
  assert.ok(!r429.ok);
  assert.equal(r429.retryable, true);
  assert.equal(r429.retryAfterMs, 30_000);
  assert.match(r429.error, /arriving too quickly/);

  mode = { status: 502, body: "bad gateway" };
  const r502 = await pd().send(hostileNotification(), "d-6");
  assert.ok(!r502.ok);
  assert.equal(r502.retryable, true);
  assert.equal(r502.status, 502);
});

test("timeouts and refused connections are retryable and hide the routing key", async () => {
  mode = { status: 202, body: "", hang: true };
  const timedOut = await pd(server.origin, 0.2).send(hostileNotification(), "d-7");
  assert.ok(!timedOut.ok);
  assert.equal(timedOut.retryable, true);
  assert.match(timedOut.error, /timed out/);

  const refused = await pd(await refusedOrigin()).send(hostileNotification(), "d-8");
  assert.ok(!refused.ok);
  assert.equal(refused.retryable, true);
  assert.ok(!JSON.stringify([timedOut, refused]).includes(ROUTING_KEY));
});
