// A suppression through the page write: the poller's path (storePage → applyPage) counts a suppressed match and
// raises no alert and no outbox entry (so nothing is delivered), and the next match alerts again once the
// suppression expires (wall time) or is removed.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fakeClock, sourceSettings } from "../../test/helpers.ts";
import { ruleMatch } from "../../test/storage-contract.ts";
import type { RawAuditLog } from "../core/audit-log.ts";
import { loadOpenAIAuditLogType } from "../schema/index.ts";
import { createSimulatedOrg } from "../simulator/index.ts";
import { openSqliteStore } from "../storage/sqlite/sqlite-store.ts";
import { type Detector, storePage } from "./page-writer.ts";

const T0 = 1_763_640_000;
const RULE = "Test.EveryEvent";

/** Matches every event, each in an alert of its own (threshold 1, dedup by event). */
const everyEvent: Detector = {
  async detect(source, events) {
    return {
      matches: events.map(({ eventId, record }) =>
        ruleMatch(source.id, eventId, Number(record.effective_at ?? T0), { ruleId: RULE, dedupString: eventId }),
      ),
      stateOps: [],
    };
  },
};

/** A store with one source, and a simulated record (with an actor email and an IP) to copy as events. */
async function storeWithTemplate() {
  const clock = fakeClock(T0 * 1000);
  const store = await openSqliteStore({ memory: true, clock });
  const source = await store.createSource(sourceSettings(), { ciphertext: "x" });
  const template = createSimulatedOrg({ seed: 3, history: { days: 1, eventsPerDay: 50, endSecs: T0 } })
    .allEvents()
    .find((r) => r.actor?.session?.user?.email && r.actor.session.ip_address);
  assert.ok(template, "a simulated record with an actor email and an IP");
  return { clock, store, source, template, email: template.actor?.session?.user?.email ?? "" };
}

describe("suppressions in the page write", () => {
  it("counts a suppressed match without an alert or a delivery, and alerts again after expiry or removal", async () => {
    const { clock, store, source, template, email } = await storeWithTemplate();
    try {
      let n = 0;
      /** A copy of the template (same actor), or with another email. */
      const record = (otherEmail?: string): RawAuditLog => {
        n += 1;
        const text = JSON.stringify({ ...template, id: `audit_log-sup${n}`, effective_at: T0 + n });
        return JSON.parse(otherEmail ? text.split(email).join(otherEmail) : text) as RawAuditLog;
      };
      const deps = { store, source, clock, normalizer: loadOpenAIAuditLogType(), detector: everyEvent };
      const write = async (items: RawAuditLog[]) => (await storePage(deps, items, {})).createdAlertIds;

      // Without a suppression: an alert and its outbox entry.
      const [first] = await write([record()]);
      assert.ok(first);
      const [{ event } = { event: null }] = await store.getAlertMatches(first);
      assert.equal(event?.actorEmail, email);
      const suppression = await store.createSuppression({
        ruleId: RULE,
        conditions: { actorEmail: email, ip: event?.ip ?? "" },
        reason: "the same benign actor",
        createdBy: "user:alice",
        expiresAtMs: clock.nowMs() + 3600_000,
      });
      const outboxBefore = (await store.listUnroutedOutbox(100)).length;

      // The same actor: suppressed (counted); another actor on the same page still alerts.
      const created = await write([record(), record("someone.else@example.com")]);
      assert.equal(created.length, 1);
      assert.equal((await store.getSuppression(suppression.id))?.matchCount, 1);
      assert.equal((await store.listAlerts()).length, 2);
      assert.equal((await store.listUnroutedOutbox(100)).length, outboxBefore + 1);
      const alerted = await store.getAlertMatches(created[0] ?? "");
      assert.notEqual(alerted[0]?.event?.actorEmail, email);

      // An hour later (wall time) the suppression has expired: the same actor alerts again.
      clock.advance(3600_000);
      assert.equal((await write([record()])).length, 1);
      assert.equal((await store.getSuppression(suppression.id))?.matchCount, 1);

      // A suppression removed: alerts again too, and the removal is on record.
      const again = await store.createSuppression({
        ruleId: RULE,
        conditions: { actorEmail: email },
        reason: "again",
        createdBy: "user:alice",
        expiresAtMs: null,
      });
      assert.deepEqual(await write([record()]), []);
      await store.removeSuppression(again.id, "user:bob", clock.nowMs());
      assert.equal((await write([record()])).length, 1);
      const audited = await store.listSuppressions({ includeRemoved: true });
      assert.deepEqual(
        audited.map((s) => [s.matchCount, s.createdBy, s.removedBy]),
        [
          [1, "user:alice", "user:bob"],
          [1, "user:alice", null],
        ],
      );
    } finally {
      await store.close();
    }
  });

  it("never takes a rule's errors, nor the matches a correlation reads, even when its conditions hold", async () => {
    const { clock, store, source, template, email } = await storeWithTemplate();
    try {
      let n = 0;
      const record = (): RawAuditLog => {
        n += 1;
        return { ...template, id: `audit_log-in${n}`, effective_at: T0 + n };
      };
      /** Every event matched by RULE, as an error when `error`; RULE a correlation's input when `member`. */
      const detector = (options: { error: boolean; member: boolean }): Detector => ({
        async detect(src, events) {
          return {
            matches: events.map(({ eventId, record: r }) =>
              ruleMatch(src.id, eventId, Number(r.effective_at ?? T0), {
                ruleId: RULE,
                dedupString: eventId,
                isError: options.error,
                ...(options.error ? { errorType: "KeyError", errorMessage: "no such field" } : {}),
              }),
            ),
            stateOps: [],
            correlationMemberRuleIds: options.member ? [RULE] : [],
          };
        },
      });
      const write = async (options: { error: boolean; member: boolean }) => {
        const deps = { store, source, clock, normalizer: loadOpenAIAuditLogType(), detector: detector(options) };
        return (await storePage(deps, [record()], {})).createdAlertIds;
      };
      const suppression = await store.createSuppression({
        ruleId: RULE,
        conditions: { actorEmail: email },
        reason: "the same benign actor",
        createdBy: "user:alice",
        expiresAtMs: null,
      });

      // The suppression works: a plain match of the actor is absorbed.
      assert.deepEqual(await write({ error: false, member: false }), []);
      // The rule failing on the actor's event is not "a match like this": it alerts.
      assert.equal((await write({ error: true, member: false })).length, 1);
      // A correlation's input goes on to the correlation (and, the rule alerting, to its alert).
      assert.equal((await write({ error: false, member: true })).length, 1);
      assert.equal((await store.getSuppression(suppression.id))?.matchCount, 1);
    } finally {
      await store.close();
    }
  });
});
