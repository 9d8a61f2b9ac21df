// Runs the correlation rules live, on event time, over the matches that correlation has not seen yet.
//
// A stored match starts pending (set in the transaction that stores it: a live page, a backfill slice, a
// sweep, a derived match) when its rule is a member of a correlation rule enabled for the source; the others
// no run would read. A run reads the pending matches of a source in storage order; for each correlation
// rule with a member among them it loads the member matches within the rule's reach of each new match (the
// lookback before and after it, plus what Absence members look ahead), evaluates the rule there
// (detections/correlation/live.ts), applies the derived matches (idempotent: one per rule and anchor event), and
// only then clears the pending flags. A crash anywhere before the clear leaves the matches pending: the next run
// evaluates them again and finds the same derived matches, which the store skips. So history that arrives by
// backfill or late by a sweep correlates with what was stored before it, and nothing is lost or counted twice.

import type { RuleMatch } from "../core/detection.ts";
import { isHistoryOf, type SourceRecord } from "../core/source.ts";
import { correlateStored, memberRuleIds } from "../detections/correlation/live.ts";
import { lookAheadSecs } from "../detections/correlation/semantics.ts";
import type { CorrelationRuleSpec } from "../detections/panther/correlation.ts";
import type { Store } from "../storage/ports.ts";
import { normalizedRecord } from "./normalized.ts";

/** Pending matches read per step. */
const PENDING_BATCH = 1000;
/** Events read per look-up of their records (criteria fields). */
const EVENT_BATCH = 500;

type Span = [number, number];

/** Sorted, merged closed intervals. */
function merge(spans: Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s[0] <= last[1] + 1) last[1] = Math.max(last[1], s[1]);
    else out.push([s[0], s[1]]);
  }
  return out;
}

const inside = (spans: readonly Span[], t: number) => spans.some(([lo, hi]) => t >= lo && t <= hi);

/** The normalized records of the matched events (what member rules saw), by event id. */
async function recordsOf(
  store: Store,
  source: SourceRecord,
  matches: readonly RuleMatch[],
): Promise<Map<string, Record<string, unknown> | null>> {
  const ids = [...new Set(matches.map((m) => m.eventId))];
  const out = new Map<string, Record<string, unknown> | null>();
  for (let i = 0; i < ids.length; i += EVENT_BATCH) {
    const chunk = ids.slice(i, i + EVENT_BATCH);
    for (const e of await store.searchEvents({ sourceId: source.id, ids: chunk, limit: chunk.length })) {
      out.set(e.id, normalizedRecord(e, source));
    }
  }
  return out;
}

export interface CorrelationRun {
  createdAlertIds: string[];
  /** Pending matches looked at. */
  examined: number;
  /** Matches kept pending: a completion waits for an Absence member's time frame to pass. */
  deferred: number;
}

/**
 * Whether all of the source's events from `fromSecs` to `toSecs` are stored, which is what an Absence member's
 * time frame needs before it is decided, not the wall clock: each of its streams' checkpoint has passed the frame
 * (every event up to it that the API showed is stored), and no backfill still running covers any of it (its
 * slices read history in any order: a slice's events may come after a later one's). Never past `nowSecs`. Events
 * that turn up in the API later than the overlap still come by the sweeps, after a decision: as in Panther.
 */
export async function storedFrames(
  store: Store,
  source: SourceRecord,
  nowSecs: number,
): Promise<(fromSecs: number, toSecs: number) => boolean> {
  let through = nowSecs;
  for (const stream of source.includeTenantEvents ? (["main", "tenant"] as const) : (["main"] as const)) {
    const { checkpointSecs } = await store.getStreamState(source.id, stream);
    // Never polled yet: nothing is known to be complete.
    through = Math.min(through, checkpointSecs ?? Number.NEGATIVE_INFINITY);
  }
  const backfilling = (await store.listBackfillJobs({ sourceId: source.id, pendingOnly: true })).map(
    (job) => [job.sinceSecs, job.untilSecs] as const,
  );
  return (fromSecs, toSecs) =>
    toSecs <= through && !backfilling.some(([since, until]) => fromSecs <= until && toSecs >= since);
}

