// One worker's side of a fleet: several `vigil start` processes on one PostgreSQL database sharing the work by
// leases (core/fleet.ts, storage/store/fleet.ts). Every heartbeat (a third of the lease TTL) it
// - renews its leases (store.heartbeatWorker) and notices the ones it no longer holds;
// - reads the live workers, computes its share of the items (sources) with assignment.ts (every worker computes
//   the same split), stops and releases what it should not own (a rebalance), and claims what it should;
// - runs, for each item it owns, the work it was given, with an AbortSignal that fires when the lease is lost,
//   released, or not renewed in time.
//
// "In time" is judged locally: a lease is trusted until the start of the call that last renewed it, plus the TTL,
// minus a margin, on this process's monotonic clock. The database set the expiry at least as late as that call's
// start, so the work stops before the lease can expire and another worker take it, whatever the wall clocks say.
// That is timing; what makes it a guarantee is the fence: pages are written under the lease (PageWrite.fence),
// and the store refuses a page whose writer no longer holds it, so a worker frozen past its deadline (a paused
// VM, a starved process) at worst repeats an API request, never a write.
// When the database is unreachable, heartbeats are retried with backoff; owned work stops at its deadline, and
// resumes (or moves to another worker) once the database answers again. Page writes are transactions: a stop
// never half-applies one.

import { setTimeout as sleep } from "node:timers/promises";
import type { VigilEnv } from "../config/env.ts";
import { errorMessage } from "../core/errors.ts";
import { fenceOf, type LeaseFence, type WorkerIdentity } from "../core/fleet.ts";
import type { Logger } from "../logging/logger.ts";
import type { FleetStore } from "../storage/ports.ts";
import { assignItems } from "./assignment.ts";
import { workerIdentity } from "./identity.ts";

export interface FleetCoordinatorOptions {
  store: FleetStore;
  identity: WorkerIdentity;
  ttlMs: number;
  logger: Logger;
  /** A monotonic clock in ms (default performance.now); tests may drive it. */
  monotonicMs?: () => number;
  /** This machine's wall clock in ms (default Date.now), compared with the database's at every heartbeat. */
  wallMs?: () => number;
}

/** How far this machine's clock may be from the database's before the coordinator warns. */
export const CLOCK_SKEW_WARN_MS = 2_000;

/**
 * How far this machine's clock is ahead of the database's (negative: behind), from a heartbeat the database
 * stamped at `databaseMs` while this machine's clock read between `wallBeforeMs` and `wallAfterMs`; 0 when the two
 * agree within `toleranceMs` (the round trip widens what is known). Leases are judged on the database's clock,
 * but delivery retry times and source checkpoints on the worker's: a skewed clock moves them.
 */
export function clockSkewMs(
  databaseMs: number,
  wallBeforeMs: number,
  wallAfterMs: number,
  toleranceMs = CLOCK_SKEW_WARN_MS,
): number {
  const least = wallBeforeMs - databaseMs;
  const most = wallAfterMs - databaseMs;
  if (least > toleranceMs) return least;
  if (most < -toleranceMs) return most;
  return 0;
}

/** What the coordinator shares out: the items (lease names), read every heartbeat, and the work of one item. */
export interface FleetShare {
  items(): Promise<string[]>;
  /** Runs until `signal` fires (or ends on its own, e.g. a source was disabled); must not throw. */
  work(name: string, signal: AbortSignal): Promise<void>;
}

/** A lease held for one-off work (a backfill slice, a once-per-cluster job). */
export interface HeldLease {
  name: string;
  /** For writes made under the lease (PageWrite.fence). */
  fence: LeaseFence;
  /** Fires when the lease is lost or not renewed in time: stop the work. */
  signal: AbortSignal;
  /** Gives the lease back (after the work stopped). */
  release(): Promise<void>;
}

