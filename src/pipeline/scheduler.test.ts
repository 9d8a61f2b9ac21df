// When the next poll of a source starts (nextPollInMs): the rest of its interval, or longer when the API asked.

import assert from "node:assert/strict";
import { it } from "node:test";
import { VigilError } from "../core/errors.ts";
import { nextPollInMs } from "./scheduler.ts";

const MINUTE = 60_000;

it("starts the next poll when the interval is up, at once after a poll longer than it", () => {
  assert.equal(nextPollInMs(MINUTE, 10_000, null), 50_000);
  assert.equal(nextPollInMs(MINUTE, 90_000, null), 0);
  assert.equal(nextPollInMs(MINUTE, 90_000, new Error("network")), 0);
});

it("after a poll the API rate-limited, waits as long as it asked, up to 15 minutes", () => {
  const limited = (retryAfterMs: number | null) =>
    new VigilError("openai_unavailable", "rate limited", { retryable: true, retryAfterMs });
  assert.equal(nextPollInMs(MINUTE, 90_000, limited(120_000)), 120_000);
  assert.equal(nextPollInMs(MINUTE, 10_000, limited(5_000)), 50_000, "the interval, when it is longer");
  assert.equal(nextPollInMs(MINUTE, 90_000, limited(null)), 0);
  assert.equal(nextPollInMs(MINUTE, 0, limited(3 * 86_400_000)), 15 * MINUTE, "a Retry-After of days is capped");
});
