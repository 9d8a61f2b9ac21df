// Panther correlation rules (`AnalysisType: correlation_rule`): loaded, validated, and their `Tests` evaluated.
// A test gives each member's rule matches as {field: {value: [minute offsets]}}; the rule fires when, for one value
// of the match criteria, every member has enough matches inside one lookback window (Group), or the members match
// in order, each within the transition's time frame of the previous (Sequence). Defaults (PA correlation style
// guide): MinMatchCount 1, LookbackWindowMinutes 15, WithinTimeFrameMinutes = the lookback.
// The semantics (Group, Sequence, criteria, counts, absence, time frames) live in ../correlation/semantics.ts, shared
// with the live evaluation over stored matches (../correlation/live.ts); here a test's offsets become its inputs.

import { resolve } from "node:path";
import { z } from "zod";
import { type CorrelationInput, type CorrelationMember, findCompletions } from "../correlation/semantics.ts";
import type { PantherSeverity } from "./rule-file.ts";

const severity = z.enum(["Info", "Low", "Medium", "High", "Critical", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]);
// Strict objects throughout, as for rules (rule-file.ts): a misspelt key (`LookbackWindowMinute`) would otherwise
// load and silently take the default.
const member = z.strictObject({
  ID: z.string(),
  RuleID: z.string(),
  MinMatchCount: z.number().int().positive().optional(),
  MaxMatchCount: z.number().int().positive().optional(),
  Absence: z.boolean().optional(),
  // A Vigil extension (Sequence only): this member's matches must not be interrupted by the next member's.
  Consecutive: z.boolean().optional(),
});
const matchRef = z.strictObject({ GroupID: z.string(), Match: z.string() });
const transition = z.strictObject({
  ID: z.string().optional(),
  From: z.string(),
  To: z.string(),
  WithinTimeFrameMinutes: z.number().positive().optional(),
  Match: z
    .array(z.strictObject({ On: z.string().optional(), From: z.string().optional(), To: z.string().optional() }))
    .optional(),
});
const detection = z.strictObject({
  Group: z.array(member).optional(),
  Sequence: z.array(member).optional(),
  MatchCriteria: z.record(z.string(), z.array(matchRef)).optional(),
  Transitions: z.array(transition).optional(),
  LookbackWindowMinutes: z.number().positive().optional(),
  // When Panther runs the rule; Vigil evaluates correlations as their members' matches are stored.
  Schedule: z.unknown().optional(),
  // Read to refuse what Vigil does not evaluate (parseCorrelationRule), rather than ignore it.
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
const schema = z.strictObject({
  AnalysisType: z.literal("correlation_rule"),
  RuleID: z.string(),
  DisplayName: z.string().optional(),
  Enabled: z.boolean(),
  Severity: severity,
  Detection: z.array(detection).length(1),
  Tests: z.array(testSchema).optional(),
  Description: z.string().optional(),
  Reference: z.string().optional(),
  Runbook: z.string().optional(),
  Tags: z.array(z.string()).optional(),
  Reports: z.record(z.string(), z.array(z.string())).optional(),
  DedupPeriodMinutes: z.number().positive().optional(),
  // As for rules: false records the correlation's matches as signals, with no alert; OutputIds routes its alerts.
  CreateAlert: z.boolean().optional(),
  OutputIds: z.array(z.string()).optional(),
  // Metadata Panther's files carry; nothing in them changes what the rule does.
  SummaryAttributes: z.array(z.string()).optional(),
  OnlyUseBaseRiskScore: z.boolean().optional(),
  Status: z.string().optional(),
  CreatedBy: z.string().optional(),
  BaseVersion: z.number().int().optional(),
  BaseDetection: z.string().optional(),
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
  members: CorrelationMember[];
  /** Group: criteria name → member ID → field. */
  criteria: Record<string, Record<string, string>>;
  transitions: Array<{ from: string; to: string; withinMinutes: number; on: Array<{ from: string; to: string }> }>;
  lookbackMinutes: number;
  tests: CorrelationTest[];
  /** The pack the rule came from (set by the loader), for enable/disable like any rule. */
  packId: string | null;
  description: string | null;
  reference: string | null;
  runbook: string | null;
  tags: string[];
  reports: Record<string, string[]>;
  /** Alerts of one key group over this period (default: the lookback). */
  dedupPeriodMinutes: number;
  /** False: the correlation's matches are signals, stored without an alert (CreateAlert, default true). */
  createAlert: boolean;
  /** The destinations its alerts go to instead of the default routing (OutputIds); null: the default. */
  outputIds: string[] | null;
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
  // Keys of Panther's grammar whose meaning Vigil does not evaluate: refused with the reason, not ignored (a rule
  // that loads must do what its file says).
  if (d.EventEvaluationOrder !== undefined && d.EventEvaluationOrder !== "Chronological")
    throw new Error(
      `${file}: EventEvaluationOrder ${d.EventEvaluationOrder} is not supported; Vigil evaluates members in event-time order (Chronological)`,
    );
  if (d.MinMatchCount !== undefined)
    throw new Error(
      `${file}: a Group's own MinMatchCount is not supported; give each member the MinMatchCount it needs`,
    );
  const lookbackMinutes = d.LookbackWindowMinutes ?? 15;
  const members = list.map((m) => ({
    id: m.ID,
    ruleId: m.RuleID,
    min: m.MinMatchCount ?? 1,
    max: m.MaxMatchCount ?? null,
    absence: m.Absence === true,
    consecutive: m.Consecutive === true,
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
  for (const t of d.Transitions ?? [])
    for (const end of [t.From, t.To])
      if (!ids.has(end)) throw new Error(`${file}: a transition names an unknown member ${end}`);
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
    packId: null,
    description: raw.Description ?? null,
    reference: raw.Reference ?? null,
    runbook: raw.Runbook ?? null,
    tags: raw.Tags ?? [],
    reports: raw.Reports ?? {},
    dedupPeriodMinutes: raw.DedupPeriodMinutes ?? lookbackMinutes,
    createAlert: raw.CreateAlert ?? true,
    outputIds: raw.OutputIds ?? null,
    tests: (raw.Tests ?? []).map((t) => ({
      name: t.Name,
      expectedResult: t.ExpectedResult,
      ruleOutputs: Object.fromEntries(t.RuleOutputs.map((o) => [o.ID, o.Matches])),
    })),
  };
}

/**
 * A test's rule outputs as correlation inputs: one input per member and minute offset (an event is known by its
 * offset), carrying every field value listed at that offset.
 */
export function testInputs(outputs: Record<string, CorrelationMatches>): CorrelationInput[] {
  const inputs: CorrelationInput[] = [];
  for (const [memberId, byField] of Object.entries(outputs)) {
    const fields = new Map<number, Map<string, string[]>>();
    for (const [field, byValue] of Object.entries(byField))
      for (const [value, offsets] of Object.entries(byValue))
        for (const o of offsets) {
          const f = fields.get(o) ?? new Map<string, string[]>();
          f.set(field, [...(f.get(field) ?? []), value]);
          fields.set(o, f);
        }
    for (const [offset, f] of fields)
      inputs.push({ memberId, timeSecs: offset * 60, id: String(offset), values: (field) => f.get(field) ?? [] });
  }
  return inputs;
}

/** Whether the correlation rule fires on a test's rule outputs (all the data is there: absence is decided). */
export function correlationFires(spec: CorrelationRuleSpec, outputs: Record<string, CorrelationMatches>): boolean {
  return findCompletions(spec, testInputs(outputs)).length > 0;
}
