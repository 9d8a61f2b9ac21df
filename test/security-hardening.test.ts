// Security tests for issue 16, findings 2, 4 and 6: each reproduction of the audit, run against a real server
// (a socket, so that Content-Length and chunked bodies arrive as they would in production) on a real SQLite
// store in a temp data dir. See docs/security.md.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readEnv } from "../src/config/env.ts";
import { parseConfigFile } from "../src/config/vigil-config.ts";
import { createLogger } from "../src/logging/logger.ts";
import { openRuntime, type Runtime } from "../src/pipeline/runtime.ts";
import { createApiToken, createUser, hashPassword, SCRYPT } from "../src/server/auth.ts";
import { LOGIN_BODY_LIMIT_BYTES } from "../src/server/body-limit.ts";
import { type RunningServer, startServer } from "../src/server/server.ts";
import { applyConfigDestinations } from "../src/usecases/config-destinations.ts";
import { runVigil } from "./helpers.ts";

const PASSWORD = "correct horse battery staple";
const DAY_MS = 86_400_000;

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  json: any;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}

/**
 * A POST of `chunks` × `chunkBytes` bytes, with no Content-Length (Transfer-Encoding: chunked) unless
 * `sized`. The answer counts even when the server stops reading and closes before the last byte.
 */
function post(url: string, headers: Record<string, string>, chunks: number, chunkBytes: number, sized = false) {
  return new Promise<{ status: number; json: unknown }>((resolve, reject) => {
    // A connection of its own: after a 413 the server closes the connection rather than read the rest.
    const req = request(url, {
      method: "POST",
      agent: false,
      headers: {
        "content-type": "application/json",
        ...(sized ? { "content-length": String(chunks * chunkBytes) } : {}),
        ...headers,
      },
    });
    let responded = false;
    req.on("response", (res) => {
      responded = true;
      let text = "";
      res.on("data", (d) => {
        text += String(d);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    // The server may answer and stop reading before the last chunk: that is the point, not a failure.
    req.on("error", (err) => (responded ? undefined : reject(err)));
    if (!sized) assert.equal(req.getHeader("content-length"), undefined);
    const chunk = Buffer.alloc(chunkBytes, 0x61);
    for (let i = 0; i < chunks; i++) req.write(chunk);
    req.end();
  });
}

function startRuntime(env: Record<string, string>): Promise<Runtime> {
  return openRuntime(readEnv(env), createLogger({ level: "silent" }));
}

describe("security hardening (issue 16: findings 2, 4, 6)", () => {
  const scratch = mkdtempSync(join(tmpdir(), "vigil-hardening-"));
  const dataDir = join(scratch, "data");
  let runtime: Runtime;
  let server: RunningServer;
  let base: string;
  let token: string;

  before(async () => {
    runtime = await startRuntime({ VIGIL_DATA_DIR: dataDir });
    await createUser(runtime.store, "admin", PASSWORD, "admin");
    token = (await createApiToken(runtime.store, "tests", Date.now() + DAY_MS)).token;
    server = await startServer(runtime, { host: "127.0.0.1", port: 0, consoleDir: null });
    base = server.url.replace(/\/$/, "");
  });

  after(async () => {
    await server?.close();
    await runtime?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const bearer = () => ({ authorization: `Bearer ${token}` });

  async function login(password = PASSWORD, url = `${base}/api/login`): Promise<Answer> {
    return answer(
      await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "admin", password }),
      }),
    );
  }

  describe("finding 4: request body limits", () => {
    it("answers 413 in the API's error format to a 2 MB login body with a Content-Length", async () => {
      const res = await post(`${base}/api/login`, {}, 32, 64 * 1024, true);
      assert.equal(res.status, 413);
      assert.deepEqual(res.json, {
        error: { code: "payload_too_large", message: "The request body is larger than the 16 KiB this route accepts." },
      });
    });

    it("answers 413 to a chunked login body (no Content-Length) past the login limit", async () => {
      const res = await post(`${base}/api/login`, {}, 32, 64 * 1024);
      assert.equal(res.status, 413);
      assert.deepEqual(Object.keys((res.json as { error: object }).error).sort(), ["code", "message"]);
      // Just past the limit is enough.
      const small = await post(`${base}/api/login`, {}, 1, LOGIN_BODY_LIMIT_BYTES + 1);
      assert.equal(small.status, 413);
    });

    it("limits every other route to 1 MiB, chunked or not, so readBody never sees more", async () => {
      const chunked = await post(`${base}/api/destinations`, bearer(), 33, 64 * 1024);
      assert.equal(chunked.status, 413);
      assert.match((chunked.json as { error: { message: string } }).error.message, /1 MiB/);
      const sized = await post(`${base}/api/destinations`, bearer(), 1, 1024 * 1024 + 1, true);
      assert.equal(sized.status, 413);
      // A body within the limit still reaches the route (and its own validation).
      const ok = await answer(
        await fetch(`${base}/api/destinations`, {
          method: "POST",
          headers: { ...bearer(), "content-type": "application/json" },
          body: JSON.stringify({ name: "x".repeat(300), type: "file", config: { path: "a.jsonl" } }),
        }),
      );
      assert.equal(ok.status, 400);
      assert.match(ok.json.error.message, /name/);
    });

    it("a login within the limit still works", async () => {
      assert.equal((await login()).status, 200);
    });
  });

  describe("finding 2: the file destination writes only under the export directory", () => {
    const exportDir = () => join(dataDir, "exports");

    it("refuses ../ and absolute paths outside it when the destination is created", async () => {
      for (const path of ["../ARBITRARY", `${exportDir()}/../../ARBITRARY`, "/etc/cron.d/x"]) {
        const res = await answer(
          await fetch(`${base}/api/destinations`, {
            method: "POST",
            headers: { ...bearer(), "content-type": "application/json" },
            body: JSON.stringify({ name: `escape ${path}`, type: "file", config: { path } }),
          }),
        );
        assert.equal(res.status, 400, path);
        assert.match(res.json.error.message, /path: .*leaves the export directory/, path);
      }
      assert.equal(existsSync(join(dataDir, "ARBITRARY")), false);
      assert.equal(existsSync(join(scratch, "ARBITRARY")), false);
    });

    it("writes a test send inside it", async () => {
      const created = await answer(
        await fetch(`${base}/api/destinations`, {
          method: "POST",
          headers: { ...bearer(), "content-type": "application/json" },
          body: JSON.stringify({ name: "archive", type: "file", config: { path: "api/alerts.jsonl" } }),
        }),
      );
      assert.equal(created.status, 201);
      const sent = await answer(
        await fetch(`${base}/api/destinations/${created.json.destination.id}/test`, {
          method: "POST",
          headers: bearer(),
        }),
      );
      assert.equal(sent.status, 200);
      assert.equal(sent.json.ok, true, JSON.stringify(sent.json));
      assert.match(readFileSync(join(exportDir(), "api", "alerts.jsonl"), "utf8"), /"kind":"test"/);
    });
  });

  describe("finding 6a: Secure cookie", () => {
    it("is set when VIGIL_PUBLIC_URL is https, even though the request reaching Vigil is http", async () => {
      const httpsDir = join(scratch, "https");
      mkdirSync(httpsDir);
      const rt = await startRuntime({ VIGIL_DATA_DIR: httpsDir, VIGIL_PUBLIC_URL: "https://vigil.example.com" });
      const srv = await startServer(rt, { host: "127.0.0.1", port: 0, consoleDir: null });
      try {
        await createUser(rt.store, "admin", PASSWORD, "admin");
        const res = await login(PASSWORD, `${srv.url}api/login`);
        assert.equal(res.status, 200);
        assert.match(res.headers.get("set-cookie") ?? "", /;\s*Secure/i);
      } finally {
        await srv.close();
        await rt.close();
      }
    });

    it("is not set for an http public URL over http (the browser would drop the cookie)", async () => {
      const res = await login();
      assert.equal(res.status, 200);
      assert.doesNotMatch(res.headers.get("set-cookie") ?? "", /;\s*Secure/i);
    });
  });

  describe("finding 6b: API tokens expire", () => {
    it("refuses an expired token with a 401 that says it expired", async () => {
      const expired = await createApiToken(runtime.store, "old-ci", Date.now() - 1000);
      const res = await answer(
        await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${expired.token}` } }),
      );
      assert.equal(res.status, 401);
      assert.equal(res.json.error.code, "token_expired");
      assert.match(res.json.error.message, /^The API token old-ci expired at \d{4}-\d\d-\d\dT.*vigil tokens create/);
      const valid = await answer(await fetch(`${base}/api/me`, { headers: bearer() }));
      assert.equal(valid.status, 200);
    });

    it("vigil tokens create takes --expires-in-days within the operator's maximum, and list shows the expiry", async () => {
      const cliDir = join(scratch, "cli-tokens");
      const env = { VIGIL_DATA_DIR: cliDir, VIGIL_TOKEN_MAX_TTL_DAYS: "30" };
      const tooLong = await runVigil(["tokens", "create", "--name", "long", "--expires-in-days", "31"], env);
      assert.notEqual(tooLong.code, 0);
      assert.match(tooLong.stderr, /at most 30 days \(VIGIL_TOKEN_MAX_TTL_DAYS\)/);
      const made = await runVigil(["tokens", "create", "--name", "ci", "--expires-in-days", "7"], env);
      assert.equal(made.code, 0, made.stderr);
      const list = await runVigil(["tokens", "list", "--json"], env);
      const [row] = list.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { name: string; expiresAtMs: number });
      assert.equal(row?.name, "ci");
      assert.ok(Math.abs((row?.expiresAtMs ?? 0) - (Date.now() + 7 * DAY_MS)) < 60_000);
      // Without --expires-in-days: VIGIL_TOKEN_TTL_DAYS (default 90) capped by the maximum (30 here).
      await runVigil(["tokens", "create", "--name", "default"], env);
      const plain = await runVigil(["tokens", "list"], env);
      assert.match(plain.stdout, /^default\t\S+\tcreated \S+\texpires \S+\tnever used$/m);
    });
  });

  describe("finding 6c: scrypt at current guidance, rehashed on login", () => {
    it("replaces a hash made with N=16384 by one at N=2^17 on the next login", async () => {
      const weak = await hashPassword(PASSWORD, { ...SCRYPT, N: 16_384 });
      await runtime.store.createUser({ username: "legacy", passwordHash: weak, role: "admin" });
      const res = await answer(
        await fetch(`${base}/api/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "legacy", password: PASSWORD }),
        }),
      );
      assert.equal(res.status, 200);
      const stored = (await runtime.store.getUserCredentials("legacy"))?.passwordHash ?? "";
      assert.notEqual(stored, weak);
      assert.match(stored, /^scrypt\$131072\$8\$1\$/);
      assert.equal(SCRYPT.N, 2 ** 17);
      // The new hash still verifies the same password.
      const again = await answer(
        await fetch(`${base}/api/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "legacy", password: PASSWORD }),
        }),
      );
      assert.equal(again.status, 200);
      assert.equal((await runtime.store.getUserCredentials("legacy"))?.passwordHash, stored);
    });
  });

  describe("finding 6g: test send of destinations made by the CLI or the config file", () => {
    it("answers 200 for a destination added with `vigil destinations add`", async () => {
      const cliDir = join(scratch, "cli-dest");
      const env = { VIGIL_DATA_DIR: cliDir };
      const added = await runVigil(
        ["destinations", "add", "file", "--name", "cli-archive", "--path", "cli.jsonl"],
        env,
      );
      assert.equal(added.code, 0, added.stderr);
      const escaping = await runVigil(["destinations", "add", "file", "--name", "bad", "--path", "/etc/cron.d/x"], env);
      assert.notEqual(escaping.code, 0);
      assert.match(escaping.stderr, /leaves the export directory/);
      const rt = await startRuntime(env);
      const srv = await startServer(rt, { host: "127.0.0.1", port: 0, consoleDir: null });
      try {
        const cliToken = (await createApiToken(rt.store, "t", Date.now() + DAY_MS)).token;
        const [d] = await rt.store.listDestinations();
        const res = await answer(
          await fetch(`${srv.url}api/destinations/${d?.id}/test`, {
            method: "POST",
            headers: { authorization: `Bearer ${cliToken}` },
          }),
        );
        assert.equal(res.status, 200, JSON.stringify(res.json));
        assert.equal(res.json.ok, true, JSON.stringify(res.json));
        assert.ok(existsSync(join(cliDir, "exports", "cli.jsonl")));
      } finally {
        await srv.close();
        await rt.close();
      }
    });

    it("answers 200 for a destination from the config file", async () => {
      const file = parseConfigFile(
        "destinations:\n  - name: from-config\n    type: file\n    path: config/alerts.jsonl\n",
        "vigil.yml",
        () => undefined,
      );
      await applyConfigDestinations(runtime, file);
      const d = await runtime.store.getDestination("from-config");
      const res = await answer(
        await fetch(`${base}/api/destinations/${d?.id}/test`, { method: "POST", headers: bearer() }),
      );
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(res.json.ok, true, JSON.stringify(res.json));
      assert.ok(existsSync(join(dataDir, "exports", "config", "alerts.jsonl")));
      // A config file is confined too.
      const escaping = parseConfigFile(
        "destinations:\n  - name: cron\n    type: file\n    path: /etc/cron.d/x\n",
        "vigil.yml",
        () => undefined,
      );
      await assert.rejects(applyConfigDestinations(runtime, escaping), /leaves the export directory/);
    });
  });
});
