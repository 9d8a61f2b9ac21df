// The HTTP API through app.request() (no socket), on a real SQLite store in a temp data dir, with the
// simulator playing the OpenAI API for source verification.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Hono } from "hono";
import { eventRow, ruleMatch } from "../../test/storage-contract.ts";
import { readEnv } from "../config/env.ts";
import { createLogger } from "../logging/logger.ts";
import { openRuntime, type Runtime } from "../pipeline/runtime.ts";
import { type RunningSimulator, startSimulator } from "../simulator/index.ts";
import { createApp } from "./app.ts";
import { createApiToken, createUser } from "./auth.ts";
import type { AppEnv } from "./context.ts";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Json = any;

const PASSWORD = "correct horse battery staple";
const DEFINE_RULE = fileURLToPath(new URL("../detections/define-rule.ts", import.meta.url));
const T0 = 1_763_900_000;

const scratch = mkdtempSync(join(tmpdir(), "vigil-server-test-"));
let runtime: Runtime;
let sim: RunningSimulator;
let app: Hono<AppEnv>;
let token: string;
const bodies: string[] = [];

function packDir(): string {
  const dir = join(scratch, "packs", "testpack");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "pack.yml"), "id: TestPack\ndisplayName: Test pack\nenabled: true\n");
  writeFileSync(
    join(dir, "key-created.ts"),
    `import { defineRule } from ${JSON.stringify(DEFINE_RULE)};
export default defineRule({
  id: "Test.ApiKeyCreated",
  logTypes: ["OpenAI.Audit"],
  severity: "LOW",
  reports: { "MITRE ATT&CK": ["TA0003:T1098"] },
  rule: (event) => event.get("type") === "api_key.created",
  title: () => "An API key was created",
  tests: [
    { name: "created", expected: true, log: { p_log_type: "OpenAI.Audit", type: "api_key.created" } },
    { name: "deleted", expected: false, log: { p_log_type: "OpenAI.Audit", type: "api_key.deleted" } },
  ],
});
`,
  );
  writeFileSync(
    join(dir, "twice.yml"),
    `AnalysisType: correlation_rule
RuleID: Test.TwoKeysThenAnother
Enabled: true
Severity: Medium
Detection:
  - Sequence:
      - ID: first
        RuleID: Test.ApiKeyCreated
        MinMatchCount: 2
      - ID: then
        RuleID: Test.ApiKeyCreated
    LookbackWindowMinutes: 10
Tests:
  - Name: three keys
    ExpectedResult: true
    RuleOutputs:
      - ID: first
        Matches:
          p_any_emails:
            "a@example.com": [0, 1]
      - ID: then
        Matches:
          p_any_emails:
            "a@example.com": [2]
`,
  );
  // One file that cannot load: listed with its reason, and the pack's other rules still load and run.
  writeFileSync(join(dir, "broken.yml"), "AnalysisType: rule\nRuleID: Test.Broken\nEnabled: true\n");
  return join(scratch, "packs");
}

