// A rule as the engine runs it: TypeScript (in-process) or Panther Python (on the worker pool), with
// its metadata already resolved to Panther's defaults.

import type { Severity } from "../../core/detection.ts";
import type { RuleDefinition } from "../define-rule.ts";
import type { PantherRuleSpec } from "../panther/rule-file.ts";

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
  | (LoadedRuleBase & { kind: "python"; spec: PantherRuleSpec });

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

export function fromPantherSpec(spec: PantherRuleSpec, packId: string | null): LoadedRule {
  const reports: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(spec.reports)) reports[k] = v.map(String);
  return {
    kind: "python",
    spec,
    id: spec.ruleId,
    packId,
    file: spec.specPath,
    displayName: spec.displayName ?? null,
    enabled: spec.enabled,
    logTypes: spec.logTypes,
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
