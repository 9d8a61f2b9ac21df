// Login throttling, user administration and suppressions through the HTTP API (app.request(), no socket; the
// client address is passed as the Node bindings @hono/node-server would give).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { capturingLogger } from "../../test/helpers.ts";
import { readEnv } from "../config/env.ts";
import { createLogger } from "../logging/logger.ts";
import { openRuntime, type Runtime } from "../pipeline/runtime.ts";
import { createApp } from "./app.ts";
import { createApiToken, createUser, passwordChecks } from "./auth.ts";
import { DEFAULT_LOGIN_THROTTLE } from "./login-throttle.ts";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Json = any;

const PASSWORD = "correct horse battery staple";
const scratch = mkdtempSync(join(tmpdir(), "vigil-admin-routes-"));
let runtime: Runtime;
let token: string;

before(async () => {
  runtime = await openRuntime(readEnv({ VIGIL_DATA_DIR: join(scratch, "data") }), createLogger({ level: "silent" }));
  await createUser(runtime.store, "admin", PASSWORD, "admin");
  token = (await createApiToken(runtime.store, "tests", Date.now() + 86_400_000)).token;
});

after(async () => {
  await runtime?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const from = (address: string) => ({ incoming: { socket: { remoteAddress: address, remoteFamily: "IPv4" } } });

async function login(
  app: ReturnType<typeof createApp>,
  address: string,
  password: string,
  username = "admin",
  cookie?: string,
  host?: string,
) {
  return app.request(
    "http://localhost/api/login",
    {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(cookie === undefined ? {} : { cookie }),
        ...(host === undefined ? {} : { host }),
      },
      body: JSON.stringify({ username, password }),
    },
    from(address),
  );
}

describe("login throttling", () => {
  it("takes no login for another site's host name (DNS rebinding), so such a page cannot spend its visitor's failures", async () => {
    await runtime.store.clearLoginFailures(["ip:198.51.100.77", "user:admin"]);
    const app = createApp(runtime, {
      consoleDir: null,
      loginThrottle: {
        client: { ...DEFAULT_LOGIN_THROTTLE.client, freeFailures: 3 },
        account: { freeFailures: 3, baseMs: 20, maxMs: 200, forgetAfterMs: 3600_000 },
      },
    });
    // A page of attacker.example whose name now resolves to this server, in a browser at 198.51.100.77.
    for (let i = 0; i < 10; i++) {
      const res = await login(app, "198.51.100.77", `guess ${i}`, "admin", undefined, "attacker.example:8080");
      assert.equal(res.status, 421);
      assert.equal(((await res.json()) as Json).error.code, "host_not_allowed");
    }
    // The visitor's own login, by the names and addresses this server answers to, is not held back.
    for (const host of ["localhost:8080", "127.0.0.1:8080", "[::1]:8080", "LOCALHOST"]) {
      assert.equal((await login(app, "198.51.100.77", PASSWORD, "admin", undefined, host)).status, 200, host);
    }
  });

  it("slows the flooding address with growing Retry-After; the right password from elsewhere still logs in", async () => {
    await runtime.store.clearLoginFailures(["ip:198.51.100.66", "ip:192.0.2.10", "user:admin"]);
    const app = createApp(runtime, {
      consoleDir: null,
      loginThrottle: {
        client: { ...DEFAULT_LOGIN_THROTTLE.client, freeFailures: 3 },
        // Short account delays, so the test does not wait seconds.
        account: { freeFailures: 3, baseMs: 20, maxMs: 200, forgetAfterMs: 3600_000 },
      },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await login(app, "198.51.100.66", `wrong password ${i}`)).status);
    // Three free failures, the fourth checked and failed, then refused without a check.
    assert.deepEqual(statuses.slice(0, 4), [401, 401, 401, 401]);
    assert.ok(
      statuses.slice(4).every((s) => s === 429),
      statuses.join(","),
    );
    const refused = await login(app, "198.51.100.66", PASSWORD);
    assert.equal(refused.status, 429);
    assert.equal(((await refused.json()) as Json).error.code, "rate_limited");
    assert.equal(refused.headers.get("retry-after"), "1");
    // The admin, from another address, gets in (after at most the account's short delay).
    const started = Date.now();
    const ok = await login(app, "192.0.2.10", PASSWORD);
    assert.equal(ok.status, 200);
    assert.ok(Date.now() - started < 5000);
  });

  it("counts wrong passwords sent at once one by one: a burst from one address is refused after the free ones", async () => {
    await runtime.store.clearLoginFailures(["ip:198.51.100.88", "user:admin"]);
    const app = createApp(runtime, {
      consoleDir: null,
      loginThrottle: {
        client: { ...DEFAULT_LOGIN_THROTTLE.client, freeFailures: 3 },
        account: { freeFailures: 100, baseMs: 1, maxMs: 1, forgetAfterMs: 3600_000 },
      },
    });
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => (await login(app, "198.51.100.88", `wrong password ${i}`)).status),
    );
    // Three free failures and the one that starts the wait were checked; the other sixteen never were.
    assert.equal(statuses.filter((s) => s === 401).length, 4, statuses.join(","));
    assert.equal(statuses.filter((s) => s === 429).length, 16, statuses.join(","));
  });

  it("does not forgive an address its failures when someone logs in from it: only that attempt is taken back", async () => {
    await runtime.store.clearLoginFailures(["ip:198.51.100.99", "user:admin", "user:guesser"]);
    const guesser = await createUser(runtime.store, "guesser", PASSWORD, "analyst");
    const app = createApp(runtime, {
      consoleDir: null,
      loginThrottle: {
        client: { ...DEFAULT_LOGIN_THROTTLE.client, freeFailures: 3 },
        account: { freeFailures: 100, baseMs: 1, maxMs: 1, forgetAfterMs: 3600_000 },
      },
    });
    // Guesses at the admin, with the guesser's own good logins in between.
    const statuses: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) statuses.push((await login(app, "198.51.100.99", `guess ${round}-${i}`)).status);
      statuses.push((await login(app, "198.51.100.99", PASSWORD, "guesser")).status);
    }
    // Failures 1-3 free (the good login between them takes back only itself), the fourth starts the wait: the
    // good login after it is refused too, and so is every guess after that.
    assert.deepEqual(statuses, [401, 401, 200, 401, 401, 429, 429, 429, 429]);
    await runtime.store.deleteUser(guesser.id);
  });

  it("takes back an attempt whose check never reached a verdict, and a right password's, from the address", async () => {
    await runtime.store.clearLoginFailures(["ip:198.51.100.111", "user:admin"]);
    const app = createApp(runtime, {
      consoleDir: null,
      loginThrottle: {
        // Any counted failure would make the address wait.
        client: { freeFailures: 0, baseMs: 60_000, maxMs: 60_000, forgetAfterMs: 3600_000 },
        account: { freeFailures: 0, baseMs: 1, maxMs: 1, forgetAfterMs: 3600_000 },
      },
    });
    const store = runtime.store;
    const original = store.getUserCredentials;
    store.getUserCredentials = async () => {
      throw new Error("the database went away");
    };
    try {
      assert.equal((await login(app, "198.51.100.111", PASSWORD)).status, 500);
    } finally {
      store.getUserCredentials = original;
    }
    assert.deepEqual(await store.loginWaits(["ip:198.51.100.111", "user:admin"], Date.now()), {
      "ip:198.51.100.111": 0,
      "user:admin": 0,
    });
    // The right password, twice: never counted against the address either.
    assert.equal((await login(app, "198.51.100.111", PASSWORD)).status, 200);
    assert.equal((await login(app, "198.51.100.111", PASSWORD)).status, 200);
    assert.deepEqual(await store.loginWaits(["ip:198.51.100.111"], Date.now()), { "ip:198.51.100.111": 0 });
  });

  it("checks a browser that logged in before in a lane of its own: strangers' logins from many addresses do not hold it up", async () => {
    const app = createApp(runtime, {
      consoleDir: null,
      // No throttle in the way: what is shown is the queue of password checks.
      loginThrottle: {
        client: { freeFailures: 100, baseMs: 1, maxMs: 1, forgetAfterMs: 3600_000 },
        account: { freeFailures: 100, baseMs: 1, maxMs: 1, forgetAfterMs: 3600_000 },
      },
    });
    const first = await login(app, "198.51.100.150", PASSWORD);
    assert.equal(first.status, 200);
    const device = /(?:^|, )(vigil_device=[^;]+);[^,]*Path=\/api\/login/.exec(
      first.headers.get("set-cookie") ?? "",
    )?.[1];
    assert.ok(device, "a device cookie for the login route");
    // Ten strangers' logins, each from its own address, queue for the two password checks at a time.
    let done = 0;
    const flood = Array.from({ length: 10 }, (_, i) =>
      login(app, `203.0.113.${i + 1}`, "wrong password!", `stranger${i}`).then((r) => {
        done++;
        return r.status;
      }),
    );
    // Until all ten hold a place: two checked, eight waiting.
    for (const deadline = Date.now() + 10_000; passwordChecks().any.waiting < 8; ) {
      assert.ok(Date.now() < deadline, "the strangers' logins did not queue");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const [known, unknown] = await Promise.all([
      login(app, "198.51.100.151", PASSWORD, "admin", device).then((r) => ({ status: r.status, doneBefore: done })),
      login(app, "198.51.100.152", PASSWORD).then((r) => ({ status: r.status, doneBefore: done })),
    ]);
    assert.deepEqual(await Promise.all(flood), Array(10).fill(401));
    assert.equal(known.status, 200);
    assert.equal(unknown.status, 200);
    // The known browser's check ran beside the queue; the other waited its turn behind the ten.
    assert.ok(known.doneBefore < 8, `the known browser waited for ${known.doneBefore} of the strangers' checks`);
    assert.ok(unknown.doneBefore >= 9, `the other browser waited for only ${unknown.doneBefore}`);
    // Which lane a login's check took, seen from the lanes' counts while it runs (nothing else logs in now).
    const lanesOf = async (...logins: Array<() => Promise<Response>>) => {
      let most = 0;
      let settled = false;
      const all = Promise.all(logins.map((l) => l())).finally(() => {
        settled = true;
      });
      while (!settled) {
        const { running, waiting } = passwordChecks().known_device;
        most = Math.max(most, running + waiting);
        await new Promise((resolve) => setImmediate(resolve));
      }
      return { statuses: (await all).map((r) => r.status), inKnownLane: most };
    };
    assert.deepEqual(await lanesOf(() => login(app, "198.51.100.153", PASSWORD, "admin", device)), {
      statuses: [200],
      inKnownLane: 1,
    });
    // Another user's cookie is no pass, nor one for a user who does not exist: they wait like anyone.
    const other = await createUser(runtime.store, "lane.other", PASSWORD, "analyst");
    assert.deepEqual(await lanesOf(() => login(app, "198.51.100.154", PASSWORD, "lane.other", device)), {
      statuses: [200],
      inKnownLane: 0,
    });
    const leaver = await createUser(runtime.store, "lane.leaver", PASSWORD, "analyst");
    const left = (await login(app, "198.51.100.155", PASSWORD, "lane.leaver")).headers.get("set-cookie") ?? "";
    const leaverDevice = /(?:^|, )(vigil_device=[^;]+)/.exec(left)?.[1];
    assert.ok(leaverDevice);
    await runtime.store.deleteUser(leaver.id);
    assert.deepEqual(await lanesOf(() => login(app, "198.51.100.155", PASSWORD, "lane.leaver", leaverDevice)), {
      statuses: [401],
      inKnownLane: 0,
    });
    // One account holds one place in the lane: its second login at once waits with everyone's.
    assert.deepEqual(
      await lanesOf(
        () => login(app, "198.51.100.156", PASSWORD, "admin", device),
        () => login(app, "198.51.100.157", "wrong password!", "admin", device),
      ),
      { statuses: [200, 401], inKnownLane: 1 },
    );
    await runtime.store.deleteUser(other.id); // the users API's test counts the users
  });

  it("doubles the client's wait with every failure after the free ones", async () => {
    await runtime.store.clearLoginFailures(["ip:198.51.100.77", "user:nobody"]);
    const app = createApp(runtime, {
      consoleDir: null,
      loginThrottle: {
        client: { freeFailures: 0, baseMs: 1000, maxMs: 60_000, forgetAfterMs: 3600_000 },
        account: { freeFailures: 100, baseMs: 1, maxMs: 1, forgetAfterMs: 3600_000 },
      },
    });
    const retryAfter: Array<string | null> = [];
    for (let i = 0; i < 2; i++) {
      assert.equal((await login(app, "198.51.100.77", "wrong password!", "nobody")).status, 401);
      retryAfter.push((await login(app, "198.51.100.77", "wrong password!", "nobody")).headers.get("retry-after"));
      // After the wait (1 s, then 2 s): the next failure doubles it.
      if (i === 0) await new Promise((r) => setTimeout(r, 1050));
    }
    assert.deepEqual(retryAfter, ["1", "2"]);
    // Stored in the database: a new app (a restart) still refuses.
    const restarted = createApp(runtime, { consoleDir: null });
    assert.equal((await login(restarted, "198.51.100.77", "wrong password!", "nobody")).status, 429);
  });

  it("behind a trusted proxy, counts each client by the address the proxy forwards: a stranger locks nobody out", async () => {
    const dir = join(scratch, "behind-proxy");
    const captured = capturingLogger("warn");
    const proxied = await openRuntime(
      readEnv({ VIGIL_DATA_DIR: dir, VIGIL_TRUSTED_PROXIES: "10.0.0.5, fd00::/8" }),
      captured.logger,
    );
    try {
      await createUser(proxied.store, "admin", PASSWORD, "admin");
      const app = createApp(proxied, {
        consoleDir: null,
        loginThrottle: {
          ...DEFAULT_LOGIN_THROTTLE,
          account: { freeFailures: 3, baseMs: 20, maxMs: 200, forgetAfterMs: 3600_000 },
        },
      });
      const via = (proxy: string, forwardedFor: string, password: string) =>
        app.request(
          "http://localhost/api/login",
          {
            method: "POST",
            headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
            body: JSON.stringify({ username: "admin", password }),
          },
          { incoming: { socket: { remoteAddress: proxy, remoteFamily: proxy.includes(":") ? "IPv6" : "IPv4" } } },
        );
      // A stranger fails twenty times through the proxy, then tries to pass for the admin's address by writing
      // it first: the proxy appended the stranger's own, which is the one counted.
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await via("10.0.0.5", "203.0.113.9", `wrong ${i}`)).status);
      assert.deepEqual(statuses.slice(0, 6), [401, 401, 401, 401, 401, 401]);
      assert.equal(statuses.at(-1), 429);
      assert.equal((await via("10.0.0.5", "192.0.2.10, 203.0.113.9", "wrong again")).status, 429);
      // The admin, through the same proxy (or a second one in the trusted range), logs in.
      assert.equal((await via("10.0.0.5", "192.0.2.10", PASSWORD)).status, 200);
      assert.equal((await via("fd00::7", "192.0.2.11, 10.0.0.5", PASSWORD)).status, 200);
      // A socket that is no trusted proxy is counted by its own address, whatever it forwards; the operator is
      // told once that a proxy may be missing from the list.
      for (let i = 0; i < 7; i++) await via("198.51.100.5", `192.0.2.${100 + i}`, `wrong ${i}`);
      assert.equal((await via("198.51.100.5", "192.0.2.200", PASSWORD)).status, 429);
      const warnings = captured
        .lines()
        .filter((l) => /VIGIL_TRUSTED_PROXIES does not name 198\.51\.100\.5/.test(l.msg));
      assert.equal(warnings.length, 1, JSON.stringify(captured.lines()));
      // The browser's host comes from X-Forwarded-Host when the trusted proxy sends it (its proxy-side Host names
      // the upstream); a rebinding page's name there is refused, and a client's own X-Forwarded-Host is ignored.
      const hosted = (proxy: string, headers: Record<string, string>) =>
        app.request(
          "http://localhost/api/login",
          {
            method: "POST",
            headers: { "content-type": "application/json", "x-forwarded-for": "192.0.2.30", ...headers },
            body: JSON.stringify({ username: "admin", password: PASSWORD }),
          },
          { incoming: { socket: { remoteAddress: proxy, remoteFamily: "IPv4" } } },
        );
      const rebound = { host: "127.0.0.1:8081", "x-forwarded-host": "attacker.example" };
      assert.equal((await hosted("10.0.0.5", rebound)).status, 421);
      assert.equal((await hosted("10.0.0.5", { ...rebound, "x-forwarded-host": "localhost:8080" })).status, 200);
      assert.equal(
        (await hosted("198.51.100.6", { host: "localhost", "x-forwarded-host": "attacker.example" })).status,
        200,
      );
      // A trusted proxy is never the subject of that warning, even when it forwards no address of the client's.
      await via("10.0.0.5", "", "wrong");
      await via("10.0.0.5", "10.0.0.9", "wrong");
      assert.ok(
        captured.lines().every((l) => !/does not name (10\.0\.0\.5|fd00::7)/.test(l.msg)),
        JSON.stringify(captured.lines()),
      );
    } finally {
      await proxied.close();
    }
  });
});

