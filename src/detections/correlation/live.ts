// Correlation rules over stored matches, on event time: the matches of the rule's member rules become inputs to
// ./semantics.ts, and each completion becomes a derived match whose event is the completion's anchor. The same
// stored matches always give the same derived matches (same rule, same anchor event), so the store's idempotent
// applyDerivedMatches never counts one twice, however often a window is evaluated again.
//
// MatchCriteria fields are read from the matched event's normalized record (what the member rule saw: p_any_*
// indicators, or a dotted path such as actor.session.user.email), and, when the record lacks the field, from the
// match's alert context (a Vigil rule may put a correlation key there).

import { CORRELATION_LOG_TYPE, joinKeyValues, type RuleMatch, type Severity } from "../../core/detection.ts";
import { truncate } from "../engine/resolve.ts";
import type { CorrelationRuleSpec } from "../panther/correlation.ts";
import { type CorrelationInput, findCompletions } from "./semantics.ts";

/** The scalar values of a field: a list is the set of its scalars; an object or null is no value. */
function scalars(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v) => (Array.isArray(v) ? [] : scalars(v)));
  if (typeof value === "string") return value === "" ? [] : [value];
  if (typeof value === "number" || typeof value === "boolean") return [String(value)];
  return [];
}

function pathValue(record: Record<string, unknown> | null, field: string): unknown {
  if (record === null) return undefined;
  if (field in record) return record[field];
  let cur: unknown = record;
  for (const part of field.split(".")) {
    if (typeof cur !== "object" || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function fieldValues(match: RuleMatch, record: Record<string, unknown> | null, field: string): string[] {
  const fromEvent = pathValue(record, field);
  return scalars(fromEvent !== undefined ? fromEvent : pathValue(match.alertContext, field));
}

/** The member rule ids of a correlation rule (a rule may be more than one member). */
export function memberRuleIds(spec: CorrelationRuleSpec): string[] {
  return [...new Set(spec.members.map((m) => m.ruleId))];
}

export interface LiveCorrelationResult {
  derived: RuleMatch[];
  /** Completions that need data not stored yet (an absence still open): evaluate again later. */
  undecided: number;
}

/**
 * Evaluates `spec` over one source's stored matches of its members. Only completions whose anchor time passes
 * `anchorWanted` are returned (the caller asks for the anchors whose whole window it loaded).
 */
export function correlateStored(
  spec: CorrelationRuleSpec,
  matches: readonly RuleMatch[],
  records: ReadonlyMap<string, Record<string, unknown> | null>,
  options: {
    nowSecs: number;
    /**
     * Whether the source's events of a time span are all stored (pipeline/correlations.ts storedFrames): an
     * Absence's time frame must be, since an event missing from it may be on its way (a backfill slice still to
     * come, a poll behind). Default: every span up to `nowSecs` is.
     */
    frameStored?: (fromSecs: number, toSecs: number) => boolean;
    anchorWanted: (timeSecs: number) => boolean;
  },
): LiveCorrelationResult {
  const inputs: Array<CorrelationInput & { match: RuleMatch }> = [];
  for (const match of matches) {
    if (match.isError) continue;
    const record = records.get(match.eventId) ?? null;
    const cache = new Map<string, string[]>();
    const values = (field: string) => {
      let v = cache.get(field);
      if (v === undefined) {
        v = fieldValues(match, record, field);
        cache.set(field, v);
      }
      return v;
    };
    for (const m of spec.members)
      if (m.ruleId === match.ruleId)
        inputs.push({ memberId: m.id, timeSecs: match.eventTimeSecs, id: match.eventId, values, match });
  }
  const derived: RuleMatch[] = [];
  let undecided = 0;
  for (const c of findCompletions(spec, inputs)) {
    if (!options.anchorWanted(c.anchor.timeSecs)) continue;
    // An Absence looks past its anchor: decided once the events up to the end of its time frame are stored. Any
    // other completion is decided by the matches it has (stored ones), only never ahead of the clock.
    // Its frame starts with its first contributing match, not its anchor: a Group's absence window opens at the
    // group's first match, which may be well before the anchor.
    const lookingAhead = c.needsDataUntilSecs > c.anchor.timeSecs;
    const frameFrom = Math.min(c.anchor.timeSecs, ...c.contributing.map((i) => i.timeSecs));
    const undecidedYet =
      c.needsDataUntilSecs > options.nowSecs ||
      (lookingAhead && options.frameStored !== undefined && !options.frameStored(frameFrom, c.needsDataUntilSecs));
    if (undecidedYet) {
      undecided++;
      continue;
    }
    const anchor = (c.anchor as (typeof inputs)[number]).match;
    const contributing = c.contributing.map((i) => (i as (typeof inputs)[number]).match);
    const key = joinKeyValues(
      Object.keys(c.key)
        .sort()
        .map((k) => c.key[k]!),
      ", ",
    );
    // As any rule's (engine/resolve.ts): at most 1000 characters, and text the stores give back as it was, since
    // the store knows a correlation's match by its dedup string. A key may come from a member's alert context.
    // Without a key, every match of the rule shares its id (ruleWideDedups, which suppressions refuse to pin alone).
    const dedup = truncate(key === "" ? spec.ruleId : key);
    derived.push({
      ruleId: spec.ruleId,
      packId: spec.packId,
      sourceId: anchor.sourceId,
      eventId: anchor.eventId,
      logType: CORRELATION_LOG_TYPE,
      eventTimeSecs: anchor.eventTimeSecs,
      isError: false,
      errorType: null,
      errorMessage: null,
      dedupString: dedup,
      title: truncate(`${spec.displayName ?? spec.ruleId}: ${dedup}`),
      severity: spec.severity as Severity,
      alertContext: {
        correlationKey: dedup,
        matchCriteria: c.key,
        matchedRules: [...new Set(contributing.map((m) => m.ruleId))],
        matchedEventIds: contributing.map((m) => m.eventId),
        firstEventTimeSecs: contributing[0]?.eventTimeSecs ?? anchor.eventTimeSecs,
      },
      description: spec.description,
      reference: spec.reference,
      runbook: spec.runbook,
      // As for rules (loaded-rule.ts): an empty OutputIds is the default routing, not "send nowhere".
      destinations: spec.outputIds !== null && spec.outputIds.length > 0 ? [...spec.outputIds] : null,
      uniqueValue: null,
      dedupPeriodMinutes: spec.dedupPeriodMinutes,
      threshold: 1,
      createAlert: spec.createAlert,
      tags: spec.tags,
      reports: spec.reports,
    });
  }
  return { derived, undecided };
}
