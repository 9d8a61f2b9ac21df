// The Store contract for inventory snapshots (src/posture) and the per-type event counts of the coverage
// ledger, run against every backend beside test/storage-contract.ts.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { UsageError } from "../src/core/errors.ts";
import { canonicalJson, objectHash } from "../src/posture/canonical.ts";
import type { PostureSnapshotWrite } from "../src/posture/types.ts";
import type { Store } from "../src/storage/ports.ts";
import { eventRow, ruleMatch, sourceSettings } from "./storage-contract.ts";

export function postureObject(
  kind: "user" | "project_api_key",
  data: Record<string, unknown>,
  projectId: string | null = null,
) {
  const json = canonicalJson(data);
  return { kind, id: String(data.id), projectId, hash: objectHash(json), json };
}

export function postureWrite(
  sourceId: string,
  takenAtMs: number,
  objects: PostureSnapshotWrite["objects"],
): PostureSnapshotWrite {
  return {
    sourceId,
    takenAtMs,
    durationMs: 12,
    requests: 3,
    endpoints: [
      {
        kind: "user",
        path: "/organization/users",
        ok: true,
        objects: 1,
        error: null,
        errorCode: null,
        missingScope: null,
      },
    ],
    objects,
    changes: null,
    findings: [],
  };
}

