// The Store contract for suppressions (counted, not alerted), login throttling and user administration, run
// against every backend beside test/storage-contract.ts. The store's clock is the test's: suppression expiry
// is wall time.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Clock } from "../src/core/clock.ts";
import { VigilError } from "../src/core/errors.ts";
import type { LoginBackoff, PageWrite, Store } from "../src/storage/ports.ts";
import { eventRow, ruleMatch, sourceSettings } from "./storage-contract.ts";

const T0 = 1_763_900_000;

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VigilError, `expected a VigilError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/**
 * A source, a suppression of `Corr.Rule`'s matches keyed alice@example.com, and a correlation's match of that key
 * (a derived match names no stored event: the dedup string is what it can be pinned by), applied once and absorbed.
 */
export async function suppressedCorrelationMatch(store: Store) {
  const source = await store.createSource(sourceSettings("prod"), { ciphertext: "x" });
  const suppression = await store.createSuppression({
    ruleId: "Corr.Rule",
    conditions: { dedup: "alice@example.com" },
    reason: "known",
    createdBy: "user:alice",
    expiresAtMs: null,
  });
  const derived = ruleMatch(source.id, "corr-1", T0, { ruleId: "Corr.Rule", logType: "Vigil.Correlation" });
  assert.deepEqual((await store.applyDerivedMatches(source.id, [derived])).createdAlertIds, []);
  return { source, suppression, derived };
}

export function runSuppressionContract(name: string, open: (clock: Clock) => Promise<Store>): void {
  describe(`Store contract (suppressions, login throttle, users): ${name}`, () => {
    let store: Store;
    let nowMs = T0 * 1000;
    beforeEach(async () => {
      nowMs = T0 * 1000;
      store = await open({ nowMs: () => nowMs });
    });
    afterEach(async () => {
      await store.close();
    });

    /** One page: an event by `email` from `ip` at T0 + n and the rule's match of it. */
    async function matchOf(sourceId: string, n: number, email: string, ip = "203.0.113.7") {
      const id = `evt_${n}`;
      const write: PageWrite = {
        sourceId,
        events: [eventRow(id, T0 + n, { actorEmail: email, ip })],
        quarantined: [],
        unknownTypes: [],
        matches: [ruleMatch(sourceId, id, T0 + n, { dedupString: `${email}#${n}` })],
      };
      return (await store.applyPage(write)).createdAlertIds;
    }

    it("counts a suppressed match instead of alerting, until it expires (wall time) or is removed", async () => {
      const source = await store.createSource(sourceSettings("prod"), { ciphertext: "x" });
      const s = await store.createSuppression({
        ruleId: "OpenAI.Login.Failed",
        // Addresses match in any case (foldEmail): pinned as typed, and as the API wrote them below.
        conditions: { actorEmail: "Bot@Example.com", ip: "203.0.113.7" },
        reason: "the nightly job's known failures",
        createdBy: "user:alice",
        expiresAtMs: nowMs + 3_600_000,
      });
      assert.equal(s.matchCount, 0);
      assert.equal(s.createdAtMs, nowMs);

      assert.deepEqual(await matchOf(source.id, 1, "bot@example.com"), []);
      assert.deepEqual(await matchOf(source.id, 2, "BOT@example.com"), []);
      // Another address, or another person: not "like this".
      assert.equal((await matchOf(source.id, 3, "bot@example.com", "198.51.100.1")).length, 1);
      assert.equal((await matchOf(source.id, 4, "eve@example.com")).length, 1);
      nowMs += 1000;
      const counted = await store.getSuppression(s.id);
      assert.equal(counted?.matchCount, 2);
      assert.equal(counted?.lastMatchAtMs, T0 * 1000);
      assert.equal((await store.listAlerts()).length, 2);
      assert.equal((await store.listUnroutedOutbox(10)).length, 2);
      // A suppressed match is in no alert and no window: not in the matches correlation reads either.
      const matched = await store.listMatches({ sinceSecs: T0, untilSecs: T0 + 10 });
      assert.deepEqual(
        matched.map((m) => m.eventId),
        ["evt_3", "evt_4"],
      );

      nowMs = T0 * 1000 + 3_600_000; // the expiry itself: no longer active
      assert.equal((await matchOf(source.id, 5, "bot@example.com")).length, 1);
      assert.equal((await store.getSuppression(s.id))?.matchCount, 2);
      // Removing the source removes the matches it absorbed; the suppression and its count stay on record.
      await store.removeSource(source.id);
      assert.equal((await store.getSuppression(s.id))?.matchCount, 2);
    });

    it("is audited on removal, listed with its count, and a removed one no longer suppresses", async () => {
      const source = await store.createSource(sourceSettings("prod"), { ciphertext: "x" });
      const s = await store.createSuppression({
        ruleId: "OpenAI.Login.Failed",
        conditions: { actorEmail: "bot@example.com" },
        reason: "known",
        createdBy: "cli:bob",
        expiresAtMs: null,
      });
      const other = await store.createSuppression({
        ruleId: "Other.Rule",
        conditions: { projectId: "proj_1" },
        reason: "sandbox project",
        createdBy: "user:alice",
        expiresAtMs: null,
      });
      assert.deepEqual(await matchOf(source.id, 1, "bot@example.com"), []);
      assert.deepEqual(
        (await store.listSuppressions({ ruleId: "OpenAI.Login.Failed" })).map((x) => [x.id, x.matchCount]),
        [[s.id, 1]],
      );
      nowMs += 5000;
      const removed = await store.removeSuppression(s.id, "user:carol", nowMs);
      assert.equal(removed.removedBy, "user:carol");
      assert.equal(removed.removedAtMs, nowMs);
      // Removing again keeps the first removal's who and when.
      assert.equal((await store.removeSuppression(s.id, "user:dave", nowMs + 1)).removedBy, "user:carol");
      await rejectsWith(store.removeSuppression("nope", "user:carol", nowMs), "not_found");
      assert.deepEqual(
        (await store.listSuppressions()).map((x) => x.id),
        [other.id],
      );
      assert.deepEqual(
        (await store.listSuppressions({ includeRemoved: true })).map((x) => x.id).sort(),
        [s.id, other.id].sort(),
      );
      assert.equal((await matchOf(source.id, 2, "bot@example.com")).length, 1);
    });

    it("absorbs a re-applied derived match once, even after its suppression ends", async () => {
      const { source, suppression: s, derived } = await suppressedCorrelationMatch(store);
      assert.deepEqual((await store.applyDerivedMatches(source.id, [derived])).createdAlertIds, []);
      assert.equal((await store.getSuppression(s.id))?.matchCount, 1);
      // The same anchor completes the rule for another key, which the suppression does not cover: alerted, not
      // taken for the match absorbed.
      const otherKey = { ...derived, dedupString: "bob@example.com" };
      assert.equal((await store.applyDerivedMatches(source.id, [otherKey])).createdAlertIds.length, 1);
      await store.removeSuppression(s.id, "user:alice", nowMs);
      assert.deepEqual((await store.applyDerivedMatches(source.id, [derived])).createdAlertIds, []);
      const next = ruleMatch(source.id, "corr-2", T0 + 1, { ruleId: "Corr.Rule", logType: "Vigil.Correlation" });
      assert.equal((await store.applyDerivedMatches(source.id, [next])).createdAlertIds.length, 1);
    });

    it("refuses a suppression without a reason, without a field or with only a rule-wide dedup, with an unknown field or a past expiry", async () => {
      const base = {
        ruleId: "R",
        conditions: { ip: "203.0.113.7" },
        reason: "why",
        createdBy: "user:a",
        expiresAtMs: null,
      };
      await rejectsWith(store.createSuppression({ ...base, reason: "  " }), "usage");
      await rejectsWith(store.createSuppression({ ...base, conditions: {} }), "usage");
      await rejectsWith(store.createSuppression({ ...base, conditions: { raw: "x" } as never }), "usage");
      await rejectsWith(store.createSuppression({ ...base, expiresAtMs: nowMs }), "usage");
      await rejectsWith(store.createSuppression({ ...base, ruleId: "" }), "usage");
      // A dedup string every match of the rule has, alone: the whole rule muted (disabling it takes an admin).
      for (const dedup of ["defaultDedupString:R", "R"])
        await rejectsWith(store.createSuppression({ ...base, conditions: { dedup } }), "usage");
      assert.deepEqual(await store.listSuppressions({ includeRemoved: true }), []);
      // With another field, or another rule's default, it pins only some matches.
      await store.createSuppression({ ...base, conditions: { dedup: "defaultDedupString:R", ip: "203.0.113.7" } });
      await store.createSuppression({ ...base, conditions: { dedup: "defaultDedupString:Other" } });
      assert.equal((await store.listSuppressions({})).length, 2);
    });

    it("throttles login keys with exponential backoff, forgets after a quiet spell, clears on demand", async () => {
      const policy: LoginBackoff = { freeFailures: 2, baseMs: 1000, maxMs: 4000, forgetAfterMs: 60_000 };
      const keys = ["ip:1", "user:admin"];
      const fail = (entries: Array<{ key: string; backoff: LoginBackoff }>, at = nowMs) =>
        store.beginLoginAttempt(
          entries.map((e) => ({ ...e, refuse: false })),
          at,
        );
      assert.deepEqual(await store.loginWaits(keys, nowMs), { "ip:1": 0, "user:admin": 0 });
      const waits: number[] = [];
      for (let i = 0; i < 5; i++) {
        await fail([{ key: "ip:1", backoff: policy }]);
        waits.push((await store.loginWaits(keys, nowMs))["ip:1"] ?? -1);
      }
      assert.deepEqual(waits, [0, 0, 1000, 2000, 4000]);
      assert.equal((await store.loginWaits(keys, nowMs))["user:admin"], 0);
      assert.equal((await store.loginWaits(keys, nowMs + 1000))["ip:1"], 3000);
      // Two keys in one call, each with its own policy; the waits returned are those from before the attempt.
      assert.deepEqual(
        await fail([
          { key: "ip:1", backoff: policy },
          { key: "user:admin", backoff: { ...policy, freeFailures: 0, maxMs: 500 } },
        ]),
        { waits: { "ip:1": 4000, "user:admin": 0 } },
      );
      assert.deepEqual(await store.loginWaits(keys, nowMs), { "ip:1": 4000, "user:admin": 500 });
      // A minute without failures: counting starts again.
      nowMs += 60_000;
      await fail([{ key: "ip:1", backoff: policy }]);
      assert.equal((await store.loginWaits(keys, nowMs))["ip:1"], 0);
      await store.clearLoginFailures(["ip:1", "user:admin"]);
      assert.deepEqual(await store.loginWaits(keys, 0), { "ip:1": 0, "user:admin": 0 });
    });

    it("refuses a login attempt while a refusing key waits, counting nothing; counts attempts sent at once one by one", async () => {
      const client: LoginBackoff = { freeFailures: 2, baseMs: 1000, maxMs: 60_000, forgetAfterMs: 60_000 };
      const account: LoginBackoff = { freeFailures: 0, baseMs: 100, maxMs: 500, forgetAfterMs: 60_000 };
      const attempt = () =>
        store.beginLoginAttempt(
          [
            { key: "ip:burst", backoff: client, refuse: true },
            { key: "user:burst", backoff: account, refuse: false },
          ],
          nowMs,
        );
      // Ten at once: the two free ones and the third (which sets the first wait) are admitted, the rest refused.
      const outcomes = await Promise.all(Array.from({ length: 10 }, attempt));
      assert.equal(outcomes.filter((o) => "waits" in o).length, 3);
      assert.deepEqual(
        outcomes.filter((o) => "refusedForMs" in o),
        Array.from({ length: 7 }, () => ({ refusedForMs: 1000 })),
      );
      // Refused attempts counted nothing, on either key.
      assert.deepEqual(await store.loginWaits(["ip:burst", "user:burst"], nowMs), {
        "ip:burst": 1000,
        "user:burst": 400,
      });
      await store.clearLoginFailures(["ip:burst", "user:burst"]);
    });

    it("takes back only the succeeding attempt from the client's count, and forgets the account's", async () => {
      const client: LoginBackoff = { freeFailures: 2, baseMs: 1000, maxMs: 60_000, forgetAfterMs: 60_000 };
      const account: LoginBackoff = { freeFailures: 0, baseMs: 100, maxMs: 500, forgetAfterMs: 60_000 };
      const attempt = (at: number) =>
        store.beginLoginAttempt(
          [
            { key: "ip:mixed", backoff: client, refuse: true },
            { key: "user:other", backoff: account, refuse: false },
          ],
          at,
        );
      const succeeded = () =>
        store.takeBackLoginAttempt({ keys: [{ key: "ip:mixed", backoff: client }], forget: ["user:other"] });
      // Two failures, then a right password: the client keeps its two failures.
      await attempt(nowMs);
      await attempt(nowMs);
      await attempt(nowMs);
      await succeeded();
      assert.deepEqual(await store.loginWaits(["ip:mixed", "user:other"], nowMs), { "ip:mixed": 0, "user:other": 0 });
      // So the next failure is the third: it waits. A success in between does not start the count again.
      assert.ok("waits" in (await attempt(nowMs)));
      assert.equal((await store.loginWaits(["ip:mixed"], nowMs))["ip:mixed"], 1000);
      assert.deepEqual(await attempt(nowMs), { refusedForMs: 1000 });
      // A key with nothing counted: nothing to take back.
      await store.takeBackLoginAttempt({ keys: [{ key: "ip:never", backoff: client }], forget: [] });
      assert.deepEqual(await store.loginWaits(["ip:never"], nowMs), { "ip:never": 0 });
      // The only failure taken back: the key is gone.
      await store.clearLoginFailures(["ip:mixed"]);
      await attempt(nowMs);
      await succeeded();
      assert.deepEqual(await store.loginWaits(["ip:mixed"], nowMs + 1), { "ip:mixed": 0 });
      await store.clearLoginFailures(["ip:mixed", "user:other"]);
    });

    it("starts a failed attempt's wait again when its check ends, and takes back an attempt with no verdict", async () => {
      const client: LoginBackoff = { freeFailures: 0, baseMs: 1000, maxMs: 60_000, forgetAfterMs: 60_000 };
      const account: LoginBackoff = { freeFailures: 0, baseMs: 100, maxMs: 500, forgetAfterMs: 60_000 };
      const keys = [
        { key: "ip:slow", backoff: client },
        { key: "user:slow", backoff: account },
      ];
      await store.beginLoginAttempt(
        keys.map((k) => ({ ...k, refuse: k.key.startsWith("ip:") })),
        nowMs,
      );
      assert.deepEqual(await store.loginWaits(["ip:slow", "user:slow"], nowMs), { "ip:slow": 1000, "user:slow": 100 });
      // The check took 800 ms: the waits count from its end, not from the admission.
      await store.loginFailed(keys, nowMs + 800);
      assert.deepEqual(await store.loginWaits(["ip:slow", "user:slow"], nowMs + 800), {
        "ip:slow": 1000,
        "user:slow": 100,
      });
      // A second attempt, whose check threw: taken back from both keys, which keep the first failure. Their waits
      // are what one failure asks (1000 and 100 ms, not the second's 2000 and 200), counted from the attempt taken
      // back: the store keeps no older time.
      await store.beginLoginAttempt(
        keys.map((k) => ({ ...k, refuse: false })),
        nowMs + 2000,
      );
      assert.deepEqual(await store.loginWaits(["ip:slow", "user:slow"], nowMs + 2000), {
        "ip:slow": 2000,
        "user:slow": 200,
      });
      await store.takeBackLoginAttempt({ keys, forget: [] });
      assert.deepEqual(await store.loginWaits(["ip:slow", "user:slow"], nowMs + 2000), {
        "ip:slow": 1000,
        "user:slow": 100,
      });
      await store.clearLoginFailures(["ip:slow", "user:slow"]);
    });

    it("lists users, changes roles and deletes users (unassigning their alerts), never the last admin", async () => {
      const admin = await store.createUser({ username: "admin", passwordHash: "h", role: "admin" });
      const ana = await store.createUser({ username: "ana", passwordHash: "h", role: "analyst" });
      assert.deepEqual(
        (await store.listUsers()).map((u) => [u.username, u.role]),
        [
          ["admin", "admin"],
          ["ana", "analyst"],
        ],
      );
      await rejectsWith(store.setUserRole(admin.id, "analyst"), "conflict");
      await rejectsWith(store.deleteUser(admin.id), "conflict");
      assert.equal((await store.setUserRole(ana.id, "admin")).role, "admin");
      assert.equal((await store.setUserRole(admin.id, "analyst")).role, "analyst");
      await store.createSession({ tokenHash: "t", userId: admin.id, csrf: "c", createdAtMs: 0, expiresAtMs: 1e15 });
      // An alert assigned to the user is unassigned with it: a later "admin" must not inherit it.
      const source = await store.createSource(sourceSettings("prod"), { ciphertext: "x" });
      const [alertId] = await matchOf(source.id, 1, "eve@example.com");
      assert.ok(alertId);
      await store.assignAlert(alertId, "admin", nowMs, "user:ana");
      nowMs += 1000;
      await store.deleteUser(admin.id, "user:ana");
      assert.equal(await store.getSession("t", 1), null);
      assert.equal((await store.getAlert(alertId))?.assignee, null);
      assert.deepEqual((await store.listAlertActivity(alertId)).at(-1), {
        kind: "assigned",
        atMs: nowMs,
        by: "user:ana",
        assignee: null,
      });
      assert.deepEqual(
        (await store.listUsers()).map((u) => u.username),
        ["ana"],
      );
      await rejectsWith(store.deleteUser(ana.id), "conflict");
      await rejectsWith(store.deleteUser("nope"), "not_found");
      await rejectsWith(store.setUserRole("nope", "admin"), "not_found");
    });
  });
}
