// One posture cycle for a source: snapshot the organization, diff it against the previous snapshot, annotate the
// changes with the audit events that explain them, evaluate the OpenAI.Posture rules on the resulting records,
// and store the snapshot with its alerts (the normal alert path, as Store.applyDerivedMatches takes it, in the
// snapshot's transaction).
//
// A standing finding is one alert, not one per snapshot: its match carries an event id made of the object and the
// time the finding began (carried over from snapshot to snapshot while it stands), and the store keeps a match
// once per (source, rule, event id). A finding that clears resolves its open alert; one that comes back later is
// a new episode, hence a new alert. The matches and the resolutions are stored in the snapshot's transaction. A new
// finding's event id names the time of the snapshot that first saw it, so matches stored by a run that died before
// its snapshot would come again under the next run's time, a second match of one finding (the fleet failover test
// saw it); and an alert resolved by such a run would stay resolved while the newest snapshot still has its finding
// standing. Together, a killed run leaves none of them, and the next run stores them once.

import { groupBy } from "../core/collections.ts";
import type { RuleMatch } from "../core/detection.ts";
import { errorMessage } from "../core/errors.ts";
import type { SourceRecord } from "../core/source.ts";
import type { DetectionEngine } from "../detections/engine/engine.ts";
import type { Store } from "../storage/ports.ts";
import type { AdminListClient } from "./admin-client.ts";
import { type CarriedChange, diffSnapshots, type ManifestEntry, type PostureChange } from "./diff.ts";
import { matchAuditEvents } from "./drift.ts";
import type { PostureEndpoint, PostureKind } from "./endpoints.ts";
import { type AuditMatch, buildPostureRecords, kindsJudgedWith, type SnapshotObject } from "./records.ts";
import { type PostureSettings, pruneHorizon } from "./settings.ts";
import { type EndpointStatus, takeSnapshot } from "./snapshot.ts";
import type { PostureFinding, PosturePruneReport, PostureSnapshotRecord } from "./types.ts";

export type AnnotatedChange = PostureChange & { audit?: AuditMatch };

export interface PostureRunReport {
  snapshotId: number;
  objects: number;
  newObjects: number;
  requests: number;
  durationMs: number;
  changes: number | null;
  findings: PostureFinding[];
  createdAlertIds: string[];
  resolvedAlertIds: string[];
  /** Endpoints that could not be read, with the reason (a missing scope is named). */
  failedEndpoints: EndpointStatus[];
  /** What this cycle pruned of older snapshots (settings keepDays / historyDays); null if pruning failed. */
  pruned: PosturePruneReport | null;
  /** Why pruning failed (the snapshot itself is stored; the next cycle prunes again). */
  pruneError: string | null;
}

export interface PostureRunOptions {
  store: Store;
  client: AdminListClient;
  source: SourceRecord;
  engine: DetectionEngine;
  settings: PostureSettings;
  nowMs: () => number;
  signal?: AbortSignal;
  /** The endpoints to read (default: all of POSTURE_ENDPOINTS); the bench compares subsets. */
  endpoints?: readonly PostureEndpoint[];
}

