// The semantics of correlation rules (Panther's `AnalysisType: correlation_rule`), once, over any timed inputs:
// the rule's `Tests` (minute offsets, panther/correlation.ts) and live stored matches (./live.ts) both call
// `findCompletions`.
//
// A completion is anchored on one input (the "anchor"), so the same data always yields the same completions,
// whichever new match prompted the evaluation, and in whatever order the data arrived (backfill, late events):
// - Group: the anchor is a member match at which the lookback window ending there, [anchor - lookback, anchor],
//   holds MinMatchCount to MaxMatchCount matches of every non-absent member (as Panther's scheduled run would
//   see with the anchor as its run time); an Absence member has no match in the lookback window that the
//   group's first match opens, [first, first + lookback].
// - Sequence: the members complete in order, each member's matches after the previous member's completion
//   and within its transition's WithinTimeFrameMinutes of it, the whole chain within the lookback; an Absence
//   member has no match within its time frame after the previous completion, and a later member with
//   MaxMatchCount has at most that many there (the first member's MaxMatchCount is not checked). The anchor is
//   the match that completes the last non-absent member.
// MatchCriteria (and a Sequence's transition Match) tie the members on field values: a completion is for one
// value per criteria name that the members share (a list field counts as the set of its values, so a list
// matched against a list is their intersection). Absence looks forward in time, so a completion that has one
// reports `needsDataUntilSecs` past the anchor: the caller fires it only once data up to then has arrived.

/** One member of a correlation rule (its `Group` or `Sequence` entry). */
export interface CorrelationMember {
  id: string;
  ruleId: string;
  min: number;
  max: number | null;
  absence: boolean;
  /**
   * Sequence only, a Vigil extension (`Consecutive: true`): a match of the NEXT member between this member's
   * matches, or between them and the next member's completion, breaks the run. Brute force then success
   * needs it: a user who mistypes twice and gets in, three times in half an hour, made six failures and
   * three successes, not a brute force.
   */
  consecutive?: boolean;
}

/** What the evaluator needs of a rule (a loaded rule, panther/correlation.ts CorrelationRuleSpec, is one). */
export interface CorrelationSemantics {
  kind: "Group" | "Sequence";
  members: ReadonlyArray<CorrelationMember>;
  /** Criteria name → member ID → field. */
  criteria: Readonly<Record<string, Readonly<Record<string, string>>>>;
  transitions: ReadonlyArray<{ from: string; to: string; withinMinutes: number }>;
  lookbackMinutes: number;
}

export interface CorrelationInput {
  /** The member (its `ID` in the rule) this input is a match of. */
  memberId: string;
  timeSecs: number;
  /** Identifies the input among those of its member (an event id; a minute offset in tests). */
  id: string;
  /** The values of a MatchCriteria field in this match ([] when absent). */
  values(field: string): readonly string[];
}

export interface Completion {
  /** Criteria name → the shared value. */
  key: Record<string, string>;
  anchor: CorrelationInput;
  /** The inputs that satisfied the members, oldest first (the anchor last among them, bar ties). */
  contributing: CorrelationInput[];
  /** Event time up to which data must be complete for the completion to hold (absence looks ahead). */
  needsDataUntilSecs: number;
}

const byTime = (a: CorrelationInput, b: CorrelationInput) =>
  a.timeSecs - b.timeSecs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || (a.memberId < b.memberId ? -1 : 1);

/** Seconds of data past an anchor that the rule's absence members need (0 without absence). */
export function lookAheadSecs(spec: CorrelationSemantics): number {
  const lookback = spec.lookbackMinutes * 60;
  if (spec.kind === "Group") return spec.members.some((m) => m.absence) ? lookback : 0;
  const ahead = spec.members.filter((m, i) => m.absence || (i > 0 && m.max !== null));
  return ahead.length === 0 ? 0 : Math.max(...ahead.map((m) => withinSecs(spec, m.id)));
}

