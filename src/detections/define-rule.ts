// The public API for TypeScript/JavaScript rules. One module per rule, with the rule as its DEFAULT
// export:
//
//   import { defineRule } from "vigil/rules";   // from any folder (see engine/rule-modules.ts)
//   export default defineRule({ id: "My.Rule", logTypes: ["OpenAI.Audit"], severity: "HIGH",
//     rule: (event) => event.get("type") === "api_key.created" });
//
// Function names follow Panther's (title, dedup, severity, alertContext, …) and have the same
// fallbacks; `ctx.state` is the rule-state API for stateful rules (see engine/state.ts).

import { z } from "zod";
import { SEVERITIES, type Severity } from "../core/detection.ts";
import type { PantherEvent } from "./event/index.ts";

export interface StateWriteOptions {
  /** Expiry = the event's time + ttlSecs (event time, so replays are deterministic). */
  ttlSecs?: number;
}

/** Rule state, per rule and source. Reads see stored state plus earlier writes of the same batch. */
export interface RuleState {
  get(key: string): string | null;
  counter(key: string): number;
  /** Sorted. */
  members(key: string): string[];
  put(key: string, value: string, options?: StateWriteOptions): void;
  increment(key: string, by?: number, options?: StateWriteOptions): number;
  addToSet(key: string, member: string, options?: StateWriteOptions): void;
  delete(key: string): void;
}

export interface RuleContext {
  readonly ruleId: string;
  readonly sourceId: string;
  readonly eventId: string;
  /** The event's time, Unix seconds. */
  readonly eventTimeSecs: number;
  readonly state: RuleState;
}

type Fn<T> = (event: PantherEvent, ctx: RuleContext) => T;

/** A test case run by `vigil rules test`. */
export interface RuleTestCase {
  name: string;
  expected: boolean;
  /**
   * The event: a raw OpenAI API record (no `p_log_type`; normalized through the OpenAI.Audit log type
   * first) or an already normalized record (has `p_log_type`; used as written).
   */
  log: Record<string, unknown>;
  /** Optional checks of the resolved alert fields (positive cases). */
  expectedTitle?: string;
  expectedDedup?: string;
  expectedSeverity?: Severity;
  expectedAlertContext?: Record<string, unknown>;
  expectedDestinations?: string[] | null;
  /** Rule state visible to the case (default: none). */
  state?: Array<{ key: string; value?: string; counter?: number; members?: string[] }>;
}

export interface RuleSpec {
  id: string;
  displayName?: string;
  /** Default true. */
  enabled?: boolean;
  logTypes: string[];
  /** Panther severities, any case; default: the engine's defaultSeverity (INFO). */
  severity?: Severity | Lowercase<Severity> | Capitalize<Lowercase<Severity>>;
  /** Default 60. */
  dedupPeriodMinutes?: number;
  /** Default 1. */
  threshold?: number;
  /** Default true; false records matches as signals only. */
  createAlert?: boolean;
  description?: string;
  reference?: string;
  runbook?: string;
  tags?: string[];
  /** MITRE ATT&CK etc.: framework → ids. */
  reports?: Record<string, string[]>;
  summaryAttributes?: string[];
  tests?: RuleTestCase[];

  rule: Fn<boolean>;
  title?: Fn<string>;
  dedup?: Fn<string>;
  /**
   * Panther's severity(), description(), reference() and runbook() are named dynamicSeverity, … here,
   * so they do not clash with the static metadata of the same name. `"DEFAULT"` means `severity`.
   */
  dynamicSeverity?: Fn<string>;
  alertContext?: Fn<Record<string, unknown>>;
  dynamicDescription?: Fn<string>;
  dynamicReference?: Fn<string>;
  dynamicRunbook?: Fn<string>;
  destinations?: Fn<string[] | null>;
  unique?: Fn<string>;
}

/** A validated rule definition (what a rule module default-exports). */
export interface RuleDefinition {
  readonly kind: "vigil-rule";
  readonly id: string;
  readonly displayName: string | null;
  readonly enabled: boolean;
  readonly logTypes: readonly string[];
  readonly severity: Severity | null;
  readonly dedupPeriodMinutes: number;
  readonly threshold: number;
  readonly createAlert: boolean;
  readonly description: string | null;
  readonly reference: string | null;
  readonly runbook: string | null;
  readonly tags: readonly string[];
  readonly reports: Readonly<Record<string, string[]>>;
  readonly summaryAttributes: readonly string[];
  readonly tests: readonly RuleTestCase[];
  readonly fns: RuleFunctions;
}

