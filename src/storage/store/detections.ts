// Detections in the store: rule matches (signals), alert windows and the alerts they raise, rule state,
// detection settings and the correlation queue. The page write applies a page's state ops and matches inside
// its own transaction through `applyStateOpsIn` and `applyMatchesIn`; `applyDerivedMatches` applies matches
// that no page carries (correlation rules) the same way, as does a posture snapshot's save (./posture.ts). Alert
// reads and status changes are in ./alerts.ts.
//
// Concurrency (PostgreSQL; SQLite has one writer at a time): windows and rule state are read, changed in
// TypeScript and written back, so two workers applying matches of one key at once would lose an update. Each
// transaction locks the keys it will touch (`dialect.lockKeys`, sorted), in one order for every writer of this
// version, so that two cannot deadlock: the windows (each by its id), then the rules, then the rule state. (A
// worker of an older version takes rules before window keys: beside one, a deadlock can happen, which PostgreSQL
// breaks and the store reruns; docs/deploy.md has the fleet stopped for an upgrade.) (A rule's noisy
// window, src/alerts/limiter.ts, is locked after its rule: only a holder of the rule's lock ever locks it, since
// no match of that rule can name it: core/detection.ts VIGIL_DEDUP_PREFIX.) A lock
// per (source, rule) serializes the writers of one rule where it matters: two of them can neither both spend its
// alert budget nor both store the same derived match. A page takes it only for the rules it opens an alert of;
// its signals (matches that never alert) take no lock at all: they spend no budget, and their events are the
// page's own.

import { type Insertable, type Selectable, sql } from "kysely";
import { foldNoisyMatches } from "../../alerts/limiter.ts";
import {
  type AlertWindow,
  applyMatches,
  keysToLoad,
  type MatchPlacement,
  type WindowKey,
  type WindowOutcome,
  windowKeyString,
} from "../../alerts/windows.ts";
import { groupBy } from "../../core/collections.ts";
import { OPEN_ALERT_STATUSES, type RuleMatch, type RuleStateOp } from "../../core/detection.ts";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import type { RuleStateEntry, Store } from "../ports.ts";
import { chunks } from "./chunks.ts";
import { type AlertWindowsTable, flag, type RuleStateTable, type RuleVersionsTable } from "./database.ts";
import {
  correlationRuleIds,
  firstMatchSeqs,
  keyOfMatch,
  matchesWithVersions,
  matchKey,
  matchRow,
  newAlertRow,
  representativeFields,
  ruleVersionRow,
  toAlertWindow,
  toFlag,
  toRuleMatch,
  versionsNamed,
  windowCounts,
  windowRow,
} from "./detection-rows.ts";
import type { Db, StoreContext, StoreDialect } from "./dialect.ts";
import { inLockOrder } from "./lock-order.ts";
import { insertRows } from "./repeated-insert.ts";
import { requireSource } from "./require-source.ts";
import { numberRules, ruleNumbersOf } from "./rule-numbers.ts";
import { applyStateOpsTo, groupStateOps, ruleStateRow, toRuleStateEntry } from "./rule-state.ts";
import { nextStateVersion, type RuleStateWrite, stateKeyOf } from "./rule-state-cache.ts";
import type { SourceNumbers } from "./source-numbers.ts";
import { suppressMatchesIn } from "./suppressions.ts";

/** Window keys per look-up: 7 bound parameters each, and the ids of their matches' grid windows (at most CHUNK). */
const KEYS_PER_LOOKUP = 100;

const HOUR_MS = 3_600_000;

// The advisory lock names. The key's, the rule's and the state's are the names the stores have always taken,
// so that workers of an older version (which lock a window's whole key) still serialize with these during a
// rolling upgrade.
const windowKeyLock = (key: WindowKey): string => `vigil:detections:w:${windowKeyString(key)}`;
const windowLock = (windowId: string): string => `vigil:detections:window:${windowId}`;
const ruleLock = (m: { sourceId: string; ruleId: string }): string =>
  `vigil:detections:r:${JSON.stringify([m.sourceId, m.ruleId])}`;