export async function runPostureCycle(options: PostureRunOptions): Promise<PostureRunReport> {
  const { store, source, engine, settings } = options;
  const started = performance.now();
  // The snapshot this one is compared with, read before the API is: a run that another stores a snapshot during
  // is then refused (PostureSnapshotWrite.previousId) instead of following a snapshot newer than its own reads.
  const previous = await store.getPostureSnapshot(source.id);
  const taken = await takeSnapshot({
    client: options.client,
    nowMs: options.nowMs,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.endpoints ? { endpoints: options.endpoints } : {}),
  });
  const nowSecs = Math.floor(taken.takenAtMs / 1000);
  const completeNow = new Set(taken.endpoints.filter((e) => e.ok).map((e) => e.kind));

  const current = new Map(taken.objects.map((o) => [o.hash, o.json]));
  let changes: AnnotatedChange[] | null = null;
  let recheck: Rechecked = { judged: [], carried: [] };
  if (previous) {
    const completeBefore = new Set(previous.endpoints.filter((e) => e.ok).map((e) => e.kind));
    const comparable = new Set([...completeNow].filter((k) => completeBefore.has(k)));
    const objectOf = await objectLookup(store, source.id, previous.manifest, current);
    const raw = diffSnapshots({
      previous: previous.manifest,
      next: taken.objects,
      comparableKinds: comparable,
      objectOf,
    });
    // From the start of the previous reading to the end of this one: a change made while either ran may be in
    // either, and its audit event anywhere in between. The audit log counts as read once it passes the end.
    changes = await matchAuditEvents(store, source.id, raw, {
      fromSecs: Math.floor(previous.takenAtMs / 1000),
      toSecs: Math.ceil(taken.finishedAtMs / 1000),
    });
    recheck = await recheckPending(store, source.id, previous, taken.takenAtMs);
  }

  const objects: SnapshotObject[] = taken.objects.map((o) => ({
    kind: o.kind,
    id: o.id,
    projectId: o.projectId,
    data: JSON.parse(o.json),
  }));
  const records = buildPostureRecords({
    objects,
    completeKinds: completeNow,
    changes: (changes ?? []).filter(hasAudit),
    settings,
    nowSecs,
  });
  // Changes of earlier diffs that could not be judged then (the audit log was behind) are judged now, each under
  // the time of the snapshot whose diff it belongs to.
  const recheckRecords = [...groupBy(recheck.judged, (c) => c.carried.takenAtMs)].flatMap(([sinceMs, judged]) =>
    buildPostureRecords({
      // Only what change records read: the organization's data retention (projects on organization_default are
      // judged through it) and the projects' names.
      objects: objects.filter((o) => o.kind === "data_retention" || o.kind === "project"),
      completeKinds: completeNow,
      changes: judged,
      settings,
      nowSecs,
    })
      .filter((r) => r.record.record_type === "change")
      .map((r) => ({ ...r, sinceDefault: sinceMs })),
  );

  const sinceByFinding = new Map(
    (previous?.findings ?? []).map((f) => [findingKey(f.ruleId, f.kind, f.objectId), f.sinceMs]),
  );
  const batch = [...records.map((r) => ({ ...r, sinceDefault: taken.takenAtMs })), ...recheckRecords];
  const { matches } = await engine.evaluate(
    batch.map((r, i) => ({ sourceId: source.id, eventId: String(i), record: r.record })),
    [],
  );

  const findings: PostureFinding[] = [];
  const alertMatches: RuleMatch[] = [];
  for (const m of matches) {
    const item = batch[Number(m.eventId)];
    if (!item) continue;
    const kind = String(item.record.kind) as PostureFinding["kind"];
    const objectId = String(item.record.object_id);
    const isChange = item.record.record_type === "change";
    const findingKind = isChange ? "change" : kind;
    const sinceMs = m.isError
      ? taken.takenAtMs
      : isChange
        ? item.sinceDefault
        : (sinceByFinding.get(findingKey(m.ruleId, findingKind, objectId)) ?? item.sinceDefault);
    const alertEventId = `posture:${item.key}:${sinceMs}${m.isError ? ":error" : ""}`;
    alertMatches.push({ ...m, eventId: alertEventId, eventTimeSecs: Math.floor(sinceMs / 1000) });
    if (!m.isError) {
      findings.push({
        ruleId: m.ruleId,
        kind: findingKind,
        objectId,
        title: m.title,
        severity: m.severity,
        sinceMs,
        alertEventId,
      });
    }
  }
  const { cleared, unjudged } = endedFindings(previous?.findings ?? [], findings, completeNow);
  // A finding not judged this time (its kind, or a kind its facts read, not read completely) is unknown, not
  // gone: it stays as it was, so that the next snapshot still knows since when it stands (a new start would open
  // a second alert for the same finding, or join the one resolved meanwhile).
  findings.push(...unjudged);
  // The findings' matches and the cleared findings' resolutions are stored with the snapshot, in its transaction
  // (PostureSnapshotWrite.alertMatches, resolveAlerts): see the header.
  const saved = await store.savePostureSnapshot({
    sourceId: source.id,
    takenAtMs: taken.takenAtMs,
    durationMs: Math.round(performance.now() - started),
    requests: taken.requests,
    endpoints: taken.endpoints,
    objects: taken.objects,
    // Those still not judged go on with this snapshot, until the audit log is read past them; those judged now
    // are kept too, for their own snapshot's history (Store.getPostureHistory).
    changes: changes === null ? null : [...changes, ...recheck.carried, ...recheck.judged],
    findings,
    alertMatches,
    resolveAlerts: cleared,
    previousId: previous?.id ?? null,
  });
  // After the save: the snapshot just stored is one of the two newest, which pruning always keeps whole. A
  // failure here does not undo the snapshot: it is reported, and the next cycle prunes the same rows.
  let pruned: PosturePruneReport | null = null;
  let pruneError: string | null = null;
  try {
    pruned = await store.prunePostureSnapshots(source.id, pruneHorizon(settings, taken.takenAtMs));
  } catch (err) {
    if (options.signal?.aborted) throw err;
    pruneError = errorMessage(err);
  }
  return {
    snapshotId: saved.id,
    objects: saved.objectCount,
    newObjects: saved.newObjectCount,
    requests: taken.requests,
    durationMs: saved.durationMs,
    changes: saved.changeCount,
    findings,
    createdAlertIds: saved.createdAlertIds,
    resolvedAlertIds: saved.resolvedAlertIds,
    failedEndpoints: taken.endpoints.filter((e) => !e.ok),
    pruned,
    pruneError,
  };
}

function hasAudit(c: AnnotatedChange): c is PostureChange & { audit: AuditMatch } {
  return c.audit !== undefined;
}

