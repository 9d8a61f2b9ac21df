// Panther-style correlation rules (docs/reference/panther-semantics.md §1.2, §4.3) over stored matches, as a
// pure function: the scheduler loads the matches of the lookback window (Store.listMatches), calls
// `evaluateCorrelation`, and feeds the result to Store.applyDerivedMatches, which groups it into alerts like
// any other match (and skips matches it already stored, so overlapping runs never count twice).
//
// Group-by key: the match's `alertContext.correlationKey` when it is a non-empty string, else its
// dedupString. Rules that want to correlate on something other than their dedup string (e.g. the actor
// email when the dedup string is an IP) put it in `correlationKey`. Matches from different sources never
// correlate. Rule errors are ignored.

import type { RuleMatch, Severity } from "../core/detection.ts";

export interface CorrelationMember {
  /** The rule whose matches count. */
  ruleId: string;
  /** Default 1 (Panther's MinMatchCount default). */
  minMatches?: number;
  /**
   * Sequence steps only (a Vigil extension): the step's matches must not be interrupted by a match of the
   * NEXT step; one in between starts the count again. For brute force then success: a user who mistypes
   * twice and gets in, three times a morning, made six failed logins and successes, not a brute force.
   */
  consecutive?: boolean;
}

export interface CorrelationRule {
  id: string;
  displayName: string;
  severity: Severity;
  /** Group: every member matched within the lookback; Sequence: the members in order. */
  detection: { kind: "group"; members: CorrelationMember[] } | { kind: "sequence"; steps: CorrelationMember[] };
  /** Default 15 (Panther's LookbackWindowMinutes default). */
  lookbackMinutes: number;
  dedupPeriodMinutes?: number;
  /** The alert title; `{key}` is replaced by the group-by key. Default: the display name and the key. */
  title?: string;
  description?: string | null;
  runbook?: string | null;
  reference?: string | null;
  tags?: string[];
  reports?: Record<string, string[]>;
}

export const CORRELATION_LOG_TYPE = "Vigil.Correlation";

/** The group-by key of a match (see the header). */
export function correlationKey(match: RuleMatch): string {
  const key = match.alertContext?.correlationKey;
  return typeof key === "string" && key !== "" ? key : match.dedupString;
}

function byTime(a: RuleMatch, b: RuleMatch): number {
  return a.eventTimeSecs - b.eventTimeSecs || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}

/**
 * For a Group: whether the matches satisfy every member. Returns the contributing matches (oldest first)
 * or null.
 */
function satisfyGroup(members: CorrelationMember[], matches: RuleMatch[]): RuleMatch[] | null {
  const used: RuleMatch[] = [];
  for (const member of members) {
    const own = matches.filter((m) => m.ruleId === member.ruleId);
    if (own.length < Math.max(1, member.minMatches ?? 1)) return null;
    used.push(...own);
  }
  return used.sort(byTime);
}

/**
 * For a Sequence: the earliest completion, greedily: each step takes its first `minMatches` matches after
 * the previous step's last one. Returns the contributing matches or null.
 */
function satisfySequence(steps: CorrelationMember[], matches: RuleMatch[]): RuleMatch[] | null {
  const used: RuleMatch[] = [];
  let after = Number.NEGATIVE_INFINITY;
  let lastIndex = -1;
  const sorted = [...matches].sort(byTime);
  for (const [s, step] of steps.entries()) {
    const need = Math.max(1, step.minMatches ?? 1);
    const breaker = step.consecutive === true ? steps[s + 1]?.ruleId : undefined;
    let taken: RuleMatch[] = [];
    for (let i = lastIndex + 1; i < sorted.length && taken.length < need; i++) {
      const m = sorted[i]!;
      if (m.eventTimeSecs < after) continue;
      if (m.ruleId === breaker) {
        taken = [];
        continue;
      }
      if (m.ruleId !== step.ruleId) continue;
      taken.push(m);
      lastIndex = i;
    }
    const last = taken[taken.length - 1];
    if (taken.length < need || last === undefined) return null;
    used.push(...taken);
    after = last.eventTimeSecs;
  }
  return used;
}

/**
 * Evaluates `rule` over `matches` (typically listMatches over [now - lookback, now)) and returns one
 * correlation match per group-by key (and source) that satisfies it. The window is [nowSecs - lookback,
 * nowSecs]; a match after nowSecs is ignored. The result's eventId is the last contributing event, so
 * re-running over an overlapping window yields the same match (which the store then skips).
 */
export function evaluateCorrelation(
  rule: CorrelationRule,
  matches: readonly RuleMatch[],
  nowSecs: number,
): RuleMatch[] {
  const since = nowSecs - Math.max(0, rule.lookbackMinutes) * 60;
  const members = rule.detection.kind === "group" ? rule.detection.members : rule.detection.steps;
  const wanted = new Set(members.map((m) => m.ruleId));
  const groups = new Map<string, RuleMatch[]>();
  for (const m of matches) {
    if (m.isError || !wanted.has(m.ruleId) || m.eventTimeSecs < since || m.eventTimeSecs > nowSecs) continue;
    const k = JSON.stringify([m.sourceId, correlationKey(m)]);
    const list = groups.get(k) ?? [];
    list.push(m);
    groups.set(k, list);
  }
  const out: RuleMatch[] = [];
  for (const list of groups.values()) {
    const used = rule.detection.kind === "group" ? satisfyGroup(members, list) : satisfySequence(members, list);
    const last = used?.[used.length - 1];
    if (used === undefined || used === null || last === undefined) continue;
    const key = correlationKey(last);
    out.push({
      ruleId: rule.id,
      packId: null,
      sourceId: last.sourceId,
      eventId: last.eventId,
      logType: CORRELATION_LOG_TYPE,
      eventTimeSecs: last.eventTimeSecs,
      isError: false,
      errorType: null,
      errorMessage: null,
      dedupString: key,
      title: rule.title === undefined ? `${rule.displayName}: ${key}` : rule.title.replaceAll("{key}", key),
      severity: rule.severity,
      alertContext: {
        correlationKey: key,
        matchedRules: [...new Set(used.map((m) => m.ruleId))],
        matchedEventIds: used.map((m) => m.eventId),
        firstEventTimeSecs: used[0]?.eventTimeSecs ?? last.eventTimeSecs,
      },
      description: rule.description ?? null,
      reference: rule.reference ?? null,
      runbook: rule.runbook ?? null,
      destinations: null,
      uniqueValue: null,
      dedupPeriodMinutes: rule.dedupPeriodMinutes ?? rule.lookbackMinutes,
      threshold: 1,
      createAlert: true,
      tags: rule.tags ?? [],
      reports: rule.reports ?? {},
    });
  }
  return out.sort(byTime);
}

/**
 * Panther's OpenAI rule (§4.3), as a Sequence over 30 minutes: ≥5 failed logins with no success between
 * them, then a success. Counting failures across successes made a benign week page: a user who mistyped
 * their password in three separate logins within half an hour "brute-forced" their own account.
 */
export const OPENAI_BRUTE_FORCE_THEN_SUCCESS: CorrelationRule = {
  id: "OpenAI.BruteForce.Login.Success",
  displayName: "OpenAI Brute Force Login Followed by Success",
  severity: "HIGH",
  detection: {
    kind: "sequence",
    steps: [{ ruleId: "OpenAI.Login.Failed", minMatches: 5, consecutive: true }, { ruleId: "OpenAI.Login.Success" }],
  },
  lookbackMinutes: 30,
  title: "Brute force then successful login for {key}",
  reports: { MITRE: ["TA0006:T1110"] },
};
