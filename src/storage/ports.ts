// The storage interface. One store implements it (store/store.ts), over SQLite or PostgreSQL, and one
// contract suite (test/storage-contract*.ts) runs against each database. Every method is async so that a
// networked database fits; SQLite answers synchronously underneath.
//
// Times: `*Secs` are Unix seconds (the API's resolution), `*Ms` are Unix milliseconds.

// The records the store keeps are domain types in src/core, re-exported here for the store's own modules;
// what is defined here is the port and the shapes only storage speaks (page writes, queries, cursors, jobs).

import type { ApiTokenRecord, NewUser, SessionRecord, UserRecord, UserRole } from "../core/access.ts";
import type { AlertActivity, AlertCount, AlertRecord, DetectionSetting } from "../core/alert.ts";
import type {
  ClaimedDelivery,
  DeadLetter,
  DeliveryAttemptRecord,
  DeliveryRecord,
  DeliveryStatus,
  DestinationRecord,
  DestinationUpdate,
  NewDestination,
  OutboxEntry,
} from "../core/destination.ts";
import type {
  AlertStatus,
  AlertStatusChange,
  AlertStatusFilter,
  RuleMatch,
  RuleStateOp,
  Severity,
} from "../core/detection.ts";
import type { EventRow, QuarantineRecord, QuarantineRow, StoredEvent, UnknownTypeRecord } from "../core/event.ts";
import type { LeaseFence, LeaseRecord, WorkerIdentity, WorkerRecord } from "../core/fleet.ts";
import type { LoginBackoff } from "../core/login-backoff.ts";
import type { EncryptedSecret } from "../core/secret.ts";
import type { OwedWindow, PollStatus, SourceRecord, SourceSettings, StreamName, StreamState } from "../core/source.ts";
import type { NewSuppression, SuppressionRecord } from "../core/suppression.ts";
import type { ValidationIssue } from "../core/validation.ts";
import type {
  PostureHistory,
  PosturePruneReport,
  PostureSnapshotRecord,
  PostureSnapshotSummary,
  PostureSnapshotWrite,
  SavedPostureSnapshot,
} from "../posture/types.ts";

export type { ApiTokenRecord, NewUser, SessionRecord, UserRecord, UserRole } from "../core/access.ts";
export { USER_ROLES } from "../core/access.ts";
export type { AlertActivity, AlertCount, AlertRecord, DetectionSetting } from "../core/alert.ts";
export type {
  ClaimedDelivery,
  DeadLetter,
  DeliveryAttemptRecord,
  DeliveryRecord,
  DeliveryStatus,
  DestinationManager,
  DestinationRecord,
  DestinationUpdate,
  NewDestination,
  OutboxEntry,
  OutboxKind,
} from "../core/destination.ts";
export type { EventRow, QuarantineRecord, QuarantineRow, StoredEvent, UnknownTypeRecord } from "../core/event.ts";
export type { LoginBackoff } from "../core/login-backoff.ts";
export type { EncryptedSecret } from "../core/secret.ts";
export type { PollStatus, SourceRecord, SourceSettings, StreamName, StreamState } from "../core/source.ts";
export type { NewSuppression, SuppressionRecord } from "../core/suppression.ts";
export type { ValidationIssue };

/** Progress of one backfill slice, written with the page that produced it. */
export interface SliceProgress {
  jobId: number;
  sliceIndex: number;
  /**
   * How far the slice has come, newest first (the newest effective_at of its last page): for progress only. A
   * resume goes by `cursor`, or reads the slice again whole (src/pipeline/backfill.ts says why).
   */
  upperBoundSecs: number;
  /**
   * The `after` cursor (last_id) of this page, within the slice's own query. Resuming with it reads
   * exactly the pages an uninterrupted run would have read; when the API no longer accepts the cursor,
   * the slice is read again whole (pipeline/resume.ts).
   */
  cursor?: string | null;
  done: boolean;
  eventsRead: number;
}

/**
 * One page of one window, applied in one transaction. Events already stored (same source and id)
 * are ignored. `streamUpdate` moves the stream's state with the page that earns it: the checkpoint only with the
 * page that completes a window, never before; with a page before it, the window as owed from that page's cursor.
 */