const stateLock = (sourceId: string, op: RuleStateOp): string =>
  `vigil:detections:s:${JSON.stringify([sourceId, op.ruleId, op.key])}`;

const distinct = <T>(items: readonly T[]): T[] => [...new Set(items)];

// ---- the write path, inside the caller's transaction ----

/**
 * Applies new matches inside the caller's write transaction; returns the ids of alerts it created.
 *
 * Matches already stored (same source, rule, event and error flag), and repeats within the batch, are
 * skipped: re-reads and replays never count twice. The rest are grouped in memory first (`applyMatches`,
 * src/alerts/windows.ts), so each match row is written once, with its window and alert, and each window once.
 * Alerts are written with their status history and outbox rows: no alert without its notification.
 * Call `applyStateOpsIn` after it when a transaction does both, so that all writers take their locks in one order.
 */
export async function applyMatchesIn(
  ctx: StoreContext,
  trx: Db,
  matches: readonly RuleMatch[],
  nowMs: number,
  options: {
    fromHistory: boolean;
    /** A page's matches: the seq of each match's event, which this transaction inserted. */
    eventSeqs?: ReadonlyMap<string, number>;
    /** Only these rules' matches are stored pending for correlation; absent: every match is (see PageWrite). */
    correlationMemberRuleIds?: readonly string[];
    /** The number of the matches' source (they are all of one: assertMatchesOf), from `requireSource`. */
    sourceNum: number;
  },
): Promise<string[]> {
  if (matches.length === 0) return [];
  const eventSeqs = options.eventSeqs;
  // The matches' rules are numbered first, in id order and before any rule or window lock: two writers numbering
  // the same new rule wait for each other in one order, never while holding a lock the other needs
  // (./rule-numbers.ts). The matches stored below are of these rules (a noisy rule's keep their rule).
  const ruleNums = await numberRules(
    trx,
    matches.map((m) => m.ruleId),
  );
  // Windows first, then rules: every writer takes its locks in this order. The windows' locks make the windows
  // read below this writer's until the commit. A derived match (no event of this transaction) may already be
  // stored, by a writer of the same rule: which are new is decided under its rules' locks, so the answer holds
  // until the insert. A page's matches are of the events this transaction inserted, so none of them can be stored
  // yet (the insert still checks): the look-up is skipped, and the page takes only the locks of the rules that
  // would open an alert, below. Pages of one source that merely join windows (most of a backfill's: each has some
  // match that joins an open alert) then run side by side instead of one after another.
  await lockWindows(ctx, trx, matches);
  if (eventSeqs === undefined) await ctx.dialect.lockKeys(trx, matches.map(ruleLock));
  // Suppressed matches (store/suppressions.ts) are counted there and go no further: no window, no alert.
  const unstored =
    eventSeqs !== undefined ? distinctMatches(matches) : await unstoredMatches(trx, ctx.sourceNumbers, matches);
  const correlationInput =
    options.correlationMemberRuleIds === undefined
      ? () => false
      : pendingForCorrelation(options.correlationMemberRuleIds);
  const fresh = await suppressMatchesIn(trx, ctx.sourceNumbers, unstored, nowMs, correlationInput);
  if (fresh.length === 0) return [];

  let existing = await loadLockedWindows(ctx, trx, fresh);
  let outcome = applyMatches(existing, fresh);
  // An alert spends its rule's budget: the rule's lock is held from the count to the commit, so two writers cannot
  // both spend its last alert. (A derived match's writer holds it already.)
  if (eventSeqs !== undefined) await ctx.dialect.lockKeys(trx, outcome.alertCreations.map(ruleLock));
  const recent = await recentAlertCounts(trx, outcome.alertCreations, nowMs, options.fromHistory);
  const folded = foldNoisyMatches(
    outcome,
    fresh,
    (sourceId, ruleId) => recent.get(JSON.stringify([sourceId, ruleId])) ?? 0,
    ctx.alertLimitPerHour,
  );
  if (folded !== null) {
    // A rule over its alert budget: the matches of the alerts it would open go to its noisy alert instead.
    const moved = folded.filter((m, i) => m !== fresh[i]);
    await lockWindows(ctx, trx, moved);
    existing = await loadLockedWindows(ctx, trx, folded);
    outcome = applyMatches(existing, folded);
  }

  // The rule versions the matches name, in one statement (most are stored already).
  await insertRuleVersions(
    trx,
    outcome.placements.map((p) => ruleVersionRow(p.match)),
  );
  // The matches first: a window names its representative by the seq its row was given.
  const seqs = await insertMatches(ctx, trx, outcome.placements, nowMs, {
    eventSeqs,
    ruleNums,
    sourceNum: options.sourceNum,
    pending: pendingForCorrelation(options.correlationMemberRuleIds),
  });
  await saveWindows(trx, existing, outcome, seqs);
  await createAlerts(trx, outcome.alertCreations, nowMs, options.fromHistory);
  await attachToAlerts(trx, outcome, nowMs, options.fromHistory);
  return outcome.alertCreations.map((w) => w.id);
}