function withinSecs(spec: CorrelationSemantics, memberId: string): number {
  const t = spec.transitions.find((x) => x.to === memberId);
  return (t?.withinMinutes ?? spec.lookbackMinutes) * 60;
}

/** Every assignment of one value per criteria name that the criteria's non-absent members all have. */
function candidateKeys(spec: CorrelationSemantics, inputs: readonly CorrelationInput[]): Array<Record<string, string>> {
  let keys: Array<Record<string, string>> = [{}];
  for (const [name, byMember] of Object.entries(spec.criteria)) {
    let shared: Set<string> | null = null;
    for (const [memberId, field] of Object.entries(byMember)) {
      if (spec.members.find((m) => m.id === memberId)?.absence) continue;
      const vals = new Set<string>();
      for (const i of inputs) if (i.memberId === memberId) for (const v of i.values(field)) vals.add(v);
      shared = shared === null ? vals : new Set([...(shared as Set<string>)].filter((v) => vals.has(v)));
    }
    const values = [...(shared ?? [])].sort();
    keys = keys.flatMap((k) => values.map((v) => ({ ...k, [name]: v })));
  }
  return keys;
}

/** Whether an input of its member carries the key's value in every criteria that names the member. */
function hasKey(spec: CorrelationSemantics, input: CorrelationInput, key: Record<string, string>): boolean {
  for (const [name, byMember] of Object.entries(spec.criteria)) {
    const field = byMember[input.memberId];
    if (field !== undefined && !input.values(field).includes(key[name]!)) return false;
  }
  return true;
}

/** The completions of `spec` over `inputs` (any order), one per anchor and key, oldest anchor first. */
export function findCompletions(spec: CorrelationSemantics, inputs: readonly CorrelationInput[]): Completion[] {
  const memberIds = new Set(spec.members.map((m) => m.id));
  const own = inputs.filter((i) => memberIds.has(i.memberId));
  const out: Completion[] = [];
  // In a Sequence, inputs of one second follow the members' order: event times have one-second resolution, so a
  // success logged in the same second as the last failure comes after it, whatever the event ids say.
  const rank = new Map(spec.members.map((m, i) => [m.id, i]));
  const order =
    spec.kind === "Sequence"
      ? (a: CorrelationInput, b: CorrelationInput) =>
          a.timeSecs - b.timeSecs || (rank.get(a.memberId) ?? 0) - (rank.get(b.memberId) ?? 0) || byTime(a, b)
      : byTime;
  for (const key of candidateKeys(spec, own)) {
    const keyed = own.filter((i) => hasKey(spec, i, key)).sort(order);
    const found = spec.kind === "Group" ? groupCompletions(spec, keyed) : sequenceCompletions(spec, keyed);
    for (const c of found) out.push({ key, ...c });
  }
  return out.sort((a, b) => byTime(a.anchor, b.anchor));
}

type Found = Omit<Completion, "key">;

function groupCompletions(spec: CorrelationSemantics, sorted: CorrelationInput[]): Found[] {
  const lookback = spec.lookbackMinutes * 60;
  const absent = new Set(spec.members.filter((m) => m.absence).map((m) => m.id));
  const absentInputs = sorted.filter((i) => absent.has(i.memberId));
  const present = sorted.filter((i) => !absent.has(i.memberId));
  const out: Found[] = [];
  // A sliding window [anchor - lookback, anchor] over the present members' matches, in order.
  const counts = new Map<string, number>();
  let left = 0;
  for (let a = 0; a < present.length; a++) {
    const anchor = present[a]!;
    counts.set(anchor.memberId, (counts.get(anchor.memberId) ?? 0) + 1);
    while (anchor.timeSecs - present[left]!.timeSecs > lookback) {
      const gone = present[left++]!.memberId;
      counts.set(gone, (counts.get(gone) ?? 0) - 1);
    }
    const ok = spec.members.every((m) => {
      if (m.absence) return true;
      const n = counts.get(m.id) ?? 0;
      return n >= m.min && (m.max === null || n <= m.max);
    });
    if (!ok) continue;
    const first = present[left]!;
    // Absence: nothing of the absent members in the lookback window the group's first match opens.
    const end = first.timeSecs + lookback;
    if (absentInputs.some((i) => i.timeSecs >= first.timeSecs && i.timeSecs <= end)) continue;
    out.push({
      anchor,
      contributing: present.slice(left, a + 1),
      needsDataUntilSecs: absent.size > 0 ? end : anchor.timeSecs,
    });
  }
  return out;
}

