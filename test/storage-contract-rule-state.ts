// The rule state a store keeps in memory between pages (src/storage/store/rule-state-cache.ts) is always the
// database's: two stores on one database (two processes, or a fleet's workers) change one source's state in
// turn, at once, and in a transaction that rolls back, and each reads back exactly what the ops in commit order
// make. Every backend runs this suite with two stores opened on one database.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { RuleStateOp } from "../src/core/detection.ts";
import { VigilError } from "../src/core/errors.ts";
import type { PageWrite, RuleStateEntry, Store } from "../src/storage/ports.ts";
import { applyStateOp } from "../src/storage/store/rule-state.ts";
import { eventRow, sourceSettings } from "./storage-contract.ts";

const T0 = 1_700_000_000;
const RULE = "OpenAI.Counter";

/** A page of one event that carries `ops`. */
function statePage(sourceId: string, eventId: string, ops: RuleStateOp[], extra: Partial<PageWrite> = {}): PageWrite {
  return {
    sourceId,
    events: [eventRow(eventId, T0)],
    quarantined: [],
    unknownTypes: [],
    stateOps: ops.map((op) => ({ eventId, op })),
    ...extra,
  };
}

/** The ops of step `i`: a shared counter and set, and now and then a delete or a key of its own. */
function opsOf(i: number): RuleStateOp[] {
  const ops: RuleStateOp[] = [
    { kind: "increment", ruleId: RULE, key: "count", by: 1, expiresAtSecs: null },
    { kind: "add_to_set", ruleId: RULE, key: "seen", member: `m${i % 5}`, expiresAtSecs: null },
    { kind: "put", ruleId: RULE, key: `own:${i}`, value: String(i), expiresAtSecs: null },
  ];
  if (i % 4 === 3) ops.push({ kind: "delete", ruleId: RULE, key: "seen" });
  return ops;
}

/** The state `ops` make, applied in order from nothing, as the store reads it back. */
function model(ops: readonly RuleStateOp[]): Array<[string, number, string[], string | null]> {
  const entries = new Map<string, RuleStateEntry>();
  for (const op of ops) {
    const next = applyStateOp(entries.get(op.key) ?? null, op, T0);
    if (next === null) entries.delete(op.key);
    else entries.set(op.key, next);
  }
  return summary([...entries.values()]);
}

function summary(entries: readonly RuleStateEntry[]): Array<[string, number, string[], string | null]> {
  return entries.map((e): [string, number, string[], string | null] => [e.key, e.counter, e.members, e.value]).sort();
}