describe("users API", () => {
  const app = () => createApp(runtime, { consoleDir: null });
  async function call(method: string, path: string, body?: unknown, auth = `Bearer ${token}`) {
    const headers: Record<string, string> = { authorization: auth };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await app().request(`http://localhost${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as Json };
  }

  it("lets admins create, re-role, reset and delete users, never the last admin; analysts get 403", async () => {
    const created = await call("POST", "/api/users", {
      username: "ana",
      password: "a long password 1",
      role: "analyst",
    });
    assert.equal(created.status, 201);
    const ana = created.json.user;
    assert.equal(ana.role, "analyst");
    assert.equal(ana.passwordHash, undefined);
    assert.equal(
      (await call("POST", "/api/users", { username: "ana", password: "a long password 1", role: "analyst" })).status,
      409,
    );
    assert.equal(
      (await call("POST", "/api/users", { username: "bad name", password: "a long password 1", role: "analyst" }))
        .status,
      400,
    );
    assert.equal(
      (await call("POST", "/api/users", { username: "bo", password: "short", role: "analyst" })).status,
      400,
    );
    assert.equal(
      (await call("POST", "/api/users", { username: "bo", password: "a long password 1", role: "root" })).status,
      400,
    );

    // An analyst's session: no user administration.
    const res = await login(app(), "192.0.2.50", "a long password 1", "ana");
    assert.equal(res.status, 200);
    const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const asAnalyst = await app().request("http://localhost/api/users", { headers: { cookie } });
    assert.equal(asAnalyst.status, 403);

    const list = await call("GET", "/api/users");
    assert.deepEqual(
      list.json.users.map((u: Json) => [u.username, u.role]),
      [
        ["admin", "admin"],
        ["ana", "analyst"],
      ],
    );
    const admin = list.json.users[0];
    assert.equal((await call("PATCH", `/api/users/${admin.id}`, { role: "analyst" })).status, 409);
    assert.equal((await call("DELETE", `/api/users/${admin.id}`)).status, 409);
    assert.equal((await call("PATCH", `/api/users/${ana.id}`, { role: "admin" })).json.user.role, "admin");
    // A reset password ends the user's sessions.
    assert.equal((await call("PATCH", `/api/users/${ana.id}`, { password: "another long one" })).status, 200);
    assert.equal((await app().request("http://localhost/api/me", { headers: { cookie } })).status, 401);
    assert.equal((await login(app(), "192.0.2.50", "another long one", "ana")).status, 200);
    assert.equal((await call("DELETE", `/api/users/${ana.id}`)).status, 200);
    assert.equal((await call("DELETE", `/api/users/${ana.id}`)).status, 404);
    assert.equal((await call("PATCH", "/api/users/nope", { role: "admin" })).status, 404);
  });

  it("logs who changed what, and a refused change changes nothing (a password with a refused role)", async () => {
    const captured = capturingLogger("info");
    const logged = createApp({ ...runtime, logger: captured.logger }, { consoleDir: null });
    const send = async (method: string, path: string, body: unknown) =>
      (
        await logged.request(`http://localhost${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        })
      ).status;
    const admin = (await runtime.store.listUsers()).find((u) => u.username === "admin");
    assert.ok(admin);
    // The last admin cannot become an analyst: refused whole, the new password too (the old one still logs in).
    assert.equal(
      await send("PATCH", `/api/users/${admin.id}`, { role: "analyst", password: "a brand new password" }),
      409,
    );
    assert.equal((await login(app(), "192.0.2.60", PASSWORD)).status, 200);
    assert.equal(
      await send("POST", "/api/users", { username: "cy", password: "a long password 2", role: "analyst" }),
      201,
    );
    const changes = captured.lines().filter((l) => l.msg === "Done through the API.");
    assert.deepEqual(
      changes.map((l) => [l.level, l.fields.actor, l.fields.method, l.fields.path, l.fields.status]),
      [["info", "token:tests", "POST", "/api/users", 201]],
    );
    // Bodies are not logged: they carry passwords.
    assert.doesNotMatch(JSON.stringify(captured.lines()), /a long password 2|a brand new password/);
  });

  it("creates, lists and removes suppressions with who and when", async () => {
    const made = await call("POST", "/api/suppressions", {
      ruleId: "OpenAI.Login.PasswordSpray",
      conditions: { actorEmail: "bot@example.com" },
      // Stored as written: a NUL (which PostgreSQL refuses) as its escape.
      reason: "<b>nightly</b> job\u0000",
      expiresInSecs: 86_400,
    });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    const s = made.json.suppression;
    assert.equal(s.createdBy, "token:tests");
    assert.equal(s.reason, "<b>nightly</b> job\\u0000");
    assert.ok(s.expiresAtMs > Date.now());
    // What could never match, or would hide for decades, is refused with the reason.
    const refused = async (body: Json, reason: RegExp) => {
      const res = await call("POST", "/api/suppressions", body);
      assert.equal(res.status, 400, JSON.stringify(res.json));
      assert.match(res.json.error.message, reason);
    };
    const base = { ruleId: "OpenAI.Login.PasswordSpray", conditions: { ip: "203.0.113.7" }, reason: "known" };
    await refused({ ...base, ruleId: "No.Such.Rule" }, /There is no rule "No\.Such\.Rule"/);
    // A correlation's input: muting it would blind the correlation (brute force) for that actor.
    await refused(
      { ...base, ruleId: "OpenAI.Login.Failed" },
      /input of the correlation rule OpenAI\.BruteForce\.Login\.Success.*Suppress the correlation rule instead/,
    );
    await refused({ ...base, conditions: { ip: "not an ip" } }, /ip must be an IPv4 or IPv6 address/);
    await refused({ ...base, expiresAtMs: Date.now() + 400 * 86_400_000 }, /at most a year away/);
    assert.equal((await call("POST", "/api/suppressions", { ruleId: "R", conditions: {}, reason: "x" })).status, 400);
    assert.equal(
      (await call("POST", "/api/suppressions", { ruleId: "R", conditions: { raw: "x" }, reason: "x" })).status,
      400,
    );
    assert.deepEqual(
      (await call("GET", "/api/suppressions")).json.suppressions.map((x: Json) => x.id),
      [s.id],
    );
    const removed = await call("DELETE", `/api/suppressions/${s.id}`);
    assert.equal(removed.json.suppression.removedBy, "token:tests");
    assert.deepEqual((await call("GET", "/api/suppressions")).json.suppressions, []);
    assert.equal((await call("GET", "/api/suppressions?all=true")).json.suppressions.length, 1);
    assert.equal((await call("DELETE", "/api/suppressions/nope")).status, 404);
  });
});
