import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createDestination } from "../factory.ts";
import { hostileNotification, refusedOrigin, reply, startHttpServer, type TestServer } from "../test-support.ts";
import type { DeliveryResult } from "../types.ts";
import { buildSlackMessage, SLACK_LIMITS } from "./slack.ts";

const TOKEN_PATH = "/services/T0001/B0002/sEcReTtOkEn123";
let server: TestServer;
let mode: { status: number; body: string; headers?: Record<string, string>; hang?: boolean } = {
  status: 200,
  body: "ok",
};

before(async () => {
  server = await startHttpServer((_req, res) => {
    if (mode.hang) return; // never answer
    reply(res, mode.status, mode.body, mode.headers);
  });
});
after(async () => server.close());

function slack(origin = server.origin, timeoutSecs = 5) {
  return createDestination({
    id: "slack-sec",
    name: "Security Slack",
    type: "slack",
    webhook_url: `${origin}${TOKEN_PATH}`,
    timeout_secs: timeoutSecs,
  });
}

function assertNoSecret(result: DeliveryResult): void {
  const text = JSON.stringify(result);
  assert.ok(!text.includes("sEcReTtOkEn123"), text);
  assert.ok(!text.includes("T0001"), text);
}

interface Message {
  text: string;
  blocks: Array<{
    type: string;
    text?: { type: string; text: string };
    fields?: Array<{ type: string; text: string }>;
    elements?: Array<{ type: string; url?: string; text?: unknown }>;
  }>;
}

