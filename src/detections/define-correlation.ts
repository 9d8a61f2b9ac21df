// Correlation rules in TypeScript: the same rule as Panther's correlation-rule YAML (panther/correlation.ts),
// written as one module per rule with the rule as its DEFAULT export:
//
//   import { defineCorrelation } from "vigil/rules";
//   export default defineCorrelation({
//     id: "Acme.KeyThenOwner", severity: "HIGH", lookbackMinutes: 60,
//     sequence: [{ id: "key", ruleId: "OpenAI.APIKey.Changed" }, { id: "owner", ruleId: "OpenAI.Users.OwnerGranted" }],
//     transitions: [{ from: "key", to: "owner", withinMinutes: 30, on: "p_any_emails" }],
//   });
//
// It is turned into the YAML's document and validated by the same parser, so both forms mean the same thing and
// share one evaluator (correlation/semantics.ts), in `vigil rules test` and live.

import type { Severity } from "../core/detection.ts";
import { type CorrelationMatches, type CorrelationRuleSpec, parseCorrelationRule } from "./panther/correlation.ts";

export interface CorrelationMember {
  /** The member's name within the rule (Panther's ID). */
  id: string;
  /** The rule (or signal: createAlert false) whose matches count. */
  ruleId: string;
  /** Default 1. */
  minMatches?: number;
  maxMatches?: number;
  /** The member must NOT match (see docs/rules.md). */
  absence?: boolean;
  /** Sequence only: a match of the next member between this member's matches breaks the run (docs/rules.md). */
  consecutive?: boolean;
}

export interface CorrelationSpec {
  id: string;
  displayName?: string;
  enabled?: boolean;
  severity: Severity;
  /** Exactly one of group (members in any order) and sequence (members in order). */
  group?: CorrelationMember[];
  sequence?: CorrelationMember[];
  /** Group: criteria name → member id → the field it must share (Panther's MatchCriteria). */
  matchCriteria?: Record<string, Record<string, string>>;
  /** Sequence: the steps' time frames and shared fields (`on`: the same field on both; or from/to fields). */
  transitions?: Array<{
    from: string;
    to: string;
    withinMinutes?: number;
    on?: string | Array<string | { from: string; to: string }>;
  }>;
  /** Default 15. */
  lookbackMinutes?: number;
  /** Default: the lookback. */
  dedupPeriodMinutes?: number;
  /** Default true; false records the correlation's matches as signals, with no alert (Panther's CreateAlert). */
  createAlert?: boolean;
  /** The destinations its alerts go to instead of the default routing (Panther's OutputIds). */
  outputIds?: string[];
  description?: string;
  reference?: string;
  runbook?: string;
  tags?: string[];
  reports?: Record<string, string[]>;
  /** Member id → field → value → minute offsets of that member's matches. */
  tests?: Array<{ name: string; expected: boolean; ruleOutputs: Record<string, CorrelationMatches> }>;
}

export interface CorrelationDefinition {
  readonly kind: "vigil-correlation";
  /** The Panther document the spec stands for (validated when the module loads). */
  readonly document: Record<string, unknown>;
}

const member = (m: CorrelationMember) => ({
  ID: m.id,
  RuleID: m.ruleId,
  ...(m.minMatches === undefined ? {} : { MinMatchCount: m.minMatches }),
  ...(m.maxMatches === undefined ? {} : { MaxMatchCount: m.maxMatches }),
  ...(m.absence === undefined ? {} : { Absence: m.absence }),
  ...(m.consecutive === undefined ? {} : { Consecutive: m.consecutive }),
});

/** Builds the rule's Panther document and validates it now: a mistake fails the module with its reason. */
export function defineCorrelation(spec: CorrelationSpec): CorrelationDefinition {
  const detection: Record<string, unknown> = {};
  if (spec.group) detection.Group = spec.group.map(member);
  if (spec.sequence) detection.Sequence = spec.sequence.map(member);
  if (spec.matchCriteria)
    detection.MatchCriteria = Object.fromEntries(
      Object.entries(spec.matchCriteria).map(([name, byMember]) => [
        name,
        Object.entries(byMember).map(([GroupID, Match]) => ({ GroupID, Match })),
      ]),
    );
  if (spec.transitions)
    detection.Transitions = spec.transitions.map((t) => ({
      From: t.from,
      To: t.to,
      ...(t.withinMinutes === undefined ? {} : { WithinTimeFrameMinutes: t.withinMinutes }),
      ...(t.on === undefined
        ? {}
        : {
            Match: (Array.isArray(t.on) ? t.on : [t.on]).map((o) =>
              typeof o === "string" ? { On: o } : { From: o.from, To: o.to },
            ),
          }),
    }));
  if (spec.lookbackMinutes !== undefined) detection.LookbackWindowMinutes = spec.lookbackMinutes;
  const document: Record<string, unknown> = {
    AnalysisType: "correlation_rule",
    RuleID: spec.id,
    Enabled: spec.enabled ?? true,
    Severity: spec.severity,
    Detection: [detection],
    ...(spec.displayName === undefined ? {} : { DisplayName: spec.displayName }),
    ...(spec.dedupPeriodMinutes === undefined ? {} : { DedupPeriodMinutes: spec.dedupPeriodMinutes }),
    ...(spec.createAlert === undefined ? {} : { CreateAlert: spec.createAlert }),
    ...(spec.outputIds === undefined ? {} : { OutputIds: spec.outputIds }),
    ...(spec.description === undefined ? {} : { Description: spec.description }),
    ...(spec.reference === undefined ? {} : { Reference: spec.reference }),
    ...(spec.runbook === undefined ? {} : { Runbook: spec.runbook }),
    ...(spec.tags === undefined ? {} : { Tags: spec.tags }),
    ...(spec.reports === undefined ? {} : { Reports: spec.reports }),
    Tests: (spec.tests ?? []).map((t) => ({
      Name: t.name,
      ExpectedResult: t.expected,
      RuleOutputs: Object.entries(t.ruleOutputs).map(([ID, Matches]) => ({ ID, Matches })),
    })),
  };
  parseCorrelationRule(document, `correlation ${spec.id}`);
  return Object.freeze({ kind: "vigil-correlation", document });
}

export function isCorrelationDefinition(value: unknown): value is CorrelationDefinition {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "vigil-correlation";
}

/** The loaded rule of a module's definition (its file for messages, its pack for enable/disable). */
export function correlationFromDefinition(
  def: CorrelationDefinition,
  file: string,
  packId: string | null,
): CorrelationRuleSpec {
  return { ...parseCorrelationRule(def.document, file), packId };
}
