// Inventory snapshot records as the store keeps them (see Store.savePostureSnapshot).

import type { RuleMatch } from "../core/detection.ts";
import type { ManifestEntry, PostureChange } from "./diff.ts";
import type { PostureKind } from "./endpoints.ts";
import type { EndpointStatus } from "./snapshot.ts";

/**
 * A posture rule's finding in one snapshot. `sinceMs` is the time of the snapshot where this episode began
 * (carried over while the finding stands): it makes the alert's event id, so a standing finding is one alert.
 */
export interface PostureFinding {
  ruleId: string;
  kind: PostureKind | "organization" | "change";
  objectId: string;
  title: string;
  severity: string;
  sinceMs: number;
  alertEventId: string;
}

export interface PostureSnapshotWrite {
  sourceId: string;
  takenAtMs: number;
  durationMs: number;
  requests: number;
  endpoints: EndpointStatus[];
  objects: Array<ManifestEntry & { json: string }>;
  /** Null for the first snapshot (nothing to compare with). */
  changes: PostureChange[] | null;
  findings: PostureFinding[];
  /**
   * The alert matches of the findings, applied in the snapshot's transaction: a run killed before its snapshot
   * is stored leaves no alert either, so the next run, which gives a new finding the time of its own snapshot,
   * cannot put a second match of it in the alert.
   */
  alertMatches?: RuleMatch[];
  /**
   * The alerts of the findings that cleared (rule and dedup string; those open are resolved by `system:posture`),
   * in the same transaction: a run killed after resolving them but before its snapshot would leave the finding
   * standing in the newest snapshot with its alert resolved, so that a finding bad again at the next run would
   * raise nothing.
   */
  resolveAlerts?: Array<{ ruleId: string; dedupString: string }>;
  /**
   * The id of the snapshot this one was compared with (null: none, the source's first). A source's snapshot
   * is stored once per predecessor: of two runs that compared with the same one (two workers, or
   * `vigil posture` beside `vigil start`), the second is refused whole (`posture_snapshot_conflict`), or each
   * would store a new finding under its own time, two matches of one finding. Only the source's newest may be
   * followed; omitted, it is followed whatever it is. A snapshot is stored later than the one it follows (by a
   * millisecond when the clocks of two workers disagree), so that it is the newest next.
   */
  previousId?: number | null;
}

export interface PostureSnapshotSummary {
  id: number;
  sourceId: string;
  takenAtMs: number;
  durationMs: number;
  requests: number;
  endpoints: EndpointStatus[];
  objectCount: number;
  /** Objects this snapshot stored for the first time (new or changed content). */
  newObjectCount: number;
  changeCount: number | null;
  findingCount: number;
}

/** A snapshot as saved: its record, the alerts its matches created and those it resolved. */
export type SavedPostureSnapshot = PostureSnapshotRecord & { createdAlertIds: string[]; resolvedAlertIds: string[] };

export interface PostureSnapshotRecord extends PostureSnapshotSummary {
  manifest: ManifestEntry[];
  changes: PostureChange[] | null;
  findings: PostureFinding[];
}

export interface PosturePruneReport {
  /** Snapshot rows deleted (older than the history horizon, or older than the full one with no change). */
  snapshotsDeleted: number;
  /** Snapshot rows kept for their diff only (their manifest released). */
  snapshotsThinned: number;
  manifestsDeleted: number;
  objectsDeleted: number;
}

/** One change of an object seen between two snapshots (from the newer snapshot's diff). */
export interface PostureHistoryEntry {
  snapshotId: number;
  takenAtMs: number;
  change: PostureChange["change"];
  fields: string[];
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** Audit events that explain the change (drift's match), when it was judged. */
  auditEventIds: string[] | null;
}

export interface PostureHistory {
  /** When the first kept version of the object was stored (null: never seen, or pruned). */
  firstSeenMs: number | null;
  entries: PostureHistoryEntry[];
}
