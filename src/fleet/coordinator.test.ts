// The coordinator against the real ledger (the SQLite store: the same FleetStore as PostgreSQL's, one process),
// with short leases. Each item's work records when it runs, so the tests can check that no two workers ever
// run one item at the same time, through joins, outages and clean stops.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { capturingLogger, tempDir } from "../../test/helpers.ts";
import { createLogger } from "../logging/logger.ts";
import type { FleetStore, Store } from "../storage/ports.ts";
import { openSqliteStore } from "../storage/sqlite/sqlite-store.ts";
import { clockSkewMs, FleetCoordinator } from "./coordinator.ts";
import { sourceLease } from "./lease-names.ts";

const TTL_MS = 900;
const ITEMS = Array.from({ length: 10 }, (_, i) => sourceLease(`s${i}`));
const logger = createLogger({ level: "silent" });

/** Who runs which item now, and every overlap seen. */
class Ledger {
  readonly running = new Map<string, Set<string>>();
  overlaps: string[] = [];
  work(worker: string) {
    return async (name: string, signal: AbortSignal): Promise<void> => {
      const set = this.running.get(name) ?? new Set<string>();
      this.running.set(name, set);
      if (set.size > 0) this.overlaps.push(`${name}: ${worker} started while ${[...set].join(",")} ran`);
      set.add(worker);
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      // Stopping takes a moment, as an aborted poll finishing its page would.
      await sleep(20);
      set.delete(worker);
    };
  }
  runners(worker: string): string[] {
    return [...this.running].filter(([, s]) => s.has(worker)).map(([n]) => n);
  }
}

/** A store whose fleet calls fail while `down` is set: the database is unreachable for this worker. */
function flaky(store: Store): FleetStore & { down: boolean } {
  const wrapped = {
    down: false,
    heartbeatWorker: (...a: Parameters<FleetStore["heartbeatWorker"]>) => guard(() => store.heartbeatWorker(...a)),
    claimLeases: (...a: Parameters<FleetStore["claimLeases"]>) => guard(() => store.claimLeases(...a)),
    releaseLeases: (...a: Parameters<FleetStore["releaseLeases"]>) => guard(() => store.releaseLeases(...a)),
    leaveFleet: (...a: Parameters<FleetStore["leaveFleet"]>) => guard(() => store.leaveFleet(...a)),
    listWorkers: () => guard(() => store.listWorkers()),
    listLeases: () => guard(() => store.listLeases()),
  };
  async function guard<T>(fn: () => Promise<T>): Promise<T> {
    if (wrapped.down) throw new Error("connect ECONNREFUSED (simulated)");
    return fn();
  }
  return wrapped;
}

function coordinator(store: FleetStore, id: string, ledger: Ledger, items: () => string[] = () => ITEMS) {
  const c = new FleetCoordinator({
    store,
    identity: { id, host: "test", pid: 1, version: "test", incarnation: `${id}-1` },
    ttlMs: TTL_MS,
    logger,
  });
  c.setShare({ items: async () => items(), work: ledger.work(id) });
  c.start();
  return c;
}

async function until(what: string, check: () => boolean | Promise<boolean>, withinMs = 6_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(25);
  }
}