interface Lease {
  kind: "item" | "once";
  controller: AbortController;
  /** Local monotonic time after which the lease is no longer trusted. */
  deadline: number;
  /** When the call that took it returned: a heartbeat that started earlier cannot have seen it. */
  heldSince: number;
  timer: NodeJS.Timeout | undefined;
  /** The running work of an item. */
  work: Promise<void> | undefined;
}

class LeaseLost extends Error {
  constructor(name: string, why: string) {
    super(`Lease ${name} ${why}.`);
    this.name = "LeaseLost";
  }
}

/** First retry after a failed heartbeat; doubled each time, up to the heartbeat interval. */
const FIRST_RETRY_MS = 250;

export class FleetCoordinator {
  readonly identity: WorkerIdentity;
  readonly ttlMs: number;
  /** How often it heartbeats: three chances to renew within one TTL. */
  readonly heartbeatMs: number;
  private readonly marginMs: number;
  private readonly store: FleetStore;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly wallMs: () => number;
  /** The clock skew last warned about (0: none). */
  private skewWarnedMs = 0;
  private readonly leases = new Map<string, Lease>();
  /** One-off claims in flight: a heartbeat may already see them in the database before they are tracked. */
  private readonly claiming = new Set<string>();
  /** Leases handed on whose work is still stopping: given back once it has (renewed by heartbeats meanwhile). */
  private readonly releasing = new Map<string, Promise<void>>();
  /** Work of dropped leases that has not finished stopping: not started again until it has. */
  private readonly stoppingWork = new Map<string, Promise<void>>();
  /** When each recent release finished: a heartbeat that began earlier may still report the lease as held. */
  private readonly releasedAt = new Map<string, number>();
  private share: FleetShare | undefined;
  private rebalances = 0;
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  /** Wakes the heartbeat loop early (a share was given, so it need not wait a whole interval). */
  private wake: AbortController = new AbortController();
  /** One-off leases whose release is in flight. */
  private readonly releasingOnce = new Set<string>();
  /**
   * Whether the database took this process's last heartbeat. Until it has, and while it refuses it (another live
   * process has the worker id: worker_id_in_use), this process claims nothing, so it cannot take over work the
   * live one does under the same id (a lease that names the id reads as its own).
   */
  #accepted = false;

  constructor(options: FleetCoordinatorOptions) {
    this.store = options.store;
    this.identity = options.identity;
    this.ttlMs = options.ttlMs;
    this.logger = options.logger;
    this.now = options.monotonicMs ?? (() => performance.now());
    this.wallMs = options.wallMs ?? (() => Date.now());
    this.heartbeatMs = Math.max(1, Math.floor(options.ttlMs / 3));
    // Covers the time work takes to notice the abort and the database's statement running after the call started.
    this.marginMs = Math.max(100, Math.floor(options.ttlMs / 4));
  }

  /** Starts heartbeating (idempotent). Leases are claimed for items only once a share is given. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Gives the items to share and their work; the next heartbeat (now) claims this worker's part. */
  setShare(share: FleetShare): void {
    this.share = share;
    this.wake.abort();
  }

  /** The item leases held and trusted now. */
  ownedItems(): string[] {
    return [...this.leases.entries()]
      .filter(([, l]) => l.kind === "item" && !l.controller.signal.aborted)
      .map(([name]) => name)
      .sort();
  }

  owns(name: string): boolean {
    const lease = this.leases.get(name);
    return lease !== undefined && !lease.controller.signal.aborted;
  }

  /** The signal of an owned lease (fires when it is lost); undefined when not held. */
  signalFor(name: string): AbortSignal | undefined {
    return this.owns(name) ? this.leases.get(name)?.controller.signal : undefined;
  }

  /** Whether the database took this process's last heartbeat (see #accepted): until then it claims nothing. */
  accepted(): boolean {
    return this.#accepted;
  }

  /** Rebalances since start (leases given up so another worker could take them). */
  rebalanceCount(): number {
    return this.rebalances;
  }

