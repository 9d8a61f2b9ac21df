// `vigil rules test --filter KEY=VALUE`, as panther_analysis_tool filters analysis items by their YAML keys:
// KEY=V1,V2 keeps items whose KEY equals one of the values (for a list key, contains one); KEY!=V1,V2 drops
// them. Keys are Panther's YAML names; values compare case-insensitively. Filters on different keys all apply.

import { UsageError } from "../core/errors.ts";
import type { RuleSet } from "./engine/load.ts";
import type { LoadedRule } from "./engine/loaded-rule.ts";
import type { CorrelationRuleSpec } from "./panther/correlation.ts";

export interface TestFilter {
  key: string;
  values: string[];
  negate: boolean;
}

/** The keys an item can be filtered on; each gives the item's value(s) for that key. */
type Item = { rule: LoadedRule } | { correlation: CorrelationRuleSpec };
const KEYS: Record<string, (item: Item) => unknown> = {
  RuleID: (i) => ("rule" in i ? i.rule.id : i.correlation.ruleId),
  AnalysisType: (i) =>
    "rule" in i
      ? i.rule.kind === "python" && i.rule.spec.analysisType === "scheduled_rule"
        ? "scheduled_rule"
        : "rule"
      : "correlation_rule",
  LogTypes: (i) => ("rule" in i ? i.rule.logTypes : []),
  Severity: (i) => ("rule" in i ? (i.rule.severity ?? "INFO") : i.correlation.severity),
  Enabled: (i) => ("rule" in i ? i.rule.enabled : i.correlation.enabled),
  Tags: (i) => ("rule" in i ? i.rule.tags : []),
  DisplayName: (i) => ("rule" in i ? i.rule.displayName : i.correlation.displayName),
  CreateAlert: (i) => ("rule" in i ? i.rule.createAlert : true),
  Pack: (i) => ("rule" in i ? i.rule.packId : null),
};

/** Parses `KEY=V1,V2` / `KEY!=V`; throws UsageError naming the known keys. */
export function parseFilter(text: string): TestFilter {
  const m = /^([A-Za-z]+)(!?=)(.*)$/.exec(text);
  const key = m ? Object.keys(KEYS).find((k) => k.toLowerCase() === m[1]!.toLowerCase()) : undefined;
  if (!m || !key)
    throw new UsageError(
      `--filter ${JSON.stringify(text)}: expected KEY=VALUE with KEY one of ${Object.keys(KEYS).join(", ")}`,
    );
  return { key, negate: m[2] === "!=", values: m[3]!.split(",").map((v) => v.trim().toLowerCase()) };
}

function matches(item: Item, f: TestFilter): boolean {
  const raw = KEYS[f.key]!(item);
  const have = (Array.isArray(raw) ? raw : [raw]).map((v) => String(v).toLowerCase());
  const hit = have.some((v) => f.values.includes(v));
  return f.negate ? !hit : hit;
}

/** The rule set with only the items every filter keeps; `skipDisabled` also drops disabled ones. */
export function filterRuleSet(set: RuleSet, filters: readonly TestFilter[], skipDisabled = false): RuleSet {
  const keep = (item: Item) => filters.every((f) => matches(item, f));
  return {
    ...set,
    rules: set.rules.filter((rule) => (!skipDisabled || rule.enabled) && keep({ rule })),
    correlationRules: (set.correlationRules ?? []).filter(
      (correlation) => (!skipDisabled || correlation.enabled) && keep({ correlation }),
    ),
  };
}