export interface PageWrite {
  sourceId: string;
  events: EventRow[];
  quarantined: QuarantineRow[];
  /** Event types outside the known list seen on this page; recorded once per (source, type). */
  unknownTypes: string[];
  /** A field left out is not changed; `owedWindow: null` clears it. */
  streamUpdate?: {
    stream: StreamName;
    checkpointSecs?: number;
    lastSweepSecs?: number;
    owedWindow?: OwedWindow | null;
  };
  sliceProgress?: SliceProgress;
  /**
   * Rule matches and rule errors of this page's events. Applied (to signals, alert windows and alerts)
   * only for events this page inserted: a re-read event never counts twice.
   */
  matches?: RuleMatch[];
  /** Rule state changes, each tied to the event that caused it; applied only for inserted events. */
  stateOps?: Array<{ eventId: string; op: RuleStateOp }>;
  /** A page of history (a backfill slice): the alerts it creates are marked `fromHistory`. */
  fromHistory?: boolean;
  /**
   * The rules a correlation rule enabled for the source takes as member: only their matches are stored pending
   * for correlation (`listCorrelationPending`); the others no correlation would read. Absent: every match is
   * stored pending, so that nothing is lost when the writer does not know.
   */
  correlationMemberRuleIds?: readonly string[];
  /**
   * Fleet mode: the lease the page is written under (the source's, or the backfill slice's). Without it held by
   * that worker, nothing is written and the write fails with code `lease_lost`.
   */
  fence?: LeaseFence;
  /**
   * Quarantined records of this source (their ids) that this page's events may stand for now: a replay of the
   * quarantine after a schema fix (pipeline/quarantine-replay.ts). Each leaves the quarantine in the page's
   * transaction if its event is stored, by this page or before, with the record's very text; one whose id is
   * stored with other content stays (the quarantine keeps what the store does not). So a record is never lost,
   * and never both quarantined and stored.
   */
  releasedQuarantineIds?: readonly number[];
}

export interface RuleStateEntry {
  ruleId: string;
  key: string;
  /** For put. */
  value: string | null;
  /** For increment. */
  counter: number;
  /** For add_to_set, sorted. */
  members: string[];
  expiresAtSecs: number | null;
}

export interface AlertQuery {
  /** true: only alerts raised from history; false: only live ones. */
  fromHistory?: boolean;
  /** One status, or UNRESOLVED: any open one. */
  status?: AlertStatusFilter;
  severity?: Severity;
  ruleId?: string;
  sourceId?: string;
  /** Only alerts assigned to this username; null: only unassigned alerts. */
  assignee?: string | null;
  /** Only alerts created at or after / before this time (Unix ms). */
  sinceMs?: number;
  untilMs?: number;
  /** The order; default newest (created, newest first). */
  sort?: AlertSort;
  limit?: number;
  /** Skip this many alerts of the order (a page of a numbered list). */
  offset?: number;
  /** Only alerts after this one in the newest-first order (the last alert of the previous page); newest only. */
  after?: AlertCursor;
}

/** newest/oldest: by creation; severity: most severe first, then newest; updated: last changed first. */
export const ALERT_SORTS = ["newest", "oldest", "severity", "updated"] as const;
export type AlertSort = (typeof ALERT_SORTS)[number];

/** The filters of an alert list, for its count. */
export type AlertFilter = Omit<AlertQuery, "sort" | "limit" | "offset" | "after">;

/** An alert's place in the newest-first order of `listAlerts`. */
export interface AlertCursor {
  createdAtMs: number;
  windowStartSecs: number;
  id: string;
}

export interface PageWriteResult {
  /** Ids of the events this page stored for the first time, in page order. */
  insertedIds: string[];
  duplicates: number;
  /** Quarantined records not already quarantined before (same source, same raw text). */
  quarantined: number;
  /** Unknown event types seen for the first time on this page. */
  newUnknownTypes: string[];
  /** Alerts this page created (threshold reached), for delivery. */
  createdAlertIds: string[];
  /** Of PageWrite.releasedQuarantineIds, the records still quarantined after the page (stored with other content). */
  quarantineKept?: number;
}

export interface EventQuery {
  sourceId?: string;
  /** Events with these ids (with `sourceId`, a primary-key lookup). An empty list matches nothing. */
  ids?: string[];
  types?: string[];
  actorEmail?: string;
  actorId?: string;
  ip?: string;
  projectId?: string;
  sinceSecs?: number;
  untilSecs?: number;
  /** Case-insensitive substring of the raw record. */
  text?: string;
  limit?: number;
  /**
   * Only events after this one in the newest-first order (the last event of the previous page): a long
   * result is read as a series of short, bounded queries (keyset paging), never as one huge one.
   */
  after?: EventCursor;
}

/** A page of `searchEventDocuments`. */
export interface EventDocuments {
  /** The events' API documents (see event-document.ts), UTF-8 JSON joined by commas: a JSON array's inside. */
  json: Uint8Array;
  count: number;
  /** The cursor of the page's last event, for the next page; null for an empty page. */
  last: EventCursor | null;
}

/** An event's place in the newest-first order of `searchEvents`. */
export interface EventCursor {
  effectiveAtSecs: number;
  id: string;
  sourceId: string;
}

export interface BackfillJob {
  id: number;
  sourceId: string;
  stream: StreamName;
  sinceSecs: number;
  untilSecs: number;
  createdAtMs: number;
  done: boolean;
}