/** The matches, in input order, each once. */
function distinctMatches(matches: readonly RuleMatch[]): RuleMatch[] {
  const unique = new Map<string, RuleMatch>();
  for (const m of matches) {
    const key = keyOfMatch(m);
    if (!unique.has(key)) unique.set(key, m);
  }
  return [...unique.values()];
}

/** The matches not stored yet, in input order, each once. */
async function unstoredMatches(trx: Db, numbers: SourceNumbers, matches: readonly RuleMatch[]): Promise<RuleMatch[]> {
  const unique = distinctMatches(matches);
  const byKey = correlationRuleIds(unique);
  const stored = new Set<string>();
  for (const [sourceId, ofSource] of groupBy(unique, (m) => m.sourceId)) {
    for (const chunk of chunks(ofSource)) {
      // Rules × events covers the chunk's keys (and maybe more, which the set lookup below ignores).
      // Matches without an event seq: those are unique on this key (rule_matches_key, migration 25); the
      // others are a page's, whose rules (event rules) never derive matches.
      const rows = await trx
        .selectFrom("rule_matches as m")
        .innerJoin("rule_numbers as n", "n.num", "m.rule_num")
        .select(["n.rule_id", "m.event_id", "m.is_error", "m.dedup_string"])
        .where("m.event_seq", "is", null)
        .where("m.source_num", "=", await numbers.filter(trx, sourceId))
        .where("n.rule_id", "in", distinct(chunk.map((m) => m.ruleId)))
        .where("m.event_id", "in", distinct(chunk.map((m) => m.eventId)))
        .execute();
      for (const r of rows) {
        stored.add(
          matchKey(
            {
              sourceId,
              ruleId: r.rule_id,
              eventId: r.event_id,
              isError: flag(r.is_error),
              dedupString: r.dedup_string,
            },
            byKey.has(r.rule_id),
          ),
        );
      }
    }
  }
  return unique.filter((m) => !stored.has(keyOfMatch(m)));
}

/**
 * Locks the grid windows the matches fall into, each by its id: the pages of different slices of one source
 * (different hours or days) then join their own windows of one key side by side. Each key is held shared, which
 * keeps out a writer of an older version (it locks the whole key).
 */
async function lockWindows(ctx: StoreContext, trx: Db, matches: readonly RuleMatch[]): Promise<void> {
  const toLoad = keysToLoad(matches);
  await ctx.dialect.lockKeys(
    trx,
    toLoad.flatMap((k) => k.gridIds.map(windowLock)),
    toLoad.map((k) => windowKeyLock(k.key)),
  );
}

/**
 * The stored windows the matches may fall into, after `lockWindows`. A window stored before the grid is found
 * by span, not by id, so its lock is taken once it is found, and the windows are read again under it (that set
 * is fixed: no such window is made any more, alerts/windows.ts).
 */
async function loadLockedWindows(ctx: StoreContext, trx: Db, matches: readonly RuleMatch[]): Promise<AlertWindow[]> {
  const windows = await loadWindows(trx, matches);
  const preGrid = windows.filter((w) => !w.onGrid);
  if (preGrid.length === 0) return windows;
  await ctx.dialect.lockKeys(
    trx,
    preGrid.map((w) => windowLock(w.id)),
  );
  return loadWindows(trx, matches);
}

