// Workers and leases (core/fleet.ts): what lets several `vigil start` processes on one PostgreSQL database share
// the work instead of each doing all of it. The policy (which worker should own what, when to renew, when to let
// go) is in src/fleet/; this is only the ledger, and it guarantees one thing: an unexpired lease has one holder.
//
// Every time is the database's clock (`dialect.clockMs`), read when the statement runs: workers on machines whose
// clocks disagree still agree on whether a lease has expired.

import { sql } from "kysely";
import { VigilError } from "../../core/errors.ts";
import type { LeaseFence, LeaseRecord, WorkerRecord } from "../../core/fleet.ts";
import type { FleetStore } from "../ports.ts";
import { flag } from "./database.ts";
import type { Db, StoreContext } from "./dialect.ts";

/** A worker not heard from for this long is no longer listed, and leases expired this long ago are deleted. */
const FORGET_AFTER_MS = 24 * 3600_000;

/**
 * Inside a write transaction: fails (code `lease_lost`, nothing written) unless the fence's worker holds its lease
 * unexpired. The lease row stays locked until the transaction ends, so a worker claiming the lease meanwhile
 * skips it (claimLeases), and a successor under the worker id waits for it (heartbeatWorker): the write and a new
 * holder never overlap. Fencing the write is what makes one writer per lease hold even when a worker was frozen
 * past its lease.
 *
 * The lock is KEY SHARE, which those two take FOR UPDATE against, and which the worker's own heartbeat does not
 * wait for: renewing the lease changes no key. A page held up by another worker's locks would otherwise hold up
 * its own worker's heartbeat behind it, until the worker lost every lease it had.
 */
export async function holdLeaseIn(ctx: StoreContext, trx: Db, fence: LeaseFence): Promise<void> {
  const held = await ctx.dialect
    .keyShare(
      trx
        .selectFrom("leases")
        .select("name")
        .where("name", "=", fence.lease)
        .where("worker_id", "=", fence.workerId)
        .where("expires_at_ms", ">", ctx.dialect.clockMs),
    )
    .executeTakeFirst();
  // And this process is still the worker: a successor under the id (its heartbeat replaced the incarnation)
  // inherits the lease. Read in a statement of its own, after the lease row is locked: the successor's heartbeat
  // takes the id and renews the lease in one transaction, so if it was holding the row, this statement's fresh
  // snapshot sees its incarnation. (Inside the locking statement the check would read the snapshot from before
  // the wait, and let this write through after the successor took over.)
  // Unlocked: a page must not hold the worker row, or the worker's own heartbeat would wait for its pages.
  const same =
    held !== undefined && (await stillTheWorker(ctx, trx, fence.workerId, fence.incarnation, { lock: false }));
  if (!same) {
    throw new VigilError(
      "lease_lost",
      `Worker ${fence.workerId} (this process) no longer holds lease ${fence.lease}; nothing was written.`,
      {
        retryable: true,
      },
    );
  }
}

/**
 * Whether the worker's row still names this process (its incarnation); true when no incarnation is given. By
 * default it locks the row against a successor's heartbeat until the transaction ends, in the heartbeat's order
 * (the worker row, then its leases), so the two cannot deadlock.
 */
async function stillTheWorker(
  ctx: StoreContext,
  trx: Db,
  workerId: string,
  incarnation: string | undefined,
  options: { lock: boolean } = { lock: true },
): Promise<boolean> {
  if (incarnation === undefined) return true;
  const query = trx
    .selectFrom("workers")
    .select("id")
    .where("id", "=", workerId)
    .where("incarnation", "=", incarnation);
  const row = await (options.lock ? ctx.dialect.forUpdate(query) : query).executeTakeFirst();
  return row !== undefined;
}

