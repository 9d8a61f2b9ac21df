// The simulated organization's inventory: key usage never predates the key.

import assert from "node:assert/strict";
import { it } from "node:test";
import { emptyState, projectKey, withUsage } from "./inventory.ts";

const DAY = 86_400;

it("gives each key a last use on one of the last 20 days, never before the key was made", () => {
  const today = 1_796_500_000 - (1_796_500_000 % DAY);
  const state = emptyState();
  const owner = { type: "user", id: "user-1" };
  const keys = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < 200; i++) {
    const createdAt = today - (i % 30) * DAY;
    keys.set(`key_${i}`, projectKey(`key_${i}`, "proj_1", owner, createdAt, `key ${i}`));
  }
  state.projectKeys.set("proj_1", keys);
  withUsage(state, today + 3600, new Set());
  let beforeCreation = 0;
  for (const key of keys.values()) {
    const used = key.last_used_at as number;
    assert.ok(used <= today && used >= today - 20 * DAY, String(used));
    if (used < (key.created_at as number)) beforeCreation++;
  }
  assert.equal(beforeCreation, 0);
});