/** The stored windows the matches may fall into. */
async function loadWindows(trx: Db, matches: readonly RuleMatch[]): Promise<AlertWindow[]> {
  const rows: Array<Selectable<AlertWindowsTable>> = [];
  // A match's grid window is named by its key, period and event time (alerts/windows.ts): those are read by
  // primary key, so a lookup reads the windows the matches fall in and no others, however long the key's
  // history. A range of a key's windows read every one that started before its matches: those of a year of one
  // user and rule, on every page. Only the windows stored before the grid are still found by span, through the
  // key index, which has on_grid before start_secs (migration 33), so the range holds those alone.
  // One statement per chunk of keys (a page's matches fall into dozens of windows): the grid windows by id, and a
  // UNION ALL of one SELECT per key for the others (each side reads its own kind, so none is read twice). Not one
  // WHERE of OR terms over the keys: PostgreSQL factored the terms' common conditions (the source, is_error) out
  // of the OR and, its statistics behind a backfill, read every window of the source through them (12,400 rows
  // and 6.7 ms a page at 100,000 events). Ids past CHUNK (derived matches over many windows) take more statements.
  for (const chunk of chunks(keysToLoad(matches), KEYS_PER_LOOKUP)) {
    const preGrid = chunk.map(({ key, minSecs, maxSecs }) =>
      trx
        .selectFrom("alert_windows")
        .selectAll()
        .where("source_id", "=", key.sourceId)
        .where("rule_id", "=", key.ruleId)
        .where("dedup_string", "=", key.dedupString)
        .where("is_error", "=", toFlag(key.isError))
        .where("on_grid", "=", toFlag(false))
        .where("start_secs", "<=", maxSecs)
        .where("end_secs", ">", minSecs),
    );
    const onGrid = [...chunks(chunk.flatMap((k) => k.gridIds))].map((ids) =>
      trx.selectFrom("alert_windows").selectAll().where("id", "in", ids).where("on_grid", "=", toFlag(true)),
    );
    // The first statement carries every pre-grid look-up of the chunk, and the first ids.
    for (const selects of [[...preGrid, ...onGrid.slice(0, 1)], ...onGrid.slice(1).map((s) => [s])]) {
      const found = await selects
        .slice(1)
        .reduce((union, select) => union.unionAll(select), selects[0]!)
        .orderBy("start_secs")
        .orderBy("id")
        .execute();
      rows.push(...found);
    }
  }
  const firstMatches = new Map<number, RuleMatch>();
  for (const chunk of chunks(firstMatchSeqs(rows))) {
    for (const m of await matchesWithVersions(trx).where("m.seq", "in", chunk).execute()) {
      firstMatches.set(m.seq, toRuleMatch(m));
    }
  }
  // Windows stored before migration 27 hold a JSON copy, which names its rule version.
  const versions = new Map<string, Selectable<RuleVersionsTable>>();
  for (const chunk of chunks(versionsNamed(rows))) {
    for (const v of await trx.selectFrom("rule_versions").selectAll().where("id", "in", chunk).execute()) {
      versions.set(v.id, v);
    }
  }
  return rows.map((row) => toAlertWindow(row, firstMatches, versions));
}

/**
 * How many alerts each (source, rule) of `creations` raised in the last hour, keyed by JSON [source, rule].
 * History and live alerts have budgets of their own: a backfill must not silence the live alerts after it.
 */
async function recentAlertCounts(
  trx: Db,
  creations: readonly AlertWindow[],
  nowMs: number,
  fromHistory: boolean,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const [sourceId, windows] of groupBy(creations, (w) => w.sourceId)) {
    const rows = await trx
      .selectFrom("alerts")
      .select((eb) => ["rule_id", eb.fn.countAll<number>().as("n")])
      .where("source_id", "=", sourceId)
      .where("rule_id", "in", distinct(windows.map((w) => w.ruleId)))
      .where("created_at_ms", ">", nowMs - HOUR_MS)
      .where("from_history", "=", toFlag(fromHistory))
      .groupBy("rule_id")
      .execute();
    for (const r of rows) counts.set(JSON.stringify([sourceId, r.rule_id]), Number(r.n));
  }
  return counts;
}