export interface BackfillSlice {
  jobId: number;
  sliceIndex: number;
  /** Inclusive. */
  startSecs: number;
  /** Exclusive. */
  endSecs: number;
  /** Progress, see SliceProgress; starts at endSecs - 1. */
  upperBoundSecs: number;
  /** See SliceProgress.cursor; null until a page of the slice is stored. */
  cursor: string | null;
  done: boolean;
  eventsRead: number;
}

export interface DeliveryAttemptWrite {
  deliveryId: string;
  leaseToken: string;
  atMs: number;
  /** sent: done; retry: pending again at `nextAttemptAtMs`; failed: dead letter, never retried. */
  outcome: "sent" | "retry" | "failed";
  nextAttemptAtMs?: number;
  statusCode?: number;
  /** Already redacted by the destination; redacted again before it is stored. */
  error?: string;
  durationMs: number;
  /**
   * False when the outcome says nothing about the destination (its alert was deleted, so nothing was sent): the
   * destination's health (DestinationRecord.failing) is then left as it is. Default true.
   */
  concernsDestination?: boolean;
}

export interface Store
  extends AccessStore,
    FleetStore,
    UserAdminStore,
    LoginThrottleStore,
    StatsStore,
    SuppressionStore,
    SearchStore {
  /** Creates or upgrades the schema; safe to call on every start. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  createSource(settings: SourceSettings, secret: EncryptedSecret): Promise<SourceRecord>;
  /**
   * Changes the settings given. `check`, if given, judges the source as it would be once changed, read under the
   * row's lock in the change's own transaction: a rule across settings (core/source.ts checkSweepSettings) then
   * holds against changes of the other settings made at the same time. What it throws is thrown, and nothing is
   * written.
   */
  updateSource(
    id: string,
    changes: Partial<SourceSettings>,
    secret?: EncryptedSecret,
    check?: (changed: SourceRecord) => void,
  ): Promise<SourceRecord>;
  getSource(idOrName: string): Promise<SourceRecord | null>;
  listSources(): Promise<SourceRecord[]>;
  /** Removes the source and everything stored for it. */
  removeSource(id: string): Promise<void>;
  getSourceSecret(id: string): Promise<EncryptedSecret | null>;

  getStreamState(sourceId: string, stream: StreamName): Promise<StreamState>;
  getPollStatus(sourceId: string): Promise<PollStatus>;
  recordPollStart(sourceId: string, atMs: number): Promise<void>;
  recordPollResult(
    sourceId: string,
    result: { atMs: number; ok: boolean; error?: string; errorCode?: string },
  ): Promise<void>;

  applyPage(write: PageWrite): Promise<PageWriteResult>;
  /**
   * Several pages in one transaction, so one commit (one fsync) for all: each page is applied as `applyPage`
   * would apply it alone, in order, under its own fence, and all of them commit or none does. Results in order.
   */
  applyPages(writes: readonly PageWrite[]): Promise<PageWriteResult[]>;
  /**
   * Whether concurrent page writers (a backfill's slices) should group their pages with `applyPages`: true where
   * a commit is an fsync and writes go one at a time on the caller's thread (SQLite inline), false where pages
   * queue for a writer thread that is never left idle (SQLite's) or concurrent transactions run in parallel and
   * share WAL flushes already (PostgreSQL).
   */
  readonly groupCommits: boolean;

  searchEvents(query: EventQuery): Promise<StoredEvent[]>;
  /**
   * The same events as `searchEvents`, as the API's JSON text, ready to send: for long answers, the store
   * builds the text where it costs the server least (SQLite: in SQL, on a reader thread).
   */
  searchEventDocuments(query: EventQuery): Promise<EventDocuments>;
  countEvents(query?: EventQuery): Promise<number>;
  /**
   * Free text is indexed after a page commits, in the background (store/text-index.ts); this indexes whatever
   * is still queued now and resolves with how many events it indexed. Searches find queued events either way.
   */
  indexPendingText(): Promise<number>;
  /** All stored event ids of a source (for tests and audits); order unspecified. */
  listEventIds(sourceId: string): Promise<string[]>;
  /**
   * Which of `ids` the source has stored already. A page's records are run through the rules only when new
   * (pipeline/page-writer.ts): a re-read one would count again in the rules' state within the batch.
   */
  storedEventIds(sourceId: string, ids: readonly string[]): Promise<Set<string>>;
  /** Newest first; with `afterId`, the records after that id, oldest first (to walk them all). */
  listQuarantine(query?: { sourceId?: string; limit?: number; afterId?: number }): Promise<QuarantineRecord[]>;
  listUnknownTypes(sourceId?: string): Promise<UnknownTypeRecord[]>;

  /**
   * Creates a job and its slices in one transaction. With `initialCheckpointSecs`, the stream's
   * checkpoint is set to it in the same transaction if it has none yet: a new source hands its
   * history to the backfill and polls live from there. If it has one, the stream's newest job is returned
   * instead of a new one (another worker started the source's history), when there is one.
   */
  createBackfillJob(
    job: { sourceId: string; stream: StreamName; sinceSecs: number; untilSecs: number; initialCheckpointSecs?: number },
    slices: Array<{ startSecs: number; endSecs: number }>,
  ): Promise<BackfillJob>;
  listBackfillJobs(query?: { sourceId?: string; pendingOnly?: boolean }): Promise<BackfillJob[]>;
  getBackfillSlices(jobId: number): Promise<BackfillSlice[]>;
  /** Marks a job done when all its slices are done; returns whether it is. */
  completeBackfillJobIfDone(jobId: number): Promise<boolean>;

  /** The current (unexpired at `nowSecs`) state of these rules for a source, in no particular order. */
  loadRuleState(sourceId: string, ruleIds: string[], nowSecs: number): Promise<RuleStateEntry[]>;

  listDetectionSettings(): Promise<DetectionSetting[]>;
  setDetectionSetting(setting: DetectionSetting): Promise<void>;

  /** Newest first (creation time); `limit` defaults to 100, is capped at 10000, and < 1 is a usage error. */
  listAlerts(query?: AlertQuery): Promise<AlertRecord[]>;
  getAlert(id: string): Promise<AlertRecord | null>;
  /** The matches (and their events) of an alert, oldest first (event time); [] for an unknown id. */
  getAlertMatches(id: string, limit?: number): Promise<Array<{ match: RuleMatch; event: StoredEvent | null }>>;
  /**
   * Records a status change (a row of the alert's history, with who made it: `by`, e.g. `cli:alice`,
   * `user:bob`, `token:ci`, `system:delivery`) when the status differs; unknown id → not_found. A change to
   * RESOLVED enqueues a "resolved" outbox entry. With `expected` (the status the caller saw), an alert now in
   * another status, and not already in `status`, is refused as a `conflict` (core/alert.ts triageConflict).
   */
  setAlertStatus(
    id: string,
    status: AlertStatus,
    atMs: number,
    by?: string | null,
    expected?: AlertStatus,
  ): Promise<AlertRecord>;
  /** The status history of an alert, oldest first (creation → OPEN first); [] for an unknown id. */
  listAlertStatusChanges(alertId: string): Promise<AlertStatusChange[]>;
  /** How many alerts `listAlerts` would list with these filters and no limit. */
  countAlerts(filter?: AlertFilter): Promise<number>;
  /**
   * The same status change for many alerts, in one transaction (all or none): each changed alert gets its
   * history row (and a resolve notification for RESOLVED, as `setAlertStatus`); an alert already in the status
   * is left as is. An unknown id fails the whole change (NotFoundError naming the ids). Returns the alerts in
   * the order of `ids`. `expected` holds the status the caller saw of some of them: one that moved on (as
   * `setAlertStatus`) refuses the whole change as a `conflict`.
   */
  setAlertsStatus(
    ids: string[],
    status: AlertStatus,
    atMs: number,
    by?: string | null,
    expected?: Readonly<Record<string, AlertStatus>>,
  ): Promise<AlertRecord[]>;
  /**
   * Assigns an alert to a console user (by username), or unassigns it (null), recorded in its history with who
   * and when; assigning to the current assignee changes nothing. An unknown user is a UsageError. With
   * `expected` (the assignee the caller saw, null for none), an alert since assigned otherwise is a `conflict`.
   */
  assignAlert(
    id: string,
    assignee: string | null,
    atMs: number,
    by?: string | null,
    expected?: string | null,
  ): Promise<AlertRecord>;
  /** Adds a comment (non-empty, at most ALERT_COMMENT_MAX_CHARS) to an alert's history. */
  commentOnAlert(id: string, body: string, atMs: number, by?: string | null): Promise<AlertActivity>;
  /** An alert's whole history, oldest first: status changes, assignments and comments; [] for an unknown id. */
  listAlertActivity(alertId: string): Promise<AlertActivity[]>;
  /** Who an alert can be assigned to: the console users' names, in byte order. */
  listAssignees(): Promise<string[]>;
  /**
   * Stored matches in a time range (event time, [sinceSecs, untilSecs)), oldest first, for correlation
   * rules. An empty or absent `ruleIds` means every rule. Indexed for a source and its rules (correlation's
   * read); without them the store reads more than the range.
   */
  listMatches(query: {
    ruleIds?: string[];
    sourceId?: string;
    sinceSecs: number;
    untilSecs: number;
  }): Promise<RuleMatch[]>;
  /**
   * Runs a scheduled query's read-only SELECT over one source's events and returns at most `maxRows` rows
   * (a row per object, column name → value). Inside the query `events` is that source's events (columns
   * source_id, id, type, effective_at, actor_type, actor_id, actor_email, ip, project_id, raw); the query
   * is run as a subquery, so it is one SELECT (WITH allowed), never a write. Throws a VigilError with the
   * database's message when the query is invalid; PostgreSQL also stops it after `timeoutMs`.
   */
  queryEvents(
    sourceId: string,
    sql: string,
    options: { maxRows: number; timeoutMs: number },
  ): Promise<Array<Record<string, unknown>>>;
  /**
   * The last schedule slot (Unix seconds, its start) each scheduled query completed for the source, by query name
   * (pipeline/scheduled-queries.ts). Kept in the database: after a restart, or when another worker takes the
   * source over, the queries go on from there, neither skipping the slots in between nor running one again.
   */
  scheduledSlotsDone(sourceId: string): Promise<Map<string, number>>;
  /** Records that `query` completed the slot starting `slotSecs` for the source; the record never moves back. */
  recordScheduledSlot(sourceId: string, query: string, slotSecs: number): Promise<void>;
  /**
   * Applies matches that are not tied to a page (correlation rules run on a schedule over stored matches)
   * in one transaction, through the same signals/windows/alerts path as `applyPage`. Idempotent: a match
   * already stored (same source, rule, event and error flag) is skipped, so re-running a schedule over an
   * overlapping lookback never counts a match twice. Every match must belong to `sourceId`.
   */
  applyDerivedMatches(
    sourceId: string,
    matches: RuleMatch[],
    options?: { fromHistory?: boolean; correlationMemberRuleIds?: readonly string[] },
  ): Promise<{ createdAlertIds: string[] }>;
  /**
   * The matches of a source that correlation has not yet looked at, by storage order (seq), after `afterSeq`.
   * A match is stored pending in the transaction that stores it (page, backfill, sweep, derived), so a crash
   * after that commit leaves it pending: correlation picks it up at its next run (pipeline/correlations.ts).
   * Only the matches of correlation member rules are, when the write names them (`correlationMemberRuleIds`).
   */
  listCorrelationPending(
    sourceId: string,
    options: { afterSeq: number; limit: number },
  ): Promise<Array<{ seq: number; match: RuleMatch }>>;
  /** Marks these matches as seen by correlation (after their derived matches are applied). */
  clearCorrelationPending(sourceId: string, seqs: number[]): Promise<void>;

  // ---- inventory snapshots (src/posture) ----
  //
  // Objects are content-addressed per source: an object whose canonical JSON is unchanged since any earlier
  // snapshot is not stored again; each snapshot keeps a manifest (kind, id, hash) of what it saw.

  /**
   * Stores the snapshot, the objects not already stored, its alert matches (as `applyDerivedMatches` would) and
   * the resolution of its cleared findings' open alerts (as `setAlertStatus` would), in one transaction.
   */
  savePostureSnapshot(write: PostureSnapshotWrite): Promise<SavedPostureSnapshot>;
  /** The newest snapshot of the source (by time), or one by id; null when there is none. */
  getPostureSnapshot(sourceId: string, id?: number): Promise<PostureSnapshotRecord | null>;
  /** Newest first, without manifests. */
  listPostureSnapshots(sourceId: string, limit?: number): Promise<PostureSnapshotSummary[]>;
  /** hash → canonical JSON, for the hashes stored for this source (unknown hashes are absent). */
  getPostureObjects(sourceId: string, hashes: string[]): Promise<Map<string, string>>;
  /**
   * Drops what old snapshots hold (docs/posture.md "Pruning"): snapshots older than `historySinceMs` entirely;
   * older than `fullSinceMs`, their manifest (a snapshot that recorded changes keeps its row: the diff is the
   * objects' history), then the manifests and objects no kept snapshot references. The newest two snapshots are
   * always kept whole (the next diff and drift's re-check read them).
   */
  prunePostureSnapshots(
    sourceId: string,
    horizon: { fullSinceMs: number; historySinceMs: number },
  ): Promise<PosturePruneReport>;
  /** One object's history: the kept snapshot diffs naming it, newest first, and when it was first seen. */
  getPostureHistory(sourceId: string, kind: string, objectId: string, limit?: number): Promise<PostureHistory>;
  /** Per event type: how many events the source(s) stored and the newest effective_at (Unix seconds). */
  eventTypeCounts(sourceId?: string): Promise<Array<{ type: string; count: number; lastSeenSecs: number }>>;

  // ---- destinations and delivery ----
  //
  // Alerts reach destinations through an outbox: `applyPage`, `applyDerivedMatches`, `savePostureSnapshot` and
  // `setAlertStatus` (to RESOLVED) enqueue an outbox entry in the same transaction as the alert change. A worker
  // fans each entry out into one delivery per routed destination (`routeOutboxEntry`), claims due deliveries under a
  // lease (`claimDeliveries`), sends, and records every attempt (`recordDeliveryAttempt`). A worker that
  // dies mid-send leaves a lease that expires: the delivery is claimed again (at least once).

  /** Unique name, else a `conflict` error. */
  createDestination(destination: NewDestination): Promise<DestinationRecord>;
  /** By name. */
  listDestinations(): Promise<DestinationRecord[]>;
  /** By id, then by name. */
  getDestination(idOrName: string): Promise<DestinationRecord | null>;
  getDestinationConfig(id: string): Promise<EncryptedSecret | null>;
  /** Same id and name, so routing by either keeps working; unknown id → not_found. */
  updateDestination(id: string, changes: DestinationUpdate): Promise<DestinationRecord>;
  /** Unknown id → not_found. Past deliveries keep their log; pending ones fail when next claimed. */
  removeDestination(id: string): Promise<void>;

  /** Outbox entries not yet fanned out, oldest first; with `afterId`, those after it only. */
  listUnroutedOutbox(limit: number, afterId?: number): Promise<OutboxEntry[]>;
  /**
   * Creates one pending delivery per destination (due at `nowMs`) and marks the entry routed, in one
   * transaction. A resolve goes to the destinations its alert's creation went to (a delivery sent or pending)
   * that still exist, and only to them, whatever `destinations` says. Idempotent: an entry already routed, or a delivery that exists, is
   * left as is.
   */
  routeOutboxEntry(outboxId: number, destinations: Array<{ id: string; name: string }>, nowMs: number): Promise<void>;
  /**
   * Claims up to `limit` pending deliveries that are due at `nowMs` and not leased (or whose lease expired),
   * oldest due first, leasing each for `leaseMs` with a fresh token, and counts the attempt (so a
   * delivery whose sender keeps crashing still runs out of attempts). Two concurrent callers never claim
   * the same delivery. A delivery waits while an earlier notification of its alert to the same destination is
   * pending: each destination hears of an alert in order (created before resolved). Leases are timed on the
   * database's clock (StoreDialect.clockMs), as the fleet's are: workers whose clocks disagree never hold one
   * delivery at once.
   */
  claimDeliveries(options: {
    nowMs: number;
    leaseMs: number;
    limit: number;
    /** Destinations not to claim for now (the caller has enough sends to them in flight). */
    skipDestinations?: readonly string[];
  }): Promise<ClaimedDelivery[]>;
  /**
   * Logs the attempt and moves the delivery on (sent / pending at nextAttemptAtMs / failed), clearing the
   * lease. When the token no longer holds the lease (it expired and another worker claimed the delivery)
   * the attempt is still logged but the delivery is left to that worker, and the result is false.
   */
  recordDeliveryAttempt(attempt: DeliveryAttemptWrite): Promise<boolean>;
  /**
   * Sends dead letters again: failed deliveries (of one destination, or one alert, or all) become pending, due at
   * `nowMs`, with a new retry window from then. Left dead: those of a removed destination, those behind a later
   * notification of the same alert that is sent or on its way (the receiver would see them out of order), and the
   * "created" of an alert that has ended since. Returns how many.
   */
  retryDeadDeliveries(filter: { destinationId?: string; alertId?: string }, nowMs: number): Promise<number>;
  /**
   * Ends a destination's failing episode that had a give-up, once a delivery succeeded after its latest failure and
   * no other is still failing; only the episode that began at `sinceMs` (the caller raised its alert). Returns
   * whether it ended it.
   */
  endDeliveryEpisode(destinationId: string, sinceMs: number): Promise<boolean>;
  /** Per destination id, the dead letters `retryDeadDeliveries` would send again (destinations with none absent). */
  countDeadDeliveries(): Promise<Map<string, number>>;
  /** The deliveries of an alert (oldest first) with their attempt logs. */
  listDeliveries(alertId: string): Promise<Array<DeliveryRecord & { log: DeliveryAttemptRecord[] }>>;
  /** Deliveries in a status (e.g. failed: the dead letters), newest first; limit defaults to 100. */
  listDeliveriesByStatus(status: DeliveryStatus, limit?: number): Promise<DeliveryRecord[]>;
  /**
   * A destination's dead letters (failed deliveries), newest first; limit defaults to 100. `sendAgain`: whether
   * `retryDeadDeliveries` would send it again (see there for those it leaves dead).
   */
  listDeadDeliveries(destinationId: string, limit?: number): Promise<DeadLetter[]>;
}

