import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { changedFields } from "./diff.ts";

describe("changedFields", () => {
  it("takes a set of text listed in another order as no change, at any depth", () => {
    assert.deepEqual(changedFields({ model_ids: ["a", "b"] }, { model_ids: ["b", "a"] }), []);
    const channel = (recipients: string[]) => ({ notification_channel: { type: "email", recipients } });
    assert.deepEqual(changedFields(channel(["x@a.com", "y@a.com"]), channel(["y@a.com", "x@a.com"])), []);
  });

  it("reports a set that gained or lost a member, and leaves last_used_at out", () => {
    assert.deepEqual(changedFields({ model_ids: ["a"], last_used_at: 1 }, { model_ids: ["a", "b"], last_used_at: 2 }), [
      "model_ids",
    ]);
  });
});