export function runRuleStateSharingContract(name: string, openPair: () => Promise<[Store, Store]>): void {
  describe(`Store contract: rule state shared by two stores on one database: ${name}`, () => {
    let a: Store;
    let b: Store;

    beforeEach(async () => {
      [a, b] = await openPair();
    });

    afterEach(async () => {
      await a.close();
      await b.close();
    });

    const read = async (store: Store, sourceId: string) => summary(await store.loadRuleState(sourceId, [RULE], T0));

    it("each store reads the other's changes, written in turn", async () => {
      const source = await a.createSource(sourceSettings("shared"), { ciphertext: "v1:x" });
      const applied: RuleStateOp[] = [];
      for (let i = 0; i < 12; i++) {
        // Both read before each write, so each holds the state in memory when the other changes it.
        assert.deepEqual(await read(a, source.id), model(applied), `a before step ${i}`);
        assert.deepEqual(await read(b, source.id), model(applied), `b before step ${i}`);
        // Runs of one writer (its own commits update its copy) and changes of hands.
        const writer = i % 3 === 2 ? b : a;
        await writer.applyPage(statePage(source.id, `e${i}`, opsOf(i)));
        applied.push(...opsOf(i));
      }
      assert.deepEqual(await read(a, source.id), model(applied));
      assert.deepEqual(await read(b, source.id), model(applied));
    });

    it("reads again after its own commit when another store changed the state before it", async () => {
      const source = await a.createSource(sourceSettings("stale"), { ciphertext: "v1:x" });
      await a.applyPage(statePage(source.id, "e0", opsOf(0)));
      assert.deepEqual(await read(a, source.id), model(opsOf(0)));
      // b changes the state; a then commits without reading first: its copy was one version behind.
      await b.applyPage(statePage(source.id, "e1", opsOf(1)));
      await a.applyPage(statePage(source.id, "e2", opsOf(2)));
      assert.deepEqual(await read(a, source.id), model([...opsOf(0), ...opsOf(1), ...opsOf(2)]));
    });

    it("follows several state changes of one source committed in one transaction", async () => {
      const source = await a.createSource(sourceSettings("grouped"), { ciphertext: "v1:x" });
      await a.applyPage(statePage(source.id, "e0", opsOf(0)));
      assert.deepEqual(await read(a, source.id), model(opsOf(0)));
      await a.applyPages([
        statePage(source.id, "e1", opsOf(1)),
        statePage(source.id, "e2", opsOf(2)),
        statePage(source.id, "e3", opsOf(3)),
      ]);
      const expected = model([0, 1, 2, 3].flatMap(opsOf));
      assert.deepEqual(await read(a, source.id), expected);
      assert.deepEqual(await read(b, source.id), expected);
    });

    it("counts every change when both write one source at once", async () => {
      const source = await a.createSource(sourceSettings("busy"), { ciphertext: "v1:x" });
      await Promise.all([read(a, source.id), read(b, source.id)]);
      const steps = Array.from({ length: 16 }, (_, i) => i);
      await Promise.all([
        (async () => {
          for (const i of steps.filter((s) => s % 2 === 0)) {
            await read(a, source.id);
            await a.applyPage(statePage(source.id, `e${i}`, [opsOf(i)[0]!, opsOf(i)[2]!]));
          }
        })(),
        (async () => {
          for (const i of steps.filter((s) => s % 2 === 1)) {
            await read(b, source.id);
            await b.applyPage(statePage(source.id, `e${i}`, [opsOf(i)[0]!, opsOf(i)[2]!]));
          }
        })(),
      ]);
      // Increments and puts of distinct keys: any commit order makes the same state.
      const expected = model(steps.flatMap((i) => [opsOf(i)[0]!, opsOf(i)[2]!]));
      assert.equal(expected[0]?.[1], 16);
      assert.deepEqual(await read(a, source.id), expected);
      assert.deepEqual(await read(b, source.id), expected);
    });

    it("keeps nothing of a transaction that rolled back, and still reads later changes", async () => {
      const source = await a.createSource(sourceSettings("rolled"), { ciphertext: "v1:x" });
      await a.applyPage(statePage(source.id, "e0", opsOf(0)));
      assert.deepEqual(await read(a, source.id), model(opsOf(0)));
      // Two pages in one transaction: the first changes the state, the second names a slice that does not
      // exist, so the whole transaction rolls back after the first page's state was written.
      await assert.rejects(
        a.applyPages([
          statePage(source.id, "e1", opsOf(1)),
          statePage(source.id, "e2", opsOf(2), {
            sliceProgress: { jobId: 987_654, sliceIndex: 0, upperBoundSecs: T0, done: true, eventsRead: 1 },
          }),
        ]),
        VigilError,
      );
      assert.deepEqual(await read(a, source.id), model(opsOf(0)));
      assert.deepEqual(await read(b, source.id), model(opsOf(0)));
      // The rolled back events are new again: their ops apply once stored.
      await b.applyPage(statePage(source.id, "e1", opsOf(1)));
      await a.applyPage(statePage(source.id, "e2", opsOf(2)));
      const expected = model([...opsOf(0), ...opsOf(1), ...opsOf(2)]);
      assert.deepEqual(await read(a, source.id), expected);
      assert.deepEqual(await read(b, source.id), expected);
    });

    it("forgets a removed source's state", async () => {
      const source = await a.createSource(sourceSettings("removed"), { ciphertext: "v1:x" });
      await a.applyPage(statePage(source.id, "e0", opsOf(0)));
      assert.equal((await read(b, source.id)).length, 3);
      await a.removeSource(source.id);
      assert.deepEqual(await read(a, source.id), []);
      assert.deepEqual(await read(b, source.id), []);
    });
  });
}