/**
 * Writes the windows the matches changed. `seqs` are the seqs of the matches this transaction stored (by
 * `matchKey`): a new window's representative, or one that replaced a stored window's, is one of them.
 */
async function saveWindows(
  trx: Db,
  existing: readonly AlertWindow[],
  outcome: WindowOutcome,
  seqs: ReadonlyMap<string, number>,
): Promise<void> {
  const loaded = new Set(existing.map((w) => w.id));
  const whole: Array<ReturnType<typeof windowRow>> = [];
  for (const w of outcome.windowUpserts) {
    // The representative stayed: the window keeps naming it; only the counts change.
    if (loaded.has(w.id) && !outcome.newRepresentative.has(w.id)) {
      await trx.updateTable("alert_windows").set(windowCounts(w)).where("id", "=", w.id).execute();
      continue;
    }
    const firstSeq = seqs.get(keyOfMatch(w.first));
    if (firstSeq === undefined) throw new Error(`The representative of alert window ${w.id} was not stored.`);
    whole.push(windowRow(w, firstSeq));
  }
  for (const chunk of chunks(whole)) {
    await trx
      .insertInto("alert_windows")
      .values(chunk)
      // A window keeps its key and span; its counts, threshold and representative change.
      .onConflict((oc) =>
        oc.column("id").doUpdateSet((eb) => ({
          match_count: eb.ref("excluded.match_count"),
          unique_values: eb.ref("excluded.unique_values"),
          valueless_count: eb.ref("excluded.valueless_count"),
          threshold: eb.ref("excluded.threshold"),
          alert_created: eb.ref("excluded.alert_created"),
          first_match: eb.ref("excluded.first_match"),
          first_match_seq: eb.ref("excluded.first_match_seq"),
        })),
      )
      .execute();
  }
}

/** Stores the rule versions not stored yet (each once, in id order: concurrent writers lock alike). */
async function insertRuleVersions(trx: Db, rows: ReadonlyArray<ReturnType<typeof ruleVersionRow>>): Promise<void> {
  const unique = new Map(rows.map((v) => [v.id, v]));
  for (const chunk of chunks(inLockOrder(unique.values(), (v) => v.id))) {
    await trx
      .insertInto("rule_versions")
      .values(chunk)
      .onConflict((oc) => oc.column("id").doNothing())
      .execute();
  }
}

/**
 * Whether a match is stored pending for correlation: when the writer names the correlation member rules, only
 * theirs (a pending match costs an index entry, and a read and a clear in every correlation run); else every
 * match, so that none a correlation rule needs is missed.
 */
function pendingForCorrelation(memberRuleIds: readonly string[] | undefined): (m: RuleMatch) => boolean {
  if (memberRuleIds === undefined) return () => true;
  const members = new Set(memberRuleIds);
  return (m) => members.has(m.ruleId);
}

/** A rule's number from `numberRules` (applyMatchesIn numbers every match's rule): a match never goes without one. */
function numberOf(ruleNums: ReadonlyMap<string, number>, ruleId: string): number {
  const num = ruleNums.get(ruleId);
  if (num === undefined) throw new Error(`Rule ${ruleId} has no number.`);
  return num;
}