  /**
   * Takes a lease for one-off work if it is free (or expired); null when another worker holds it. Renewed by the
   * heartbeats until released.
   */
  async claimOnce(name: string): Promise<HeldLease | null> {
    if (!this.#accepted) return null;
    // Also not while an earlier claim of it is still being released: that release would delete the new claim.
    if (this.leases.has(name) || this.claiming.has(name) || this.releasingOnce.has(name)) return null;
    const started = this.now();
    this.claiming.add(name);
    let lease: Lease;
    try {
      const [taken] = await this.store.claimLeases(this.identity.id, [name], this.ttlMs, this.identity.incarnation);
      if (taken !== name) return null;
      lease = this.hold(name, "once", started);
    } finally {
      this.claiming.delete(name);
    }
    let released = false;
    return {
      name,
      fence: fenceOf(this.identity, name),
      signal: lease.controller.signal,
      release: async () => {
        if (released) return;
        released = true;
        this.drop(name, lease, "was released");
        this.releasingOnce.add(name);
        try {
          await this.store.releaseLeases(this.identity.id, [name], this.identity.incarnation);
          this.releasedAt.set(name, this.now());
        } catch (err) {
          // Never fails the work it ends: the lease still names this worker, which no longer tracks it, so the next
          // heartbeat gives it back (or it expires on its own).
          this.logger.warn({ lease: name }, `Releasing ${name} failed (given back later): ${errorMessage(err)}`);
        } finally {
          this.releasingOnce.delete(name);
        }
      },
    };
  }

  /**
   * Runs `fn` while holding a cluster-wide lease: waits (polling each heartbeat interval) until it is free, so
   * workers starting together take turns. Rejects when `signal` fires first.
   */
  async withLease<T>(name: string, fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (;;) {
      signal?.throwIfAborted();
      const held = await this.claimOnce(name);
      if (held) {
        try {
          return await fn(held.signal);
        } finally {
          await held.release();
        }
      }
      await sleep(this.heartbeatMs, undefined, signal ? { signal } : {});
    }
  }

  /** A clean stop: stops the work, waits for it, releases every lease and marks the worker stopped. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake.abort();
    await this.running;
    await Promise.allSettled(this.releasing.values());
    const works: Array<Promise<void> | undefined> = [];
    for (const [name, lease] of [...this.leases]) {
      works.push(lease.work);
      this.drop(name, lease, "was released (the worker stops)");
    }
    await Promise.allSettled(works);
    // A process refused the id never had it: leaving would end the live process's leases under that id.
    if (!this.#accepted) return;
    try {
      await this.store.leaveFleet(this.identity.id, this.identity.incarnation);
    } catch (err) {
      // Its leases then expire on their own after the TTL.
      this.logger.warn(`Leaving the fleet failed (its leases expire in ${this.ttlMs} ms): ${errorMessage(err)}`);
    }
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      const started = this.now();
      try {
        await this.tick();
        if (failures > 0) this.logger.info("The fleet database answers again; heartbeats resumed.");
        failures = 0;
      } catch (err) {
        failures++;
        if (failures === 1) {
          this.logger.warn(
            { worker: this.identity.id },
            `Fleet heartbeat failed (retrying; owned work stops if its leases cannot be renewed in time): ${errorMessage(err)}`,
          );
        }
      }
      const delay =
        failures > 0
          ? Math.min(this.heartbeatMs, FIRST_RETRY_MS * 2 ** (failures - 1))
          : this.heartbeatMs - (this.now() - started);
      if (this.wake.signal.aborted) {
        // Woken during the tick (a share was given): go again now.
        this.wake = new AbortController();
        if (failures === 0) continue;
      }
      try {
        await sleep(Math.max(0, delay), undefined, {
          signal: AbortSignal.any([this.stopping.signal, this.wake.signal]),
        });
      } catch {
        // woken or stopping: the loop condition decides
      }
    }
  }

  /**
   * Warns once when this machine's clock drifts from the database's, again if the drift doubles or changes side,
   * and once when it is back: within half the warning's tolerance, so a drift near it does not warn at every beat.
   */
  private checkClock(heartbeatAtMs: number, wallBefore: number): void {
    const warned = this.skewWarnedMs;
    const tolerance = warned === 0 ? CLOCK_SKEW_WARN_MS : CLOCK_SKEW_WARN_MS / 2;
    const skew = clockSkewMs(heartbeatAtMs, wallBefore, this.wallMs(), tolerance);
    const worse = warned === 0 || Math.sign(skew) !== Math.sign(warned) || Math.abs(skew) >= 2 * Math.abs(warned);
    if (skew !== 0 && worse) {
      this.logger.warn(
        { worker: this.identity.id, clockSkewMs: skew },
        `This machine's clock is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? "ahead of" : "behind"} the ` +
          "database's. Leases follow the database's clock, but delivery retries and source checkpoints follow this " +
          "one: keep NTP on.",
      );
      this.skewWarnedMs = skew;
    } else if (skew === 0 && warned !== 0) {
      this.logger.info({ worker: this.identity.id }, "This machine's clock agrees with the database's again.");
      this.skewWarnedMs = 0;
    }
  }

  /** One heartbeat: renew, notice losses, rebalance, claim. */
  private async tick(): Promise<void> {
    const me = this.identity.id;
    const beat = this.now();
    // Not serving until it has a share: while it starts up, the others keep its part of the work.
    const serving = this.share !== undefined;
    let answer: string[];
    const wallBefore = this.wallMs();
    try {
      answer = await this.store.heartbeatWorker(this.identity, this.ttlMs, this.rebalances, serving);
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === "worker_id_in_use") this.#accepted = false;
      throw err;
    }
    this.#accepted = true;
    const held = new Set(answer);
    for (const [name, at] of this.releasedAt) {
      // Released after this heartbeat began: its answer may predate the release.
      if (at >= beat) held.delete(name);
      else this.releasedAt.delete(name);
    }
    for (const [name, lease] of [...this.leases]) {
      // A lease taken after this heartbeat began is renewed by the next one.
      if (lease.heldSince > beat) continue;
      if (held.has(name)) this.renew(name, lease, beat);
      else this.drop(name, lease, "was taken by another worker");
    }
    const share = this.share;
    if (!share || this.stopping.signal.aborted) {
      const strays = [...held].filter((n) => !this.tracked(n));
      if (strays.length > 0) await this.store.releaseLeases(me, strays, this.identity.incarnation);
      return;
    }
    const workers = await this.store.listWorkers();
    const stamped = workers.find((w) => w.id === me && w.incarnation === this.identity.incarnation);
    if (stamped) this.checkClock(stamped.heartbeatAtMs, wallBefore);
    const live = workers.filter((w) => w.live && w.serving).map((w) => w.id);
    const items = await share.items();
    const present = new Set(items);
    const mine = new Set(assignItems(items, [...live, me]).get(me));

    const release: string[] = [];
    // Leases the database still gives this worker but it no longer tracks: after an outage (the local deadline
    // passed, nobody took them since) or from a predecessor with the same VIGIL_WORKER_ID. Kept if they are its
    // share, else given back.
    for (const name of held) {
      if (this.tracked(name)) continue;
      if (mine.has(name)) this.startItem(name, this.hold(name, "item", beat), share);
      else release.push(name);
    }
    for (const [name, lease] of [...this.leases]) {
      if (lease.kind !== "item") continue;
      if (!mine.has(name)) {
        this.drop(name, lease, present.has(name) ? "was handed to another worker" : "is no longer needed");
        if (present.has(name)) this.rebalances++;
        this.releaseWhenStopped(name, lease.work);
      } else if (lease.work === undefined) {
        // Its work ended on its own (e.g. the source was disabled, then enabled again): run it again.
        this.startItem(name, lease, share);
      }
    }
    if (release.length > 0) await this.release(release);

    const wanted = [...mine].filter((n) => !this.tracked(n));
    if (wanted.length > 0) {
      const claimStart = this.now();
      for (const name of await this.store.claimLeases(me, wanted, this.ttlMs, this.identity.incarnation)) {
        this.startItem(name, this.hold(name, "item", claimStart), share);
      }
    }
  }