// ---- access (users, sessions, API tokens) and statistics, for the HTTP server ----

export interface HistogramBucket {
  bucketStartSecs: number;
  type: string;
  count: number;
}

export interface AccessStore {
  /** Unique username, else a `conflict` error. The hash is made outside the store. */
  createUser(user: NewUser): Promise<UserRecord>;
  /** Unknown username → not_found. */
  setUserPassword(username: string, passwordHash: string): Promise<void>;
  /**
   * Replaces the stored hash of the same password (stronger parameters), only if it is still
   * `previousHash`: a password changed meanwhile is never overwritten. Sessions stay. True when replaced.
   */
  replacePasswordHash(userId: string, previousHash: string, passwordHash: string): Promise<boolean>;
  getUser(id: string): Promise<UserRecord | null>;
  getUserCredentials(username: string): Promise<{ user: UserRecord; passwordHash: string } | null>;
  countUsers(): Promise<number>;

  createSession(session: SessionRecord): Promise<void>;
  /** The session when it exists and has not expired at `nowMs`. */
  getSession(tokenHash: string, nowMs: number): Promise<SessionRecord | null>;
  /** Also removes every session expired at `nowMs`. */
  deleteSession(tokenHash: string, nowMs: number): Promise<void>;

  /** Unique name, else a `conflict` error. */
  createApiToken(token: { name: string; tokenHash: string; expiresAtMs: number }): Promise<ApiTokenRecord>;
  listApiTokens(): Promise<ApiTokenRecord[]>;
  /**
   * Finds the token by hash, expired or not (so that the caller can say it expired), and records its use
   * at `nowMs` only when it has not expired by then.
   */
  authenticateApiToken(tokenHash: string, nowMs: number): Promise<ApiTokenRecord | null>;
  /** By id, then by name; unknown → not_found. */
  revokeApiToken(idOrName: string): Promise<void>;
}

