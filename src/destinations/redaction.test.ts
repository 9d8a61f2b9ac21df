import assert from "node:assert/strict";
import { test } from "node:test";
import { redactUrl, secretRedactor } from "./redaction.ts";

test("redactUrl keeps only the origin of a URL with a path, query or credentials", () => {
  assert.equal(
    redactUrl("https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
    "https://hooks.slack.com/…[redacted]",
  );
  assert.equal(redactUrl("https://example.com/?token=abc"), "https://example.com/…[redacted]");
  assert.equal(redactUrl("https://user:pw@example.com/"), "https://example.com/…[redacted]");
  assert.equal(redactUrl("https://example.com"), "https://example.com");
  assert.equal(redactUrl("not a url"), "[redacted URL]");
});

test("secretRedactor removes secrets, URL paths, encoded forms and OpenAI keys", () => {
  const redact = secretRedactor(["https://hooks.example.com/services/T1/B2/TOKEN123", "hmac-secret-value", undefined]);
  const text =
    "POST /services/T1/B2/TOKEN123 failed; url=https://hooks.example.com/services/T1/B2/TOKEN123 " +
    `secret=hmac-secret-value enc=${encodeURIComponent("https://hooks.example.com/services/T1/B2/TOKEN123")} key=sk-admin-abcdef123456`;
  const out = redact(text);
  assert.ok(!out.includes("TOKEN123"), out);
  assert.ok(!out.includes("hmac-secret-value"), out);
  assert.ok(!out.includes("abcdef123456"), out);
  assert.match(out, /\[redacted\]/);
});

test("secretRedactor removes a token however a receiver echoes it: encoded or decoded, short, lower-cased, Basic decoded", () => {
  const url = "https://hooks.example.com/hook/a1b2c3d4e5?token=ab%2Fcd%2Bef%3D%3Dxyz&team=ops";
  const basic = `Basic ${Buffer.from("user:hunter2pass").toString("base64")}`;
  const redact = secretRedactor([url, "Bearer AbCdEfGh12345", basic]);
  for (const echoed of [
    "bad token ab%2Fcd%2Bef%3D%3Dxyz",
    "bad token ab/cd+ef==xyz",
    "Unknown hook a1b2c3d4e5",
    "authorization: bearer abcdefgh12345",
    "login user:hunter2pass refused",
    "password hunter2pass is wrong",
  ]) {
    const out = redact(echoed);
    assert.match(out, /\[redacted\]/, echoed);
    for (const secret of ["ab%2Fcd", "ab/cd", "a1b2c3d4e5", "abcdefgh12345", "hunter2pass"]) {
      assert.ok(!out.toLowerCase().includes(secret.toLowerCase()), `${echoed} → ${out}`);
    }
  }
  // Words of the request that are not secrets stay readable.
  assert.equal(redact("team ops answered 403"), "team ops answered 403");
});