export function fleetOps(ctx: StoreContext): FleetStore {
  const { dialect } = ctx;
  const now = dialect.clockMs;
  return {
    async heartbeatWorker(worker, leaseTtlMs, rebalances, serving = true) {
      return dialect.write(async (trx) => {
        const status = { heartbeat_at_ms: now, lease_ttl_ms: leaseTtlMs, rebalances, serving: serving ? 1 : 0 };
        const previous = await trx
          .selectFrom("workers")
          .select("incarnation")
          .where("id", "=", worker.id)
          .executeTakeFirst();
        const registered = await trx
          .insertInto("workers")
          .values({
            id: worker.id,
            host: worker.host,
            pid: worker.pid,
            version: worker.version,
            incarnation: worker.incarnation,
            started_at_ms: now,
            stopped_at_ms: null,
            ...status,
          })
          .onConflict((oc) =>
            oc
              .column("id")
              .doUpdateSet((eb) => ({
                ...status,
                stopped_at_ms: null,
                // A new process under the id (a restart) replaces the record of the one before it.
                host: eb.ref("excluded.host"),
                pid: eb.ref("excluded.pid"),
                version: eb.ref("excluded.version"),
                incarnation: eb.ref("excluded.incarnation"),
                started_at_ms: eb
                  .case()
                  .when("workers.incarnation", "=", eb.ref("excluded.incarnation"))
                  .then(eb.ref("workers.started_at_ms"))
                  .else(eb.ref("excluded.started_at_ms"))
                  .end(),
              }))
              // Only the same process, or one after a predecessor that stopped or went silent: two live
              // processes under one id would otherwise share its leases and both poll every source.
              .where((eb) =>
                eb.or([
                  eb("workers.incarnation", "=", eb.ref("excluded.incarnation")),
                  eb("workers.stopped_at_ms", "is not", null),
                  eb(sql<number>`workers.heartbeat_at_ms + workers.lease_ttl_ms`, "<=", now),
                ]),
              ),
          )
          .returning("id")
          .execute();
        if (registered.length === 0) {
          const other = await trx
            .selectFrom("workers")
            .select(["host", "pid"])
            .where("id", "=", worker.id)
            .executeTakeFirst();
          throw new VigilError(
            "worker_id_in_use",
            `Worker id ${worker.id} is in use by a live process (${other?.host ?? "?"}, pid ${other?.pid ?? "?"}); ` +
              "give each worker its own VIGIL_WORKER_ID. This process waits until that one stops or goes silent.",
            { retryable: true },
          );
        }
        // A new process under the id takes over its predecessor's leases: it first waits for the predecessor's
        // pages in flight, which hold their lease rows (holdLeaseIn) and passed their check before this
        // transaction commits. The same process renews without waiting for its own pages.
        if (previous?.incarnation !== worker.incarnation) {
          // In name order, the order a transaction of several pages takes its leases in (writePagesIn).
          await dialect
            .forUpdate(trx.selectFrom("leases").select("name").where("worker_id", "=", worker.id).orderBy("name"))
            .execute();
        }
        // Its own leases only, expired or not: a lease still naming this worker was taken by nobody since.
        const held = await trx
          .updateTable("leases")
          .set({ expires_at_ms: sql<number>`${now} + ${leaseTtlMs}` })
          .where("worker_id", "=", worker.id)
          .returning("name")
          .execute();
        // Housekeeping rides on the heartbeat: the fleet needs no job of its own for it.
        await trx
          .deleteFrom("workers")
          .where("heartbeat_at_ms", "<", sql<number>`${now} - ${FORGET_AFTER_MS}`)
          .execute();
        await trx.deleteFrom("leases").where("expires_at_ms", "<", sql<number>`${now} - ${FORGET_AFTER_MS}`).execute();
        return held.map((r) => r.name).sort();
      });
    },

    async claimLeases(workerId, names, ttlMs, incarnation) {
      // One name once: PostgreSQL refuses a statement that would update one row twice.
      const unique = [...new Set(names)];
      if (unique.length === 0) return [];
      return dialect.write(async (trx) => {
        if (!(await stillTheWorker(ctx, trx, workerId, incarnation))) return [];
        // A lease whose row another transaction holds locked is left alone, not waited for: a page of its holder's
        // holds it to its commit (holdLeaseIn), and a holder frozen mid-page would hold it until the server ends
        // the transaction (pool.ts): a claim that waited would stop this worker's heartbeats behind it, and its
        // own leases would pass to the next worker, which would wait the same way. Taken again once unlocked.
        const existing = await trx.selectFrom("leases").select("name").where("name", "in", unique).execute();
        const lockable = await dialect
          .skipLocked(trx.selectFrom("leases").select("name").where("name", "in", unique))
          .execute();
        const locked = new Set(existing.map((r) => r.name));
        for (const r of lockable) locked.delete(r.name);
        const claimable = unique.filter((name) => !locked.has(name));
        if (claimable.length === 0) return [];
        // The conflict clause runs under the row's lock, taken above (PostgreSQL re-checks its WHERE on the newest
        // row version), so of two workers claiming one expired lease at once exactly one updates it; a lease
        // another inserts meanwhile is waited for, as briefly as that claim.
        const rows = await trx
          .insertInto("leases")
          .values(
            claimable.map((name) => ({
              name,
              worker_id: workerId,
              acquired_at_ms: now,
              expires_at_ms: sql<number>`${now} + ${ttlMs}`,
              generation: 1,
            })),
          )
          .onConflict((oc) =>
            oc
              .column("name")
              .doUpdateSet((eb) => {
                const sameHolder = eb("leases.worker_id", "=", eb.ref("excluded.worker_id"));
                return {
                  worker_id: eb.ref("excluded.worker_id"),
                  acquired_at_ms: eb
                    .case()
                    .when(sameHolder)
                    .then(eb.ref("leases.acquired_at_ms"))
                    .else(eb.ref("excluded.acquired_at_ms"))
                    .end(),
                  expires_at_ms: eb.ref("excluded.expires_at_ms"),
                  generation: eb
                    .case()
                    .when(sameHolder)
                    .then(eb.ref("leases.generation"))
                    .else(sql<number>`leases.generation + 1`)
                    .end(),
                };
              })
              .where((eb) =>
                eb.or([
                  eb("leases.worker_id", "=", eb.ref("excluded.worker_id")),
                  eb("leases.expires_at_ms", "<=", eb.ref("excluded.acquired_at_ms")),
                ]),
              ),
          )
          .returning("name")
          .execute();
        return rows.map((r) => r.name).sort();
      });
    },

    async releaseLeases(workerId, names, incarnation) {
      if (names !== undefined && names.length === 0) return;
      await dialect.write(async (trx) => {
        if (!(await stillTheWorker(ctx, trx, workerId, incarnation))) return;
        let q = trx.deleteFrom("leases").where("worker_id", "=", workerId);
        if (names !== undefined) q = q.where("name", "in", [...names]);
        await q.execute();
      });
    },

    async leaveFleet(workerId, incarnation) {
      await dialect.write(async (trx) => {
        if (!(await stillTheWorker(ctx, trx, workerId, incarnation))) return;
        await trx.deleteFrom("leases").where("worker_id", "=", workerId).execute();
        await trx.updateTable("workers").set({ stopped_at_ms: now }).where("id", "=", workerId).execute();
      });
    },

    async listWorkers() {
      const [workers, leases] = await Promise.all([
        dialect.run((db) =>
          db
            .selectFrom("workers")
            .selectAll()
            .select(sql<number>`${now}`.as("now_ms"))
            .where("heartbeat_at_ms", ">=", sql<number>`${now} - ${FORGET_AFTER_MS}`)
            .execute(),
        ),
        this.listLeases(),
      ]);
      const byWorker = new Map<string, string[]>();
      for (const l of leases) byWorker.set(l.workerId, [...(byWorker.get(l.workerId) ?? []), l.name]);
      const records: WorkerRecord[] = workers.map((w) => ({
        id: w.id,
        host: w.host,
        pid: Number(w.pid),
        version: w.version,
        incarnation: w.incarnation,
        startedAtMs: Number(w.started_at_ms),
        heartbeatAtMs: Number(w.heartbeat_at_ms),
        leaseTtlMs: Number(w.lease_ttl_ms),
        stoppedAtMs: w.stopped_at_ms === null ? null : Number(w.stopped_at_ms),
        live: w.stopped_at_ms === null && Number(w.heartbeat_at_ms) + Number(w.lease_ttl_ms) > Number(w.now_ms),
        serving: flag(w.serving),
        rebalances: Number(w.rebalances),
        leases: byWorker.get(w.id) ?? [],
      }));
      return records.sort(
        (a, b) => Number(b.live) - Number(a.live) || a.startedAtMs - b.startedAtMs || (a.id < b.id ? -1 : 1),
      );
    },

    async listLeases() {
      const rows = await dialect.run((db) =>
        db.selectFrom("leases").selectAll().where("expires_at_ms", ">", now).orderBy("name").execute(),
      );
      return rows.map(
        (r): LeaseRecord => ({
          name: r.name,
          workerId: r.worker_id,
          acquiredAtMs: Number(r.acquired_at_ms),
          expiresAtMs: Number(r.expires_at_ms),
          generation: Number(r.generation),
        }),
      );
    },
  };
}