describe("FleetCoordinator", () => {
  const dir = tempDir("vigil-fleet-");
  let store: Store;
  before(async () => {
    store = await openSqliteStore({ path: join(dir.path, "vigil.db") });
  });
  after(async () => {
    await store.close();
    dir.remove();
  });

  it("shares the items fairly, hands some to a joining worker, takes over a dead one's, never two at once", async () => {
    const ledger = new Ledger();
    const a = coordinator(store, "a", ledger);
    await until("a owns everything", () => a.ownedItems().length === ITEMS.length);
    assert.deepEqual(ledger.runners("a").sort(), [...ITEMS].sort());

    const bStore = flaky(store);
    const b = coordinator(bStore, "b", ledger);
    await until("a and b split the items 5/5", () => a.ownedItems().length === 5 && b.ownedItems().length === 5);
    assert.deepEqual([...a.ownedItems(), ...b.ownedItems()].sort(), [...ITEMS].sort());
    assert.ok(a.rebalanceCount() === 5, `a gave up 5 items (${a.rebalanceCount()})`);
    await until(
      "a's rebalances are recorded with its heartbeat",
      async () => (await store.listWorkers()).find((w) => w.id === "a")?.rebalances === 5,
    );

    // b loses the database (as if partitioned or killed): its work stops at its local deadline, before its
    // leases expire, and a takes the items over once they have.
    const bItems = b.ownedItems();
    const signals = bItems.map((n) => b.signalFor(n) as AbortSignal);
    const cut = Date.now();
    bStore.down = true;
    await until("b's work stopped", () => ledger.runners("b").length === 0, TTL_MS * 2);
    assert.ok(Date.now() - cut < TTL_MS, "b stopped within one TTL");
    assert.ok(signals.every((s) => s.aborted));
    await until("a owns everything again", () => a.ownedItems().length === ITEMS.length, TTL_MS * 4);
    const takeover = Date.now() - cut;
    assert.ok(takeover <= TTL_MS * 2, `taken over in ${takeover} ms (TTL ${TTL_MS} ms)`);

    // b comes back: nothing was lost on its side; it gets its share again from a.
    bStore.down = false;
    await until("b is back with its share", () => b.ownedItems().length === 5 && a.ownedItems().length === 5);

    await Promise.all([a.stop(), b.stop()]);
    assert.deepEqual(await store.listLeases(), [], "a clean stop releases everything");
    assert.ok((await store.listWorkers()).every((w) => !w.live));
    assert.deepEqual(ledger.overlaps, [], "no item ever ran on two workers at once");
  });

  it("warns once when this machine's clock is off the database's, and once when it agrees again", async () => {
    const { logger: capture, lines } = capturingLogger();
    const said = () => lines().map((l) => [l.level, l.msg]);
    let skewMs = 90_000;
    const c = new FleetCoordinator({
      store,
      identity: { id: "skewed", host: "test", pid: 1, version: "test", incarnation: "skewed-1" },
      ttlMs: TTL_MS,
      logger: capture,
      wallMs: () => Date.now() + skewMs,
    });
    c.setShare({ items: async () => [], work: async () => undefined });
    c.start();
    try {
      await until("it warned", () => said().length > 0);
      await sleep(TTL_MS);
      assert.deepEqual(said().length, 1, "once, not at every heartbeat");
      assert.match(said()[0]?.[1] ?? "", /^This machine's clock is 90 s ahead of the database's\..*keep NTP on/);
      // Twice as far: told again.
      skewMs = 200_000;
      await until("it warned again", () => said().length > 1);
      assert.match(said()[1]?.[1] ?? "", /^This machine's clock is 200 s ahead/);
      skewMs = 0;
      await until("it said the clocks agree", () => said().length > 2);
      assert.deepEqual(said()[2], ["info", "This machine's clock agrees with the database's again."]);
    } finally {
      await c.stop();
    }
  });

  it("a second process under a live worker's id claims nothing, not even a free one-off lease", async () => {
    const ledger = new Ledger();
    const live = coordinator(store, "a1", ledger, () => []);
    await until("the live process heartbeats", () => live.accepted());
    const twin = new FleetCoordinator({
      store,
      identity: { id: "a1", host: "other", pid: 2, version: "test", incarnation: "a1-2" },
      ttlMs: TTL_MS,
      logger,
    });
    twin.start();
    try {
      await sleep(TTL_MS);
      assert.equal(twin.accepted(), false);
      assert.equal(await twin.claimOnce("cluster:startup"), null);
      assert.deepEqual(await store.listLeases(), []);
      // The live one still can, and the twin's stop leaves it its lease and its record.
      const held = await live.claimOnce("cluster:startup");
      assert.ok(held);
      await twin.stop();
      assert.deepEqual(
        (await store.listLeases()).map((l) => l.name),
        ["cluster:startup"],
      );
      assert.equal((await store.listWorkers()).find((w) => w.id === "a1")?.live, true);
      await held.release();
    } finally {
      await Promise.all([twin.stop(), live.stop()]);
    }
  });

  it("claimOnce gives a one-off lease to one worker; withLease makes workers take turns", async () => {
    const ledger = new Ledger();
    const a = coordinator(store, "a1", ledger, () => []);
    const b = coordinator(store, "b1", ledger, () => []);
    await until("both heartbeat", () => a.accepted() && b.accepted());
    const first = await a.claimOnce("backfill:1:0");
    assert.ok(first);
    assert.equal(await b.claimOnce("backfill:1:0"), null, "held by a");
    // Renewed by a's heartbeats: still a's after longer than a TTL.
    await sleep(TTL_MS * 1.5);
    assert.equal(first.signal.aborted, false);
    assert.equal(await b.claimOnce("backfill:1:0"), null, "still held by a");
    await first.release();
    assert.ok(first.signal.aborted);
    const second = await b.claimOnce("backfill:1:0");
    assert.ok(second, "free once released");
    await second.release();

    let inside = 0;
    let most = 0;
    const job = async () => {
      inside++;
      most = Math.max(most, inside);
      await sleep(100);
      inside--;
    };
    await Promise.all([a.withLease("cluster:startup", job), b.withLease("cluster:startup", job)]);
    assert.equal(most, 1, "one at a time");
    await Promise.all([a.stop(), b.stop()]);
  });
});

describe("clockSkewMs", () => {
  it("is how far this clock is off the database's, once it is beyond what the round trip can explain", () => {
    // The database stamped 1,000 while this clock read 900..1,100: within the round trip and the tolerance.
    assert.equal(clockSkewMs(1_000, 900, 1_100), 0);
    assert.equal(clockSkewMs(1_000, 3_000, 3_050, 2_000), 0, "at the tolerance: not beyond it");
    assert.equal(clockSkewMs(1_000, 3_001, 3_050, 2_000), 2_001);
    assert.equal(clockSkewMs(10_000, 7_000, 7_900, 2_000), -2_100);
    // A slow round trip widens what is known: 5 s between the reads explains a 3 s difference.
    assert.equal(clockSkewMs(10_000, 7_000, 12_000, 2_000), 0);
  });
});
