// Panther correlation rules (`AnalysisType: correlation_rule`): loaded, validated, and their `Tests` evaluated.
// A test gives each member's rule matches as {field: {value: [minute offsets]}}; the rule fires when, for one value
// of the match criteria, every member has enough matches inside one lookback window (Group), or the members match
// in order, each within the transition's time frame of the previous (Sequence). Defaults (PA correlation style
// guide): MinMatchCount 1, LookbackWindowMinutes 15, WithinTimeFrameMinutes = the lookback.
// Running correlation rules live needs event-time correlation over stored signals (another issue).

import { resolve } from "node:path";
import { z } from "zod";
import type { PantherSeverity } from "./rule-file.ts";

const severity = z.enum(["Info", "Low", "Medium", "High", "Critical", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]);
const member = z.looseObject({
  ID: z.string(),
  RuleID: z.string(),
  MinMatchCount: z.number().int().positive().optional(),
  MaxMatchCount: z.number().int().positive().optional(),
  Absence: z.boolean().optional(),
});
const matchRef = z.strictObject({ GroupID: z.string(), Match: z.string() });
const transition = z.looseObject({
  ID: z.string().optional(),
  From: z.string(),
  To: z.string(),
  WithinTimeFrameMinutes: z.number().positive().optional(),
  Match: z
    .array(z.looseObject({ On: z.string().optional(), From: z.string().optional(), To: z.string().optional() }))
    .optional(),
});
const detection = z.looseObject({
  Group: z.array(member).optional(),
  Sequence: z.array(member).optional(),
  MatchCriteria: z.record(z.string(), z.array(matchRef)).optional(),
  Transitions: z.array(transition).optional(),
  LookbackWindowMinutes: z.number().positive().optional(),
  Schedule: z.unknown().optional(),
  EventEvaluationOrder: z.string().optional(),
  MinMatchCount: z.number().int().positive().optional(),
});
const testSchema = z.strictObject({
  Name: z.string(),
  ExpectedResult: z.boolean(),
  RuleOutputs: z.array(
    z.strictObject({ ID: z.string(), Matches: z.record(z.string(), z.record(z.string(), z.array(z.number()))) }),
  ),
});
const schema = z.looseObject({
  AnalysisType: z.literal("correlation_rule"),
  RuleID: z.string(),
  DisplayName: z.string().optional(),
  Enabled: z.boolean(),
  Severity: severity,
  Detection: z.array(detection).length(1),
  Tests: z.array(testSchema).optional(),
});

export type CorrelationMatches = Record<string, Record<string, number[]>>;
export interface CorrelationTest {
  name: string;
  expectedResult: boolean;
  /** Member ID → field → value → minute offsets. */
  ruleOutputs: Record<string, CorrelationMatches>;
}

export interface CorrelationRuleSpec {
  ruleId: string;
  displayName: string | null;
  enabled: boolean;
  severity: PantherSeverity;
  specPath: string;
  kind: "Group" | "Sequence";
  members: Array<{ id: string; ruleId: string; min: number; max: number | null; absence: boolean }>;
  /** Group: criteria name → member ID → field. */
  criteria: Record<string, Record<string, string>>;
  transitions: Array<{ from: string; to: string; withinMinutes: number; on: Array<{ from: string; to: string }> }>;
  lookbackMinutes: number;
  tests: CorrelationTest[];
}

export function parseCorrelationRule(doc: unknown, specPath: string): CorrelationRuleSpec {
  const file = resolve(specPath);
  const parsed = schema.safeParse(doc);
  if (!parsed.success)
    throw new Error(
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
    );
  const raw = parsed.data;
  const d = raw.Detection[0]!;
  const list = d.Group ?? d.Sequence;
  if (!list || (d.Group && d.Sequence)) throw new Error(`${file}: Detection needs exactly one of Group or Sequence`);
  const lookbackMinutes = d.LookbackWindowMinutes ?? 15;
  const members = list.map((m) => ({
    id: m.ID,
    ruleId: m.RuleID,
    min: m.MinMatchCount ?? 1,
    max: m.MaxMatchCount ?? null,
    absence: m.Absence === true,
  }));
  const ids = new Set(members.map((m) => m.id));
  const criteria: CorrelationRuleSpec["criteria"] = {};
  for (const [name, refs] of Object.entries(d.MatchCriteria ?? {})) {
    criteria[name] = {};
    for (const r of refs) {
      if (!ids.has(r.GroupID)) throw new Error(`${file}: MatchCriteria ${name} names an unknown member ${r.GroupID}`);
      criteria[name]![r.GroupID] = r.Match;
    }
  }
  const transitions = (d.Transitions ?? []).map((t) => ({
    from: t.From,
    to: t.To,
    withinMinutes: t.WithinTimeFrameMinutes ?? lookbackMinutes,
    on: (t.Match ?? []).map((m) => ({ from: m.On ?? m.From ?? "", to: m.On ?? m.To ?? "" })),
  }));
  // A Sequence's transition Match ({On} or {From, To}) ties the two members' fields: a criteria entry each
  for (const t of transitions)
    for (const o of t.on) criteria[`${t.from}->${t.to}:${o.from}:${o.to}`] = { [t.from]: o.from, [t.to]: o.to };
  return {
    ruleId: raw.RuleID,
    displayName: raw.DisplayName ?? null,
    enabled: raw.Enabled,
    severity: raw.Severity.toUpperCase() as PantherSeverity,
    specPath: file,
    kind: d.Group ? "Group" : "Sequence",
    members,
    criteria,
    transitions,
    lookbackMinutes,
    tests: (raw.Tests ?? []).map((t) => ({
      name: t.Name,
      expectedResult: t.ExpectedResult,
      ruleOutputs: Object.fromEntries(t.RuleOutputs.map((o) => [o.ID, o.Matches])),
    })),
  };
}