/**
 * Evaluates `rules` (the correlation rules enabled for the source) over the source's pending matches and
 * applies what they find. Safe to run at any time and more than once; an Absence member's time frame has passed
 * once the events of its frame are all stored (storedFrames), never ahead of `nowSecs`.
 */
export async function runCorrelations(
  store: Store,
  source: SourceRecord,
  nowSecs: number,
  rules: readonly CorrelationRuleSpec[],
): Promise<CorrelationRun> {
  const run: CorrelationRun = { createdAlertIds: [], examined: 0, deferred: 0 };
  // Only an Absence needs it; without rules the loop below only clears the queue.
  const frameStored = rules.some((r) => r.members.some((m) => m.absence))
    ? await storedFrames(store, source, nowSecs)
    : undefined;
  // A derived match waits for correlation only when a rule takes its rule as member (chained correlations).
  const correlationMemberRuleIds = [...new Set(rules.flatMap(memberRuleIds))];
  let afterSeq = 0;
  for (;;) {
    const pending = await store.listCorrelationPending(source.id, { afterSeq, limit: PENDING_BATCH });
    if (pending.length === 0) break;
    afterSeq = pending[pending.length - 1]!.seq;
    run.examined += pending.length;
    const keep = new Set<number>();
    const derived: RuleMatch[] = [];
    for (const rule of rules) {
      const members = memberRuleIds(rule);
      const fresh = pending.filter((p) => members.includes(p.match.ruleId) && !p.match.isError);
      if (fresh.length === 0) continue;
      const lookback = rule.lookbackMinutes * 60;
      const ahead = lookAheadSecs(rule);
      // A new match at t can change the completions anchored in [t - ahead, t + lookback]; deciding those needs
      // the matches in [anchor - lookback, anchor + ahead].
      const anchors = merge(fresh.map((p): Span => [p.match.eventTimeSecs - ahead, p.match.eventTimeSecs + lookback]));
      const loads = merge(anchors.map(([lo, hi]): Span => [lo - lookback, hi + ahead]));
      for (const [lo, hi] of loads) {
        const matches = await store.listMatches({
          sourceId: source.id,
          ruleIds: members,
          sinceSecs: lo,
          untilSecs: hi + 1,
        });
        const records =
          Object.keys(rule.criteria).length > 0 ? await recordsOf(store, source, matches) : new Map<string, null>();
        const result = correlateStored(rule, matches, records, {
          nowSecs,
          ...(frameStored ? { frameStored } : {}),
          anchorWanted: (t) => t >= lo && t <= hi && inside(anchors, t),
        });
        derived.push(...result.derived);
        if (result.undecided > 0)
          for (const p of fresh) if (p.match.eventTimeSecs >= lo && p.match.eventTimeSecs <= hi) keep.add(p.seq);
      }
    }
    // A completion anchored before the source existed was read by its backfill: history, like the alerts of
    // backfill pages, so destinations do not page on it unless they ask for history.
    for (const fromHistory of [true, false]) {
      const part = derived.filter((m) => isHistoryOf(source, m.eventTimeSecs) === fromHistory);
      if (part.length > 0)
        run.createdAlertIds.push(
          ...(await store.applyDerivedMatches(source.id, part, { fromHistory, correlationMemberRuleIds }))
            .createdAlertIds,
        );
    }
    // Cleared only now: a crash before this line leaves the batch pending for the next run.
    await store.clearCorrelationPending(
      source.id,
      pending.filter((p) => !keep.has(p.seq)).map((p) => p.seq),
    );
    run.deferred += keep.size;
    if (pending.length < PENDING_BATCH) break;
  }
  return run;
}
