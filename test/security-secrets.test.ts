// Issue 16, finding 1 (high): a stored secret could be sent to a host of the caller's choice. Reproduced as an
// attacker would: point a source or a destination at a receiver we run, then ask Vigil to use it, and count
// what the receiver got. Also: base URLs are http(s) only, plain http only to loopback unless allowed, the
// allow-list of hosts, and the admin role for settings and secrets.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Hono } from "hono";
import { readEnv } from "../src/config/env.ts";
import { createLogger } from "../src/logging/logger.ts";
import { openRuntime, type Runtime, sourceClient } from "../src/pipeline/runtime.ts";
import { createApp } from "../src/server/app.ts";
import { createApiToken, createUser } from "../src/server/auth.ts";
import type { AppEnv } from "../src/server/context.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/index.ts";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Json = any;

const PASSWORD = "correct horse battery staple";
const T0 = 1_763_900_000;

/** An HTTP server that records every request it gets (the attacker's host). */
async function receiver(): Promise<{
  url: string;
  got: IncomingHttpHeaders[];
  bodies: string[];
  close(): Promise<void>;
}> {
  const got: IncomingHttpHeaders[] = [];
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      got.push(req.headers);
      bodies.push(body);
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"object":"list","data":[],"has_more":false}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    got,
    bodies,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("secrets stay with the endpoint they were entered for (finding 1)", () => {
  const scratch = mkdtempSync(join(tmpdir(), "vigil-secrets-"));
  let runtime: Runtime;
  let sim: RunningSimulator;
  let app: Hono<AppEnv>;
  let token: string;
  let evil: Awaited<ReturnType<typeof receiver>>;

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await app.request(`http://localhost${path}`, {
      method,
      headers: {
        ...(Object.keys(headers).length === 0 ? { authorization: `Bearer ${token}` } : headers),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as Json };
  }

  before(async () => {
    sim = await startSimulator({ seed: 5, history: { days: 0.05, eventsPerDay: 40, endSecs: T0 } });
    evil = await receiver();
    runtime = await openRuntime(readEnv({ VIGIL_DATA_DIR: join(scratch, "data") }), createLogger({ level: "silent" }));
    runtime.requestTimeoutMs = 3_000;
    app = createApp(runtime, { consoleDir: null });
    await createUser(runtime.store, "admin", PASSWORD, "admin");
    await createUser(runtime.store, "ana", PASSWORD, "analyst");
    token = (await createApiToken(runtime.store, "tests", Date.now() + 86_400_000)).token;
  });

  after(async () => {
    await runtime?.close();
    await sim?.close();
    await evil?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("refuses to move a source without its key, and never sends the stored key elsewhere", async () => {
    const created = await call("POST", "/api/sources", { name: "org", apiKey: sim.adminKey, baseUrl: sim.baseUrl });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const id = created.json.source.id;

    // The reproduction: a new base URL, then a test of the stored key.
    const moved = await call("PATCH", `/api/sources/${id}`, { baseUrl: `${evil.url}/v1` });
    assert.equal(moved.status, 400);
    assert.equal(moved.json.error.code, "secret_required");
    assert.match(moved.json.error.message, /admin key again/);
    const test = await call("POST", `/api/sources/${id}/test`);
    assert.equal(test.json.ok, true, JSON.stringify(test.json));
    assert.equal(evil.got.length, 0);
    assert.equal((await runtime.store.getSource(id))?.baseUrl, sim.baseUrl);

    // Whoever has the key may move the source: the key they give is sealed to the new endpoint.
    const withKey = await call("PATCH", `/api/sources/${id}`, {
      baseUrl: `${evil.url}/v1`,
      apiKey: "sk-admin-their-own-key",
      verify: false,
    });
    assert.equal(withKey.status, 200, JSON.stringify(withKey.json));
    await call("POST", `/api/sources/${id}/test`);
    const sent = evil.got.map((h) => h.authorization);
    assert.ok(sent.length > 0);
    assert.ok(
      sent.every((a) => a === "Bearer sk-admin-their-own-key"),
      "only the key given with the move",
    );
    assert.ok(!sent.some((a) => a?.includes(sim.adminKey)));
  });

  it("refuses a key sealed to another endpoint even when the store itself was changed", async () => {
    const created = await call("POST", "/api/sources", { name: "org2", apiKey: sim.adminKey, baseUrl: sim.baseUrl });
    const id = created.json.source.id;
    const before = evil.got.length;
    // As if the row had been altered behind the API (an old version, a restored backup, a direct SQL edit).
    await runtime.store.updateSource(id, { baseUrl: `${evil.url}/v1` });
    const source = await runtime.store.getSource(id);
    assert.ok(source);
    await assert.rejects(sourceClient(runtime, source), (err: Error & { code?: string }) => {
      assert.equal(err.code, "secret_endpoint_changed");
      assert.match(err.message, /entered for http:\/\/127\.0\.0\.1:\d+\/v1, not http:\/\/127\.0\.0\.1:\d+\/v1/);
      return true;
    });
    const test = await call("POST", `/api/sources/${id}/test`);
    assert.equal(test.json.ok, false);
    assert.equal(test.json.code, "secret_endpoint_changed");
    assert.equal(evil.got.length, before, "nothing reached the other host");
  });

  it("accepts only http(s) base URLs, plain http only to loopback", async () => {
    for (const baseUrl of ["file:///etc/passwd", "ftp://example.com/v1", "javascript:alert(1)"]) {
      const r = await call("POST", "/api/sources", { name: "bad", apiKey: "sk-admin-x", baseUrl, verify: false });
      assert.equal(r.status, 400, baseUrl);
    }
    const plain = await call("POST", "/api/sources", {
      name: "plain",
      apiKey: "sk-admin-x",
      baseUrl: "http://audit.example.com/v1",
      verify: false,
    });
    assert.equal(plain.status, 400);
    assert.equal(plain.json.error.code, "outbound_refused");
    assert.match(plain.json.error.message, /VIGIL_ALLOW_PLAIN_HTTP/);
    const verify = await call("POST", "/api/sources/verify", {
      apiKey: "sk-admin-x",
      baseUrl: "http://example.com/v1",
    });
    assert.equal(verify.json.ok, false);
    assert.equal(verify.json.code, "outbound_refused");
  });

  it("does not carry a destination's stored secrets to a new endpoint", async () => {
    const pd = await call("POST", "/api/destinations", {
      name: "pager",
      type: "pagerduty",
      config: { routing_key: "R0UTINGKEY-secret", base_url: "https://events.pagerduty.com" },
    });
    assert.equal(pd.status, 201, JSON.stringify(pd.json));
    const pdId = pd.json.destination.id;
    const moved = await call("PATCH", `/api/destinations/${pdId}`, { config: { base_url: evil.url } });
    assert.equal(moved.status, 400);
    assert.equal(moved.json.error.code, "secret_required");
    assert.match(moved.json.error.message, /routing_key/);
    const before = evil.got.length;
    await call("POST", `/api/destinations/${pdId}/test`);
    assert.equal(evil.got.length, before, "the stored routing key stayed home");

    const hook = await call("POST", "/api/destinations", {
      name: "siem",
      type: "webhook",
      config: {
        url: "https://siem.example.com/in",
        secret: "0123456789abcdef-secret",
        headers: { "X-Token": "T0KEN" },
      },
    });
    assert.equal(hook.status, 201, JSON.stringify(hook.json));
    const hookId = hook.json.destination.id;
    const hookMoved = await call("PATCH", `/api/destinations/${hookId}`, { config: { url: evil.url } });
    assert.equal(hookMoved.status, 400);
    assert.match(hookMoved.json.error.message, /secret and headers/);
    // With the secrets given again, the move is the caller's own: only what they gave is sent.
    const ok = await call("PATCH", `/api/destinations/${hookId}`, {
      config: { url: evil.url, secret: "their-own-secret-0123", headers: {} },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    await call("POST", `/api/destinations/${hookId}/test`);
    assert.ok(evil.got.length > before);
    assert.ok(!evil.got.some((h) => h["x-token"] !== undefined));
    // A change that keeps the endpoint keeps the stored secrets.
    const severity = await call("PATCH", `/api/destinations/${pdId}`, { minSeverity: "HIGH", config: {} });
    assert.equal(severity.status, 200);

    const mail = await call("POST", "/api/destinations", {
      name: "mail",
      type: "email",
      config: {
        host: "smtp.example.com",
        auth: { user: "u", pass: "P4SS" },
        from: "v@example.com",
        to: ["s@example.com"],
      },
    });
    assert.equal(mail.status, 201, JSON.stringify(mail.json));
    const mailMoved = await call("PATCH", `/api/destinations/${mail.json.destination.id}`, {
      config: { host: "127.0.0.1" },
    });
    assert.equal(mailMoved.status, 400);
    assert.match(mailMoved.json.error.message, /auth/);
  });

  it("lets analysts read and triage, not change settings or use secrets", async () => {
    const res = await app.request("http://localhost/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "ana", password: PASSWORD }),
    });
    assert.equal(res.status, 200);
    const { csrf, user } = (await res.json()) as Json;
    assert.equal(user.role, "analyst");
    const headers = { cookie: (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "", "x-vigil-csrf": csrf };
    const [source] = await runtime.store.listSources();
    assert.ok(source);
    const denied: Array<[string, string, unknown]> = [
      ["POST", "/api/sources", { name: "x", apiKey: "sk-admin-x" }],
      ["POST", "/api/sources/verify", { apiKey: "sk-admin-x" }],
      ["PATCH", `/api/sources/${source.id}`, { pollIntervalSecs: 60 }],
      ["POST", `/api/sources/${source.id}/test`, undefined],
      ["DELETE", `/api/sources/${source.id}`, undefined],
      ["POST", "/api/destinations", { name: "d", type: "slack", config: {} }],
      ["POST", "/api/rules/x/disable", {}],
      ["POST", "/api/packs/OpenAI/disable", {}],
    ];
    for (const [method, path, body] of denied) {
      const r = await call(method, path, body, headers);
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(r.json.error.code, "forbidden");
    }
    assert.ok(await runtime.store.getSource(source.id), "nothing was removed");
    assert.equal((await call("GET", "/api/sources", undefined, headers)).status, 200);
    assert.equal((await call("GET", "/api/alerts", undefined, headers)).status, 200);
  });
});

describe("outbound policy from the environment", () => {
  it("VIGIL_ALLOWED_HOSTS refuses other hosts; VIGIL_ALLOW_PLAIN_HTTP allows http", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "vigil-outbound-"));
    const runtime = await openRuntime(
      readEnv({
        VIGIL_DATA_DIR: scratch,
        VIGIL_ALLOWED_HOSTS: "api.openai.com, *.example.com",
        VIGIL_ALLOW_PLAIN_HTTP: "1",
      }),
      createLogger({ level: "silent" }),
    );
    try {
      const app = createApp(runtime, { consoleDir: null });
      const token = (await createApiToken(runtime.store, "t", Date.now() + 86_400_000)).token;
      const post = async (path: string, body: unknown) => {
        const res = await app.request(`http://localhost${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        return { status: res.status, json: (await res.json()) as Json };
      };
      const other = await post("/api/sources", {
        name: "o",
        apiKey: "sk-admin-x",
        baseUrl: "https://evil.test/v1",
        verify: false,
      });
      assert.equal(other.status, 400);
      assert.match(other.json.error.message, /evil\.test is not in VIGIL_ALLOWED_HOSTS/);
      const listed = await post("/api/sources", {
        name: "l",
        apiKey: "sk-admin-x",
        baseUrl: "http://audit.example.com/v1",
        verify: false,
      });
      assert.equal(listed.status, 201, JSON.stringify(listed.json));
      const slack = await post("/api/destinations", {
        name: "s",
        type: "slack",
        config: { webhook_url: "https://hooks.slack.com/services/T/B/X" },
      });
      assert.equal(slack.status, 400);
      assert.match(slack.json.error.message, /webhook_url: The host hooks\.slack\.com is not in VIGIL_ALLOWED_HOSTS/);
    } finally {
      await runtime.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("seals keys stored before sealing existed to their source's endpoint, once, at start-up", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "vigil-legacy-"));
    const env = readEnv({ VIGIL_DATA_DIR: scratch });
    const first = await openRuntime(env, createLogger({ level: "silent" }));
    const legacy = first.secrets.encrypt("sk-admin-legacy"); // v1: bound to nothing
    const source = await first.store.createSource(
      {
        name: "old",
        kind: "openai",
        baseUrl: "https://api.openai.com/v1/",
        pollIntervalSecs: 60,
        overlapSecs: 600,
        sweepWindowSecs: 86_400,
        sweepIntervalSecs: 3600,
        includeTenantEvents: false,
        backfillDays: 7,
        enabled: true,
      },
      legacy,
    );
    assert.equal(first.secrets.boundEndpoint(legacy), null);
    await first.close();
    const second = await openRuntime(env, createLogger({ level: "silent" }));
    try {
      const sealed = await second.store.getSourceSecret(source.id);
      assert.ok(sealed);
      assert.equal(second.secrets.boundEndpoint(sealed), "https://api.openai.com/v1");
      assert.equal(second.secrets.decrypt(sealed, "https://api.openai.com/v1"), "sk-admin-legacy");
      assert.throws(() => second.secrets.decrypt(sealed, "https://evil.test/v1"), /entered for https:\/\/api/);
    } finally {
      await second.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