/** Users managed by admins (the console's Users page); a change that would leave no admin is a `conflict`. */
export interface UserAdminStore {
  /** By username. */
  listUsers(): Promise<UserRecord[]>;
  /** Unknown id → not_found; demoting the last admin → conflict. */
  setUserRole(id: string, role: UserRole): Promise<UserRecord>;
  /**
   * Also ends the user's sessions, and unassigns the alerts assigned to them (recorded as an assignment change by
   * `by`, at the store's time): a later user of the same name must not inherit them. Unknown id → not_found; the
   * last admin → conflict.
   */
  deleteUser(id: string, by?: string | null): Promise<void>;
}

export interface FleetStore {
  // Workers sharing one database and the leases that give each item of work one owner (core/fleet.ts). Every
  // time here is the database's clock: a lease expires when the database says so, whatever a worker's clock says.
  /**
   * Records the worker as live (its first call registers it) and, in the same transaction, renews every lease
   * it still holds to `leaseTtlMs` from now. Returns the names it holds. A lease another worker took after it
   * expired is not among them: its holder must stop that work. `serving` (default true) is false while the worker
   * starts up: the others do not count it yet when they share out the work.
   * Fails with `worker_id_in_use` (taking nothing) while another process with the same id is live: that one
   * keeps the id until it stops or goes silent for its lease TTL.
   */
  heartbeatWorker(worker: WorkerIdentity, leaseTtlMs: number, rebalances: number, serving?: boolean): Promise<string[]>;
  /**
   * Takes each named lease that is free, expired, or already this worker's (renewed), for `ttlMs`; a lease
   * another worker holds unexpired is left alone. Returns the names taken. Two workers claiming one name at
   * once: exactly one gets it.
   */
  claimLeases(workerId: string, names: readonly string[], ttlMs: number, incarnation?: string): Promise<string[]>;
  /** Gives up the named leases (all of the worker's when `names` is omitted), so another worker may take them now. */
  releaseLeases(workerId: string, names?: readonly string[], incarnation?: string): Promise<void>;
  /**
   * A clean stop: releases every lease of the worker and marks it stopped.
   *
   * `incarnation` (here and in the two above): the calling process's. When given, nothing is done unless the
   * worker's row still names it: a process that froze past its TTL, and whose id a successor took meanwhile, must
   * neither claim, give back nor stop what is now the successor's.
   */
  leaveFleet(workerId: string, incarnation?: string): Promise<void>;
  /**
   * The workers seen in the last day (live first, then by start), each with the leases it holds; workers gone
   * for longer are forgotten here.
   */
  listWorkers(): Promise<WorkerRecord[]>;
  /** The unexpired leases, by name. */
  listLeases(): Promise<LeaseRecord[]>;
}

