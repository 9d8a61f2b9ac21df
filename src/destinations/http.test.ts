import assert from "node:assert/strict";
import { test } from "node:test";
import { isRetryableStatus, parseRetryAfter, shorten } from "./http.ts";

test("parseRetryAfter reads delta-seconds", () => {
  assert.equal(parseRetryAfter("7"), 7000);
  assert.equal(parseRetryAfter(" 0 "), 0);
  assert.equal(parseRetryAfter("1.5"), 1500);
});

test("parseRetryAfter reads an HTTP date relative to now", () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0);
  assert.equal(parseRetryAfter(new Date(now + 30_000).toUTCString(), now), 30_000);
  assert.equal(parseRetryAfter(new Date(now - 30_000).toUTCString(), now), 0);
});

test("parseRetryAfter ignores missing or invalid values and clamps huge ones", () => {
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter(""), undefined);
  assert.equal(parseRetryAfter("soon"), undefined);
  assert.equal(parseRetryAfter("99999999"), 6 * 60 * 60 * 1000);
});

test("isRetryableStatus: 408, 429 and 5xx retry; other 4xx do not", () => {
  for (const s of [408, 425, 429, 500, 502, 503, 504]) assert.equal(isRetryableStatus(s), true, String(s));
  for (const s of [400, 401, 403, 404, 410, 413, 422]) assert.equal(isRetryableStatus(s), false, String(s));
});

test("shorten collapses whitespace and cuts long text", () => {
  assert.equal(shorten("a\n  b"), "a b");
  assert.equal(shorten("x".repeat(50), 10), `${"x".repeat(9)}…`);
});
