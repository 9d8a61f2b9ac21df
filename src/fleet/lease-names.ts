// The names of the leases (core/fleet.ts) by which the workers of a fleet share the work: one place, so the
// scheduler, the backfill and `vigil workers` agree on what a lease name says.

/** Polling one source (and everything that follows a poll: correlations, scheduled queries, health, posture). */
export function sourceLease(sourceId: string): string {
  return `source:${sourceId}`;
}

/** One slice of a backfill job: whoever holds it reads that slice, resuming from its stored progress. */
export function sliceLease(jobId: number, sliceIndex: number): string {
  return `backfill:${jobId}:${sliceIndex}`;
}

/** A job done once per cluster at a time (e.g. loading the config file's destinations). */
export function clusterLease(job: string): string {
  return `cluster:${job}`;
}

const SOURCE_PREFIX = "source:";

/** The source id of a source lease's name; null for any other lease. */
export function sourceOfLease(name: string): string | null {
  return name.startsWith(SOURCE_PREFIX) ? name.slice(SOURCE_PREFIX.length) : null;
}