/** Whether an input of `memberId` lies strictly between sorted indexes `from` and `to`. */
function interrupted(sorted: readonly CorrelationInput[], from: number, to: number, memberId: string): boolean {
  for (let x = from + 1; x < to; x++) if (sorted[x]!.memberId === memberId) return true;
  return false;
}

function sequenceCompletions(spec: CorrelationSemantics, sorted: CorrelationInput[]): Found[] {
  const lookback = spec.lookbackMinutes * 60;
  const lastPresent = spec.members.reduce((last, m, i) => (m.absence ? last : i), -1);
  if (lastPresent < 0) return [];
  const byAnchor = new Map<CorrelationInput, Found>();
  // Depth-first over the chains: step i starts after index `after` (the previous completion), within its time
  // frame of the previous completion's time, all within the lookback of the first match.
  const step = (i: number, after: number, first: number, used: CorrelationInput[], needs: number): void => {
    if (i === spec.members.length) {
      const anchor = used[used.length - 1]!;
      const prev = byAnchor.get(anchor);
      if (!prev || needs < prev.needsDataUntilSecs)
        byAnchor.set(anchor, { anchor, contributing: used, needsDataUntilSecs: needs });
      return;
    }
    const m = spec.members[i]!;
    const prevTime = after < 0 ? Number.NEGATIVE_INFINITY : sorted[after]!.timeSecs;
    const within = withinSecs(spec, m.id);
    const candidates: number[] = [];
    for (let k = after + 1; k < sorted.length; k++) {
      const x = sorted[k]!;
      if (i > 0 && x.timeSecs > prevTime + within) break;
      if (x.memberId === m.id) candidates.push(k);
    }
    if (m.absence) {
      if (candidates.length === 0) step(i + 1, after, first, used, Math.max(needs, prevTime + within));
      return;
    }
    // MaxMatchCount (after the first member): at most that many matches in the member's whole time frame after
    // the previous completion, so it looks ahead like Absence.
    const bounded = i > 0 && m.max !== null;
    if (bounded && candidates.length > m.max!) return;
    // After a consecutive member, only this member's first completion counts: a later one would have a match of
    // this member between the run and it.
    if (i > 0 && spec.members[i - 1]?.consecutive === true) candidates.splice(m.min);
    const breaker = m.consecutive === true ? spec.members[i + 1]?.id : undefined;
    for (let k = m.min - 1; k < candidates.length; k++) {
      const block = candidates.slice(k - m.min + 1, k + 1);
      if (breaker !== undefined && interrupted(sorted, block[0]!, block[block.length - 1]!, breaker)) continue;
      const start = i === 0 ? sorted[block[0]!]!.timeSecs : first;
      const done = sorted[block[block.length - 1]!]!;
      if (done.timeSecs - start > lookback) continue;
      const chain = [...used, ...block.map((b) => sorted[b]!)];
      const own = i === lastPresent ? done.timeSecs : needs;
      step(i + 1, block[block.length - 1]!, start, chain, bounded ? Math.max(own, prevTime + within) : own);
    }
  };
  step(0, -1, 0, [], Number.NEGATIVE_INFINITY);
  // The anchor is the completion of the last present member: re-key by it (absence steps after it add nothing).
  const out = new Map<CorrelationInput, Found>();
  for (const f of byAnchor.values()) {
    const anchor = f.contributing[f.contributing.length - 1]!;
    const prev = out.get(anchor);
    if (!prev || f.needsDataUntilSecs < prev.needsDataUntilSecs) out.set(anchor, { ...f, anchor });
  }
  return [...out.values()];
}
