// A rule as the engine runs it: TypeScript (in-process) or Panther Python (on the worker pool), with
// its metadata already resolved to Panther's defaults.

import type { Severity } from "../../core/detection.ts";
import type { RuleDefinition } from "../define-rule.ts";
import type { Matcher } from "../panther/match-expression.ts";
import type { PantherRuleSpec } from "../panther/rule-file.ts";
import { scheduledQueryLogType } from "../panther/scheduled-query.ts";
import { compileInlineFilters, simpleDetectionDefinition } from "../panther/simple-detection.ts";

/** A Panther Python rule's spec (a Simple Detection becomes a TypeScript rule instead). */
export type PantherPythonRuleSpec = PantherRuleSpec & { pythonPath: string };

interface LoadedRuleBase {
  id: string;
  /** The pack the rule came from (the nearest pack.yml above it), if any. */
  packId: string | null;
  /** The file it was loaded from (the .yml for Python rules). */
  file: string;
  displayName: string | null;
  enabled: boolean;
  logTypes: readonly string[];
  /** null: the engine's defaultSeverity. */
  severity: Severity | null;
  dedupPeriodMinutes: number;
  threshold: number;
  createAlert: boolean;
  description: string | null;
  reference: string | null;
  runbook: string | null;
  tags: string[];
  reports: Record<string, string[]>;
  /** Static destinations (Panther OutputIds); null: default routing. */
  outputIds: string[] | null;
}

export type LoadedRule =
  | (LoadedRuleBase & { kind: "ts"; definition: RuleDefinition })
  | (LoadedRuleBase & {
      kind: "python";
      spec: PantherPythonRuleSpec;
      /** The rule's InlineFilters, run before rule() in TypeScript; null: none. */
      inlineFilter: Matcher | null;
    });

export function fromDefinition(definition: RuleDefinition, file: string, packId: string | null): LoadedRule {
  return {
    kind: "ts",
    definition,
    id: definition.id,
    packId,
    file,
    displayName: definition.displayName,
    enabled: definition.enabled,
    logTypes: definition.logTypes,
    severity: definition.severity,
    dedupPeriodMinutes: definition.dedupPeriodMinutes,
    threshold: definition.threshold,
    createAlert: definition.createAlert,
    description: definition.description,
    reference: definition.reference,
    runbook: definition.runbook,
    tags: [...definition.tags],
    reports: { ...definition.reports },
    outputIds: null,
  };
}

/** A Panther rule: Python (.yml + .py), or a Simple Detection run as a TypeScript rule. Throws on bad expressions. */
export function fromPantherSpec(spec: PantherRuleSpec, packId: string | null): LoadedRule {
  if (spec.pythonPath === null) {
    const rule = fromDefinition(simpleDetectionDefinition(spec), spec.specPath, packId);
    rule.outputIds = spec.outputIds.length > 0 ? spec.outputIds : null;
    return rule;
  }
  const pySpec: PantherPythonRuleSpec = { ...spec, pythonPath: spec.pythonPath };
  const reports: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(spec.reports)) reports[k] = v.map(String);
  return {
    kind: "python",
    spec: pySpec,
    inlineFilter: compileInlineFilters(spec.inlineFilters, spec.specPath),
    id: spec.ruleId,
    packId,
    file: spec.specPath,
    displayName: spec.displayName ?? null,
    enabled: spec.enabled,
    // A scheduled rule's "log types" are its queries: their rows carry scheduledQueryLogType(query)
    logTypes: spec.analysisType === "scheduled_rule" ? spec.scheduledQueries.map(scheduledQueryLogType) : spec.logTypes,
    severity: spec.severity,
    dedupPeriodMinutes: spec.dedupPeriodMinutes,
    threshold: spec.threshold,
    createAlert: spec.createAlert,
    description: spec.description ?? null,
    reference: spec.reference ?? null,
    runbook: spec.runbook ?? null,
    tags: spec.tags,
    reports,
    outputIds: spec.outputIds.length > 0 ? spec.outputIds : null,
  };
}