test("posts a Block Kit message with header, fields, context code block, runbook and console button", async () => {
  mode = { status: 200, body: "ok" };
  const before = server.requests.length;
  const result = await slack().send(hostileNotification(), "d-1");
  assert.deepEqual(result, { ok: true, status: 200, detail: "ok" });
  const req = server.requests[before];
  assert.ok(req);
  assert.equal(req.method, "POST");
  assert.equal(req.url, TOKEN_PATH);
  assert.equal(req.headers["content-type"], "application/json");
  const msg = JSON.parse(req.body) as Message;
  assert.equal(msg.blocks[0]?.type, "header");
  assert.equal(msg.blocks[0]?.text?.type, "plain_text");
  assert.ok(msg.blocks[0]?.text?.text.startsWith("🟠 <script>"));
  const fields = msg.blocks[1]?.fields?.map((f) => f.text) ?? [];
  assert.deepEqual(
    fields.map((f) => f.split("\n")[0]),
    ["*Severity*", "*Rule*", "*Source*", "*Actor*", "*Time*", "*Matches*"],
  );
  assert.equal(fields[0], "*Severity*\n🟠 HIGH");
  assert.equal(fields[1], "*Rule*\nOpenAI admin key created (OpenAI.Admin.Key.Created)");
  assert.equal(fields[2], "*Source*\nOpenAI production (OpenAI.Audit)");
  assert.equal(fields[3], "*Actor*\nmallory@example.com (user user-abc) from 203.0.113.9");
  assert.equal(fields[4], "*Time*\n2026-01-02T03:04:05Z");
  assert.equal(fields[5], "*Matches*\n3");
  const texts = msg.blocks.map((b) => b.text?.text ?? "");
  // mrkdwn control characters from attacker-controlled text are escaped: no forged links.
  assert.ok(texts.includes("An admin key was created &lt;img src=x onerror=alert(1)&gt;"), texts.join("|"));
  const code = texts.find((t) => t.startsWith("```"));
  assert.ok(code);
  assert.ok(code.includes('"ip": "203.0.113.9"'));
  assert.ok(code.includes("&lt;b&gt;bold&lt;/b&gt; &amp;"));
  assert.ok(code.endsWith("```"));
  assert.equal(code.match(/```/g)?.length, 2, "a ``` in the context must not close the code block");
  assert.ok(texts.includes("*Runbook*\nRevoke the key &amp; check the actor."));
  const actions = msg.blocks.find((b) => b.type === "actions");
  assert.equal(actions?.elements?.[0]?.url, "https://vigil.example.com/alerts/a1");
  assert.match(msg.text, /^🟠 \[HIGH\] /);
});

test("respects Slack's limits: header 150 chars, section text 3000 chars", () => {
  const n = hostileNotification({
    title: "T".repeat(500),
    alertContext: { big: "x".repeat(10_000), amp: "&".repeat(3000) },
    description: "<".repeat(5000),
  });
  const msg = buildSlackMessage(n) as Message;
  const header = msg.blocks[0]?.text?.text ?? "";
  assert.ok(header.length <= SLACK_LIMITS.headerText, String(header.length));
  assert.ok(header.endsWith("…"));
  for (const block of msg.blocks) {
    if (block.text) assert.ok(block.text.text.length <= SLACK_LIMITS.sectionText, String(block.text.text.length));
    for (const f of block.fields ?? []) assert.ok(f.text.length <= SLACK_LIMITS.fieldText);
  }
  const code = msg.blocks.find((b) => b.text?.text.startsWith("```"))?.text?.text ?? "";
  assert.match(code, /… \(truncated\)```$/);
  const description = msg.blocks.find((b) => b.text?.text.startsWith("&lt;"))?.text?.text ?? "";
  assert.ok(description.length > 2900, "the description keeps as much as fits");
  assert.doesNotMatch(description, /&l?t?… \(truncated\)$/, "no half entity before the cut");
});

test("a resolved alert sends a short resolved message", async () => {
  mode = { status: 200, body: "ok" };
  const before = server.requests.length;
  const result = await slack().send(hostileNotification({ kind: "resolved", status: "RESOLVED" }), "d-2");
  assert.equal(result.ok, true);
  const msg = JSON.parse(server.requests[before]?.body ?? "{}") as Message;
  assert.match(msg.text, /^✅ Resolved: /);
  assert.equal(msg.blocks.filter((b) => b.type === "section").length, 1);
  assert.equal(
    msg.blocks.some((b) => b.type === "header"),
    false,
  );
  assert.match(msg.blocks[0]?.text?.text ?? "", /^✅ Resolved: &lt;script&gt;/);
});

test("a test notification says so", () => {
  const msg = buildSlackMessage(hostileNotification({ kind: "test", title: "TEST: hello" })) as Message;
  assert.match(msg.blocks[0]?.text?.text ?? "", /\[TEST\] TEST: hello/);
  assert.ok(msg.blocks.some((b) => b.type === "context" && JSON.stringify(b).includes("test notification")));
});

test("429 with Retry-After is retryable and carries retryAfterMs", async () => {
  mode = { status: 429, body: "rate_limited", headers: { "Retry-After": "7" } };
  const result = await slack().send(hostileNotification(), "d-3");
  assert.equal(result.ok, false);
  assert.ok(!result.ok);
  assert.equal(result.retryable, true);
  assert.equal(result.status, 429);
  assert.equal(result.retryAfterMs, 7000);
  assert.match(result.error, /HTTP 429: rate_limited/);
  assertNoSecret(result);
});

test("500 is retryable; 400/404 are not; errors hide the webhook token even if echoed", async () => {
  mode = { status: 500, body: `boom at ${TOKEN_PATH}` };
  const r500 = await slack().send(hostileNotification(), "d-4");
  assert.ok(!r500.ok);
  assert.equal(r500.retryable, true);
  assert.equal(r500.status, 500);
  assert.equal(r500.retryAfterMs, undefined);
  assert.match(r500.error, /^Slack webhook http:\/\/127\.0\.0\.1:\d+\/…\[redacted\] answered HTTP 500/);
  assertNoSecret(r500);

  mode = { status: 400, body: "invalid_payload" };
  const r400 = await slack().send(hostileNotification(), "d-5");
  assert.ok(!r400.ok);
  assert.equal(r400.retryable, false);
  assert.match(r400.error, /invalid_payload/);
  assertNoSecret(r400);

  mode = { status: 404, body: "no_service" };
  const r404 = await slack().send(hostileNotification(), "d-6");
  assert.ok(!r404.ok);
  assert.equal(r404.retryable, false);
});

test("a redirect is not followed and is not retryable", async () => {
  mode = { status: 302, body: "", headers: { Location: "http://127.0.0.1:1/elsewhere" } };
  const result = await slack().send(hostileNotification(), "d-7");
  assert.ok(!result.ok);
  assert.equal(result.retryable, false);
  assert.equal(result.status, 302);
  assertNoSecret(result);
});

test("a server that never answers times out as retryable", async () => {
  mode = { status: 200, body: "", hang: true };
  const started = Date.now();
  const result = await slack(server.origin, 0.2).send(hostileNotification(), "d-8");
  assert.ok(!result.ok);
  assert.equal(result.retryable, true);
  assert.match(result.error, /timed out/);
  assert.ok(Date.now() - started < 3000);
  assertNoSecret(result);
});

test("the caller's abort signal cancels the request (retryable)", async () => {
  mode = { status: 200, body: "", hang: true };
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const result = await slack().send(hostileNotification(), "d-9", controller.signal);
  assert.ok(!result.ok);
  assert.equal(result.retryable, true);
  assert.match(result.error, /cancelled/);
  const pre = await slack().send(hostileNotification(), "d-9", AbortSignal.abort());
  assert.ok(!pre.ok);
  assert.match(pre.error, /cancelled before it started/);
});

test("connection refused is retryable and names no secret", async () => {
  const result = await slack(await refusedOrigin()).send(hostileNotification(), "d-10");
  assert.ok(!result.ok);
  assert.equal(result.retryable, true);
  assert.match(result.error, /could not be reached \(ECONNREFUSED\)/);
  assertNoSecret(result);
});

// Security (issue 16, finding 6e): the top-level `text` (notifications, clients without blocks) is mrkdwn
// too; mentions, forged links and entities in attacker-controlled titles must arrive as plain characters.
test("the top-level text escapes <!channel>, <http://x|y> and &, for new and resolved alerts", () => {
  const title = "<!channel> see <http://evil.example|your bank> & <@U123>";
  for (const kind of ["created", "resolved"] as const) {
    const { text } = buildSlackMessage(hostileNotification({ kind, title }));
    assert.ok(text.includes("&lt;!channel&gt; see &lt;http://evil.example|your bank&gt; &amp; &lt;@U123&gt;"), text);
    assert.ok(!/[<>]/.test(text), text);
  }
  // Cut at the limit without leaving half an entity behind.
  const long = buildSlackMessage(hostileNotification({ title: "&".repeat(5000) })).text;
  assert.ok(long.length <= SLACK_LIMITS.fallbackText);
  assert.ok(!/&[a-z]{0,3}…/.test(long), long.slice(-30));
});
