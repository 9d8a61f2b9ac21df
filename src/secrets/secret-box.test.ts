import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { VigilError } from "../core/errors.ts";
import { KEY_FILE_NAME, openSecretBox, parseKey } from "./secret-box.ts";

const scratch = mkdtempSync(join(tmpdir(), "vigil-secret-box-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

let dirCounter = 0;
function freshDir(): string {
  dirCounter += 1;
  return join(scratch, `data-${dirCounter}`);
}

const ADMIN_KEY = "sk-admin-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH";
const posix = process.platform !== "win32";

function assertCode(fn: () => unknown, code: string): VigilError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof VigilError, `expected a VigilError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

describe("secret box", () => {
  it("round-trips a secret, and the ciphertext does not contain it", () => {
    const box = openSecretBox({ dataDir: freshDir() });
    const secret = box.encrypt(ADMIN_KEY);
    assert.match(secret.ciphertext, /^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    assert.ok(!secret.ciphertext.includes(ADMIN_KEY));
    assert.ok(!secret.ciphertext.includes("sk-admin"));
    assert.ok(!secret.ciphertext.includes(Buffer.from(ADMIN_KEY).toString("base64")));
    assert.equal(box.decrypt(secret), ADMIN_KEY);
    assert.equal(box.decrypt(box.encrypt("")), "");
    assert.equal(box.decrypt(box.encrypt("ünïcödé ✓")), "ünïcödé ✓");
  });

  it("seals a secret to an endpoint: it decrypts only for that endpoint, and the endpoint cannot be edited", () => {
    const box = openSecretBox({ dataDir: freshDir() });
    const endpoint = "https://api.openai.com/v1";
    const sealed = box.encrypt(ADMIN_KEY, endpoint);
    assert.equal(box.boundEndpoint(sealed), endpoint);
    assert.equal(box.decrypt(sealed, endpoint), ADMIN_KEY);
    assert.throws(
      () => box.decrypt(sealed, "https://evil.test/v1"),
      (err: VigilError) => err.code === "secret_endpoint_changed" && !err.message.includes(ADMIN_KEY),
    );
    // Asking without an endpoint is refused too: a sealed secret is for its endpoint only.
    assert.throws(
      () => box.decrypt(sealed),
      (err: VigilError) => err.code === "secret_endpoint_changed",
    );
    // Rewriting the endpoint field to the attacker's makes authentication fail.
    const parts = sealed.ciphertext.split(":");
    parts[1] = Buffer.from("https://evil.test/v1").toString("base64url");
    const edited = { ciphertext: parts.join(":") };
    assert.throws(
      () => box.decrypt(edited, "https://evil.test/v1"),
      (err: VigilError) => err.code === "secret_key_changed",
    );
    // An unsealed (v1) secret is refused where an endpoint is required.
    assert.throws(
      () => box.decrypt(box.encrypt(ADMIN_KEY), endpoint),
      (err: VigilError) => err.code === "secret_unbound",
    );
  });

  it("uses a fresh IV each time: the same secret encrypts differently", () => {
    const box = openSecretBox({ dataDir: freshDir() });
    const a = box.encrypt(ADMIN_KEY).ciphertext;
    const b = box.encrypt(ADMIN_KEY).ciphertext;
    assert.notEqual(a, b);
    assert.notEqual(a.split(":")[1], b.split(":")[1]);
  });

  it("detects a tampered ciphertext", () => {
    const box = openSecretBox({ dataDir: freshDir() });
    const [version, iv, tag, data] = box.encrypt(ADMIN_KEY).ciphertext.split(":") as [string, string, string, string];
    const flipped = Buffer.from(data, "base64");
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    assertCode(
      () => box.decrypt({ ciphertext: [version, iv, tag, flipped.toString("base64")].join(":") }),
      "secret_key_changed",
    );
    const otherTag = randomBytes(16).toString("base64");
    assertCode(() => box.decrypt({ ciphertext: [version, iv, otherTag, data].join(":") }), "secret_key_changed");
    assertCode(() => box.decrypt({ ciphertext: `v9:${iv}:${tag}:${data}` }), "secret_format");
    assertCode(() => box.decrypt({ ciphertext: "plaintext" }), "secret_format");
    assertCode(() => box.decrypt({ ciphertext: `v1:${iv}:AAAA:${data}` }), "secret_format");
  });

  it("says the secret key changed when decrypting with another key, without the plaintext", () => {
    const first = openSecretBox({ dataDir: freshDir(), secretKey: randomBytes(32).toString("base64") });
    const second = openSecretBox({ dataDir: freshDir(), secretKey: randomBytes(32).toString("hex") });
    const secret = first.encrypt(ADMIN_KEY);
    const error = assertCode(() => second.decrypt(secret), "secret_key_changed");
    assert.match(error.message, /secret key/);
    assert.match(error.message, /VIGIL_SECRET_KEY/);
    assert.ok(!error.message.includes(ADMIN_KEY));
    assert.ok(!error.message.includes("\n    at "));
    assert.equal(error.retryable, false);
  });

  it("accepts VIGIL_SECRET_KEY as 64 hex characters or base64 of 32 bytes, and creates no key file", () => {
    const key = randomBytes(32);
    const dataDir = freshDir();
    const hexBox = openSecretBox({ dataDir, secretKey: key.toString("hex") });
    const b64Box = openSecretBox({ dataDir, secretKey: key.toString("base64") });
    const urlBox = openSecretBox({ dataDir, secretKey: ` ${key.toString("base64url")}\n` });
    const secret = hexBox.encrypt(ADMIN_KEY);
    assert.equal(b64Box.decrypt(secret), ADMIN_KEY);
    assert.equal(urlBox.decrypt(secret), ADMIN_KEY);
    assert.equal(hexBox.keySource, "env");
    assert.equal(hexBox.keyPath, null);
    assert.equal(existsSync(join(dataDir, KEY_FILE_NAME)), false);
  });

  it("rejects a VIGIL_SECRET_KEY of the wrong shape with a clear message that does not echo it", () => {
    const cases = [
      "",
      "   ",
      "hunter2",
      randomBytes(16).toString("base64"),
      randomBytes(33).toString("base64"),
      randomBytes(31).toString("hex"),
      `${randomBytes(32).toString("hex")}zz`,
      "not base64 at all!",
    ];
    for (const value of cases) {
      const error = assertCode(() => openSecretBox({ dataDir: freshDir(), secretKey: value }), "secret_key_invalid");
      assert.match(error.message, /VIGIL_SECRET_KEY/);
      assert.match(error.message, /32/);
      if (value.trim().length > 0) assert.ok(!error.message.includes(value.trim()), error.message);
    }
  });

  it("creates the key file on first use with mode 0600, and reuses it", () => {
    const dataDir = freshDir();
    const box = openSecretBox({ dataDir });
    const keyPath = join(dataDir, KEY_FILE_NAME);
    assert.equal(box.keySource, "file");
    assert.equal(box.keyPath, keyPath);
    assert.equal(existsSync(keyPath), false, "opening alone must not create the key file");

    const secret = box.encrypt(ADMIN_KEY);
    assert.ok(existsSync(keyPath));
    if (posix) assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    assert.equal(parseKey(readFileSync(keyPath, "utf8"), "key file").length, 32);
    assert.deepEqual(readdirSync(dataDir), [KEY_FILE_NAME], "no temporary file is left behind");

    // A later process reads the same key.
    assert.equal(openSecretBox({ dataDir }).decrypt(secret), ADMIN_KEY);
    // The file's key and VIGIL_SECRET_KEY set to its contents are the same key.
    const fromEnv = openSecretBox({ dataDir: freshDir(), secretKey: readFileSync(keyPath, "utf8") });
    assert.equal(fromEnv.decrypt(secret), ADMIN_KEY);
  });

  it("says the key changed when the key file was replaced", () => {
    const dataDir = freshDir();
    const secret = openSecretBox({ dataDir }).encrypt(ADMIN_KEY);
    const keyPath = join(dataDir, KEY_FILE_NAME);
    rmSync(keyPath);
    const error = assertCode(() => openSecretBox({ dataDir }).decrypt(secret), "secret_key_changed");
    assert.ok(error.message.includes(keyPath));
  });

  it("refuses a key file that other users can read", { skip: !posix }, () => {
    const dataDir = freshDir();
    const box = openSecretBox({ dataDir });
    const secret = box.encrypt(ADMIN_KEY);
    const keyPath = join(dataDir, KEY_FILE_NAME);
    chmodSync(keyPath, 0o644);
    const error = assertCode(() => openSecretBox({ dataDir }).decrypt(secret), "secret_key_file_permissions");
    assert.match(error.message, /chmod 600/);
    assert.match(error.message, /0644/);
    chmodSync(keyPath, 0o600);
    assert.equal(openSecretBox({ dataDir }).decrypt(secret), ADMIN_KEY);
  });

  it("reports a damaged key file clearly", () => {
    const dataDir = freshDir();
    openSecretBox({ dataDir }).encrypt(ADMIN_KEY);
    const keyPath = join(dataDir, KEY_FILE_NAME);
    writeFileSync(keyPath, "short\n", { mode: 0o600 });
    const error = assertCode(() => openSecretBox({ dataDir }).encrypt(ADMIN_KEY), "secret_key_invalid");
    assert.ok(error.message.includes(keyPath));
  });

  it("lets processes racing to create the key file agree on one key", async () => {
    const dataDir = freshDir();
    const boxModule = fileURLToPath(new URL("./secret-box.ts", import.meta.url));
    const script = `
      import { openSecretBox } from ${JSON.stringify(boxModule)};
      process.stdout.write(openSecretBox({ dataDir: ${JSON.stringify(dataDir)} }).encrypt("shared").ciphertext);
    `;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
        let out = "";
        let err = "";
        child.stdout.on("data", (c: Buffer) => {
          out += c.toString();
        });
        child.stderr.on("data", (c: Buffer) => {
          err += c.toString();
        });
        child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
      });
    const ciphertexts = await Promise.all([run(), run(), run(), run()]);
    const box = openSecretBox({ dataDir });
    for (const ciphertext of ciphertexts) assert.equal(box.decrypt({ ciphertext }), "shared");
    assert.deepEqual(readdirSync(dataDir), [KEY_FILE_NAME]);
  });
});