export interface RuleFunctions {
  rule: Fn<unknown>;
  title?: Fn<unknown>;
  dedup?: Fn<unknown>;
  severity?: Fn<unknown>;
  alertContext?: Fn<unknown>;
  description?: Fn<unknown>;
  reference?: Fn<unknown>;
  runbook?: Fn<unknown>;
  destinations?: Fn<unknown>;
  unique?: Fn<unknown>;
}

export class RuleDefinitionError extends Error {
  override name = "RuleDefinitionError";
}

const NAME_ID = /^[^<>&"%]+$/;
const fn = z.custom<Fn<unknown>>((v) => typeof v === "function", "must be a function");
const severity = z
  .string()
  .transform((s) => s.toUpperCase())
  .pipe(z.enum(SEVERITIES));
const testCase = z.looseObject({
  name: z.string().min(1),
  expected: z.boolean(),
  log: z.record(z.string(), z.unknown()),
});

const specSchema = z.strictObject({
  id: z.string().regex(NAME_ID, 'must be non-empty and not contain < > & " %'),
  displayName: z.string().regex(NAME_ID).optional(),
  enabled: z.boolean().default(true),
  logTypes: z.array(z.string().min(1)).min(1),
  severity: severity.optional(),
  dedupPeriodMinutes: z.number().int().nonnegative().default(60),
  threshold: z.number().int().positive().default(1),
  createAlert: z.boolean().default(true),
  description: z.string().optional(),
  reference: z.string().optional(),
  runbook: z.string().optional(),
  tags: z.array(z.string()).default([]),
  reports: z.record(z.string(), z.array(z.string())).default({}),
  summaryAttributes: z.array(z.string()).default([]),
  tests: z.array(testCase).default([]),
  rule: z.custom<Fn<unknown>>((v) => typeof v === "function", "rule() is required and must be a function"),
  title: fn.optional(),
  dedup: fn.optional(),
  dynamicSeverity: fn.optional(),
  alertContext: fn.optional(),
  dynamicDescription: fn.optional(),
  dynamicReference: fn.optional(),
  dynamicRunbook: fn.optional(),
  destinations: fn.optional(),
  unique: fn.optional(),
});

/** Validates a rule; throws RuleDefinitionError listing every problem. */
export function defineRule(spec: RuleSpec): RuleDefinition {
  const parsed = specSchema.safeParse(spec);
  if (!parsed.success) {
    const what = typeof spec?.id === "string" ? ` ${spec.id}` : "";
    const issues = parsed.error.issues.map((i) => {
      const path = i.path.map(String).join(".");
      return i.code === "unrecognized_keys"
        ? `unknown key(s) ${i.keys.join(", ")}`
        : `${path || "(rule)"}: ${i.message}`;
    });
    throw new RuleDefinitionError(`invalid rule${what}: ${issues.join("; ")}`);
  }
  const s = parsed.data;
  const fns: RuleFunctions = { rule: s.rule };
  if (s.title) fns.title = s.title;
  if (s.dedup) fns.dedup = s.dedup;
  if (s.dynamicSeverity) fns.severity = s.dynamicSeverity;
  if (s.alertContext) fns.alertContext = s.alertContext;
  if (s.dynamicDescription) fns.description = s.dynamicDescription;
  if (s.dynamicReference) fns.reference = s.dynamicReference;
  if (s.dynamicRunbook) fns.runbook = s.dynamicRunbook;
  if (s.destinations) fns.destinations = s.destinations;
  if (s.unique) fns.unique = s.unique;
  const reports: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(s.reports)) reports[k] = [...v].sort();
  return Object.freeze({
    kind: "vigil-rule",
    id: s.id,
    displayName: s.displayName ?? null,
    enabled: s.enabled,
    logTypes: Object.freeze([...s.logTypes]),
    severity: s.severity ?? null,
    dedupPeriodMinutes: s.dedupPeriodMinutes,
    threshold: s.threshold,
    createAlert: s.createAlert,
    description: s.description ?? null,
    reference: s.reference ?? null,
    runbook: s.runbook ?? null,
    tags: Object.freeze([...s.tags].sort()),
    reports,
    summaryAttributes: Object.freeze([...s.summaryAttributes]),
    tests: Object.freeze(spec.tests ?? []),
    fns: Object.freeze(fns),
  });
}

export function isRuleDefinition(value: unknown): value is RuleDefinition {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "vigil-rule";
}