export function runPostureContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract (posture snapshots, type counts): ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it("stores an unchanged object once across snapshots and returns snapshots newest first", async () => {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "x" });
      assert.equal(await store.getPostureSnapshot(source.id), null);
      const alice = postureObject("user", { id: "user-a", email: "a@acme.com", role: "owner" });
      const bob = postureObject("user", { id: "user-b", email: "b@acme.com", role: "reader" });
      const first = await store.savePostureSnapshot(postureWrite(source.id, 1_000, [alice, bob]));
      assert.equal(first.newObjectCount, 2);
      assert.equal(first.objectCount, 2);
      assert.deepEqual(
        first.manifest.map((m) => m.id),
        ["user-a", "user-b"],
      );

      const bobOwner = postureObject("user", { id: "user-b", email: "b@acme.com", role: "owner" });
      const second = await store.savePostureSnapshot({
        ...postureWrite(source.id, 2_000, [alice, bobOwner]),
        changes: [
          {
            kind: "user",
            id: "user-b",
            projectId: null,
            change: "changed",
            fields: ["role"],
            before: { role: "reader" },
            after: { role: "owner" },
          },
        ],
        findings: [
          {
            ruleId: "R",
            kind: "user",
            objectId: "user-b",
            title: "t",
            severity: "HIGH",
            sinceMs: 1_000,
            alertEventId: "e",
          },
        ],
      });
      // Only Bob's new content is new: Alice's unchanged object is not stored again.
      assert.equal(second.newObjectCount, 1);
      assert.equal(second.changeCount, 1);
      assert.equal(second.findingCount, 1);
      assert.ok(second.id > first.id);

      const latest = await store.getPostureSnapshot(source.id);
      assert.equal(latest?.id, second.id);
      assert.deepEqual(latest?.changes?.[0]?.fields, ["role"]);
      assert.equal(latest?.findings[0]?.ruleId, "R");
      assert.deepEqual(latest?.endpoints[0]?.path, "/organization/users");
      const byId = await store.getPostureSnapshot(source.id, first.id);
      assert.equal(byId?.changes, null);
      // One by id is whole too: its manifest is the one it was saved with.
      assert.deepEqual(byId?.manifest, first.manifest);
      assert.deepEqual(
        (await store.listPostureSnapshots(source.id)).map((s) => s.id),
        [second.id, first.id],
      );

      const objects = await store.getPostureObjects(source.id, [bob.hash, bobOwner.hash, "unknown"]);
      assert.equal(objects.get(bob.hash), bob.json);
      assert.equal(objects.get(bobOwner.hash), bobOwner.json);
      assert.equal(objects.has("unknown"), false);

      // Another source's identical object is its own row: sources never share objects.
      const other = await store.createSource(sourceSettings("other"), { ciphertext: "x" });
      assert.equal((await store.savePostureSnapshot(postureWrite(other.id, 3_000, [alice]))).newObjectCount, 1);
      assert.equal((await store.getPostureObjects(other.id, [bob.hash])).size, 0);
      assert.equal(await store.getPostureSnapshot(other.id, first.id), null);

      // Removing a source removes its snapshots and objects, and nothing of the other source's.
      await store.removeSource(source.id);
      assert.equal(await store.getPostureSnapshot(source.id), null);
      assert.deepEqual(await store.listPostureSnapshots(source.id), []);
      assert.equal((await store.getPostureObjects(source.id, [alice.hash, bob.hash])).size, 0);
      assert.equal((await store.getPostureObjects(other.id, [alice.hash])).get(alice.hash), alice.json);
    });

    it("prunes: the newest two whole, older diffs kept as history, unreferenced manifests and objects dropped", async () => {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "x" });
      const alice1 = postureObject("user", { id: "user-a", email: "a@acme.com", role: "reader" });
      const alice2 = postureObject("user", { id: "user-a", email: "a@acme.com", role: "owner" });
      const bob = postureObject("user", { id: "user-b", email: "b@acme.com", role: "reader" });
      const carol = postureObject("user", { id: "user-c", email: "c@acme.com", role: "reader" });
      const dave = postureObject("user", { id: "user-d", email: "d@acme.com", role: "reader" });
      const change = (id: string, kind: "added" | "removed" | "changed", before: unknown, after: unknown) => ({
        kind: "user" as const,
        id,
        projectId: null,
        change: kind,
        fields: kind === "changed" ? ["role"] : [],
        before: before as Record<string, unknown> | null,
        after: after as Record<string, unknown> | null,
        audit: { checked: true, expectedTypes: ["user.updated"], eventIds: ["audit-1"] },
      });
      const save = (at: number, objects: PostureSnapshotWrite["objects"], changes: PostureSnapshotWrite["changes"]) =>
        store.savePostureSnapshot({ ...postureWrite(source.id, at, objects), changes });
      const s1 = await save(1_000, [alice1, bob, dave], null);
      const s2 = await save(2_000, [alice1, bob], []); // dave leaves (released at 1_000)
      const s3 = await save(
        3_000,
        [alice2],
        [
          change("user-a", "changed", JSON.parse(alice1.json), JSON.parse(alice2.json)),
          change("user-b", "removed", JSON.parse(bob.json), null),
        ],
      );
      const s4 = await save(4_000, [alice2], []);
      // dave is back with the same content: held again, no longer released.
      const s5 = await save(5_000, [alice2, carol, dave], [change("user-c", "added", null, JSON.parse(carol.json))]);

      const report = await store.prunePostureSnapshots(source.id, { fullSinceMs: 4_500, historySinceMs: 1_500 });
      // s1: past the history horizon. s2: past the full one with no change. s3: kept for its diff only.
      assert.deepEqual(report, { snapshotsDeleted: 2, snapshotsThinned: 1, manifestsDeleted: 2, objectsDeleted: 2 });
      assert.deepEqual(
        (await store.listPostureSnapshots(source.id)).map((s) => s.id),
        [s5.id, s4.id, s3.id],
      );
      // The newest two stay whole (s4 is older than the full horizon but is one of them).
      assert.deepEqual((await store.getPostureSnapshot(source.id))?.manifest, s5.manifest);
      assert.deepEqual((await store.getPostureSnapshot(source.id, s4.id))?.manifest, s4.manifest);
      assert.equal(await store.getPostureSnapshot(source.id, s3.id), null);
      assert.equal(await store.getPostureSnapshot(source.id, s1.id), null);
      assert.equal(await store.getPostureSnapshot(source.id, s2.id), null);
      const objects = await store.getPostureObjects(source.id, [
        alice1.hash,
        alice2.hash,
        bob.hash,
        carol.hash,
        dave.hash,
      ]);
      assert.deepEqual([...objects.keys()].sort(), [alice2.hash, carol.hash, dave.hash].sort());

      // The history survives in the kept diffs.
      const alice = await store.getPostureHistory(source.id, "user", "user-a");
      assert.deepEqual(
        alice.entries.map((e) => [e.snapshotId, e.change, e.fields, e.before?.role, e.after?.role, e.auditEventIds]),
        [[s3.id, "changed", ["role"], "reader", "owner", ["audit-1"]]],
      );
      assert.equal(alice.firstSeenMs, 3_000, "the first kept version");
      const removed = await store.getPostureHistory(source.id, "user", "user-b");
      assert.deepEqual(
        removed.entries.map((e) => e.change),
        ["removed"],
      );
      assert.equal(removed.firstSeenMs, null);
      const added = await store.getPostureHistory(source.id, "user", "user-c");
      assert.deepEqual(
        added.entries.map((e) => [e.snapshotId, e.change]),
        [[s5.id, "added"]],
      );
      assert.equal(added.firstSeenMs, 5_000);
      // Another kind with the same id is not this object's history.
      assert.deepEqual((await store.getPostureHistory(source.id, "invite", "user-a")).entries, []);
      // An id holding LIKE's wildcards is the history of that id only (none here), and a limit is kept.
      for (const wild of ["user-%", "user-_", "%", "\\"]) {
        assert.deepEqual((await store.getPostureHistory(source.id, "user", wild)).entries, [], wild);
      }
      assert.equal((await store.getPostureHistory(source.id, "user", "user-a", 1)).entries.length, 1);

      // Pruning again finds nothing more; saving after pruning still diffs against the newest snapshot.
      assert.deepEqual(await store.prunePostureSnapshots(source.id, { fullSinceMs: 4_500, historySinceMs: 1_500 }), {
        snapshotsDeleted: 0,
        snapshotsThinned: 0,
        manifestsDeleted: 0,
        objectsDeleted: 0,
      });
      const s6 = await save(6_000, [alice2, carol], []);
      assert.equal(s6.newObjectCount, 0);
      // Everything pruned: only the newest two remain, and only the objects they hold.
      const all = await store.prunePostureSnapshots(source.id, { fullSinceMs: 10_000, historySinceMs: 10_000 });
      assert.equal(all.snapshotsDeleted, 2);
      assert.deepEqual(
        (await store.listPostureSnapshots(source.id)).map((s) => s.id),
        [s6.id, s5.id],
      );
      assert.equal((await store.getPostureObjects(source.id, [dave.hash])).size, 1, "s5 still holds dave");
    });

    it("stores a snapshot's alert matches and resolutions with it, or none of them", async () => {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "x" });
      const finding = (object: string, sinceMs: number) =>
        ruleMatch(source.id, `posture:${object}:${sinceMs}`, Math.floor(sinceMs / 1000), {
          ruleId: "OpenAI.Posture.Test",
          logType: "OpenAI.Posture",
          dedupString: object,
        });
      const saved = await store.savePostureSnapshot({
        ...postureWrite(source.id, 1_000_000, []),
        alertMatches: [finding("user:user-a", 1_000_000)],
      });
      assert.equal(saved.createdAlertIds.length, 1);
      assert.equal((await store.getAlert(saved.createdAlertIds[0]!))?.dedupString, "user:user-a");
      const alertA = saved.createdAlertIds[0]!;
      // A snapshot the database refuses (no time) at its last insert, after its matches were applied and user-a's
      // alert resolved in the transaction: neither stays.
      const next = {
        alertMatches: [finding("user:user-b", 2_000_000)],
        resolveAlerts: [{ ruleId: "OpenAI.Posture.Test", dedupString: "user:user-a" }],
      };
      await assert.rejects(
        store.savePostureSnapshot({ ...postureWrite(source.id, Number.NaN, []), ...next }),
        (err) => {
          assert.ok(!(err instanceof UsageError), String(err));
          return true;
        },
      );
      assert.deepEqual(
        (await store.listAlerts({ sourceId: source.id })).map((a) => [a.dedupString, a.status]),
        [["user:user-a", "OPEN"]],
      );
      assert.equal((await store.listPostureSnapshots(source.id)).length, 1);
      // The same snapshot stored: one alert for user-b, of one match, and user-a's resolved once.
      const again = await store.savePostureSnapshot({ ...postureWrite(source.id, 2_000_000, []), ...next });
      assert.equal(again.createdAlertIds.length, 1);
      assert.deepEqual(again.resolvedAlertIds, [alertA]);
      assert.equal((await store.getAlert(again.createdAlertIds[0]!))?.matchCount, 1);
      assert.deepEqual(
        (await store.listAlertStatusChanges(alertA)).filter((c) => c.to === "RESOLVED").map((c) => c.by),
        ["system:posture"],
      );
      // Saving it a third time resolves nothing more (the alert is resolved) and adds no match.
      const third = await store.savePostureSnapshot({ ...postureWrite(source.id, 3_000_000, []), ...next });
      assert.deepEqual([third.createdAlertIds, third.resolvedAlertIds], [[], []]);
      assert.equal((await store.getAlert(again.createdAlertIds[0]!))?.matchCount, 1);
    });

    it("stores one snapshot per predecessor: a second run compared with the same one is refused whole", async () => {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "x" });
      const finding = (sinceMs: number) =>
        ruleMatch(source.id, `posture:user:user-a:${sinceMs}`, Math.floor(sinceMs / 1000), {
          ruleId: "OpenAI.Posture.Test",
          logType: "OpenAI.Posture",
          dedupString: "user:user-a",
        });
      const conflict = (err: unknown) => {
        assert.equal((err as { code?: unknown }).code, "posture_snapshot_conflict", String(err));
        assert.equal((err as { retryable?: unknown }).retryable, true);
        return true;
      };
      const first = await store.savePostureSnapshot({ ...postureWrite(source.id, 1_000_000, []), previousId: null });
      // Another first snapshot, taken before the first was stored: refused.
      await assert.rejects(
        store.savePostureSnapshot({ ...postureWrite(source.id, 1_000_500, []), previousId: null }),
        conflict,
      );
      // Two runs compared with the first, each finding user-a new at its own time: the second is refused, its
      // match with it.
      const a = await store.savePostureSnapshot({
        ...postureWrite(source.id, 2_000_000, []),
        previousId: first.id,
        alertMatches: [finding(2_000_000)],
      });
      await assert.rejects(
        store.savePostureSnapshot({
          ...postureWrite(source.id, 2_000_100, []),
          previousId: first.id,
          alertMatches: [finding(2_000_100)],
        }),
        conflict,
      );
      assert.deepEqual(
        (await store.listPostureSnapshots(source.id)).map((s) => s.id),
        [a.id, first.id],
      );
      const [alert] = await store.listAlerts({ sourceId: source.id });
      assert.equal(alert?.matchCount, 1);
      // A run that compared with a snapshot no longer the newest is refused too, whatever its time.
      const b = await store.savePostureSnapshot({ ...postureWrite(source.id, 3_000_000, []), previousId: a.id });
      await assert.rejects(
        store.savePostureSnapshot({ ...postureWrite(source.id, 4_000_000, []), previousId: a.id }),
        conflict,
      );
      // One taken on a clock behind the last one's (another worker's) is stored just after it, and is the newest.
      const c = await store.savePostureSnapshot({ ...postureWrite(source.id, 2_500_000, []), previousId: b.id });
      assert.equal(c.takenAtMs, 3_000_001);
      assert.equal((await store.getPostureSnapshot(source.id))?.id, c.id);
      assert.deepEqual(
        (await store.listPostureSnapshots(source.id)).map((s) => s.id),
        [c.id, b.id, a.id, first.id],
      );
      const d = await store.savePostureSnapshot({ ...postureWrite(source.id, 5_000_000, []), previousId: c.id });
      assert.equal(d.takenAtMs, 5_000_000);
    });

    it("refuses a snapshot of an unknown source", async () => {
      await assert.rejects(store.savePostureSnapshot(postureWrite("nope", 1, [])));
    });

    it("keeps the posture interval of a source: default hourly, 0 turns snapshots off", async () => {
      const { postureIntervalSecs: _omitted, ...settings } = sourceSettings("acme");
      const source = await store.createSource(settings, { ciphertext: "x" });
      assert.equal(source.postureIntervalSecs, 3600);
      const off = await store.updateSource(source.id, { postureIntervalSecs: 0 });
      assert.equal(off.postureIntervalSecs, 0);
      assert.equal((await store.getSource(source.id))?.postureIntervalSecs, 0);
    });

    it("counts stored events per type with the newest time", async () => {
      const a = await store.createSource(sourceSettings("a"), { ciphertext: "x" });
      const b = await store.createSource(sourceSettings("b"), { ciphertext: "x" });
      const page = (sourceId: string, events: ReturnType<typeof eventRow>[]) => ({
        sourceId,
        events,
        quarantined: [],
        unknownTypes: [],
      });
      await store.applyPage(
        page(a.id, [
          eventRow("e1", 100, { type: "api_key.created" }),
          eventRow("e2", 300, { type: "api_key.created" }),
          eventRow("e3", 200, { type: "login.failed" }),
        ]),
      );
      await store.applyPage(page(b.id, [eventRow("e4", 900, { type: "api_key.created" })]));
      assert.deepEqual(await store.eventTypeCounts(a.id), [
        { type: "api_key.created", count: 2, lastSeenSecs: 300 },
        { type: "login.failed", count: 1, lastSeenSecs: 200 },
      ]);
      assert.deepEqual(
        (await store.eventTypeCounts()).find((r) => r.type === "api_key.created"),
        {
          type: "api_key.created",
          count: 3,
          lastSeenSecs: 900,
        },
      );
    });
  });
}
