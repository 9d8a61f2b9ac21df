import assert from "node:assert/strict";
import { test } from "node:test";
import { sampleNotification } from "./sample.ts";

test("sampleNotification is clearly marked as a test", () => {
  const n = sampleNotification({ nowMs: 1_700_000_000_000, consoleUrl: "https://vigil.example.com/alerts/x" });
  assert.equal(n.kind, "test");
  assert.match(n.title, /^TEST: /);
  assert.match(n.alertId, /^test-/);
  assert.equal(n.createdAtMs, 1_700_000_000_000);
  assert.equal(n.consoleUrl, "https://vigil.example.com/alerts/x");
  assert.equal(n.alertContext?.test, true);
  // JSON round-trips unchanged: it is plain data.
  assert.deepEqual(JSON.parse(JSON.stringify(n)), n);
});

test("sampleNotification alert ids differ over time so PagerDuty opens a fresh test incident", () => {
  assert.notEqual(sampleNotification({ nowMs: 1 }).alertId, sampleNotification({ nowMs: 2 }).alertId);
});
