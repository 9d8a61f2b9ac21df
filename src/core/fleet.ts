// The workers of a fleet (several `vigil start` processes on one PostgreSQL database) and the leases by which
// each item of work (a source's polling, a backfill slice, a once-per-cluster job) has one owner at a time.
// See docs/deploy.md.

/** Who a worker is: chosen by the process at start (src/fleet/), unique for the process's life. */
export interface WorkerIdentity {
  id: string;
  host: string;
  pid: number;
  version: string;
  /**
   * Random per process: tells a restarted process (or a second one started by mistake) under the same id apart
   * from the live one, which keeps the id until it stops or goes silent for its lease TTL.
   */
  incarnation: string;
}

export interface WorkerRecord extends WorkerIdentity {
  startedAtMs: number;
  heartbeatAtMs: number;
  /** How long its leases last without a heartbeat: it is live while its last heartbeat is younger than this. */
  leaseTtlMs: number;
  /** Set when the worker stopped cleanly (and released its leases). */
  stoppedAtMs: number | null;
  /** Judged on the database's clock, so the workers' own clocks may disagree. */
  live: boolean;
  /** False while it starts up: live but not yet taking work, so the others keep its share meanwhile. */
  serving: boolean;
  /** Leases it gave up to even out the load since it started. */
  rebalances: number;
  /** The unexpired leases it holds, by name. */
  leases: string[];
}

/**
 * Names the lease a write is made under: the store commits the write only while that worker still holds the lease
 * unexpired (on the database's clock), and the lease cannot change hands until the write's transaction ends. The
 * incarnation names the process: once another process has taken over the worker id (its predecessor silent past
 * the TTL), the predecessor's writes are refused even though the lease still names the id.
 */
export interface LeaseFence {
  lease: string;
  workerId: string;
  incarnation: string;
}

/** The fence of `identity`'s writes under `lease`. */
export function fenceOf(identity: Pick<WorkerIdentity, "id" | "incarnation">, lease: string): LeaseFence {
  return { lease, workerId: identity.id, incarnation: identity.incarnation };
}

export interface LeaseRecord {
  name: string;
  workerId: string;
  acquiredAtMs: number;
  expiresAtMs: number;
  /**
   * Counts the owners the lease has had: a new owner takes it with generation + 1, the same owner renewing it
   * keeps the number. Two holders of one generation cannot exist.
   */
  generation: number;
}