export interface LoginThrottleStore {
  // Failed logins per throttle key (e.g. `ip:…`, `user:…`), with exponential backoff (core/login-backoff.ts).
  /** Milliseconds each key must still wait at `nowMs` (0: free), keyed by key. */
  loginWaits(keys: string[], nowMs: number): Promise<Record<string, number>>;
  /**
   * Starts a login attempt, atomically per key. While a key marked `refuse` must wait, the attempt is refused
   * (the longest such wait) and nothing is counted. Otherwise it counts as one failure of every key before its
   * password is checked (from zero again after a policy's forgetAfterMs without one), so that attempts sent at
   * once are each counted before the next is judged; the waits returned are what the keys asked before it. Also
   * removes keys that no policy remembers.
   */
  beginLoginAttempt(
    entries: Array<{ key: string; backoff: LoginBackoff; refuse: boolean }>,
    nowMs: number,
  ): Promise<{ refusedForMs: number } | { waits: Record<string, number> }>;
  /**
   * The attempt's password was wrong (it was counted when it began): each key's wait starts again from `nowMs`,
   * so that the time the password check took does not shorten it.
   */
  loginFailed(entries: Array<{ key: string; backoff: LoginBackoff }>, nowMs: number): Promise<void>;
  /**
   * Takes back the failure an attempt counted on each of `keys` (their earlier failures stay): its password was
   * right, or it never got a verdict. Forgets the `forget` keys (a right password clears its account's count).
   */
  takeBackLoginAttempt(outcome: {
    keys: Array<{ key: string; backoff: LoginBackoff }>;
    forget: string[];
  }): Promise<void>;
  clearLoginFailures(keys: string[]): Promise<void>;
}

