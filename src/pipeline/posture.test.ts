import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { storeWithSource } from "../../test/helpers.ts";
import { postureDue, postureHealth } from "./posture.ts";

describe("posture scheduling and health", () => {
  it("is due with no snapshot, not before the interval, again after it, never when off", async () => {
    const { store, source } = await storeWithSource();
    try {
      assert.equal(source.postureIntervalSecs, 3600);
      assert.equal(await postureDue(store, source, 10_000_000), true);
      await store.savePostureSnapshot({
        sourceId: source.id,
        takenAtMs: 10_000_000,
        durationMs: 1,
        requests: 1,
        endpoints: [
          {
            kind: "invite",
            path: "/organization/invites",
            ok: false,
            objects: 0,
            error:
              "OpenAI refused /organization/invites (HTTP 403): the Admin API key lacks the api.management.read scope.",
            errorCode: "openai_scope_missing",
            missingScope: "api.management.read",
          },
        ],
        objects: [],
        changes: null,
        findings: [],
      });
      assert.equal(await postureDue(store, source, 10_000_000 + 3_599_000), false);
      assert.equal(await postureDue(store, source, 10_000_000 + 3_600_000), true);
      const off = await store.updateSource(source.id, { postureIntervalSecs: 0 });
      assert.equal(await postureDue(store, off, 10_000_000 + 99_999_000), false);

      const health = await postureHealth(store, source);
      assert.equal(health.lastSnapshotMs, 10_000_000);
      assert.deepEqual(health.failedEndpoints, [
        {
          path: "/organization/invites",
          error:
            "OpenAI refused /organization/invites (HTTP 403): the Admin API key lacks the api.management.read scope.",
          missingScope: "api.management.read",
        },
      ]);
    } finally {
      await store.close();
    }
  });
});