/** A member's match offsets for a choice of criteria values (an event is known by its offset). */
function offsetsFor(out: CorrelationMatches | undefined, fields: Array<[string, string]>): number[] {
  if (!out) return [];
  if (fields.length === 0) {
    const all = new Set<number>();
    for (const byValue of Object.values(out))
      for (const offs of Object.values(byValue)) for (const o of offs) all.add(o);
    return [...all].sort((a, b) => a - b);
  }
  let result: Set<number> | null = null;
  for (const [field, value] of fields) {
    const offs = new Set(out[field]?.[value] ?? []);
    result = result === null ? offs : new Set([...(result as Set<number>)].filter((o) => offs.has(o)));
  }
  return [...(result ?? [])].sort((a, b) => a - b);
}

/** Every assignment of one value per criteria name that all the criteria's members share. */
function candidateValues(
  spec: CorrelationRuleSpec,
  outputs: Record<string, CorrelationMatches>,
): Array<Record<string, string>> {
  let choices: Array<Record<string, string>> = [{}];
  for (const [name, byMember] of Object.entries(spec.criteria)) {
    let shared: Set<string> | null = null;
    for (const [memberId, field] of Object.entries(byMember)) {
      const m = spec.members.find((x) => x.id === memberId);
      if (m?.absence) continue;
      const vals = new Set(Object.keys(outputs[memberId]?.[field] ?? {}));
      shared = shared === null ? vals : new Set([...(shared as Set<string>)].filter((v) => vals.has(v)));
    }
    const values = [...(shared ?? [])];
    choices = choices.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  }
  return choices;
}

function memberOffsets(
  spec: CorrelationRuleSpec,
  outputs: Record<string, CorrelationMatches>,
  values: Record<string, string>,
) {
  return new Map(
    spec.members.map((m) => {
      const fields: Array<[string, string]> = [];
      for (const [name, byMember] of Object.entries(spec.criteria))
        if (byMember[m.id] !== undefined && values[name] !== undefined) fields.push([byMember[m.id]!, values[name]!]);
      return [m.id, offsetsFor(outputs[m.id], fields)];
    }),
  );
}

const countIn = (offs: number[], from: number, to: number) => offs.filter((o) => o >= from && o <= to).length;

function groupFires(spec: CorrelationRuleSpec, offsets: Map<string, number[]>): boolean {
  const starts = [...new Set([...offsets.values()].flat())];
  return starts.some((start) => {
    const end = start + spec.lookbackMinutes;
    return spec.members.every((m) => {
      const n = countIn(offsets.get(m.id) ?? [], start, end);
      if (m.absence) return n === 0;
      return n >= m.min && (m.max === null || n <= m.max);
    });
  });
}

function sequenceFires(spec: CorrelationRuleSpec, offsets: Map<string, number[]>): boolean {
  // Each member in order completes (its MinMatchCount-th match) after the previous one, within the transition's
  // time frame of it, and all inside the lookback window from the first match.
  const step = (i: number, after: number, first: number): boolean => {
    if (i === spec.members.length) return true;
    const m = spec.members[i]!;
    const within = spec.transitions.find((t) => t.to === m.id)?.withinMinutes ?? spec.lookbackMinutes;
    const offs = (offsets.get(m.id) ?? []).filter((o) => (i === 0 ? true : o > after && o <= after + within));
    if (m.absence) return offs.length === 0 && step(i + 1, after, first);
    for (let k = m.min - 1; k < offs.length; k++) {
      const start = i === 0 ? offs[k - m.min + 1]! : first;
      const done = offs[k]!;
      if (done - start > spec.lookbackMinutes) continue;
      if (step(i + 1, done, start)) return true;
    }
    return false;
  };
  return step(0, Number.NEGATIVE_INFINITY, 0);
}

/** Whether the correlation rule fires on a test's rule outputs. */
export function correlationFires(spec: CorrelationRuleSpec, outputs: Record<string, CorrelationMatches>): boolean {
  for (const values of candidateValues(spec, outputs)) {
    const offsets = memberOffsets(spec, outputs, values);
    if (spec.kind === "Group" ? groupFires(spec, offsets) : sequenceFires(spec, offsets)) return true;
  }
  return false;
}
