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