  /** Held, being claimed, or being given back: not to adopt, claim or release again now. */
  private tracked(name: string): boolean {
    return this.leases.has(name) || this.claiming.has(name) || this.releasing.has(name) || this.stoppingWork.has(name);
  }

  private async release(names: string[]): Promise<void> {
    await this.store.releaseLeases(this.identity.id, names, this.identity.incarnation);
    const at = this.now();
    for (const name of names) this.releasedAt.set(name, at);
  }

  /**
   * Gives a lease back once its work has stopped: the next holder must never overlap with it. Meanwhile the
   * heartbeats keep renewing it, and the heartbeat loop is not held up by a slow stop.
   */
  private releaseWhenStopped(name: string, work: Promise<void> | undefined): void {
    const done = (async () => {
      await work;
      try {
        await this.release([name]);
      } catch (err) {
        // Still named in the database: a later heartbeat reports it, and it is released then.
        this.logger.warn({ lease: name }, `Releasing ${name} failed (retried): ${errorMessage(err)}`);
      } finally {
        this.releasing.delete(name);
      }
    })();
    this.releasing.set(name, done);
  }

  private hold(name: string, kind: Lease["kind"], renewedAt: number): Lease {
    const lease: Lease = {
      kind,
      controller: new AbortController(),
      deadline: 0,
      heldSince: this.now(),
      timer: undefined,
      work: undefined,
    };
    this.leases.set(name, lease);
    this.renew(name, lease, renewedAt);
    return lease;
  }