async function insertMatches(
  ctx: StoreContext,
  trx: Db,
  placements: readonly MatchPlacement[],
  nowMs: number,
  options: {
    eventSeqs: ReadonlyMap<string, number> | undefined;
    /** The numbers of the matches' rules (`numberRules`). */
    ruleNums: ReadonlyMap<string, number>;
    pending: (m: RuleMatch) => boolean;
    sourceNum: number;
  },
): Promise<Map<string, number>> {
  const seqs = new Map<string, number>();
  if (placements.length === 0) return seqs;
  const { eventSeqs, ruleNums, pending, sourceNum } = options;
  const rows = placements.map((p) => ({
    // Its rule version is stored (applyMatchesIn).
    ...matchRow(
      p.match,
      ruleVersionRow(p.match).id,
      sourceNum,
      numberOf(ruleNums, p.match.ruleId),
      eventSeqs?.get(p.match.eventId) ?? null,
    ),
    window_id: p.windowId,
    alert_id: p.alertId,
    created_at_ms: nowMs,
    // See Store.listCorrelationPending.
    correlation_pending: toFlag(pending(p.match)),
  }));
  // In statements of a bounded size (./repeated-insert.ts).
  const stored = await insertRows(trx, "rule_matches", rows, (values) =>
    trx
      .insertInto("rule_matches")
      .values(values as typeof rows)
      .returning(["seq", "rule_num", "event_id", "event_seq", "is_error", "dedup_string"]),
  ).catch((err: unknown) => {
    // Found new above, under the rule locks: a conflict here is a bug that would miscount a window.
    if (ctx.dialect.violatedConstraint(err) === "unique")
      throw new Error("A new match was stored already.", { cause: err });
    throw err;
  });
  // One source (assertMatchesOf): its id is any placement's.
  const sourceId = placements[0]!.match.sourceId;
  const ruleIds = new Map([...ruleNums].map(([id, num]) => [num, id]));
  const eventIds = new Map([...(eventSeqs ?? [])].map(([id, seq]) => [seq, id]));
  const byKey = correlationRuleIds(placements.map((p) => p.match));
  for (const r of stored) {
    const ruleId = ruleIds.get(r.rule_num)!;
    const eventId = r.event_seq === null ? r.event_id : eventIds.get(r.event_seq)!;
    const match = { sourceId, ruleId, eventId, isError: flag(r.is_error), dedupString: r.dedup_string };
    seqs.set(matchKey(match, byKey.has(ruleId)), r.seq);
  }
  return seqs;
}

async function createAlerts(trx: Db, creations: readonly AlertWindow[], nowMs: number, fromHistory: boolean) {
  for (const chunk of chunks(creations)) {
    const ids = chunk.map((w) => w.id);
    await trx
      .insertInto("alerts")
      .values(chunk.map((w) => newAlertRow(w, nowMs, fromHistory)))
      .execute();
    await trx
      .insertInto("alert_status_changes")
      .values(
        ids.map((id) => ({
          alert_id: id,
          from_status: null,
          to_status: "OPEN",
          at_ms: nowMs,
          changed_by: "system:detection",
        })),
      )
      .execute();
    await enqueue(trx, ids, "created", nowMs, fromHistory);
    // Matches of earlier batches that opened the window belong to the alert too (its id is the window's).
    await trx
      .updateTable("rule_matches")
      .set((eb) => ({ alert_id: eb.ref("window_id") }))
      .where("window_id", "in", ids)
      .where("alert_id", "is", null)
      .execute();
  }
}

async function attachToAlerts(trx: Db, outcome: WindowOutcome, nowMs: number, fromHistory: boolean) {
  for (const w of outcome.alertAttachments) {
    await trx
      .updateTable("alerts")
      // An earlier match that arrived late replaced the representative: the alert takes its fields.
      .set({
        match_count: w.matchCount,
        updated_at_ms: nowMs,
        ...(outcome.newRepresentative.has(w.id) ? representativeFields(w) : {}),
      })
      .where("id", "=", w.id)
      .execute();
  }
  if (fromHistory) return;
  // Live activity joining an alert a backfill raised makes it a live alert, announced now: an attack that
  // spans the moment a source was added is paged for its live part. Not an alert that has ended since: its
  // resolve went to the destinations that take history, and a "created" now would page the others for an
  // incident nothing resolves. The status is judged on the row as this UPDATE finds it, after any status change
  // committed meanwhile; a change still to come reads the flag this one wrote (changeStatus).
  for (const chunk of chunks(outcome.alertAttachments)) {
    const madeLive = await trx
      .updateTable("alerts")
      .set({ from_history: 0, updated_at_ms: nowMs })
      .where(
        "id",
        "in",
        chunk.map((w) => w.id),
      )
      .where("from_history", "=", 1)
      .where("status", "in", OPEN_ALERT_STATUSES)
      .returning("id")
      .execute();
    const live = new Set(madeLive.map((r) => r.id));
    await enqueue(
      trx,
      chunk.filter((w) => live.has(w.id)).map((w) => w.id),
      "created",
      nowMs,
      false,
    );
  }
}