async function call(
  method: string,
  path: string,
  options: { body?: unknown; auth?: string | null; cookie?: string; csrf?: string; url?: string } = {},
): Promise<{ status: number; json: Json; text: string; headers: Headers }> {
  const headers: Record<string, string> = {};
  const auth = options.auth === undefined ? token : options.auth;
  if (auth !== null && options.cookie === undefined) headers.authorization = `Bearer ${auth}`;
  if (options.cookie) headers.cookie = options.cookie;
  if (options.csrf) headers["x-vigil-csrf"] = options.csrf;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await app.request(options.url ?? `http://localhost${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  bodies.push(text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

async function login(a: Hono<AppEnv> = app, password = PASSWORD, url = "http://localhost/api/login") {
  return a.request(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password }),
  });
}

function cookieOf(res: Response): string {
  const setCookie = res.headers.get("set-cookie") ?? "";
  return setCookie.split(";")[0] ?? "";
}

before(async () => {
  sim = await startSimulator({ seed: 11, history: { days: 0.1, eventsPerDay: 50, endSecs: T0 } });
  const env = readEnv({ VIGIL_DATA_DIR: join(scratch, "data") });
  runtime = await openRuntime(env, createLogger({ level: "silent" }));
  runtime.requestTimeoutMs = 5_000;
  app = createApp(runtime, { rulePacks: [packDir()], consoleDir: null });
  await createUser(runtime.store, "admin", PASSWORD, "admin");
  token = (await createApiToken(runtime.store, "tests", Date.now() + 86_400_000)).token;
});

after(async () => {
  await runtime?.close();
  await sim?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const ROUTES: Array<[string, string]> = [
  ["POST", "/api/logout"],
  ["GET", "/api/me"],
  ["GET", "/api/overview"],
  ["GET", "/api/sources"],
  ["POST", "/api/sources"],
  ["POST", "/api/sources/verify"],
  ["GET", "/api/sources/settings-schema"],
  ["PATCH", "/api/sources/x"],
  ["DELETE", "/api/sources/x"],
  ["POST", "/api/sources/x/test"],
  ["GET", "/api/sources/x/health"],
  ["GET", "/api/sources/x/quarantine"],
  ["POST", "/api/sources/x/quarantine/replay"],
  ["GET", "/api/sources/x/stats"],
  ["GET", "/api/coverage"],
  ["GET", "/api/organization"],
  ["GET", "/api/organization/history"],
  ["GET", "/api/events"],
  ["GET", "/api/events/x/y"],
  ["GET", "/api/events/histogram"],
  ["GET", "/api/events/export"],
  ["GET", "/api/saved-searches"],
  ["POST", "/api/saved-searches"],
  ["DELETE", "/api/saved-searches/x"],
  ["GET", "/api/alerts"],
  ["GET", "/api/alerts/x"],
  ["POST", "/api/alerts/x/status"],
  ["POST", "/api/alerts/status"],
  ["POST", "/api/alerts/x/assign"],
  ["POST", "/api/alerts/x/comments"],
  ["GET", "/api/assignees"],
  ["GET", "/api/rules"],
  ["GET", "/api/rules/x"],
  ["GET", "/api/packs"],
  ["POST", "/api/rules/x/enable"],
  ["POST", "/api/rules/x/disable"],
  ["POST", "/api/packs/x/enable"],
  ["POST", "/api/packs/x/disable"],
  ["POST", "/api/rules/test"],
  ["GET", "/api/destinations"],
  ["POST", "/api/destinations"],
  ["PATCH", "/api/destinations/x"],
  ["DELETE", "/api/destinations/x"],
  ["POST", "/api/destinations/x/test"],
  ["POST", "/api/destinations/x/retry"],
  ["GET", "/api/destinations/x/dead-letters"],
  ["GET", "/api/health"],
  ["GET", "/api/suppressions"],
  ["POST", "/api/suppressions"],
  ["DELETE", "/api/suppressions/x"],
  ["GET", "/api/users"],
  ["POST", "/api/users"],
  ["PATCH", "/api/users/x"],
  ["DELETE", "/api/users/x"],
  ["GET", "/api/workers"],
  ["GET", "/metrics"],
];

describe("HTTP API access", () => {
  it("answers /healthz without credentials, with the security headers", async () => {
    const res = await call("GET", "/healthz", { auth: null });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { ok: true });
    assert.equal(
      res.headers
        .get("content-security-policy")
        ?.startsWith(
          "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'",
        ),
      true,
    );
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("referrer-policy"), "no-referrer");
    assert.equal(res.headers.get("cache-control"), "no-store");
  });

  it("lists every API route of the app in the 401 table above", () => {
    const registered = new Set(
      app.routes
        .filter((r) => r.method !== "ALL" && (r.path.startsWith("/api/") || r.path === "/metrics"))
        .filter((r) => r.path !== "/api/login")
        .map((r) => `${r.method} ${r.path.replace(/:[A-Za-z]+/, "x").replace(/:[A-Za-z]+/, "y")}`),
    );
    const listed = new Set(ROUTES.map(([method, path]) => `${method} ${path}`));
    assert.deepEqual(
      [...registered].filter((r) => !listed.has(r)),
      [],
      "a route without a 401 check: add it to ROUTES",
    );
  });

  it("answers 401 on every route without credentials and with a wrong token", async () => {
    for (const [method, path] of ROUTES) {
      const none = await call(method, path, { auth: null, body: method === "GET" ? undefined : {} });
      assert.equal(none.status, 401, `${method} ${path}`);
      assert.equal(none.json.error.code, "unauthorized");
      const wrong = await call(method, path, { auth: "vgl_wrong", body: method === "GET" ? undefined : {} });
      assert.equal(wrong.status, 401, `${method} ${path} (wrong token)`);
      assert.equal(wrong.headers.get("cache-control"), "no-store");
    }
    const bogusCookie = await call("GET", "/api/me", { auth: null, cookie: "vigil_session=forged" });
    assert.equal(bogusCookie.status, 401);
  });

  it("logs in with a session cookie (HttpOnly, SameSite=Strict), needs CSRF for changes, logs out", async () => {
    const res = await login();
    assert.equal(res.status, 200);
    const body = (await res.json()) as { user: { username: string }; csrf: string };
    assert.equal(body.user.username, "admin");
    assert.ok(!JSON.stringify(body).includes("scrypt"));
    const setCookie = res.headers.get("set-cookie") ?? "";
    assert.match(setCookie, /^vigil_session=/);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.doesNotMatch(setCookie, /Secure/); // plain http on localhost
    const cookie = cookieOf(res);

    const me = await call("GET", "/api/me", { cookie });
    assert.equal(me.status, 200);
    assert.equal(me.json.user.username, "admin");
    assert.equal(me.json.csrf, body.csrf);

    const noCsrf = await call("POST", "/api/rules/test", { cookie, body: { ruleIds: ["Test.ApiKeyCreated"] } });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.json.error.code, "forbidden");
    const wrongCsrf = await call("POST", "/api/logout", { cookie, csrf: "nope" });
    assert.equal(wrongCsrf.status, 403);
    const withCsrf = await call("POST", "/api/rules/test", {
      cookie,
      csrf: body.csrf,
      body: { ruleIds: ["Test.ApiKeyCreated"] },
    });
    assert.equal(withCsrf.status, 200);

    const out = await call("POST", "/api/logout", { cookie, csrf: body.csrf });
    assert.equal(out.status, 200);
    assert.equal((await call("GET", "/api/me", { cookie })).status, 401);
  });

  it("marks the cookie Secure under TLS", async () => {
    const res = await login(app, PASSWORD, "https://vigil.example/api/login");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("set-cookie") ?? "", /Secure/);
  });

  it("rejects a login with an unknown user or a malformed body", async () => {
    const res = await app.request("http://localhost/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "nobody", password: "whatever-long" }),
    });
    assert.equal(res.status, 401);
    const bad = await app.request("http://localhost/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as Json).error.code, "usage");
    // A field missing is named as missing; one of the wrong type says what it should be.
    const post = (body: unknown) =>
      app.request("http://localhost/api/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const missing = await post({ user: "admin", password: "x" });
    assert.equal(missing.status, 400);
    assert.equal(((await missing.json()) as Json).error.message, "Missing username.");
    const wrong = await post({ username: 7, password: "x" });
    assert.match(((await wrong.json()) as Json).error.message, /^Invalid username: .*expected string/);
  });

  it("takes a login only as JSON: another site's page can post text or a form, never JSON, without asking", async () => {
    for (const type of [undefined, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]) {
      const res = await app.request("http://localhost/api/login", {
        method: "POST",
        headers: { origin: "https://evil.example", ...(type === undefined ? {} : { "content-type": type }) },
        body: JSON.stringify({ username: "admin", password: PASSWORD }),
      });
      assert.equal(res.status, 415, String(type));
      assert.equal(res.headers.get("set-cookie"), null);
      const body = (await res.json()) as Json;
      assert.equal(body.error.code, "unsupported_media_type");
      assert.match(body.error.message, /Content-Type: application\/json/);
    }
    assert.equal((await login()).status, 200);
  });
});

describe("HTTP API resources", () => {
  let sourceId = "";

  it("verifies keys: a wrong key says what to fix, the right one answers ok", async () => {
    const wrong = await call("POST", "/api/sources/verify", {
      body: { apiKey: "sk-admin-wrong", baseUrl: sim.baseUrl },
    });
    assert.equal(wrong.status, 200);
    assert.equal(wrong.json.ok, false);
    assert.equal(typeof wrong.json.code, "string");
    assert.ok(wrong.json.message.length > 10, wrong.json.message);
    const ok = await call("POST", "/api/sources/verify", { body: { apiKey: sim.adminKey, baseUrl: sim.baseUrl } });
    assert.equal(ok.json.ok, true);
    assert.equal(typeof ok.json.latencyMs, "number");
  });

  it("creates a source only with a working key, enabling the chosen packs", async () => {
    const wrong = await call("POST", "/api/sources", {
      body: { name: "Acme", apiKey: "sk-admin-wrong", baseUrl: sim.baseUrl },
    });
    assert.equal(wrong.status, 400);
    assert.ok(wrong.json.error.message.length > 10);
    assert.ok(!wrong.json.error.message.includes("\n    at "));
    assert.equal((await call("GET", "/api/sources")).json.sources.length, 0);

    const invalid = await call("POST", "/api/sources", {
      body: { name: "Acme", apiKey: sim.adminKey, baseUrl: sim.baseUrl, pollIntervalSecs: 1 },
    });
    assert.equal(invalid.status, 400);
    assert.match(invalid.json.error.message, /pollIntervalSecs/);

    const unknownPack = await call("POST", "/api/sources", {
      body: { name: "Acme", apiKey: sim.adminKey, baseUrl: sim.baseUrl, packs: ["Nope"] },
    });
    assert.equal(unknownPack.status, 400);

    const created = await call("POST", "/api/sources", {
      body: { name: "Acme", apiKey: sim.adminKey, baseUrl: sim.baseUrl, backfillDays: 1, packs: ["TestPack"] },
    });
    assert.equal(created.status, 201, created.text);
    sourceId = created.json.source.id;
    assert.equal(created.json.source.name, "Acme");
    assert.equal(created.json.source.events, 0);
    const settings = await runtime.store.listDetectionSettings();
    assert.deepEqual(settings, [{ kind: "pack", id: "TestPack", sourceId, enabled: true }]);

    const dup = await call("POST", "/api/sources", {
      body: { name: "Acme", apiKey: sim.adminKey, baseUrl: sim.baseUrl },
    });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.error.code, "conflict");
  });

  it("lists, updates, tests and reports on a source", async () => {
    const list = await call("GET", "/api/sources");
    assert.equal(list.json.sources[0].id, sourceId);
    assert.equal(list.json.sources[0].status.consecutiveFailures, 0);

    const patched = await call("PATCH", `/api/sources/${sourceId}`, { body: { pollIntervalSecs: 120 } });
    assert.equal(patched.status, 200);
    assert.equal(patched.json.source.pollIntervalSecs, 120);
    const badKey = await call("PATCH", `/api/sources/${sourceId}`, { body: { apiKey: "sk-admin-wrong" } });
    assert.equal(badKey.status, 400);
    const threshold = await call("PATCH", `/api/sources/${sourceId}`, { body: { pollFailureAlertSecs: 7200 } });
    assert.equal(threshold.json.source.pollFailureAlertSecs, 7200, threshold.text);
    const rereads = await call("PATCH", `/api/sources/${sourceId}`, {
      body: { overlapSecs: 300, sweepWindowSecs: 43_200, sweepIntervalSecs: 7200 },
    });
    assert.equal(rereads.status, 200, rereads.text);
    assert.deepEqual(
      [rereads.json.source.overlapSecs, rereads.json.source.sweepWindowSecs, rereads.json.source.sweepIntervalSecs],
      [300, 43_200, 7200],
    );
    const gap = await call("PATCH", `/api/sources/${sourceId}`, { body: { sweepIntervalSecs: 43_200 } });
    assert.equal(gap.status, 400);
    assert.match(gap.json.error.message, /must be shorter than sweepWindowSecs/);
    // A misspelt field is refused by name, not dropped while the answer says 200.
    const misspelt = await call("PATCH", `/api/sources/${sourceId}`, { body: { pollIntervalSec: 30 } });
    assert.equal(misspelt.status, 400);
    assert.match(misspelt.json.error.message, /pollIntervalSec/);

    const test = await call("POST", `/api/sources/${sourceId}/test`);
    assert.equal(test.json.ok, true);

    await runtime.store.applyPage({
      sourceId,
      events: [
        eventRow("evt_a", T0 - 100, { type: "api_key.created", ip: "198.51.100.9" }),
        eventRow("evt_b", T0 - 50, { type: "login.failed", actorEmail: "bob@example.com" }),
        eventRow("evt_c", T0 - 10, { type: "login.failed" }),
      ],
      quarantined: [{ eventId: "evt_bad", reason: "bad record", issues: [], raw: '{"id":"evt_bad"}' }],
      unknownTypes: ["brand.new_type"],
      matches: [
        ruleMatch(sourceId, "evt_b", T0 - 50, {
          severity: "HIGH",
          runbook: "Call Bob.",
          reports: { "MITRE ATT&CK": ["TA0006:T1110"] },
        }),
      ],
    });

    const health = await call("GET", `/api/sources/${sourceId}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.json.events, 3);
    assert.equal(health.json.quarantined, 1);
    assert.deepEqual(
      health.json.newEventTypes.map((t: { type: string }) => t.type),
      ["brand.new_type"],
    );

    const quarantine = await call("GET", `/api/sources/${sourceId}/quarantine?limit=5`);
    assert.equal(quarantine.json.records.length, 1);
    assert.equal(quarantine.json.records[0].reason, "bad record");
    assert.equal((await call("GET", `/api/sources/${sourceId}/quarantine?limit=0`)).status, 400);

    // The stats of the day the events are on: the server's clock set to it, for this request only (alerts are
    // created on the store's clock, and lists read as of the server's).
    const clock = runtime.clock;
    runtime.clock = { nowMs: () => T0 * 1000 } as Runtime["clock"];
    try {
      const stats = await call("GET", `/api/sources/${sourceId}/stats?days=1`);
      assert.equal(stats.json.bucketSecs, 3600);
      const total = stats.json.buckets.reduce((n: number, b: { count: number }) => n + b.count, 0);
      assert.equal(total, 3);
    } finally {
      runtime.clock = clock;
    }
    assert.equal((await call("GET", "/api/sources/nope/health")).status, 404);
  });

  it("searches events and shows one event", async () => {
    const all = await call("GET", "/api/events?source=Acme");
    assert.deepEqual(
      all.json.events.map((e: { id: string }) => e.id),
      ["evt_c", "evt_b", "evt_a"],
    );
    const byType = await call("GET", "/api/events?type=login.failed&actor=bob@example.com");
    assert.deepEqual(
      byType.json.events.map((e: { id: string }) => e.id),
      ["evt_b"],
    );
    const byIp = await call("GET", `/api/events?ip=198.51.100.9&since=${T0 - 200}&until=${T0}`);
    assert.deepEqual(
      byIp.json.events.map((e: { id: string }) => e.id),
      ["evt_a"],
    );
    const text = await call("GET", "/api/events?text=EVT_C&limit=5");
    assert.deepEqual(
      text.json.events.map((e: { id: string }) => e.id),
      ["evt_c"],
    );
    assert.equal((await call("GET", "/api/events?limit=abc")).status, 400);
    const one = await call("GET", `/api/events/${sourceId}/evt_a`);
    assert.equal(one.json.event.id, "evt_a");
    assert.equal(one.json.event.raw.id, "evt_a");
    assert.equal(one.json.event.normalized.p_log_type, "OpenAI.Audit");
    const missing = await call("GET", `/api/events/${sourceId}/evt_zzz`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, "not_found");
  });

  it("lists alerts, shows one with its matches, changes its status", async () => {
    const list = await call("GET", "/api/alerts?status=OPEN&severity=high");
    assert.equal(list.json.alerts.length, 1);
    const alert = list.json.alerts[0];
    // The server's time of the read, on its clock (the one alerts are created on); a page as of a time before
    // the alert was created does not list it.
    assert.ok(list.json.asOfMs >= alert.createdAtMs, JSON.stringify(list.json));
    const before = await call("GET", `/api/alerts?status=OPEN&severity=high&asOf=${alert.createdAtMs - 1}`);
    assert.deepEqual([before.json.total, before.json.alerts.length, before.json.asOfMs], [0, 0, alert.createdAtMs - 1]);
    assert.equal((await call("GET", "/api/alerts?severity=LOW")).json.alerts.length, 0);
    const bogus = await call("GET", "/api/alerts?status=bogus");
    assert.equal(bogus.status, 400);
    assert.match(bogus.json.error.message, /UNRESOLVED/);

    const detail = await call("GET", `/api/alerts/${alert.id}`);
    assert.equal(detail.json.alert.id, alert.id);
    assert.equal(detail.json.runbook, "Call Bob.");
    assert.equal(detail.json.matches[0].event.id, "evt_b");
    // The alert's rule is not loaded here: its ATT&CK mapping comes from what the match recorded.
    assert.deepEqual(detail.json.reports, { "MITRE ATT&CK": ["TA0006:T1110"] });
    assert.deepEqual(detail.json.deliveries, []);

    const triaged = await call("POST", `/api/alerts/${alert.id}/status`, { body: { status: "TRIAGED" } });
    assert.equal(triaged.status, 200);
    assert.equal(triaged.json.alert.status, "TRIAGED");
    const acked = await call("POST", `/api/alerts/${alert.id}/status`, { body: { status: "ACKNOWLEDGED" } });
    assert.equal(acked.json.alert.status, "ACKNOWLEDGED");
    const history = (await call("GET", `/api/alerts/${alert.id}`)).json.statusChanges;
    assert.deepEqual(
      history.map((c: { from: string | null; to: string }) => [c.from, c.to]),
      [
        [null, "OPEN"],
        ["OPEN", "TRIAGED"],
        ["TRIAGED", "ACKNOWLEDGED"],
      ],
    );
    assert.match(history[2].by, /^(token|user):/);
    assert.equal(typeof history[2].atMs, "number");
    assert.equal((await call("POST", `/api/alerts/${alert.id}/status`, { body: { status: "NOPE" } })).status, 400);
    assert.equal((await call("POST", "/api/alerts/unknown/status", { body: { status: "CLOSED" } })).status, 404);
    assert.equal((await call("GET", "/api/alerts/unknown")).status, 404);

    // Acknowledged is still open: the list's UNRESOLVED filter finds it, and the overview counts it, as the same.
    assert.deepEqual(
      (await call("GET", "/api/alerts?status=unresolved&severity=HIGH")).json.alerts.map((a: { id: string }) => a.id),
      [alert.id],
    );
    assert.equal((await call("GET", "/api/alerts?status=OPEN&severity=HIGH")).json.alerts.length, 0);
    // The overview of the days the events are on: the server's clock set to them, for this request.
    const clock = runtime.clock;
    runtime.clock = { nowMs: () => T0 * 1000 } as Runtime["clock"];
    const overview = await call("GET", "/api/overview").finally(() => {
      runtime.clock = clock;
    });
    assert.equal(overview.status, 200);
    assert.equal(overview.json.openAlertsBySeverity.HIGH, 1);
    assert.equal(overview.json.sources[0].name, "Acme");
    const counted = overview.json.eventsPerDay.reduce((n: number, b: { count: number }) => n + b.count, 0);
    assert.equal(counted, 3);
  });

  it("lists, enables, disables and tests rules and packs", async () => {
    const rules = await call("GET", "/api/rules");
    const rule = rules.json.rules.find((r: { id: string }) => r.id === "Test.ApiKeyCreated");
    assert.equal(rule.enabled, true);
    assert.equal(rule.pack, "TestPack");
    assert.deepEqual(rule.tests, ["created", "deleted"]);
    assert.deepEqual(rule.reports, { "MITRE ATT&CK": ["TA0003:T1098"] });
    assert.equal(rules.json.problems.length, 1);
    assert.match(rules.json.problems[0], /broken\.yml: /);
    assert.equal(
      rules.json.rules.some((r: { id: string }) => r.id === "Test.Broken"),
      false,
    );

    assert.equal((await call("POST", "/api/rules/Test.ApiKeyCreated/disable", { body: {} })).status, 200);
    const off = (await call("GET", "/api/rules")).json.rules.find((r: { id: string }) => r.id === "Test.ApiKeyCreated");
    assert.equal(off.enabled, false);
    const perSource = await call("POST", "/api/rules/Test.ApiKeyCreated/enable", { body: { sourceId } });
    assert.equal(perSource.json.sourceId, sourceId);
    assert.equal((await call("POST", "/api/rules/Test.ApiKeyCreated/enable")).status, 200);
    assert.equal((await call("POST", "/api/rules/Nope/enable")).status, 404);

    // Correlation rules list beside the rules, with their members and their YAML.
    const correlation = rules.json.rules.find((r: { id: string }) => r.id === "Test.TwoKeysThenAnother");
    assert.equal(correlation?.kind, "correlation");
    assert.deepEqual(correlation?.members, ["Test.ApiKeyCreated", "Test.ApiKeyCreated"]);
    assert.deepEqual(correlation?.tests, ["three keys"]);
    const corrDetail = await call("GET", "/api/rules/Test.TwoKeysThenAnother");
    assert.equal(corrDetail.status, 200, corrDetail.text);
    assert.match(corrDetail.json.rule.source, /AnalysisType: correlation_rule/);

    const packs = await call("GET", "/api/packs");
    assert.deepEqual(packs.json.packs[0].rules, ["Test.ApiKeyCreated", "Test.TwoKeysThenAnother"]);
    assert.equal((await call("POST", "/api/packs/TestPack/disable")).json.enabled, false);
    assert.equal((await call("GET", "/api/packs")).json.packs[0].enabled, false);
    assert.equal((await call("POST", "/api/packs/TestPack/enable")).json.enabled, true);

    const one = await call("GET", "/api/rules/Test.ApiKeyCreated");
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.rule.id, "Test.ApiKeyCreated");
    assert.equal(one.json.rule.pack, "TestPack");
    assert.match(one.json.rule.source, /id: "Test\.ApiKeyCreated"/);
    assert.match(one.json.rule.source, /event\.get\("type"\) === "api_key\.created"/);
    assert.deepEqual(
      one.json.rule.files.map((f: { name: string; language: string }) => [f.name, f.language]),
      [["key-created.ts", "typescript"]],
    );
    assert.equal((await call("GET", "/api/rules/Nope")).status, 404);

    const tested = await call("POST", "/api/rules/test", { body: {} });
    assert.deepEqual(tested.json, { passed: 2, failed: 0, results: [] });
    assert.equal((await call("POST", "/api/rules/test", { body: { ruleIds: ["Nope"] } })).status, 400);
  });

  it("says which rules' and data models' Python modules do not import, as the detection found them, and lists packs without it", async () => {
    const detection = runtime.detection;
    let opened = 0;
    const problem = "rule.py: SyntaxError: expected ':' (line 3)";
    const modelProblem = "model.py: its Python module does not import: RuntimeError: at import";
    runtime.detection = async () => {
      opened++;
      return {
        ...(await detection()),
        pythonLoadFailures: [{ ruleId: "Test.ApiKeyCreated", problem }],
        dataModelLoadFailures: [modelProblem],
      };
    };
    try {
      assert.equal((await call("GET", "/api/packs")).status, 200);
      assert.equal(opened, 0, "the packs do not wait for the detection");
      const rules = (await call("GET", "/api/rules")).json;
      const byId = new Map(rules.rules.map((r: { id: string; loadProblem?: string | null }) => [r.id, r.loadProblem]));
      assert.equal(byId.get("Test.ApiKeyCreated"), problem);
      assert.ok(rules.problems.includes(problem));
      assert.ok(rules.problems.includes(modelProblem), "a data model that does not import is listed too");
      assert.equal((await call("GET", "/api/rules/Test.ApiKeyCreated")).json.rule.loadProblem, problem);
      assert.equal(opened, 2);
    } finally {
      runtime.detection = detection;
    }
  });

  it("gives a new destination its type's default minimum severity, and lists the defaults", async () => {
    const pager = await call("POST", "/api/destinations", {
      body: { name: "On call", type: "pagerduty", config: { routing_key: "pd-routing-key-0123" } },
    });
    assert.equal(pager.status, 201, pager.text);
    assert.equal(pager.json.destination.minSeverity, "HIGH", "a pager pages on HIGH and above");
    const chat = await call("POST", "/api/destinations", {
      body: { name: "Sec chat", type: "slack", config: { webhook_url: "https://hooks.slack.com/services/T/B/X" } },
    });
    assert.equal(chat.json.destination.minSeverity, "MEDIUM");
    const list = await call("GET", "/api/destinations");
    assert.deepEqual(list.json.defaultMinSeverity, {
      pagerduty: "HIGH",
      slack: "MEDIUM",
      email: "MEDIUM",
      webhook: "INFO",
      file: "INFO",
    });
    for (const d of [pager, chat]) {
      assert.equal((await call("DELETE", `/api/destinations/${d.json.destination.id}`)).status, 200);
    }
  });

  it("shows each destination's delivery health and dead letters, and sends them again", async () => {
    const made = await call("POST", "/api/destinations", {
      body: { name: "Flaky", type: "file", config: { path: "flaky.jsonl" } },
    });
    assert.equal(made.status, 201, made.text);
    const id = made.json.destination.id as string;
    const source = (await runtime.store.listSources())[0];
    assert.ok(source);
    const [alertId] = (
      await runtime.store.applyDerivedMatches(source.id, [
        ruleMatch(source.id, "flaky-1", T0, { severity: "CRITICAL", dedupString: "flaky" }),
      ])
    ).createdAlertIds;
    assert.ok(alertId);
    const entry = (await runtime.store.listUnroutedOutbox(100)).find((e) => e.alertId === alertId);
    assert.ok(entry);
    await runtime.store.routeOutboxEntry(entry.id, [{ id, name: "Flaky" }], 1000);
    const [delivery] = await runtime.store.claimDeliveries({ nowMs: 1000, leaseMs: 1000, limit: 1 });
    assert.equal(delivery?.destinationId, id);
    await runtime.store.recordDeliveryAttempt({
      deliveryId: delivery.id,
      leaseToken: delivery.leaseToken,
      atMs: 2000,
      outcome: "failed",
      error: "disk full",
      durationMs: 1,
    });
    const shown = async () =>
      ((await call("GET", "/api/destinations")).json.destinations as Array<{ id: string }>).find((d) => d.id === id);
    assert.deepEqual(await shown(), {
      ...made.json.destination,
      failing: { sinceMs: 2000, error: "disk full", givenUp: true },
      deadLetters: 1,
    });
    // An outage for outside monitoring too: /api/health is not ok, and /metrics says which destination.
    const health = await call("GET", "/api/health");
    assert.equal(health.json.ok, false);
    assert.deepEqual([health.json.destinationsFailing, health.json.deadLetters], [["Flaky"], 1]);
    const metrics = (await call("GET", "/metrics")).text;
    assert.match(metrics, /^vigil_destination_failing\{destination="Flaky"\} 1$/m);
    assert.match(metrics, /^vigil_dead_letters\{destination="Flaky"\} 1$/m);
    // Which letters are dead, and whether the retry sends each again.
    const letters = (await call("GET", `/api/destinations/${id}/dead-letters?limit=5`)).json.deadLetters as Array<
      Record<string, unknown>
    >;
    assert.deepEqual(
      letters.map((l) => [l.id, l.alertId, l.kind, l.status, l.lastError, l.sendAgain]),
      [[delivery.id, alertId, "created", "failed", "disk full", true]],
    );
    assert.equal((await call("GET", `/api/destinations/${id}/dead-letters?limit=0`)).status, 400);
    assert.equal((await call("GET", "/api/destinations/nope/dead-letters")).status, 404);
    assert.deepEqual((await call("POST", `/api/destinations/${id}/retry`)).json, { requeued: 1 });
    assert.deepEqual((await call("GET", `/api/destinations/${id}/dead-letters`)).json, { deadLetters: [] });
    assert.equal(((await shown()) as { deadLetters?: number })?.deadLetters, 0);
    assert.deepEqual((await call("POST", `/api/destinations/${id}/retry`)).json, { requeued: 0 });
    assert.equal((await call("POST", "/api/destinations/nope/retry")).status, 404);
    // Sent this time: the destination is delivering again (and nothing is left in the backlog).
    const [again] = await runtime.store.claimDeliveries({ nowMs: Date.now(), leaseMs: 1000, limit: 1 });
    assert.equal(again?.id, delivery.id);
    await runtime.store.recordDeliveryAttempt({
      deliveryId: again.id,
      leaseToken: again.leaseToken,
      atMs: 3000,
      outcome: "sent",
      durationMs: 1,
    });
    assert.equal(((await shown()) as { failing?: unknown })?.failing, null);
    assert.deepEqual((await call("GET", "/api/health")).json.destinationsFailing, []);
    assert.match((await call("GET", "/metrics")).text, /^vigil_destination_failing\{destination="Flaky"\} 0$/m);
    assert.equal((await call("DELETE", `/api/destinations/${id}`)).status, 200);
  });

  it("manages destinations without ever returning their secrets", async () => {
    const webhook = await call("POST", "/api/destinations", {
      body: {
        name: "Hook",
        type: "webhook",
        minSeverity: "HIGH",
        config: { url: "https://hooks.example/secret-path-token", secret: "hmac-secret-0123456789" },
      },
    });
    assert.equal(webhook.status, 201, webhook.text);
    assert.equal(webhook.json.destination.minSeverity, "HIGH");
    const invalid = await call("POST", "/api/destinations", {
      body: { name: "Bad", type: "webhook", config: { url: "ftp://x", secret: "short" } },
    });
    assert.equal(invalid.status, 400);
    // Inside the export directory (<data dir>/exports): a path outside it is refused (see security tests).
    const file = await call("POST", "/api/destinations", {
      body: { name: "File", type: "file", config: { path: "alerts.jsonl" } },
    });
    assert.equal(file.status, 201, file.text);
    const list = await call("GET", "/api/destinations");
    assert.deepEqual(
      list.json.destinations.map((d: { name: string }) => d.name),
      ["File", "Hook"],
    );
    const test = await call("POST", `/api/destinations/${file.json.destination.id}/test`);
    assert.equal(test.json.ok, true, test.text);
    // A new URL does not take the stored signing secret along: it is given again (docs/security.md, finding 1).
    const moved = await call("PATCH", `/api/destinations/${webhook.json.destination.id}`, {
      body: { minSeverity: "CRITICAL", config: { url: "https://hooks.example/another-secret-path" } },
    });
    assert.equal(moved.status, 400, moved.text);
    assert.equal(moved.json.error.code, "secret_required");
    const patch = await call("PATCH", `/api/destinations/${webhook.json.destination.id}`, {
      body: {
        minSeverity: "CRITICAL",
        config: { url: "https://hooks.example/another-secret-path", secret: "a-new-signing-secret-0123" },
      },
    });
    assert.equal(patch.status, 200, patch.text);
    assert.equal(patch.json.destination.minSeverity, "CRITICAL");
    const badPatch = await call("PATCH", `/api/destinations/${webhook.json.destination.id}`, {
      body: { config: { secret: "short" } },
    });
    assert.equal(badPatch.status, 400, "the merged config is validated again");
    assert.equal((await call("DELETE", `/api/destinations/${file.json.destination.id}`)).status, 200);
    assert.equal((await call("DELETE", "/api/destinations/nope")).status, 404);
    // One the config file owns is changed and removed there only.
    const owned = await runtime.store.createDestination({
      name: "From file",
      type: "file",
      minSeverity: "INFO",
      logTypes: [],
      config: runtime.secrets.encrypt(JSON.stringify({ path: "stdout" })),
      managedBy: "config",
    });
    const ownedPatch = await call("PATCH", `/api/destinations/${owned.id}`, { body: { minSeverity: "HIGH" } });
    assert.equal(ownedPatch.status, 409, ownedPatch.text);
    assert.match(ownedPatch.json.error.message, /comes from the config file; change it there/);
    assert.equal((await call("DELETE", `/api/destinations/${owned.id}`)).status, 409);
    const listed = (await call("GET", "/api/destinations")).json.destinations;
    assert.equal(listed.find((d: { name: string }) => d.name === "From file")?.managedBy, "config");
    assert.equal((await runtime.store.getDestination(owned.id))?.minSeverity, "INFO");
    for (const body of bodies) {
      assert.ok(!body.includes("secret-path-token"), body);
      assert.ok(!body.includes("hmac-secret-0123456789"), body);
      assert.ok(!body.includes("another-secret-path"), body);
    }
  });

  it("reports system health and Prometheus metrics", async () => {
    const health = await call("GET", "/api/health");
    assert.equal(health.status, 200);
    assert.equal(health.json.deliveryBacklog, 0);
    // One health: the same state and reason in /api/health, /api/sources, the source's health page and /metrics.
    const state = health.json.sources[0].health;
    assert.ok(["ok", "warning", "no_data", "failing", "disabled"].includes(state), state);
    assert.equal(typeof health.json.sources[0].healthReason, "string");
    assert.equal(health.json.ok, state === "ok");
    const [listed] = (await call("GET", "/api/sources")).json.sources;
    assert.deepEqual([listed.health, listed.healthReason], [state, health.json.sources[0].healthReason]);
    assert.deepEqual(listed.durations, {
      pollInterval: `${listed.pollIntervalSecs / 60} min`,
      noDataAlert: "24 h",
      pollFailureAlert: `${listed.pollFailureAlertSecs / 3600} h`,
      postureInterval: "1 h",
    });
    assert.equal((await call("GET", `/api/sources/${listed.id}/health`)).json.health, state);

    const metrics = await call("GET", "/metrics");
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    assert.match(metrics.text, new RegExp(`^vigil_source_health\\{source="Acme",state="${state}"\\} 1$`, "m"));
    assert.equal(metrics.text.match(/^vigil_source_health\{source="Acme",state="\w+"\} 0$/gm)?.length, 4);
    assert.equal(health.json.sources[0].events, 3);
    assert.match(metrics.text, /^# HELP vigil_events_ingested_total /m);
    assert.match(metrics.text, /^# TYPE vigil_events_ingested_total counter$/m);
    assert.match(metrics.text, /^vigil_password_checks\{lane="any",state="waiting"\} 0$/m);
    assert.match(metrics.text, /^vigil_password_checks\{lane="known_device",state="running"\} 0$/m);
    assert.match(metrics.text, /^vigil_events_ingested_total\{source="Acme"\} 3$/m);
    assert.match(metrics.text, /^vigil_events_quarantined_total\{source="Acme"\} 1$/m);
    assert.match(metrics.text, /^vigil_rule_errors_total\{source="Acme"\} 0$/m);
    assert.match(metrics.text, /^vigil_deliveries\{status="pending"\} 0$/m);
    for (const line of metrics.text.trimEnd().split("\n")) {
      assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{(\w+="([^"\\]|\\.)*",?)*\})? -?[\d.e+-]+|NaN)$/, line);
    }
  });

  it("never returns the admin key or its ciphertext, then removes the source", async () => {
    const secret = await runtime.store.getSourceSecret(sourceId);
    assert.ok(secret);
    for (const body of bodies) {
      assert.ok(!body.includes(sim.adminKey), body);
      assert.ok(!body.includes(secret.ciphertext), body);
    }
    assert.equal((await call("DELETE", `/api/sources/${sourceId}`)).status, 200);
    assert.equal((await call("GET", "/api/sources")).json.sources.length, 0);
    assert.equal((await call("DELETE", `/api/sources/${sourceId}`)).status, 404);
  });

  it("answers unknown API paths with a JSON 404", async () => {
    const res = await call("GET", "/api/nothing-here");
    assert.equal(res.status, 404);
    assert.equal(res.json.error.code, "not_found");
  });
});

