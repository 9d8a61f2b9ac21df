// The Store contract for users, sessions, API tokens and the statistics queries (the HTTP server's
// needs), run against every backend beside test/storage-contract.ts.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { VigilError } from "../src/core/errors.ts";
import type { Store } from "../src/storage/ports.ts";
import { eventRow, sourceSettings } from "./storage-contract.ts";

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VigilError, `expected a VigilError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

export function runAccessContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract (access, stats): ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it("creates users with unique names and returns their hash only through getUserCredentials", async () => {
      assert.equal(await store.countUsers(), 0);
      const user = await store.createUser({ username: "admin", passwordHash: "scrypt$a$b", role: "admin" });
      assert.equal(user.username, "admin");
      assert.equal(user.role, "admin");
      const analyst = await store.createUser({ username: "ana", passwordHash: "h", role: "analyst" });
      assert.equal((await store.getUser(analyst.id))?.role, "analyst");
      assert.equal((await store.getUserCredentials("ana"))?.user.role, "analyst");
      // The database itself refuses a role that does not exist.
      await assert.rejects(store.createUser({ username: "x", passwordHash: "h", role: "root" as never }));
      assert.equal(await store.countUsers(), 2);
      assert.deepEqual(await store.getUser(user.id), user);
      assert.equal(await store.getUser("nope"), null);
      const creds = await store.getUserCredentials("admin");
      assert.equal(creds?.passwordHash, "scrypt$a$b");
      assert.deepEqual(creds?.user, user);
      assert.equal(await store.getUserCredentials("bob"), null);
      await rejectsWith(store.createUser({ username: "admin", passwordHash: "x", role: "admin" }), "conflict");
      await store.setUserPassword("admin", "scrypt$c$d");
      assert.equal((await store.getUserCredentials("admin"))?.passwordHash, "scrypt$c$d");
      await rejectsWith(store.setUserPassword("bob", "x"), "not_found");
    });

    it("keeps sessions until they expire or are deleted; a new password ends them", async () => {
      const user = await store.createUser({ username: "admin", passwordHash: "h", role: "admin" });
      const session = { tokenHash: "t1", userId: user.id, csrf: "c1", createdAtMs: 1000, expiresAtMs: 5000 };
      await store.createSession(session);
      await store.createSession({ ...session, tokenHash: "t2", expiresAtMs: 2000 });
      assert.deepEqual(await store.getSession("t1", 4999), session);
      assert.equal(await store.getSession("t1", 5000), null);
      assert.equal(await store.getSession("other", 1000), null);
      await store.deleteSession("t1", 3000); // also sweeps t2, expired at 3000
      assert.equal(await store.getSession("t1", 1000), null);
      assert.equal(await store.getSession("t2", 1000), null);
      await store.createSession({ ...session, tokenHash: "t3" });
      await store.setUserPassword("admin", "h2");
      assert.equal(await store.getSession("t3", 1000), null);
    });

    // Security (issue 16, finding 6c): login replaces a weak hash of the same password, never a changed one.
    it("replaces a password hash only while it is unchanged, keeping sessions", async () => {
      const user = await store.createUser({ username: "rehash", passwordHash: "scrypt$old", role: "analyst" });
      await store.createSession({
        tokenHash: "rehash-s",
        userId: user.id,
        csrf: "c",
        createdAtMs: 1,
        expiresAtMs: 1e12,
      });
      assert.equal(await store.replacePasswordHash(user.id, "scrypt$old", "scrypt$new"), true);
      assert.equal((await store.getUserCredentials("rehash"))?.passwordHash, "scrypt$new");
      assert.notEqual(await store.getSession("rehash-s", 2), null);
      assert.equal(await store.replacePasswordHash(user.id, "scrypt$old", "scrypt$stale"), false);
      assert.equal((await store.getUserCredentials("rehash"))?.passwordHash, "scrypt$new");
    });

    it("creates, finds (recording use), lists and revokes API tokens", async () => {
      const token = await store.createApiToken({ name: "ci", tokenHash: "hash-ci", expiresAtMs: 1e12 });
      await store.createApiToken({ name: "backup", tokenHash: "hash-b", expiresAtMs: 1e12 });
      assert.equal(token.lastUsedAtMs, null);
      assert.equal(token.expiresAtMs, 1e12);
      await rejectsWith(store.createApiToken({ name: "ci", tokenHash: "other", expiresAtMs: 1e12 }), "conflict");
      const used = await store.authenticateApiToken("hash-ci", 1234);
      assert.equal(used?.id, token.id);
      assert.equal(used?.lastUsedAtMs, 1234);
      assert.equal(await store.authenticateApiToken("wrong", 1), null);
      const list = await store.listApiTokens();
      assert.deepEqual(
        list.map((t) => [t.name, t.lastUsedAtMs]),
        [
          ["backup", null],
          ["ci", 1234],
        ],
      );
      assert.ok(!JSON.stringify(list).includes("hash-"));
      await store.revokeApiToken("ci");
      await store.revokeApiToken(list[0]?.id ?? "");
      assert.deepEqual(await store.listApiTokens(), []);
      assert.equal(await store.authenticateApiToken("hash-ci", 2), null);
      await rejectsWith(store.revokeApiToken("ci"), "not_found");
    });

    // Security (issue 16, finding 6b): an expired token is found (so that the API can say it expired), keeps
    // its expiry in the list, and its use is not recorded.
    it("keeps each API token's expiry and records no use after it", async () => {
      await store.createApiToken({ name: "short", tokenHash: "hash-short", expiresAtMs: 5_000 });
      const valid = await store.authenticateApiToken("hash-short", 4_999);
      assert.deepEqual([valid?.expiresAtMs, valid?.lastUsedAtMs], [5_000, 4_999]);
      const expired = await store.authenticateApiToken("hash-short", 5_000);
      assert.deepEqual([expired?.name, expired?.expiresAtMs, expired?.lastUsedAtMs], ["short", 5_000, 4_999]);
      assert.deepEqual(
        (await store.listApiTokens()).map((t) => [t.name, t.expiresAtMs, t.lastUsedAtMs]),
        [["short", 5_000, 4_999]],
      );
      await store.revokeApiToken("short");
    });

    it("counts events per bucket and type, per source and overall", async () => {
      const a = await store.createSource(sourceSettings("a"), { ciphertext: "x" });
      const b = await store.createSource(sourceSettings("b"), { ciphertext: "y" });
      await store.applyPage({
        sourceId: a.id,
        events: [
          eventRow("e1", 3600),
          eventRow("e2", 3601, { type: "api_key.created" }),
          eventRow("e3", 7199),
          eventRow("e4", 7200),
          eventRow("e0", 100),
        ],
        quarantined: [{ eventId: null, reason: "bad", issues: [], raw: "{}" }],
        unknownTypes: [],
      });
      await store.applyPage({ sourceId: b.id, events: [eventRow("e1", 3700)], quarantined: [], unknownTypes: [] });
      assert.deepEqual(await store.eventHistogram({ sourceId: a.id, sinceSecs: 3600, bucketSecs: 3600 }), [
        { bucketStartSecs: 3600, type: "api_key.created", count: 1 },
        { bucketStartSecs: 3600, type: "login.succeeded", count: 2 },
        { bucketStartSecs: 7200, type: "login.succeeded", count: 1 },
      ]);
      assert.deepEqual(await store.eventHistogram({ sinceSecs: 3600, bucketSecs: 86400 }), [
        { bucketStartSecs: 0, type: "api_key.created", count: 1 },
        { bucketStartSecs: 0, type: "login.succeeded", count: 4 },
      ]);
      await rejectsWith(store.eventHistogram({ sinceSecs: 0, bucketSecs: 0 }), "usage");
      const counts = await store.sourceCounts();
      const byId = new Map(counts.map((c) => [c.sourceId, c]));
      assert.deepEqual(byId.get(a.id), { sourceId: a.id, events: 5, quarantined: 1, ruleErrors: 0 });
      assert.deepEqual(byId.get(b.id), { sourceId: b.id, events: 1, quarantined: 0, ruleErrors: 0 });
      assert.deepEqual(await store.deliveryCounts(), []);
    });
  });
}