  private renew(name: string, lease: Lease, renewedAt: number): void {
    lease.deadline = renewedAt + this.ttlMs - this.marginMs;
    clearTimeout(lease.timer);
    lease.timer = setTimeout(() => this.drop(name, lease, "was not renewed in time"), lease.deadline - this.now());
    lease.timer.unref();
  }

  /** Stops trusting a lease: its work is aborted, and it is forgotten (the database may still name this worker). */
  private drop(name: string, lease: Lease, why: string): void {
    clearTimeout(lease.timer);
    if (this.leases.get(name) === lease) this.leases.delete(name);
    if (lease.controller.signal.aborted) return;
    const work = lease.work;
    if (work !== undefined && !this.stoppingWork.has(name)) {
      this.stoppingWork.set(name, work);
      void work.finally(() => {
        if (this.stoppingWork.get(name) === work) this.stoppingWork.delete(name);
      });
    }
    if (lease.kind === "item" && !this.stopping.signal.aborted) {
      this.logger.info({ worker: this.identity.id, lease: name }, `Lease ${name} ${why}; its work stops here.`);
    }
    lease.controller.abort(new LeaseLost(name, why));
  }

  private startItem(name: string, lease: Lease, share: FleetShare): void {
    const work = share.work(name, lease.controller.signal).catch((err: unknown) => {
      this.logger.warn({ lease: name }, `The work of ${name} failed: ${errorMessage(err)}`);
    });
    lease.work = work;
    void work.finally(() => {
      if (lease.work === work && !lease.controller.signal.aborted) lease.work = undefined;
    });
  }
}

/**
 * The coordinator of this process when it runs in a fleet, i.e. on a PostgreSQL database (VIGIL_DATABASE_URL);
 * null on SQLite, where one process owns everything and nothing changes.
 */
export function fleetFor(deps: {
  env: Pick<VigilEnv, "databaseUrl" | "workerId" | "leaseTtlSecs">;
  store: FleetStore;
  logger: Logger;
}): FleetCoordinator | null {
  if (deps.env.databaseUrl === undefined) return null;
  return new FleetCoordinator({
    store: deps.store,
    identity: workerIdentity(deps.env.workerId),
    ttlMs: deps.env.leaseTtlSecs * 1000,
    logger: deps.logger,
  });
}