describe("static console", () => {
  it("says the console is not built when there is no build", async () => {
    const res = await app.request("http://localhost/alerts/123");
    assert.equal(res.status, 200);
    assert.match(await res.text(), /console is not built/);
    assert.ok(res.headers.get("content-security-policy")?.includes("script-src 'self'"));
  });

  it("serves console/dist files, and index.html for client routes", async () => {
    const dist = join(scratch, "dist");
    mkdirSync(join(dist, "assets"), { recursive: true });
    writeFileSync(join(dist, "index.html"), "<!doctype html><title>Vigil console</title>");
    writeFileSync(join(dist, "assets", "app.js"), "console.log(1)");
    const withConsole = createApp(runtime, { consoleDir: dist });
    const asset = await withConsole.request("http://localhost/assets/app.js");
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get("content-type") ?? "", /javascript/);
    const route = await withConsole.request("http://localhost/alerts/123");
    assert.match(await route.text(), /Vigil console/);
    const traversal = await withConsole.request("http://localhost/%2e%2e/%2e%2e/package.json");
    assert.doesNotMatch(await traversal.text(), /"name"/);
    assert.equal((await withConsole.request("http://localhost/assets/missing.js")).status, 404);
    assert.equal(
      (await withConsole.request("http://localhost/api/nope", { headers: { authorization: `Bearer ${token}` } }))
        .status,
      404,
    );
  });
});
