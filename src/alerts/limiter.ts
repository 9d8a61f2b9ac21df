// The alert limiter (Panther has one): a rule that raises more than `limitPerHour` alerts in an hour, for one
// source, stops raising new ones; the matches that would have opened further alerts are grouped into one
// "rule is noisy" alert per event-time hour instead, so that one broken or noisy rule cannot flood the alert
// list and the destinations. Pure: the stores count the rule's recent alerts, call `foldNoisyMatches` between
// two window computations, and write what the second one returns.
//
// The hour is processing time (alerts created in the last 60 minutes), as Panther's limiter counts: it protects
// the people and systems downstream, who live in processing time. Which matches are folded therefore depends on
// when they arrive; the noisy alert records how many it took. Rule errors are never folded (a failing rule is
// reported as such, grouped by its own windows), nor are matches that join an alert that already exists, nor a
// correlation's matches: a correlation completes once per anchor and key, and its match is known by that key
// (its dedup string, which folding would replace), so a later run would not recognise a folded one as stored.

import { CORRELATION_LOG_TYPE, type RuleMatch, VIGIL_DEDUP_PREFIX } from "../core/detection.ts";
import type { WindowOutcome } from "./windows.ts";

export const DEFAULT_ALERT_LIMIT_PER_HOUR = 100;

/**
 * The dedup string of a rule's noisy alert: one per (source, rule, event-time hour). In Vigil's own namespace,
 * which no rule's dedup string reaches (core/detection.ts).
 */
export const NOISY_DEDUP = `${VIGIL_DEDUP_PREFIX}noisy-rule`;

const ruleKey = (m: { sourceId: string; ruleId: string }) => JSON.stringify([m.sourceId, m.ruleId]);

/** A match rewritten into its rule's noisy alert: threshold 1, grouped per event-time hour. */
export function noisyMatch(m: RuleMatch, limitPerHour: number): RuleMatch {
  return {
    ...m,
    dedupString: NOISY_DEDUP,
    title: `Rule ${m.ruleId} raised more than ${limitPerHour} alerts in an hour; its further matches are grouped here`,
    alertContext: { noisyRule: m.ruleId, limitPerHour, firstFoldedTitle: m.title },
    dedupPeriodMinutes: 60,
    threshold: 1,
    uniqueValue: null,
  };
}

/**
 * The matches to window again when the batch would raise more alerts than a rule's budget allows, else null.
 * `recentAlerts(sourceId, ruleId)` is how many alerts the rule raised for the source in the last hour; the
 * batch's new alerts (in creation order) use up what is left, and the matches of the windows beyond it are
 * rewritten by `noisyMatch`. Matches of windows that already had an alert are never moved.
 */
export function foldNoisyMatches(
  outcome: Pick<WindowOutcome, "alertCreations" | "placements">,
  matches: readonly RuleMatch[],
  recentAlerts: (sourceId: string, ruleId: string) => number,
  limitPerHour: number,
): RuleMatch[] | null {
  const left = new Map<string, number>();
  const folded = new Set<string>();
  for (const w of outcome.alertCreations) {
    if (w.isError || w.dedupString === NOISY_DEDUP || w.first.logType === CORRELATION_LOG_TYPE) continue;
    const key = ruleKey(w);
    const budget = left.get(key) ?? limitPerHour - recentAlerts(w.sourceId, w.ruleId);
    if (budget > 0) left.set(key, budget - 1);
    else {
      left.set(key, 0);
      folded.add(w.id);
    }
  }
  if (folded.size === 0) return null;
  // Placements are one per input match, in input order.
  return matches.map((m, i) => {
    const windowId = outcome.placements[i]?.windowId;
    return windowId !== undefined && windowId !== null && folded.has(windowId) ? noisyMatch(m, limitPerHour) : m;
  });
}