// ---- suppressions (core/suppression.ts) ----
//
// Applied where matches are applied (`applyPage`, `applyDerivedMatches`, `savePostureSnapshot`), in the same
// transaction: a match an active suppression covers is counted on it and stored in no window, alert or outbox. A
// match once absorbed stays absorbed, even when re-applied after its suppression ended.
export interface SuppressionStore {
  /** Usage error without a reason, without a field, with an unknown field, or with a past expiry. */
  createSuppression(suppression: NewSuppression): Promise<SuppressionRecord>;
  /** Newest first; removed ones only with includeRemoved. Expired ones are listed (their count stays useful). */
  listSuppressions(query?: { includeRemoved?: boolean; ruleId?: string }): Promise<SuppressionRecord[]>;
  getSuppression(id: string): Promise<SuppressionRecord | null>;
  /** Ends it, recording who and when (kept once: removing again changes nothing); unknown id → not_found. */
  removeSuppression(id: string, by: string, atMs: number): Promise<SuppressionRecord>;
}

// ---- the search page (issue 12): a histogram of any search's results, and saved searches ----

/** A search saved by name: the search page's filters as a URL query string. Shared by the team. */
export interface SavedSearch {
  id: string;
  name: string;
  query: string;
  createdBy: string;
  createdAtMs: number;
}

