import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { it } from "node:test";
import { openSecretBox } from "../secrets/secret-box.ts";
import { DEVICE_TTL_MS, isKnownDevice, sealDevice } from "./known-device.ts";

const box = () => openSecretBox({ dataDir: "/nonexistent", secretKey: randomBytes(32).toString("hex") });

it("knows a browser for the user it logged in as, in any case, until the cookie's lifetime ends", () => {
  const secrets = box();
  const cookie = sealDevice(secrets, "Admin", 1_000);
  assert.ok(isKnownDevice(secrets, cookie, "admin", 1_000));
  assert.ok(isKnownDevice(secrets, cookie, "ADMIN", 1_000 + DEVICE_TTL_MS - 1));
  assert.ok(!isKnownDevice(secrets, cookie, "admin", 1_000 + DEVICE_TTL_MS), "too old");
  assert.ok(!isKnownDevice(secrets, cookie, "ana", 1_000), "another user's browser");
});

it("knows no cookie that is missing, altered, made up, too long or sealed with another key", () => {
  const secrets = box();
  const cookie = sealDevice(secrets, "admin", 1_000);
  const altered = `${cookie.slice(0, -4)}${cookie.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
  for (const value of [undefined, "", altered, "bm90IGEgY29va2ll", "x".repeat(2000), sealDevice(box(), "admin", 1_000)])
    assert.ok(!isKnownDevice(secrets, value, "admin", 1_000), String(value).slice(0, 40));
  // Another secret sealed by the same box is no device cookie (a source's key sealed to its endpoint).
  const other = Buffer.from(secrets.encrypt("admin\n1000", "https://api.openai.com").ciphertext).toString("base64url");
  assert.ok(!isKnownDevice(secrets, other, "admin", 1_000));
});
