import assert from "node:assert/strict";
import { test } from "node:test";
import { OpenAIRequestError } from "./errors.ts";
import { createRetrier, isRetryableStatus, parseRetryAfterMs, type RetryInfo, shouldRetryOverride } from "./retry.ts";

const NOW = Date.parse("2026-08-21T12:00:00Z");

test("retry-after-ms wins over Retry-After", () => {
  assert.equal(parseRetryAfterMs(new Headers({ "retry-after-ms": "250", "retry-after": "9" }), NOW), 250);
});

test("Retry-After in seconds, fractions included", () => {
  assert.equal(parseRetryAfterMs(new Headers({ "retry-after": "2" }), NOW), 2000);
  assert.equal(parseRetryAfterMs(new Headers({ "retry-after": "0.5" }), NOW), 500);
});

test("Retry-After as an HTTP date is relative to the clock; a past date means now", () => {
  const inThree = new Date(NOW + 3000).toUTCString();
  assert.equal(parseRetryAfterMs(new Headers({ "retry-after": inThree }), NOW), 3000);
  const past = new Date(NOW - 60_000).toUTCString();
  assert.equal(parseRetryAfterMs(new Headers({ "retry-after": past }), NOW), 0);
});

test("absent or garbage Retry-After gives no hint", () => {
  assert.equal(parseRetryAfterMs(new Headers(), NOW), null);
  assert.equal(parseRetryAfterMs(new Headers({ "retry-after": "soon" }), NOW), null);
  assert.equal(parseRetryAfterMs(new Headers({ "retry-after": "-5" }), NOW), null);
  assert.equal(parseRetryAfterMs(new Headers({ "retry-after-ms": "abc" }), NOW), null);
});

test("status rules follow the SDKs", () => {
  for (const status of [408, 409, 429, 500, 502, 503, 504]) assert.equal(isRetryableStatus(status), true, `${status}`);
  for (const status of [400, 401, 403, 404, 422]) assert.equal(isRetryableStatus(status), false, `${status}`);
});

test("x-should-retry is read as true, false or no opinion", () => {
  assert.equal(shouldRetryOverride(new Headers({ "x-should-retry": "true" })), true);
  assert.equal(shouldRetryOverride(new Headers({ "x-should-retry": "false" })), false);
  assert.equal(shouldRetryOverride(new Headers({ "x-should-retry": "maybe" })), null);
  assert.equal(shouldRetryOverride(new Headers()), null);
});

function transient(retryAfterMs: number | null = null): OpenAIRequestError {
  return new OpenAIRequestError("http", "HTTP 503", { retryable: true, status: 503, retryAfterMs });
}

test("backoff is exponential with full jitter, capped at maxDelayMs, and attempts are bounded", async () => {
  const retries: RetryInfo[] = [];
  const retrier = createRetrier({
    maxAttempts: 5,
    initialDelayMs: 4,
    maxDelayMs: 10,
    random: () => 0.5,
    onRetry: (info) => retries.push(info),
  });
  let calls = 0;
  await assert.rejects(
    retrier.run(() => {
      calls++;
      throw transient();
    }),
    OpenAIRequestError,
  );
  assert.equal(calls, 5);
  // Ceilings 4, 8, 16→10, 32→10; half of each with random() = 0.5.
  assert.deepEqual(
    retries.map((r) => r.delayMs),
    [2, 4, 5, 5],
  );
  assert.deepEqual(
    retries.map((r) => r.attempt),
    [1, 2, 3, 4],
  );
  assert.equal(retries[0]?.reason, "HTTP 503");
});

test("full jitter can draw zero and never reaches the ceiling", async () => {
  for (const [random, expected] of [
    [0, 0],
    [0.999, 3],
  ] as const) {
    const delays: number[] = [];
    const retrier = createRetrier({
      maxAttempts: 2,
      initialDelayMs: 4,
      maxDelayMs: 100,
      random: () => random,
      onRetry: (info) => delays.push(info.delayMs),
    });
    await assert.rejects(retrier.run(() => Promise.reject(transient())));
    assert.deepEqual(delays, [expected]);
  }
});

test("a server-requested delay replaces the jitter and is capped at maxDelayMs", async () => {
  const delays: number[] = [];
  const retrier = createRetrier({
    maxAttempts: 4,
    initialDelayMs: 2,
    maxDelayMs: 15,
    random: () => 0,
    onRetry: (info) => delays.push(info.delayMs),
  });
  const hints = [7, 60_000, null];
  let call = 0;
  await assert.rejects(retrier.run(() => Promise.reject(transient(hints[call++] ?? null))));
  assert.deepEqual(delays, [7, 15, 0]);
});

test("non-retryable errors and foreign errors pass through on the first attempt", async () => {
  const retrier = createRetrier({ maxAttempts: 6, initialDelayMs: 1, maxDelayMs: 1, random: Math.random });
  let calls = 0;
  const final = new OpenAIRequestError("http", "HTTP 422", { retryable: false, status: 422 });
  await assert.rejects(
    retrier.run(() => {
      calls++;
      throw final;
    }),
    (err) => err === final,
  );
  await assert.rejects(
    retrier.run(() => {
      calls++;
      throw new TypeError("bug");
    }),
    TypeError,
  );
  assert.equal(calls, 2);
});