/** Outbox rows for alerts, in the transaction that changes them (src/pipeline/outbox routes them). */
export async function enqueue(
  trx: Db,
  alertIds: readonly string[],
  kind: "created" | "resolved",
  atMs: number,
  fromHistory: boolean,
) {
  if (alertIds.length === 0) return;
  await trx
    .insertInto("outbox")
    .values(alertIds.map((id) => ({ alert_id: id, kind, created_at_ms: atMs, from_history: toFlag(fromHistory) })))
    .execute();
}

/**
 * Applies rule-state ops (already filtered to inserted events) inside the caller's transaction, in order.
 * `stateTimeSecs` is the time expiry is judged at (see `stateTimeSecs` in ./rule-state.ts). The ops of one key
 * are folded in memory: one read and one write per key, whatever the number of ops. Moves the source's state
 * version (./rule-state-cache.ts) and returns what it wrote, for the cache once the transaction commits.
 */
export async function applyStateOpsIn(
  ctx: StoreContext,
  trx: Db,
  sourceId: string,
  ops: readonly RuleStateOp[],
  stateTimeSecs: number,
): Promise<RuleStateWrite | null> {
  if (ops.length === 0) return null;
  await ctx.dialect.lockKeys(
    trx,
    ops.map((op) => stateLock(sourceId, op)),
  );
  const groups = groupStateOps(ops);
  const current = new Map<string, RuleStateEntry>();
  for (const chunk of chunks(groups)) {
    // The exact (rule, key) pairs: "rule IN … AND key IN …" probed every rule × key pair of the chunk.
    const rows = await trx
      .selectFrom("rule_state")
      .selectAll()
      .where("source_id", "=", sourceId)
      .where(({ eb, refTuple, tuple }) =>
        eb(
          refTuple("rule_id", "key"),
          "in",
          chunk.map((g) => tuple(g.ruleId, g.key)),
        ),
      )
      .execute();
    for (const entry of rows.map(toRuleStateEntry)) current.set(stateKeyOf(entry), entry);
  }
  const upserts: Insertable<RuleStateTable>[] = [];
  const written = new Map<string, RuleStateEntry | null>();
  for (const group of groups) {
    const before = current.get(stateKeyOf(group)) ?? null;
    const next = applyStateOpsTo(before, group.ops, stateTimeSecs);
    written.set(stateKeyOf(group), next);
    if (next !== null) upserts.push(ruleStateRow(sourceId, next));
    else if (before !== null) {
      await trx
        .deleteFrom("rule_state")
        .where("source_id", "=", sourceId)
        .where("rule_id", "=", group.ruleId)
        .where("key", "=", group.key)
        .execute();
    }
  }
  for (const chunk of chunks(upserts)) {
    await trx
      .insertInto("rule_state")
      .values(chunk)
      .onConflict((oc) =>
        oc.columns(["source_id", "rule_id", "key"]).doUpdateSet((eb) => ({
          value: eb.ref("excluded.value"),
          counter: eb.ref("excluded.counter"),
          members: eb.ref("excluded.members"),
          expires_at_secs: eb.ref("excluded.expires_at_secs"),
        })),
      )
      .execute();
  }
  const { before, after } = await nextStateVersion(trx, sourceId);
  return { sourceId, versionBefore: before, version: after, entries: written };
}

// ---- the operations ----

/** A match names its source; one that names another source than the write's is the caller's bug. */
export function assertMatchesOf(sourceId: string, matches: readonly RuleMatch[]): void {
  const stray = matches.find((m) => m.sourceId !== sourceId);
  if (stray !== undefined) {
    throw new UsageError(`A match of rule ${stray.ruleId} names source ${stray.sourceId}, not ${sourceId}.`);
  }
}

/** Runs `write`, which references `sourceId`: a violated foreign key means there is no such source. */
async function forSource<T>(dialect: StoreDialect, sourceId: string | null, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (dialect.violatedConstraint(err) === "foreign_key") throw new NotFoundError(`No source with id ${sourceId}.`);
    throw err;
  }
}