export interface SearchStore {
  /**
   * The events `searchEvents` would find for these filters (every one, not a page: `limit` and `after` are
   * ignored) counted per (bucket, type), bucket-ordered then type-ordered. Buckets start at multiples of
   * `bucketSecs` since the epoch. Reads the events (a heavy read).
   */
  searchHistogram(query: EventQuery, bucketSecs: number): Promise<HistogramBucket[]>;
  /** By name (byte order). */
  listSavedSearches(): Promise<SavedSearch[]>;
  /** Usage error for an empty or overlong name or query; a name already used → conflict. */
  createSavedSearch(search: { name: string; query: string; createdBy: string }): Promise<SavedSearch>;
  /** Unknown id → not_found. */
  deleteSavedSearch(id: string): Promise<void>;
}

// The counts come from counters that the stores keep in the transaction of every write (events per source,
// day and type; alerts per source, status and severity; quarantined records and rule errors per source),
// so they cost a few rows whatever the number of events and alerts.
export interface StatsStore {
  /**
   * Events with effective_at >= sinceSecs counted per (bucket, type), bucket-ordered then type-ordered.
   * Whole-day buckets from a day's start come from the counters; other buckets read the events.
   */
  eventHistogram(query: { sourceId?: string; sinceSecs: number; bucketSecs: number }): Promise<HistogramBucket[]>;
  /** Stored events, quarantined records and rule errors, one row per source (from the counters). */
  sourceCounts(): Promise<Array<{ sourceId: string; events: number; quarantined: number; ruleErrors: number }>>;
  /** Deliveries per status (statuses with none are absent). */
  deliveryCounts(): Promise<Array<{ status: DeliveryStatus; count: number }>>;
  /** Alerts per (source, status, severity), ordered so; combinations with no alert are absent. */
  alertCounts(): Promise<AlertCount[]>;
  /** Alerts raised from history (a backfill), all and still open: the one summary the console shows. */
  historyAlertCounts(): Promise<{ total: number; open: number }>;
}
