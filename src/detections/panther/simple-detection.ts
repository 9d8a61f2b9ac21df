// A YAML-only Simple Detection (`Detection:` instead of `Filename:`) as a TypeScript rule: the match
// expressions become rule(), AlertTitle title(), GroupBy dedup(), AlertContext alert_context() and
// DynamicSeverities severity(). Panther transpiles these server-side (reference §1.4); where its exact output is
// not documented (marked [inferred]) this follows the reference's reading.

import { joinKeyValues } from "../../core/detection.ts";
import { defineRule, type RuleDefinition } from "../define-rule.ts";
import type { PantherEvent } from "../event/index.ts";
import {
  compileMatch,
  compileSelector,
  MatchExpressionError,
  type Matcher,
  type Selector,
} from "./match-expression.ts";
import type { PantherRuleSpec } from "./rule-file.ts";
import { scheduledQueryLogType } from "./scheduled-query.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const plain = (event: PantherEvent): Obj => event.toDict();

/** One selected value: the single value, or the list when a `[*]` selected several. */
function pick(select: Selector, record: unknown): unknown {
  const vals = select(record);
  if (vals.length === 0) return null;
  return vals.length === 1 ? vals[0] : vals;
}

function selectorOf(spec: unknown, where: string): Selector {
  const s = isObj(spec) ? compileSelector(spec) : null;
  if (!s) throw new MatchExpressionError(`${where}: needs a Key, DeepKey or KeyPath`);
  return s;
}

/** `"Repository [{repo}] archived."`: each `{path}` is the event value at that KeyPath; absent: "" [inferred]. */
function compileTemplate(template: string): (record: Obj) => string {
  const parts = template.split(/(\{[^{}]+\})/);
  const fills = parts.map((p) =>
    /^\{[^{}]+\}$/.test(p) ? selectorOf({ KeyPath: p.slice(1, -1) }, "AlertTitle") : null,
  );
  return (record) =>
    parts
      .map((p, i) => {
        const s = fills[i];
        if (!s) return p;
        const v = pick(s, record);
        return v === null ? "" : typeof v === "string" ? v : JSON.stringify(v);
      })
      .join("");
}

/** Filters as a rule() guard: compiled once; an event they reject never reaches the rule. */
export function compileInlineFilters(filters: unknown[] | null, file: string): Matcher | null {
  if (filters === null) return null;
  try {
    return compileMatch(filters, "InlineFilters", true);
  } catch (err) {
    throw new MatchExpressionError(`${file}: ${(err as Error).message}`);
  }
}

/** The RuleDefinition for a Simple Detection; throws MatchExpressionError naming the file on a bad expression. */
export function simpleDetectionDefinition(spec: PantherRuleSpec): RuleDefinition {
  const simple = spec.simple;
  if (simple === null) throw new Error(`${spec.specPath} is not a Simple Detection`);
  try {
    const match = compileMatch(simple.detection, "Detection");
    const filter = compileInlineFilters(spec.inlineFilters, spec.specPath);
    const title = simple.alertTitle === undefined ? undefined : compileTemplate(simple.alertTitle);
    const context = (simple.alertContext ?? []).map((entry, i) => {
      if (!isObj(entry) || typeof entry.KeyName !== "string")
        throw new MatchExpressionError(`AlertContext[${i}]: needs KeyName and KeyValue`);
      return { name: entry.KeyName, select: selectorOf(entry.KeyValue, `AlertContext[${i}].KeyValue`) };
    });
    const groupBy = (simple.groupBy ?? []).map((g, i) => selectorOf(g, `GroupBy[${i}]`));
    const severities = (simple.dynamicSeverities ?? []).map((d, i) => {
      if (!isObj(d) || typeof d.ChangeTo !== "string")
        throw new MatchExpressionError(`DynamicSeverities[${i}]: needs ChangeTo and Conditions`);
      return { to: d.ChangeTo.toUpperCase(), when: compileMatch(d.Conditions ?? [], `DynamicSeverities[${i}]`) };
    });
    return defineRule({
      id: spec.ruleId,
      ...(spec.displayName !== undefined ? { displayName: spec.displayName } : {}),
      enabled: spec.enabled,
      logTypes:
        spec.analysisType === "scheduled_rule" ? spec.scheduledQueries.map(scheduledQueryLogType) : spec.logTypes,
      severity: spec.severity,
      dedupPeriodMinutes: spec.dedupPeriodMinutes,
      threshold: spec.threshold,
      createAlert: spec.createAlert,
      ...(spec.description !== undefined ? { description: spec.description } : {}),
      ...(spec.reference !== undefined ? { reference: spec.reference } : {}),
      ...(spec.runbook !== undefined ? { runbook: spec.runbook } : {}),
      tags: spec.tags,
      reports: Object.fromEntries(Object.entries(spec.reports).map(([k, v]) => [k, v.map(String)])),
      summaryAttributes: spec.summaryAttributes,
      tests: spec.tests.map((t) => ({ name: t.name, expected: t.expectedResult, log: t.log })),
      rule: (event) => {
        const r = plain(event);
        return (filter === null || filter(r)) && match(r);
      },
      ...(title ? { title: (event: PantherEvent) => title(plain(event)) } : {}),
      ...(context.length > 0
        ? {
            alertContext: (event: PantherEvent) => {
              const r = plain(event);
              return Object.fromEntries(context.map((c) => [c.name, pick(c.select, r)]));
            },
          }
        : {}),
      // The listed keys' values, joined with ":" [inferred], each escaped (core/detection.ts joinKeyValues)
      ...(groupBy.length > 0
        ? {
            dedup: (event: PantherEvent) => {
              const r = plain(event);
              return joinKeyValues(
                groupBy.map((g) => String(pick(g, r) ?? "")),
                ":",
              );
            },
          }
        : {}),
      ...(severities.length > 0
        ? {
            dynamicSeverity: (event: PantherEvent) => {
              const r = plain(event);
              return severities.find((s) => s.when(r))?.to ?? "DEFAULT";
            },
          }
        : {}),
    });
  } catch (err) {
    if (err instanceof MatchExpressionError) throw new MatchExpressionError(`${spec.specPath}: ${err.message}`);
    throw err;
  }
}
