// `vigil users add` and `vigil tokens create|list|revoke` as a user runs them (the real binary).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { openSqliteStore } from "../../storage/sqlite/sqlite-store.ts";

const BIN = fileURLToPath(new URL("../../../bin/vigil.mjs", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "vigil-access-cli-"));
after(() => rmSync(dataDir, { recursive: true, force: true }));

function vigil(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  const { VIGIL_ADMIN_PASSWORD: _ignored, ...base } = process.env;
  const result = spawnSync(process.execPath, [BIN, ...args], {
    input: options.input ?? "",
    encoding: "utf8",
    env: { ...base, VIGIL_DATA_DIR: dataDir, ...options.env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("vigil users / tokens", () => {
  it("adds users with a password from the environment or stdin, hashed", async () => {
    const fromEnv = vigil(["users", "add", "alice"], { env: { VIGIL_ADMIN_PASSWORD: "alice-password-123" } });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    const fromStdin = vigil(["users", "add", "bob", "--role", "admin"], { input: "bob-password-1234\n" });
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    const badRole = vigil(["users", "add", "dave", "--role", "root"], { input: "dave-password-1234\n" });
    assert.notEqual(badRole.code, 0);
    assert.match(badRole.stderr, /admin or analyst/);
    const short = vigil(["users", "add", "carol"], { input: "short\n" });
    assert.equal(short.code === 0, false);
    assert.match(short.stderr, /12 characters/);
    const dup = vigil(["users", "add", "alice"], { input: "another-password-1\n" });
    assert.notEqual(dup.code, 0);
    const store = await openSqliteStore({ path: join(dataDir, "vigil.db") });
    try {
      const creds = await store.getUserCredentials("alice");
      assert.match(creds?.passwordHash ?? "", /^scrypt\$/);
      assert.ok(!creds?.passwordHash.includes("alice-password-123"));
      assert.equal(await store.countUsers(), 2);
      // Least privilege unless asked: a new user is an analyst.
      assert.equal(creds?.user.role, "analyst");
      assert.equal((await store.getUserCredentials("bob"))?.user.role, "admin");
    } finally {
      await store.close();
    }
  });

  it("creates a token once, lists it without the token, revokes it", () => {
    const created = vigil(["tokens", "create", "--name", "ci"]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^vgl_[\w-]{40,}$/);
    const list = vigil(["tokens", "list", "--json"]);
    assert.equal(JSON.parse(list.stdout.trim()).name, "ci");
    assert.ok(!list.stdout.includes(token));
    assert.notEqual(vigil(["tokens", "create", "--name", "ci"]).code, 0);
    assert.equal(vigil(["tokens", "revoke", "ci"]).code, 0);
    const none = vigil(["tokens", "list"]);
    assert.equal(none.stdout, "");
    assert.match(none.stderr, /^No API tokens; create one with `vigil tokens create --name NAME`\.\n$/);
    assert.notEqual(vigil(["tokens", "revoke", "ci"]).code, 0);
  });

  it("answers a usage error with the error and a hint, not forty lines of help that hide it", () => {
    const missing = vigil(["tokens", "create"]);
    assert.notEqual(missing.code, 0);
    assert.equal(
      missing.stderr,
      "error: required option '--name <name>' not specified\n(add --help for every option and an example)\n",
    );
  });
});
