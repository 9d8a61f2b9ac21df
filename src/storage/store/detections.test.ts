// The detection write path as the page write calls it, inside its own transaction, on both databases: rule
// state ops (not reachable through the Store port except by applyPage) and matches that roll back with the
// caller's transaction.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import pg from "pg";
import { startPgCluster } from "../../../test/pg-cluster.ts";
import { eventRow, ruleMatch, sourceSettings } from "../../../test/storage-contract.ts";
import { systemClock } from "../../core/clock.ts";
import type { RuleStateOp } from "../../core/detection.ts";
import type { Store } from "../ports.ts";
import { PostgresStoreDialect } from "../postgres/dialect.ts";
import { describeTarget } from "../postgres/pg-errors.ts";
import { openPostgresStore } from "../postgres/postgres-store.ts";
import { SqliteStoreDialect } from "../sqlite/dialect.ts";
import { openSqliteStore } from "../sqlite/sqlite-store.ts";
import { applyMatchesIn, applyStateOpsIn } from "./detections.ts";
import type { StoreContext } from "./dialect.ts";
import { requireSource } from "./require-source.ts";
import { RuleStateCache } from "./rule-state-cache.ts";
import { SourceNumbers } from "./source-numbers.ts";

const T0 = 1_700_000_000;

interface Opened {
  store: Store;
  ctx: StoreContext;
  close(): Promise<void>;
}

const cluster = await startPgCluster();
after(() => cluster.stop());

/** A store context over `dialect`, as the store builds its own (store.ts). */
function contextOf(dialect: StoreContext["dialect"]): StoreContext {
  return {
    dialect,
    clock: systemClock,
    alertLimitPerHour: 100,
    sourceNumbers: new SourceNumbers(),
    ruleStateCache: new RuleStateCache(),
  };
}

const backends: Record<string, () => Promise<Opened>> = {
  sqlite: async () => {
    // A file, not :memory:: a second dialect on the store's connection takes turns with the store's own
    // writers (the text index) per file (sqlite/dialect.ts).
    const dir = await mkdtemp(join(tmpdir(), "vigil-detections-"));
    const store = await openSqliteStore({ path: join(dir, "vigil.db"), readers: 0 });
    const dialect = new SqliteStoreDialect(store.connection, store.location);
    return {
      store,
      ctx: contextOf(dialect),
      close: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  postgres: async () => {
    const schema = `vigil_d${Math.random().toString(36).slice(2, 10)}`;
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const pool = new pg.Pool({ connectionString: cluster.connectionString, options: `-c search_path=${schema}` });
    const dialect = new PostgresStoreDialect(pool, schema, describeTarget(cluster.connectionString));
    return {
      store,
      ctx: contextOf(dialect),
      close: async () => {
        await dialect.close();
        await store.close();
      },
    };
  },
};

const put = (key: string, value: string, expiresAtSecs: number | null = null): RuleStateOp => ({
  kind: "put",
  ruleId: "R",
  key,
  value,
  expiresAtSecs,
});
const inc = (key: string, by: number, expiresAtSecs: number | null = null): RuleStateOp => ({
  kind: "increment",
  ruleId: "R",
  key,
  by,
  expiresAtSecs,
});
const add = (key: string, member: string): RuleStateOp => ({
  kind: "add_to_set",
  ruleId: "R",
  key,
  member,
  expiresAtSecs: null,
});

for (const [name, open] of Object.entries(backends)) {
  describe(`detection writes inside the caller's transaction: ${name}`, () => {
    it("applies rule state ops in order, per key, across calls", async () => {
      const { store, ctx, close } = await open();
      try {
        const sourceId = (await store.createSource(sourceSettings("s"), { ciphertext: "x" })).id;
        const apply = (ops: RuleStateOp[], atSecs = T0) =>
          ctx.dialect.write((trx) => applyStateOpsIn(ctx, trx, sourceId, ops, atSecs));
        await apply([put("a", "1"), inc("c", 2), add("s", "y"), inc("c", 3), add("s", "x"), add("s", "y")]);
        const state = async (atSecs = T0) =>
          (await store.loadRuleState(sourceId, ["R"], atSecs)).map((e) => [e.key, e.value, e.counter, e.members]);
        assert.deepEqual(await state(), [
          ["a", "1", 0, []],
          ["c", null, 5, []],
          ["s", null, 0, ["x", "y"]],
        ]);
        await apply([{ kind: "delete", ruleId: "R", key: "a" }, inc("c", 1), put("a", "2"), inc("gone", 1)]);
        await apply([{ kind: "delete", ruleId: "R", key: "gone" }]);
        assert.deepEqual(await state(), [
          ["a", "2", 0, []],
          ["c", null, 6, []],
          ["s", null, 0, ["x", "y"]],
        ]);
        // Expiry is judged at the time given (the page's event time): an expired counter restarts.
        await apply([inc("t", 4, T0 + 60)]);
        await apply([inc("t", 1, T0 + 200)], T0 + 100);
        assert.deepEqual((await store.loadRuleState(sourceId, ["R"], T0 + 100)).find((e) => e.key === "t")?.counter, 1);
        // More keys than one statement takes.
        const many = Array.from({ length: 1_200 }, (_, i) => inc(`k${i}`, 1));
        await apply(many);
        await apply(many);
        const counters = (await store.loadRuleState(sourceId, ["R"], T0)).filter((e) => e.key.startsWith("k"));
        assert.equal(counters.length, 1_200);
        assert.ok(counters.every((e) => e.counter === 2));
      } finally {
        await close();
      }
    });

    it("stores nothing of the matches when the caller's transaction fails after them", async () => {
      const { store, ctx, close } = await open();
      try {
        const sourceId = (await store.createSource(sourceSettings("s"), { ciphertext: "x" })).id;
        await store.applyPage({ sourceId, events: [eventRow("e1", T0)], quarantined: [], unknownTypes: [] });
        const matches = [ruleMatch(sourceId, "e1", T0)];
        await assert.rejects(
          ctx.dialect.write(async (trx) => {
            await applyStateOpsIn(ctx, trx, sourceId, [inc("c", 1)], T0);
            const sourceNum = await requireSource(ctx, trx, sourceId);
            const created = await applyMatchesIn(ctx, trx, matches, 1_000, { fromHistory: false, sourceNum });
            assert.equal(created.length, 1);
            throw new Error("the rest of the page failed");
          }),
          /the rest of the page failed/,
        );
        assert.deepEqual(await store.listAlerts(), []);
        assert.deepEqual(await store.listMatches({ sinceSecs: 0, untilSecs: T0 + 1 }), []);
        assert.deepEqual(await store.loadRuleState(sourceId, ["R"], T0), []);
        assert.deepEqual(await store.listUnroutedOutbox(10), []);
        // Applied for real, once.
        const created = await ctx.dialect.write(async (trx) =>
          applyMatchesIn(ctx, trx, [...matches, ...matches], 1_000, {
            fromHistory: false,
            sourceNum: await requireSource(ctx, trx, sourceId),
          }),
        );
        assert.equal(created.length, 1);
        assert.deepEqual(await store.getAlert(created[0]!).then((a) => a?.matchCount), 1);
        assert.deepEqual(await store.listUnroutedOutbox(10).then((o) => o.map((e) => e.kind)), ["created"]);
      } finally {
        await close();
      }
    });
  });
}
