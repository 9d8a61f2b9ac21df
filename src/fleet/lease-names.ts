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
  return name.startsWith(SOURCE_PREFIX) && name.length > SOURCE_PREFIX.length ? name.slice(SOURCE_PREFIX.length) : null;
}

/** What a lease name stands for; a name of another form is `other` (shown, not hidden, by `vigil workers`). */
export function leaseKind(
  name: string,
): { kind: "source"; sourceId: string } | { kind: "backfill" | "cluster" | "other" } {
  const sourceId = sourceOfLease(name);
  if (sourceId !== null) return { kind: "source", sourceId };
  if (name.startsWith("backfill:")) return { kind: "backfill" };
  if (name.startsWith("cluster:")) return { kind: "cluster" };
  return { kind: "other" };
}
