// Alert grouping (Panther's dedup period + threshold + unique), as a pure function over plain data: the
// stores load the affected windows, call `applyMatches`, and save what it returns, all inside the page
// transaction. Nothing here does I/O, so the storage layer may import it.
//
// The promise (docs/security.md, finding 7): alerts are a function of the SET of matches, not of the order
// they arrive in. Parallel backfill slices, newest-first pages, re-reads and crash replays all give the same
// alerts (rule, dedup string, window, match count, title, severity, ...). Every rule below serves that:
// - Windows run on EVENT time, not processing time (Panther uses processing time), on a fixed grid:
//   a match at t belongs to the window [floor(t / period) * period, + period) of its key. Its window depends
//   on its own event time alone. (Panther and earlier Vigil versions anchored a window at its first match,
//   so which matches shared a window depended on which one came first.)
// - Key = (sourceId, ruleId, dedupString, isError): rule errors never merge with matches of the same rule.
//   The period is part of the window's identity (its id hashes key, start and period): a rule whose dedup
//   period changed puts its new matches on the new grid, never into a window of another length.
// - The count: the larger of (distinct unique() values) and (matches without a unique() value). For a rule
//   without unique() that is its match count; for one with unique(), the distinct values, exactly (the set
//   itself until the alert exists). Both terms only grow as matches arrive, and the threshold is the lowest
//   any match of the window asked for (it only falls), so "count >= threshold" once true stays true: the alert
//   exists at the end iff the whole set reaches the threshold, whatever the order. (Counting values only
//   when some match has one, as before, was not monotone: valueless matches could fire an alert that a later
//   value would have prevented.)
// - A match is counted once: the stores skip a match already stored (rule_matches is unique on source, rule,
//   event, error flag) before calling here, so re-reads and replays never count twice.
// - Title, severity, context and the other alert fields come from the window's REPRESENTATIVE: its earliest
//   match by (event time, event id). A match that arrives late but happened earlier becomes the representative,
//   and the stores rewrite the existing alert's fields from it (`alertAttachments`), so the stored alert
//   converges to the same fields in every run. A notification already sent keeps the fields it was sent with.
// - `createAlert: false` matches are signals only: they get no window and never make an alert.
// - The alert id is the window id: a crash-and-replay run produces the same ids, so the store's primary key
//   makes a second creation impossible.
// - Windows stored before the grid (`onGrid` false; see the migration "alert windows on an event-time grid")
//   keep receiving the matches whose event time they contain, so an alert that was open at the upgrade keeps
//   growing instead of being split. No such window is created any more, so that set is fixed and a match's
//   window is still a function of its own event time.

import { createHash } from "node:crypto";
import type { RuleMatch } from "../core/detection.ts";

export interface WindowKey {
  sourceId: string;
  ruleId: string;
  dedupString: string;
  isError: boolean;
}

export interface AlertWindow extends WindowKey {
  /** Deterministic; also the id of the window's alert. */
  id: string;
  startSecs: number;
  /** Exclusive. */
  endSecs: number;
  /** On the event-time grid; false for windows stored before it, anchored at their first match. */
  onGrid: boolean;
  /** Every match the window received. */
  matchCount: number;
  /** Distinct unique() values, sorted; only filled while the window has no alert. */
  uniqueValues: string[];
  /** Matches without a unique() value (every match of a rule without unique()). */
  valuelessCount: number;
  /** The lowest threshold of the window's matches (a rule version may change it). */
  threshold: number;
  alertCreated: boolean;
  /** The representative: the earliest match by (event time, event id); the alert's title, severity, context. */
  first: RuleMatch;
}

export interface MatchPlacement {
  match: RuleMatch;
  /** null for signals (createAlert false). */
  windowId: string | null;
  /** The alert the match belongs to after the whole batch, or null while its window has none. */
  alertId: string | null;
}

