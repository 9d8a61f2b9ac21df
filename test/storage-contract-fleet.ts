// The Store contract for workers and leases (issue 14), run against every backend. On PostgreSQL the
// concurrent claims below run on separate pooled connections, so "exactly one holder" is tested for real.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { VigilError } from "../src/core/errors.ts";
import { fenceOf, type WorkerIdentity } from "../src/core/fleet.ts";
import type { Store } from "../src/storage/ports.ts";
import { eventRow, sourceSettings } from "./storage-contract.ts";

function worker(id: string): WorkerIdentity {
  return { id, host: "host-1", pid: 4242, version: "test", incarnation: `${id}-first` };
}

export function runFleetContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract (fleet): ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it("registers a worker on its first heartbeat and lists it live with the leases it holds", async () => {
      assert.deepEqual(await store.heartbeatWorker(worker("w1"), 30_000, 0), []);
      assert.deepEqual(await store.claimLeases("w1", ["source:b", "source:a", "source:a"], 30_000), [
        "source:a",
        "source:b",
      ]);
      assert.deepEqual(await store.heartbeatWorker(worker("w1"), 30_000, 2), ["source:a", "source:b"]);
      const [w] = await store.listWorkers();
      assert.equal(w?.id, "w1");
      assert.equal(w?.host, "host-1");
      assert.equal(w?.pid, 4242);
      assert.equal(w?.live, true);
      assert.equal(w?.rebalances, 2);
      assert.equal(w?.leaseTtlMs, 30_000);
      assert.deepEqual(w?.leases, ["source:a", "source:b"]);
      assert.ok(Math.abs((w?.heartbeatAtMs ?? 0) - Date.now()) < 60_000, "the heartbeat is on the database clock");
    });

    it("refuses a second live process under the same worker id, and lets a restart take the id once the first is gone", async () => {
      // Live for a second: long enough that the second process is refused while it is, on a loaded machine.
      await store.heartbeatWorker(worker("w1"), 1000, 0);
      await store.claimLeases("w1", ["source:a"], 1000);
      const second = { ...worker("w1"), pid: 5151, version: "next", incarnation: "w1-second" };
      await assert.rejects(store.heartbeatWorker(second, 30_000, 0), (err: unknown) => {
        assert.ok(err instanceof VigilError);
        assert.equal(err.code, "worker_id_in_use");
        assert.match(err.message, /host-1, pid 4242/);
        return true;
      });
      assert.equal((await store.listWorkers())[0]?.incarnation, "w1-first", "the live process keeps the id");
      await sleep(1100);
      // The first went silent for its TTL: the restart takes the id, with its own pid and version, and the lease
      // nobody took since (this is how a restarted worker with a fixed id resumes at once).
      assert.deepEqual(await store.heartbeatWorker(second, 30_000, 0), ["source:a"]);
      const [w] = await store.listWorkers();
      assert.equal(w?.pid, 5151);
      assert.equal(w?.version, "next");
      assert.equal(w?.live, true);
      // And the old process, back from a pause, is now the one refused.
      await assert.rejects(store.heartbeatWorker(worker("w1"), 30_000, 0), /in use/);
    });

    it("records whether a worker serves yet (starting up, it takes no share)", async () => {
      await store.heartbeatWorker(worker("w1"), 30_000, 0, false);
      assert.equal((await store.listWorkers())[0]?.serving, false);
      await store.heartbeatWorker(worker("w1"), 30_000, 0);
      assert.equal((await store.listWorkers())[0]?.serving, true);
    });

    it("gives an unexpired lease to one worker; its holder renews it without a new generation", async () => {
      assert.deepEqual(await store.claimLeases("w1", ["job:x"], 30_000), ["job:x"]);
      assert.deepEqual(await store.claimLeases("w2", ["job:x", "job:y"], 30_000), ["job:y"]);
      const first = (await store.listLeases()).find((l) => l.name === "job:x");
      assert.deepEqual(await store.claimLeases("w1", ["job:x"], 60_000), ["job:x"]);
      const renewed = (await store.listLeases()).find((l) => l.name === "job:x");
      assert.equal(renewed?.workerId, "w1");
      assert.equal(renewed?.generation, first?.generation);
      assert.equal(renewed?.acquiredAtMs, first?.acquiredAtMs);
      assert.ok((renewed?.expiresAtMs ?? 0) > (first?.expiresAtMs ?? 0));
    });

    it("lets another worker take an expired lease, with a new generation; the old holder no longer holds it", async () => {
      await store.heartbeatWorker(worker("w1"), 200, 0);
      assert.deepEqual(await store.claimLeases("w1", ["source:s"], 200), ["source:s"]);
      const before = (await store.listLeases())[0];
      await sleep(400);
      assert.equal((await store.listWorkers())[0]?.live, false, "no heartbeat for longer than its TTL: not live");
      assert.deepEqual(await store.listLeases(), [], "an expired lease is not listed");
      assert.deepEqual(await store.claimLeases("w2", ["source:s"], 30_000), ["source:s"]);
      const after = (await store.listLeases())[0];
      assert.equal(after?.workerId, "w2");
      assert.equal(after?.generation, (before?.generation ?? 0) + 1);
      // The old holder comes back: its heartbeat does not return the lease, and it cannot claim it.
      assert.deepEqual(await store.heartbeatWorker(worker("w1"), 30_000, 0), []);
      assert.deepEqual(await store.claimLeases("w1", ["source:s"], 30_000), []);
    });

    it("renews on the heartbeat a lease still naming the worker, even one past its expiry that nobody took", async () => {
      await store.claimLeases("w1", ["source:s"], 100);
      await sleep(250);
      assert.deepEqual(await store.heartbeatWorker(worker("w1"), 30_000, 0), ["source:s"]);
      assert.deepEqual(await store.claimLeases("w2", ["source:s"], 30_000), []);
    });

    it("gives each of many leases claimed by several workers at once exactly one holder", async () => {
      const names = Array.from({ length: 40 }, (_, i) => `source:${i}`);
      const workers = ["w1", "w2", "w3"];
      const claims = await Promise.all(
        Array.from({ length: 12 }, (_, i) => store.claimLeases(workers[i % 3] as string, names, 30_000)),
      );
      const holders = new Map<string, Set<string>>();
      claims.forEach((claimed, i) => {
        for (const n of claimed) holders.set(n, (holders.get(n) ?? new Set()).add(workers[i % 3] as string));
      });
      assert.equal(holders.size, names.length, "every lease has been taken");
      for (const [n, who] of holders) assert.equal(who.size, 1, `${n} was given to ${[...who].join(" and ")}`);
      const leases = await store.listLeases();
      assert.equal(leases.length, names.length);
      for (const l of leases) assert.deepEqual([...(holders.get(l.name) ?? [])], [l.workerId]);
    });

    it("frees released leases at once, and a clean leave releases all and stops the worker", async () => {
      await store.heartbeatWorker(worker("w1"), 30_000, 0);
      await store.claimLeases("w1", ["a", "b", "c"], 30_000);
      await store.releaseLeases("w2", ["a"]);
      assert.deepEqual(await store.claimLeases("w2", ["a"], 30_000), [], "only the holder releases");
      await store.releaseLeases("w1", ["a"]);
      assert.deepEqual(await store.claimLeases("w2", ["a"], 30_000), ["a"]);
      await store.releaseLeases("w1", []);
      assert.deepEqual((await store.listWorkers())[0]?.leases, ["b", "c"]);
      await store.leaveFleet("w1");
      const [w] = await store.listWorkers();
      assert.equal(w?.live, false);
      assert.ok(w?.stoppedAtMs !== null);
      assert.deepEqual(w?.leases, []);
      assert.deepEqual(await store.claimLeases("w2", ["b", "c"], 30_000), ["b", "c"]);
      // A worker that starts again under the same id is live again.
      await store.heartbeatWorker(worker("w1"), 30_000, 0);
      assert.equal((await store.listWorkers()).find((x) => x.id === "w1")?.live, true);
    });

    it("writes a fenced page only while its worker holds the lease; otherwise nothing, with lease_lost", async () => {
      const source = await store.createSource(sourceSettings("fenced"), { ciphertext: "v1:unused" });
      const lease = `source:${source.id}`;
      const page = (id: string, workerId: string) => ({
        sourceId: source.id,
        events: [eventRow(id, 1_700_000_000)],
        quarantined: [],
        unknownTypes: [],
        streamUpdate: { stream: "main" as const, checkpointSecs: 1_700_000_100 },
        fence: fenceOf(worker(workerId), lease),
      });
      const lost = (err: unknown) => (err as { code?: unknown }).code === "lease_lost";
      await store.heartbeatWorker(worker("w1"), 30_000, 0);
      await store.heartbeatWorker(worker("w2"), 30_000, 0);
      await assert.rejects(store.applyPage(page("e0", "w1")), lost, "no lease at all");
      // A second's lease: the page right after the claim must find it held, on a loaded machine too.
      assert.deepEqual(await store.claimLeases("w1", [lease], 1000), [lease]);
      assert.deepEqual((await store.applyPage(page("e1", "w1"))).insertedIds, ["e1"]);
      await assert.rejects(store.applyPage(page("e2", "w2")), lost, "another worker's lease");
      await sleep(1100);
      await assert.rejects(store.applyPage(page("e3", "w1")), lost, "its own lease, expired");
      assert.deepEqual(await store.claimLeases("w2", [lease], 30_000), [lease]);
      await assert.rejects(store.applyPage(page("e4", "w1")), lost, "taken over");
      assert.deepEqual((await store.applyPage(page("e5", "w2"))).insertedIds, ["e5"]);
      assert.deepEqual((await store.listEventIds(source.id)).sort(), ["e1", "e5"], "the refused pages wrote nothing");
      assert.equal((await store.getStreamState(source.id, "main")).checkpointSecs, 1_700_000_100);
    });

    it("refuses the pages of a process whose worker id a successor took over, though the lease names the id", async () => {
      const source = await store.createSource(sourceSettings("succeeded"), { ciphertext: "v1:unused" });
      const lease = `source:${source.id}`;
      const first = worker("w1");
      const second = { ...first, pid: 5151, incarnation: "w1-second" };
      const page = (id: string, checkpointSecs: number, process: WorkerIdentity) => ({
        sourceId: source.id,
        events: [eventRow(id, 1_700_000_000)],
        quarantined: [],
        unknownTypes: [],
        streamUpdate: { stream: "main" as const, checkpointSecs },
        fence: fenceOf(process, lease),
      });
      const lost = (err: unknown) => (err as { code?: unknown }).code === "lease_lost";
      await store.heartbeatWorker(first, 300, 0);
      assert.deepEqual(await store.claimLeases("w1", [lease], 30_000), [lease]);
      assert.deepEqual((await store.applyPage(page("e1", 1_700_000_200, first))).insertedIds, ["e1"]);
      // The first process freezes past its TTL; a second one starts under the same id and inherits the lease.
      await sleep(500);
      assert.deepEqual(await store.heartbeatWorker(second, 30_000, 0), [lease]);
      assert.deepEqual((await store.applyPage(page("e2", 1_700_000_300, second))).insertedIds, ["e2"]);
      // The first wakes up with a page in flight: refused, and the checkpoint stays where the second left it.
      await assert.rejects(store.applyPage(page("e3", 1_700_000_250, first)), lost);
      assert.deepEqual((await store.listEventIds(source.id)).sort(), ["e1", "e2"]);
      assert.equal((await store.getStreamState(source.id, "main")).checkpointSecs, 1_700_000_300);
    });

    it("lets a process whose worker id a successor took neither claim, give back nor stop the successor's", async () => {
      const first = worker("w9");
      const second = { ...first, pid: 5252, incarnation: "w9-second" };
      await store.heartbeatWorker(first, 300, 0);
      assert.deepEqual(await store.claimLeases("w9", ["a"], 30_000, first.incarnation), ["a"]);
      await sleep(500);
      assert.deepEqual(await store.heartbeatWorker(second, 30_000, 0), ["a"]);
      // The first one wakes up: whatever it does is refused, quietly (its next heartbeat is told why).
      assert.deepEqual(await store.claimLeases("w9", ["b"], 30_000, first.incarnation), []);
      await store.releaseLeases("w9", ["a"], first.incarnation);
      await store.leaveFleet("w9", first.incarnation);
      const held = async () => (await store.listLeases()).filter((l) => l.workerId === "w9").map((l) => l.name);
      assert.deepEqual(await held(), ["a"]);
      assert.equal((await store.listWorkers()).find((w) => w.id === "w9")?.live, true, "the successor still runs");
      // The successor's own calls go through.
      assert.deepEqual(await store.claimLeases("w9", ["b"], 30_000, second.incarnation), ["b"]);
      await store.releaseLeases("w9", ["a"], second.incarnation);
      assert.deepEqual(await held(), ["b"]);
      await store.leaveFleet("w9", second.incarnation);
      assert.deepEqual(await held(), []);
    });

    it("writes pages under several leases in one transaction only while every lease is held", async () => {
      const a = await store.createSource(sourceSettings("fenced-a"), { ciphertext: "v1:unused" });
      const b = await store.createSource(sourceSettings("fenced-b"), { ciphertext: "v1:unused" });
      const page = (sourceId: string, id: string, workerId: string) => ({
        sourceId,
        events: [eventRow(id, 1_700_000_000)],
        quarantined: [],
        unknownTypes: [],
        streamUpdate: { stream: "main" as const, checkpointSecs: 1_700_000_100 },
        fence: fenceOf(worker(workerId), `source:${sourceId}`),
      });
      const lost = (err: unknown) => (err as { code?: unknown }).code === "lease_lost";
      await store.heartbeatWorker(worker("w1"), 30_000, 0);
      assert.equal((await store.claimLeases("w1", [`source:${a.id}`, `source:${b.id}`], 30_000)).length, 2);
      const both = await store.applyPages([page(b.id, "b1", "w1"), page(a.id, "a1", "w1")]);
      assert.deepEqual(
        both.map((r) => r.insertedIds),
        [["b1"], ["a1"]],
      );
      await store.releaseLeases("w1", [`source:${b.id}`]);
      await assert.rejects(store.applyPages([page(a.id, "a2", "w1"), page(b.id, "b2", "w1")]), lost);
      assert.deepEqual(await store.listEventIds(a.id), ["a1"], "a held lease's page is not written with a lost one");
      assert.deepEqual(await store.listEventIds(b.id), ["b1"]);
    });
  });
}