function findingKey(ruleId: string, kind: string, objectId: string): string {
  return `${ruleId}\u0000${kind}\u0000${objectId}`;
}

/** hash → object, reading from the store only the previous objects that differ from the current ones. */
async function objectLookup(
  store: Store,
  sourceId: string,
  previous: readonly ManifestEntry[],
  current: Map<string, string>,
): Promise<(hash: string) => Record<string, unknown>> {
  const missing = previous.filter((e) => !current.has(e.hash)).map((e) => e.hash);
  const stored = missing.length > 0 ? await store.getPostureObjects(sourceId, missing) : new Map<string, string>();
  return (hash) => JSON.parse(current.get(hash) ?? stored.get(hash) ?? "{}");
}

/**
 * How long a change waits for the audit log to be read past it. An outage of the audit log's API or of the
 * source longer than this gives the change up: its drift stays unknown (its history shows it unchecked).
 */
const CARRY_MAX_MS = 7 * 86_400_000;

type CarriedAnnotated = PostureChange & { audit: AuditMatch; carried: CarriedChange };

interface Rechecked {
  /** Judged now: the audit log has been read past them (stored with this snapshot, never judged again). */
  judged: CarriedAnnotated[];
  /** Still behind: kept with this snapshot, to be judged by the next one. */
  carried: CarriedAnnotated[];
}

/**
 * The changes not judged yet (audit log behind) that the previous snapshot holds: its own diff's, and those it
 * carried from before. Each is checked again in the window of the diff it belongs to.
 */
async function recheckPending(
  store: Store,
  sourceId: string,
  previous: PostureSnapshotRecord,
  nowMs: number,
): Promise<Rechecked> {
  const pending = ((previous.changes ?? []) as AnnotatedChange[]).filter((c) => c.audit && !c.audit.checked);
  const out: Rechecked = { judged: [], carried: [] };
  if (pending.length === 0) return out;
  let own: CarriedChange | undefined;
  if (pending.some((c) => c.carried === undefined)) {
    const earlier = await store.listPostureSnapshots(sourceId, 2);
    const before = earlier.find((s) => s.id !== previous.id && s.takenAtMs < previous.takenAtMs);
    own = {
      takenAtMs: previous.takenAtMs,
      fromSecs: Math.floor((before?.takenAtMs ?? previous.takenAtMs) / 1000),
      // The end of the previous reading (its start and duration: the stored snapshot keeps no other end).
      toSecs: Math.ceil((previous.takenAtMs + previous.durationMs) / 1000),
    };
  }
  // By window: each as it was written (JSON read back), so by its values.
  const byWindow = groupBy(pending, (c) => JSON.stringify(windowOf(c, own)));
  for (const changes of byWindow.values()) {
    const window = windowOf(changes[0] as AnnotatedChange, own);
    const rechecked = await matchAuditEvents(store, sourceId, changes, window);
    for (const c of rechecked) {
      const annotated = { ...c, carried: window };
      if (c.audit.checked) out.judged.push(annotated);
      else if (nowMs - window.takenAtMs < CARRY_MAX_MS) out.carried.push(annotated);
    }
  }
  return out;
}

/**
 * The previous snapshot's findings that this one did not find again (drift aside: drift findings are events, not
 * states, and never resolve by themselves), in two: `cleared`, the alerts to resolve, of findings judged now with
 * everything their facts read (judgedNow); and `unjudged`, the findings that could not be judged, unknown rather
 * than cleared. The store resolves those of the cleared alerts still open.
 */
function endedFindings(
  before: readonly PostureFinding[],
  now: readonly PostureFinding[],
  complete: ReadonlySet<PostureKind>,
): { cleared: Array<{ ruleId: string; dedupString: string }>; unjudged: PostureFinding[] } {
  const standing = new Set(now.map((f) => findingKey(f.ruleId, f.kind, f.objectId)));
  const cleared: Array<{ ruleId: string; dedupString: string }> = [];
  const unjudged: PostureFinding[] = [];
  for (const f of before) {
    if (f.kind === "change" || standing.has(findingKey(f.ruleId, f.kind, f.objectId))) continue;
    if (judgedNow(f, complete)) cleared.push({ ruleId: f.ruleId, dedupString: `${f.kind}:${f.objectId}` });
    else unjudged.push(f);
  }
  return { cleared, unjudged };
}

/** Whether this snapshot read completely what a finding is judged with (its kind and what its facts read). */
function judgedNow(f: PostureFinding, complete: ReadonlySet<PostureKind>): boolean {
  return kindsJudgedWith(f.kind as PostureKind | "organization").every((k) => complete.has(k));
}

/** The window a pending change is judged in: its own when carried, else the previous diff's (`own`). */
function windowOf(c: AnnotatedChange, own: CarriedChange | undefined): CarriedChange {
  const w = c.carried ?? (own as CarriedChange);
  return { takenAtMs: w.takenAtMs, fromSecs: w.fromSecs, toSecs: w.toSecs };
}