export interface WindowOutcome {
  /** Every window created or changed by the batch, in its final state (save them all). */
  windowUpserts: AlertWindow[];
  /** Windows whose alert this batch created (threshold reached), in creation order. */
  alertCreations: AlertWindow[];
  /**
   * Windows that already had an alert and received more matches: update the alert's match count, and its
   * fields from the representative (which an earlier match may have replaced).
   */
  alertAttachments: AlertWindow[];
  /** One per input match, in input order. */
  placements: MatchPlacement[];
  /**
   * Ids of windows given in `existing` whose representative this batch replaced: only these need their stored
   * first match (and their alert's fields) written again; for the others the counts are enough.
   */
  newRepresentative: ReadonlySet<string>;
}

/** A stable text for a key, for maps and locks. */
export function windowKeyString(key: WindowKey): string {
  return JSON.stringify([key.sourceId, key.ruleId, key.dedupString, key.isError]);
}

export function windowKeyOf(match: RuleMatch): WindowKey {
  return { sourceId: match.sourceId, ruleId: match.ruleId, dedupString: match.dedupString, isError: match.isError };
}

/**
 * sha256 of the key, the window start and its period, truncated to 32 hex characters (128 bits). Windows
 * stored before the grid keep the ids they were given (key and start only).
 */
export function windowId(key: WindowKey, startSecs: number, periodSecs: number): string {
  const text = [
    key.ruleId,
    key.dedupString,
    key.isError ? "error" : "match",
    key.sourceId,
    String(startSecs),
    `grid:${periodSecs}`,
  ].join("|");
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/** A period of 0 (or less) would make an empty window; one second keeps every window non-empty. */
export function periodSecs(dedupPeriodMinutes: number): number {
  return Math.max(1, Math.floor(dedupPeriodMinutes * 60));
}

/** The start of the grid window that holds event time `t` (floor, so times before 1970 work too). */
export function gridStartSecs(t: number, period: number): number {
  return Math.floor(t / period) * period;
}

/** What a window compares with its threshold (see the header: both terms only grow). */
export function windowCount(window: AlertWindow): number {
  return Math.max(window.uniqueValues.length, window.valuelessCount);
}

/** Whether `a` comes before `b` in (event time, event id) order: the representative is the least. */
export function isEarlier(a: RuleMatch, b: RuleMatch): boolean {
  if (a.eventTimeSecs !== b.eventTimeSecs) return a.eventTimeSecs < b.eventTimeSecs;
  return a.eventId < b.eventId;
}

function insertSorted(values: string[], value: string): string[] {
  if (values.includes(value)) return values;
  return [...values, value].sort();
}

/** The grid window of `key` that holds `match`'s event time: its id, start and period. */
function gridWindowOf(key: WindowKey, match: RuleMatch): { id: string; start: number; period: number } {
  const period = periodSecs(match.dedupPeriodMinutes);
  const start = gridStartSecs(match.eventTimeSecs, period);
  return { id: windowId(key, start, period), start, period };
}

/** The window of `key` that `match` belongs to among `list` (a stored pre-grid window first), or a new one. */
function windowFor(list: AlertWindow[], key: WindowKey, match: RuleMatch): AlertWindow {
  const t = match.eventTimeSecs;
  let legacy: AlertWindow | undefined;
  for (const w of list) {
    // Pre-grid windows may overlap (out-of-order arrivals made them): the latest start wins, as it did.
    if (!w.onGrid && w.startSecs <= t && t < w.endSecs && (legacy === undefined || w.startSecs > legacy.startSecs))
      legacy = w;
  }
  if (legacy !== undefined) return legacy;
  const { id, start, period } = gridWindowOf(key, match);
  const found = list.find((w) => w.id === id);
  if (found !== undefined) return found;
  const window: AlertWindow = {
    ...key,
    id,
    startSecs: start,
    endSecs: start + period,
    onGrid: true,
    matchCount: 0,
    uniqueValues: [],
    valuelessCount: 0,
    threshold: Math.max(1, match.threshold),
    alertCreated: false,
    first: match,
  };
  list.push(window);
  return window;
}

/**
 * Applies `matches` to `existing`, the stored windows the matches may fall into: at least, per key, the grid
 * windows `keysToLoad` names (`gridIds`) and the pre-grid windows with start <= max t and end > min t (a window
 * of neither kind is ignored). `matches` must be new
 * (none stored before, none twice). The result does not depend on the order of `matches`, nor on how a set
 * of matches is split into successive calls. Returns new objects; the inputs are not modified.
 */
export function applyMatches(existing: readonly AlertWindow[], matches: readonly RuleMatch[]): WindowOutcome {
  const byKey = new Map<string, AlertWindow[]>();
  for (const w of existing) {
    const k = windowKeyString(w);
    const list = byKey.get(k) ?? [];
    list.push({ ...w, uniqueValues: [...w.uniqueValues] });
    byKey.set(k, list);
  }
  const alertedBefore = new Set(existing.filter((w) => w.alertCreated).map((w) => w.id));
  const stored = new Set(existing.map((w) => w.id));
  const newRepresentative = new Set<string>();
  const touched = new Map<string, AlertWindow>();
  const created: AlertWindow[] = [];
  const placed: Array<{ match: RuleMatch; window: AlertWindow | null }> = [];

  for (const match of matches) {
    if (!match.createAlert) {
      placed.push({ match, window: null });
      continue;
    }
    const key = windowKeyOf(match);
    const k = windowKeyString(key);
    const list = byKey.get(k) ?? [];
    byKey.set(k, list);
    const window = windowFor(list, key, match);
    window.matchCount++;
    if (match.uniqueValue === null) window.valuelessCount++;
    // Once the alert exists the count no longer matters: the set stops growing, which bounds its size.
    else if (!window.alertCreated) window.uniqueValues = insertSorted(window.uniqueValues, match.uniqueValue);
    window.threshold = Math.min(window.threshold, Math.max(1, match.threshold));
    if (isEarlier(match, window.first)) {
      window.first = match;
      if (stored.has(window.id)) newRepresentative.add(window.id);
    }
    if (!window.alertCreated && windowCount(window) >= window.threshold) {
      window.alertCreated = true;
      window.uniqueValues = [];
      created.push(window);
    }
    touched.set(window.id, window);
    placed.push({ match, window });
  }

  const windowUpserts = [...touched.values()];
  return {
    windowUpserts,
    alertCreations: created,
    alertAttachments: windowUpserts.filter((w) => alertedBefore.has(w.id)),
    placements: placed.map(({ match, window }) => ({
      match,
      windowId: window?.id ?? null,
      alertId: window?.alertCreated === true ? window.id : null,
    })),
    newRepresentative,
  };
}

/** What to load per key for `applyMatches`, and lock: the grid windows its matches fall in, by id, and their span. */
export interface WindowsToLoad {
  key: WindowKey;
  /** The ids of the grid windows holding the key's matches, each once. */
  gridIds: string[];
  /** The earliest and latest event time of the key's matches: a pre-grid window holding one overlaps this. */
  minSecs: number;
  maxSecs: number;
}

/**
 * The windows a batch of matches may fall into, per key: sorted by key, so that concurrent writers lock keys in
 * the same order. A match's grid window is a function of its own event time, so it is found by id, however
 * long the key's history; only the pre-grid windows (a fixed set, see the header) are found by span.
 */
export function keysToLoad(matches: readonly RuleMatch[]): WindowsToLoad[] {
  const spans = new Map<string, Omit<WindowsToLoad, "gridIds"> & { ids: Set<string> }>();
  for (const m of matches) {
    if (!m.createAlert) continue;
    const key = windowKeyOf(m);
    const k = windowKeyString(key);
    const id = gridWindowOf(key, m).id;
    const span = spans.get(k);
    if (span === undefined) {
      spans.set(k, { key, ids: new Set([id]), minSecs: m.eventTimeSecs, maxSecs: m.eventTimeSecs });
    } else {
      span.ids.add(id);
      span.minSecs = Math.min(span.minSecs, m.eventTimeSecs);
      span.maxSecs = Math.max(span.maxSecs, m.eventTimeSecs);
    }
  }
  return [...spans.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, { ids, ...span }]) => ({ ...span, gridIds: [...ids] }));
}