export function detectionOps(
  ctx: StoreContext,
): Pick<
  Store,
  | "loadRuleState"
  | "listDetectionSettings"
  | "setDetectionSetting"
  | "listMatches"
  | "applyDerivedMatches"
  | "listCorrelationPending"
  | "clearCorrelationPending"
> {
  const { dialect } = ctx;
  return {
    async loadRuleState(sourceId, ruleIds, nowSecs) {
      if (ruleIds.length === 0) return [];
      return dialect.run((db) => ctx.ruleStateCache.load(db, sourceId, ruleIds, nowSecs));
    },

    async listDetectionSettings() {
      const rows = await dialect.run((db) =>
        db
          .selectFrom("detection_settings")
          .select(["kind", "id", "source_id", "enabled"])
          .orderBy("kind")
          .orderBy("id")
          .orderBy((eb) => eb.fn.coalesce("source_id", eb.val("")))
          .execute(),
      );
      return rows.map((r) => ({
        kind: r.kind as "rule" | "pack",
        id: r.id,
        sourceId: r.source_id,
        enabled: flag(r.enabled),
      }));
    },

    async setDetectionSetting(setting) {
      await dialect.run((db) =>
        forSource(dialect, setting.sourceId, () =>
          db
            .insertInto("detection_settings")
            .values({
              kind: setting.kind,
              id: setting.id,
              source_id: setting.sourceId,
              enabled: toFlag(setting.enabled),
            })
            // The unique index is on (kind, id, coalesce(source_id, '')): one global setting per rule or pack.
            .onConflict((oc) =>
              oc
                .expression(sql`kind, id, coalesce(source_id, '')`)
                .doUpdateSet((eb) => ({ enabled: eb.ref("excluded.enabled") })),
            )
            .execute(),
        ),
      );
    },

    async listMatches(query) {
      const rows = await dialect.run(async (db) => {
        let q = matchesWithVersions(db)
          .where("m.event_time", ">=", query.sinceSecs)
          .where("m.event_time", "<", query.untilSecs);
        if (query.sourceId !== undefined) {
          q = q.where("m.source_num", "=", await ctx.sourceNumbers.filter(db, query.sourceId));
        }
        if (query.ruleIds !== undefined && query.ruleIds.length > 0) {
          q = q.where("m.rule_num", "in", ruleNumbersOf(db, query.ruleIds));
        }
        return q.orderBy("m.event_time").orderBy("m.seq").execute();
      });
      return rows.map(toRuleMatch);
    },

    async applyDerivedMatches(sourceId, matches, options = {}) {
      assertMatchesOf(sourceId, matches);
      return dialect.write(async (trx) => {
        const sourceNum = await requireSource(ctx, trx, sourceId);
        const fromHistory = options.fromHistory === true;
        return {
          createdAlertIds: await applyMatchesIn(ctx, trx, matches, ctx.clock.nowMs(), {
            fromHistory,
            correlationMemberRuleIds: options.correlationMemberRuleIds,
            sourceNum,
          }),
        };
      });
    },

    async listCorrelationPending(sourceId, options) {
      const rows = await dialect.run(async (db) =>
        matchesWithVersions(db)
          .where("m.source_num", "=", await ctx.sourceNumbers.filter(db, sourceId))
          .where("m.correlation_pending", "=", 1)
          .where("m.seq", ">", options.afterSeq)
          .orderBy("m.seq")
          .limit(options.limit)
          .execute(),
      );
      return rows.map((row) => ({ seq: row.seq, match: toRuleMatch(row) }));
    },

    async clearCorrelationPending(sourceId, seqs) {
      if (seqs.length === 0) return;
      await dialect.write(async (trx) => {
        const sourceNum = await ctx.sourceNumbers.filter(trx, sourceId);
        for (const chunk of chunks(seqs)) {
          await trx
            .updateTable("rule_matches")
            .set({ correlation_pending: 0 })
            .where("source_num", "=", sourceNum)
            .where("seq", "in", chunk)
            .execute();
        }
      });
    },
  };
}
