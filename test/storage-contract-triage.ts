// The Store contract for working alerts (issue 12): the alert list's filters, orders, paging and count; status
// changes of many alerts at once; assignment to a console user; comments; and the alert's whole history with
// who and when. Run against every backend.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { VigilError } from "../src/core/errors.ts";
import type { AlertQuery, Store } from "../src/storage/ports.ts";
import { eventRow, ruleMatch, sourceSettings } from "./storage-contract.ts";

const T0 = 1_700_000_000;

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof VigilError, `expected a VigilError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

export function runTriageContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract (alert triage): ${name}`, () => {
    let store: Store;
    let sourceId = "";
    let otherSourceId = "";
    beforeEach(async () => {
      store = await open();
      sourceId = (await store.createSource(sourceSettings("acme"), { ciphertext: "x" })).id;
      otherSourceId = (await store.createSource(sourceSettings("other"), { ciphertext: "x" })).id;
      await store.createUser({ username: "alice", passwordHash: "h", role: "analyst" });
      await store.createUser({ username: "bob", passwordHash: "h", role: "admin" });
    });
    afterEach(async () => {
      await store.close();
    });

    /** One alert per spec, in order (a page each); live unless fromHistory. */
    async function raise(
      source: string,
      specs: Array<Partial<Parameters<typeof ruleMatch>[3]> & { t: number }>,
      fromHistory = false,
    ): Promise<string[]> {
      const ids: string[] = [];
      for (const { t, ...overrides } of specs) {
        const eventId = `e-${source}-${t}`;
        const page = await store.applyPage({
          sourceId: source,
          events: [eventRow(eventId, t)],
          quarantined: [],
          unknownTypes: [],
          matches: [ruleMatch(source, eventId, t, { dedupString: `d-${t}`, ...overrides })],
          fromHistory,
        });
        assert.equal(page.createdAlertIds.length, 1);
        ids.push(page.createdAlertIds[0] ?? "");
      }
      return ids;
    }

    async function ids(query: AlertQuery): Promise<string[]> {
      return (await store.listAlerts(query)).map((a) => a.id);
    }

    it("filters by assignee, rule, source, history and time, and counts what it lists", async () => {
      const [a1, a2, a3] = await raise(sourceId, [
        { t: T0, severity: "LOW", ruleId: "R.One" },
        { t: T0 + 1, severity: "CRITICAL", ruleId: "R.Two" },
        { t: T0 + 2, severity: "MEDIUM", ruleId: "R.One" },
      ]);
      const [h1] = await raise(otherSourceId, [{ t: T0 + 3, severity: "HIGH", ruleId: "R.Two" }], true);
      await store.assignAlert(a1!, "alice", 10, "user:bob");
      await store.assignAlert(a3!, "bob", 11, "user:bob");
      await store.setAlertStatus(a2!, "RESOLVED", 12, "user:alice");

      const cases: Array<[AlertQuery, string[]]> = [
        [{}, [h1!, a3!, a2!, a1!]],
        [{ assignee: "alice" }, [a1!]],
        [{ assignee: null }, [h1!, a2!]],
        [{ ruleId: "R.One" }, [a3!, a1!]],
        [{ sourceId: otherSourceId }, [h1!]],
        [{ fromHistory: true }, [h1!]],
        [{ fromHistory: false, status: "OPEN" }, [a3!, a1!]],
        [{ severity: "CRITICAL" }, [a2!]],
        [{ status: "RESOLVED", sourceId }, [a2!]],
        [{ sinceMs: Date.now() + 3_600_000 }, []],
        [{ untilMs: Date.now() + 3_600_000, ruleId: "R.Two" }, [h1!, a2!]],
      ];
      for (const [query, expected] of cases) {
        assert.deepEqual(await ids(query), expected, JSON.stringify(query));
        assert.equal(await store.countAlerts(query), expected.length, `count of ${JSON.stringify(query)}`);
      }
      assert.equal((await store.getAlert(a1!))?.assignee, "alice");
      assert.equal((await store.getAlert(a2!))?.assignee, null);
    });

    it("sorts newest, oldest, by severity and by last change, and pages by offset", async () => {
      const [low, crit, med, high] = await raise(sourceId, [
        { t: T0, severity: "LOW" },
        { t: T0 + 1, severity: "CRITICAL" },
        { t: T0 + 2, severity: "MEDIUM" },
        { t: T0 + 3, severity: "HIGH" },
      ]);
      assert.deepEqual(await ids({ sort: "newest" }), [high!, med!, crit!, low!]);
      assert.deepEqual(await ids({ sort: "oldest" }), [low!, crit!, med!, high!]);
      assert.deepEqual(await ids({ sort: "severity" }), [crit!, high!, med!, low!]);
      await store.setAlertStatus(low!, "ACKNOWLEDGED", Date.now() + 60_000);
      assert.equal((await ids({ sort: "updated" }))[0], low);
      assert.deepEqual(await ids({ sort: "severity", limit: 2, offset: 1 }), [high!, med!]);
      assert.deepEqual(await ids({ sort: "oldest", limit: 10, offset: 4 }), []);
      await rejectsWithCode(store.listAlerts({ offset: -1 }), "usage");
      await rejectsWithCode(store.listAlerts({ sort: "loudest" as never }), "usage");
      await rejectsWithCode(
        store.listAlerts({ sort: "oldest", after: { createdAtMs: 1, windowStartSecs: 1, id: "x" } }),
        "usage",
      );
    });

    it("changes the status of many alerts at once, all or none, with who and when", async () => {
      const [a, b, c] = await raise(sourceId, [{ t: T0 }, { t: T0 + 1 }, { t: T0 + 2 }]);
      await store.setAlertStatus(c!, "RESOLVED", 5, "cli:carol");
      const resolved = await store.setAlertsStatus([a!, b!, c!], "RESOLVED", 100, "user:alice");
      assert.deepEqual(
        resolved.map((r) => [r.id, r.status]),
        [
          [a!, "RESOLVED"],
          [b!, "RESOLVED"],
          [c!, "RESOLVED"],
        ],
      );
      const historyOf = async (id: string) =>
        (await store.listAlertStatusChanges(id)).map((s) => [s.from, s.to, s.atMs === 100 ? "now" : "before", s.by]);
      assert.deepEqual((await historyOf(a!)).at(-1), ["OPEN", "RESOLVED", "now", "user:alice"]);
      // Already resolved: left as is, no second row.
      assert.deepEqual((await historyOf(c!)).at(-1), ["OPEN", "RESOLVED", "before", "cli:carol"]);
      assert.equal(await store.countAlerts({ status: "RESOLVED" }), 3);

      // An unknown id fails the whole change: nothing reopened.
      await rejectsWithCode(store.setAlertsStatus([a!, "no-such-alert"], "OPEN", 200, "user:alice"), "not_found");
      assert.equal((await store.getAlert(a!))?.status, "RESOLVED");
      await rejectsWithCode(store.setAlertsStatus([], "OPEN", 200), "usage");
      await rejectsWithCode(store.setAlertsStatus([a!], "SNOOZED" as never, 200), "usage");

      const reopened = await store.setAlertsStatus([b!, a!], "OPEN", 300, "user:bob");
      assert.deepEqual(
        reopened.map((r) => r.id),
        [b!, a!],
      );
      assert.equal(await store.countAlerts({ status: "OPEN" }), 2);

      // UNRESOLVED: every status that still needs attention, in the list, its count and the counters' count.
      await store.setAlertStatus(b!, "ACKNOWLEDGED", 400, "user:bob");
      await store.setAlertStatus(a!, "TRIAGED", 400, "user:bob");
      const unresolved = await store.listAlerts({ status: "UNRESOLVED", sort: "oldest" });
      assert.deepEqual(
        unresolved.filter((r) => [a, b, c].includes(r.id)).map((r) => [r.id, r.status]),
        [
          [a!, "TRIAGED"],
          [b!, "ACKNOWLEDGED"],
        ],
      );
      const all = await store.listAlerts({ limit: 1000 });
      const stillOpen = all.filter((r) => ["OPEN", "ACKNOWLEDGED", "TRIAGED"].includes(r.status)).length;
      assert.equal(await store.countAlerts({ status: "UNRESOLVED" }), stillOpen);
      assert.equal(
        await store.countAlerts({ status: "UNRESOLVED", sourceId, ruleId: all[0]!.ruleId }),
        unresolved.length,
      );
    });

    it("refuses a triage change made from a stale view of the alert, and lets one that agrees through", async () => {
      const [a, b] = await raise(sourceId, [{ t: T0 }, { t: T0 + 1 }]);
      const base = Date.now() + 60_000;
      // Bob resolves; Alice, who still sees it OPEN, acknowledges: refused, nothing recorded for her.
      await store.setAlertStatus(a!, "RESOLVED", base, "user:bob", "OPEN");
      await rejectsWithCode(store.setAlertStatus(a!, "ACKNOWLEDGED", base + 1, "user:alice", "OPEN"), "conflict");
      await assert.rejects(store.setAlertStatus(a!, "ACKNOWLEDGED", base + 1, "user:alice", "OPEN"), {
        message: `Alert ${a} changed since you read it: its status is "RESOLVED" now, not "OPEN". Reload it and decide again.`,
      });
      // Wanting what it already is: no conflict, nothing changes.
      assert.equal((await store.setAlertStatus(a!, "RESOLVED", base + 2, "user:alice", "OPEN")).status, "RESOLVED");
      assert.deepEqual(
        (await store.listAlertStatusChanges(a!)).map((c) => [c.to, c.by]),
        [
          ["OPEN", "system:detection"],
          ["RESOLVED", "user:bob"],
        ],
      );
      // Many at once: one that moved on refuses them all.
      await rejectsWithCode(
        store.setAlertsStatus([a!, b!], "CLOSED", base + 3, "user:alice", { [a!]: "OPEN", [b!]: "OPEN" }),
        "conflict",
      );
      assert.equal((await store.getAlert(b!))?.status, "OPEN");
      const closed = await store.setAlertsStatus([a!, b!], "CLOSED", base + 4, "user:alice", {
        [a!]: "RESOLVED",
        [b!]: "OPEN",
      });
      assert.deepEqual(
        closed.map((r) => r.status),
        ["CLOSED", "CLOSED"],
      );
      // An expectation for an alert not in the change is refused (a mistyped id would guard nothing).
      await rejectsWithCode(
        store.setAlertsStatus([b!], "OPEN", base + 4, "user:alice", { [b!]: "CLOSED", [`${a}x`]: "OPEN" }),
        "usage",
      );
      // TRIAGED is the older word for ACKNOWLEDGED: the same status whichever word is expected or wanted.
      await store.setAlertStatus(b!, "TRIAGED", base + 4, "user:bob");
      assert.equal(
        (await store.setAlertStatus(b!, "RESOLVED", base + 4, "user:alice", "ACKNOWLEDGED")).status,
        "RESOLVED",
      );
      await store.setAlertStatus(b!, "TRIAGED", base + 4, "user:bob");
      assert.equal(
        (await store.setAlertStatus(b!, "ACKNOWLEDGED", base + 4, "user:alice", "OPEN")).status,
        "ACKNOWLEDGED",
      );
      await store.setAlertStatus(b!, "CLOSED", base + 4, "user:bob");
      // Assignment: Bob takes it; Alice, who saw it unassigned, gives it to herself: refused.
      await store.assignAlert(b!, "bob", base + 5, "user:bob", null);
      await rejectsWithCode(store.assignAlert(b!, "alice", base + 6, "user:alice", null), "conflict");
      assert.equal((await store.getAlert(b!))?.assignee, "bob");
      // Seen as Bob's, it goes to Alice; without an expectation, the last write wins as before.
      assert.equal((await store.assignAlert(b!, "alice", base + 7, "user:bob", "bob")).assignee, "alice");
      assert.equal((await store.assignAlert(b!, null, base + 8, "user:carol")).assignee, null);
    });

    it("assigns and unassigns to console users, and keeps comments, in one history with who and when", async () => {
      const [id] = await raise(sourceId, [{ t: T0 }]);
      // History times after the alert's creation (now), as in real use.
      const base = Date.now() + 60_000;
      const at = (ms: number) => base + ms;
      const assigned = await store.assignAlert(id!, "alice", at(1_000), "user:bob");
      assert.equal(assigned.assignee, "alice");
      assert.equal(assigned.updatedAtMs, at(1_000));
      // The same assignee again: nothing recorded.
      await store.assignAlert(id!, "alice", at(1_500), "user:bob");
      const comment = await store.commentOnAlert(id!, "  Looks like <b>a test</b> key.\n", at(2_000), "user:alice");
      assert.deepEqual(comment, {
        kind: "comment",
        atMs: at(2_000),
        by: "user:alice",
        body: "Looks like <b>a test</b> key.",
      });
      await store.setAlertStatus(id!, "ACKNOWLEDGED", at(2_500), "user:alice");
      await store.assignAlert(id!, null, at(3_000), "cli:carol");
      assert.equal((await store.getAlert(id!))?.assignee, null);

      const activity = await store.listAlertActivity(id!);
      assert.deepEqual(activity.slice(1), [
        { kind: "assigned", atMs: at(1_000), by: "user:bob", assignee: "alice" },
        { kind: "comment", atMs: at(2_000), by: "user:alice", body: "Looks like <b>a test</b> key." },
        { kind: "status", atMs: at(2_500), by: "user:alice", from: "OPEN", to: "ACKNOWLEDGED" },
        { kind: "assigned", atMs: at(3_000), by: "cli:carol", assignee: null },
      ]);
      assert.deepEqual(
        { kind: activity[0]?.kind, to: (activity[0] as { to?: string }).to },
        { kind: "status", to: "OPEN" },
      );
      assert.deepEqual(await store.listAlertActivity("no-such-alert"), []);

      await store.createUser({ username: "Zed", passwordHash: "h", role: "analyst" });
      assert.deepEqual(await store.listAssignees(), ["Zed", "alice", "bob"]);

      await rejectsWithCode(store.assignAlert(id!, "mallory", at(4_000)), "usage");
      await rejectsWithCode(store.assignAlert("no-such-alert", "alice", at(4_000)), "not_found");
      await rejectsWithCode(store.commentOnAlert(id!, "   ", at(4_000)), "usage");
      await rejectsWithCode(store.commentOnAlert(id!, "x".repeat(10_001), at(4_000)), "usage");
      await rejectsWithCode(store.commentOnAlert("no-such-alert", "hi", at(4_000)), "not_found");
      assert.equal((await store.listAlertActivity(id!)).length, activity.length);
    });
  });
}
