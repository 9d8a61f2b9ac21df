// Alert grouping (Panther's dedup period + threshold + unique), as a pure function over plain data: the
// stores load the affected windows, call `applyMatches`, and save what it returns, all inside the page
// transaction. Nothing here does I/O, so the storage layer may import it.
//
// Semantics (docs/reference/panther-semantics.md §2.3), with one deliberate difference:
// - Windows run on EVENT time, not processing time. Panther anchors a window at the processing time of its
//   first match; Vigil anchors it at the first match's event time, so a replay, a backfill or a crash
//   recovery groups exactly like the live run did.
// - Key = (sourceId, ruleId, dedupString, isError): rule errors never merge with matches of the same rule.
// - A window is a tumbling window [start, start + period) anchored at its first match. A match at t joins
//   the window of its key that contains t (the one with the latest start when out-of-order arrivals made
//   windows overlap); when none contains t, a new window starts at t. So t = start + period starts a new
//   window. An out-of-order match before a later window of its key instead starts the window that ENDS where
//   that later window starts (but not before the end of an earlier one): a backfill reads history newest
//   page first, and anchoring each older page's match at its own time made one window per page, so a daily
//   dedup period raised an alert per actor per page instead of per day. Windows tile backwards the way they
//   tile forwards. The result depends only on the processing order of the matches, which is the page order:
//   deterministic.
// - The alert exists from the match that brings the window's count to `threshold`. With unique() values the
//   count is the number of distinct values, kept exactly (the set itself, not a sketch) until the alert
//   exists; after that the count no longer matters and the set stops growing, which bounds its size.
// - Title, severity, context and the other alert fields come from the window's FIRST match and never change.
// - `createAlert: false` matches are signals only: they get no window and never make an alert.
// - The alert id is the window id, a hash of the key and the window start: a crash-and-replay run produces
//   the same ids, so the store's primary key makes a second creation impossible.

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
  /** Every match the window received. */
  matchCount: number;
  /** Distinct unique() values, sorted; only filled while the window counts unique values and has no alert. */
  uniqueValues: string[];
  /** From the first match: later rule versions with another threshold do not change an open window. */
  threshold: number;
  /** Whether the window counts distinct unique() values (its first match had one) rather than matches. */
  countsUnique: boolean;
  alertCreated: boolean;
  /** The first match: the alert's title, severity, context and so on. */
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
  /** Windows that already had an alert and received more matches: update the alert's match count. */
  alertAttachments: AlertWindow[];
  /** One per input match, in input order. */
  placements: MatchPlacement[];
}

/** A stable text for a key, for maps and locks. */
export function windowKeyString(key: WindowKey): string {
  return JSON.stringify([key.sourceId, key.ruleId, key.dedupString, key.isError]);
}

export function windowKeyOf(match: RuleMatch): WindowKey {
  return { sourceId: match.sourceId, ruleId: match.ruleId, dedupString: match.dedupString, isError: match.isError };
}

/** sha256 of the key and the window start, truncated to 32 hex characters (128 bits). */
export function windowId(key: WindowKey, startSecs: number): string {
  const text = [key.ruleId, key.dedupString, key.isError ? "error" : "match", key.sourceId, String(startSecs)].join(
    "|",
  );
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/** A period of 0 (or less) would make an empty window; one second keeps every window non-empty. */
export function periodSecs(dedupPeriodMinutes: number): number {
  return Math.max(1, Math.floor(dedupPeriodMinutes * 60));
}

/** Whether a window reached its threshold. */
export function windowCount(window: AlertWindow): number {
  return window.countsUnique ? window.uniqueValues.length : window.matchCount;
}

function insertSorted(values: string[], value: string): string[] {
  if (values.includes(value)) return values;
  return [...values, value].sort();
}

/**
 * Applies `matches` (in processing order) to `existing`, the stored windows of the matches' keys that may
 * contain their event times (at least: every window of those keys with start <= max t and end > min t).
 * Returns new objects; the inputs are not modified.
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
    const t = match.eventTimeSecs;
    let window: AlertWindow | undefined;
    for (const w of list) {
      if (w.startSecs <= t && t < w.endSecs && (window === undefined || w.startSecs > window.startSecs)) window = w;
    }
    if (window === undefined) {
      const period = periodSecs(match.dedupPeriodMinutes);
      const startSecs = newWindowStart(list, t, period);
      window = {
        ...key,
        id: windowId(key, startSecs),
        startSecs,
        endSecs: startSecs + period,
        matchCount: 0,
        uniqueValues: [],
        threshold: Math.max(1, match.threshold),
        countsUnique: match.uniqueValue !== null,
        alertCreated: false,
        first: match,
      };
      list.push(window);
    }
    window.matchCount++;
    // A match without a unique() value adds nothing to a distinct count.
    if (window.countsUnique && !window.alertCreated && match.uniqueValue !== null) {
      window.uniqueValues = insertSorted(window.uniqueValues, match.uniqueValue);
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
  };
}

/**
 * Where a new window for a match at t (in no window of its key) starts: at t, unless a later window of the key
 * starts within one period after t; then one period before that window (so the two tile), but never before
 * the end of the latest earlier window. Always <= t.
 */
function newWindowStart(windows: readonly AlertWindow[], t: number, period: number): number {
  let nextStart = Number.POSITIVE_INFINITY;
  let previousEnd = Number.NEGATIVE_INFINITY;
  for (const w of windows) {
    if (w.startSecs > t) nextStart = Math.min(nextStart, w.startSecs);
    else if (w.endSecs <= t) previousEnd = Math.max(previousEnd, w.endSecs);
  }
  if (nextStart - period > t) return t;
  return Math.min(t, Math.max(nextStart - period, previousEnd));
}

/**
 * The event-time span of a batch per key, for loading the windows `applyMatches` needs: those that may contain
 * a match (start <= max t, end > min t) and those starting up to one period after the batch (maxSecs includes
 * that period), which an older match tiles up to.
 */
export function keysToLoad(matches: readonly RuleMatch[]): Array<{ key: WindowKey; minSecs: number; maxSecs: number }> {
  const spans = new Map<string, { key: WindowKey; minSecs: number; maxSecs: number }>();
  for (const m of matches) {
    if (!m.createAlert) continue;
    const k = windowKeyString(windowKeyOf(m));
    const span = spans.get(k);
    const reach = m.eventTimeSecs + periodSecs(m.dedupPeriodMinutes);
    if (span === undefined) spans.set(k, { key: windowKeyOf(m), minSecs: m.eventTimeSecs, maxSecs: reach });
    else {
      span.minSecs = Math.min(span.minSecs, m.eventTimeSecs);
      span.maxSecs = Math.max(span.maxSecs, reach);
    }
  }
  // Sorted, so that concurrent writers lock keys in the same order.
  return [...spans.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, span]) => span);
}
