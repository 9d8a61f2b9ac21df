// Loads a Panther-format Python rule (.yml metadata + .py code) into a typed PantherRuleSpec.
// Keys follow panther_analysis_tool's RULE_SCHEMA: unknown keys are rejected, as Panther's tool does.

import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigurationError } from "../../core/errors.ts";
import type { ValidationIssue } from "../../core/validation.ts";

export type PantherSeverity = "INFO" | "LOW" | "MEDIUM" | "HIGH" | "CRITICAL";

export interface PantherMock {
  objectName: string;
  returnValue: unknown;
}

export interface PantherRuleTest {
  name: string;
  expectedResult: boolean;
  log: Record<string, unknown>;
  /** Only entries with both objectName and returnValue, as `pat test` uses them. */
  mocks: PantherMock[];
}

/** A YAML-only Simple Detection's match expressions and alert-field keys (reference §1.4). */
export interface SimpleDetectionSpec {
  detection: unknown[];
  alertTitle?: string;
  alertContext?: unknown[];
  groupBy?: unknown[];
  dynamicSeverities?: unknown[];
}

export interface PantherRuleSpec {
  ruleId: string;
  /** `scheduled_rule`: runs over scheduled-query rows, rule() optional (default True), no data model. */
  analysisType: "rule" | "scheduled_rule";
  displayName?: string;
  enabled: boolean;
  /** Absolute path of the rule's .py file (Filename resolved beside the .yml); null for a Simple Detection. */
  pythonPath: string | null;
  /** Set for a Simple Detection (`Detection:` instead of `Filename:`). */
  simple: SimpleDetectionSpec | null;
  /** Match expressions run before rule(); an event they reject is rule() == False. */
  inlineFilters: unknown[] | null;
  /** Scheduled rules: the scheduled queries whose rows they evaluate. */
  scheduledQueries: string[];
  /** Absolute path of the .yml file. */
  specPath: string;
  /** With aliases resolved (LOG_TYPE_ALIASES): `Custom.OpenAI.Audit` becomes `OpenAI.Audit`. */
  logTypes: string[];
  /** The YAML severity, upper-cased (Panther accepts title case; its JSON schema also upper case). */
  severity: PantherSeverity;
  dedupPeriodMinutes: number;
  threshold: number;
  createAlert: boolean;
  description?: string;
  reference?: string;
  runbook?: string;
  /** Sorted, as panther_core does. */
  tags: string[];
  /** Framework → IDs, each list sorted. */
  reports: Record<string, Array<string | number>>;
  summaryAttributes: string[];
  outputIds: string[];
  tests: PantherRuleTest[];
  onlyUseBaseRiskScore?: boolean;
  status?: string;
  createdBy?: string;
  baseVersion?: number;
}

export class RuleFileError extends ConfigurationError {
  readonly issues: ValidationIssue[];
  constructor(file: string, issues: ValidationIssue[]) {
    super("rule_file_invalid", `Invalid Panther rule ${file}: ${issues.map((i) => i.message).join("; ")}`);
    this.issues = issues;
  }
}

/**
 * Other names a Panther rule may use for a log type Vigil ingests, mapped to Vigil's name. `Custom.OpenAI.Audit`
 * is what a Panther custom schema for these logs is called; Vigil's events carry `p_log_type: OpenAI.Audit`.
 * The loader rewrites a rule's LogTypes through this table, so such a rule runs on live events (not only in
 * `vigil rules test`).
 */
export const LOG_TYPE_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  "Custom.OpenAI.Audit": "OpenAI.Audit",
});

/** A rule's LogTypes with aliases resolved, duplicates dropped, order kept. */
export function canonicalLogTypes(logTypes: readonly string[]): string[] {
  return [...new Set(logTypes.map((t) => (Object.hasOwn(LOG_TYPE_ALIASES, t) ? LOG_TYPE_ALIASES[t]! : t)))];
}

const NAME_ID = /^[^<>&"%]+$/;
const str = z.string();
const nameId = z.string().regex(NAME_ID, 'must not contain any of < > & " %');
const severity = z.enum(["Info", "Low", "Medium", "High", "Critical", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]);

const testSchema = z.strictObject({
  Name: str,
  ExpectedResult: z.boolean(),
  Log: z.record(z.string(), z.unknown()),
  Mocks: z.array(z.strictObject({ objectName: str.optional(), returnValue: z.unknown().optional() })).optional(),
  LogType: str.optional(), // legacy, ignored
  ResourceType: str.optional(), // legacy, ignored
});

const ruleSchema = z.strictObject({
  AnalysisType: z.enum(["rule", "scheduled_rule"]),
  RuleID: nameId,
  Enabled: z.boolean(),
  Filename: str.optional(),
  Detection: z.array(z.unknown()).optional(),
  LogTypes: z.array(str).optional(),
  ScheduledQueries: z.array(str).optional(),
  Severity: severity,
  DisplayName: nameId.optional(),
  Description: str.optional(),
  Reference: str.optional(),
  Runbook: str.optional(),
  DedupPeriodMinutes: z.number().int().nonnegative().optional(),
  Threshold: z.number().int().positive().optional(),
  Tags: z.array(str).optional(),
  Reports: z.record(z.string(), z.array(z.union([z.string(), z.number()]))).optional(),
  SummaryAttributes: z.array(str).optional(),
  Tests: z.array(testSchema).optional(),
  InlineFilters: z.array(z.unknown()).optional(),
  CreateAlert: z.boolean().optional(),
  OutputIds: z.array(str).optional(),
  DynamicSeverities: z.array(z.unknown()).optional(),
  AlertTitle: str.optional(),
  AlertContext: z.array(z.unknown()).optional(),
  GroupBy: z.array(z.unknown()).optional(),
  OnlyUseBaseRiskScore: z.boolean().optional(),
  Status: str.optional(),
  CreatedBy: str.optional(),
  BaseVersion: z.number().int().optional(),
  BaseDetection: str.optional(),
});

type RawRule = z.infer<typeof ruleSchema>;

function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".");
}

/** The value at a zod issue's path in the parsed document; undefined when a step is missing. */
function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let value = doc;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function zodIssues(error: z.ZodError, doc: unknown): ValidationIssue[] {
  return error.issues.flatMap((issue): ValidationIssue[] => {
    const at = issuePath(issue.path);
    // A required key left out: say so, not what its value should have been ("expected boolean, received undefined").
    if (at !== "" && valueAt(doc, issue.path) === undefined && issue.code !== "unrecognized_keys") {
      return [{ code: "missing_key", path: at, message: `missing required key '${at}'` }];
    }
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => {
        const path = at ? `${at}.${key}` : key;
        return { code: "unknown_key", path, message: `unknown key '${path}'` };
      });
    }
    return [{ code: issue.code, path: at, message: `key '${at || "(root)"}': ${issue.message}` }];
  });
}

/** Keys we accept from Panther's schema but cannot evaluate yet; fail clearly instead of silently ignoring them. */
function unsupported(raw: RawRule): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const no = (path: string, what: string) =>
    out.push({ code: "not_supported", path, message: `${what} (key '${path}') is not supported yet` });
  if (raw.Detection === undefined)
    for (const key of ["DynamicSeverities", "AlertTitle", "AlertContext", "GroupBy"] as const)
      if (raw[key] !== undefined) no(key, "Simple Detection alert fields on a Python rule");
  if (raw.BaseDetection !== undefined) no("BaseDetection", "derived detections");
  return out;
}

function structural(raw: RawRule): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  if ((raw.Filename === undefined) === (raw.Detection === undefined))
    out.push({ code: "one_of", path: "Filename", message: "exactly one of 'Filename' or 'Detection' is required" });
  if ((raw.LogTypes === undefined) === (raw.ScheduledQueries === undefined))
    out.push({
      code: "one_of",
      path: "LogTypes",
      message: "exactly one of 'LogTypes' or 'ScheduledQueries' is required",
    });
  return out;
}

/** Validates parsed YAML (pure; no I/O). `specPath` is used for messages and to resolve Filename. */
export function parsePantherRule(doc: unknown, specPath: string): PantherRuleSpec {
  const file = resolve(specPath);
  const parsed = ruleSchema.safeParse(doc);
  if (!parsed.success) throw new RuleFileError(file, zodIssues(parsed.error, doc));
  const raw = parsed.data;
  const issues = [...structural(raw), ...unsupported(raw)];
  if (issues.length > 0) throw new RuleFileError(file, issues);

  const reports: Record<string, Array<string | number>> = {};
  for (const [k, v] of Object.entries(raw.Reports ?? {}))
    reports[k] = [...v].sort((a, b) => String(a).localeCompare(String(b)));
  const simple: SimpleDetectionSpec | null =
    raw.Detection === undefined
      ? null
      : {
          detection: raw.Detection,
          ...(raw.AlertTitle !== undefined ? { alertTitle: raw.AlertTitle } : {}),
          ...(raw.AlertContext !== undefined ? { alertContext: raw.AlertContext } : {}),
          ...(raw.GroupBy !== undefined ? { groupBy: raw.GroupBy } : {}),
          ...(raw.DynamicSeverities !== undefined ? { dynamicSeverities: raw.DynamicSeverities } : {}),
        };
  const spec: PantherRuleSpec = {
    ruleId: raw.RuleID,
    analysisType: raw.AnalysisType,
    enabled: raw.Enabled,
    pythonPath: raw.Filename === undefined ? null : resolve(dirname(file), raw.Filename),
    simple,
    inlineFilters: raw.InlineFilters ?? null,
    scheduledQueries: raw.ScheduledQueries ?? [],
    specPath: file,
    logTypes: canonicalLogTypes(raw.LogTypes ?? []),
    severity: raw.Severity.toUpperCase() as PantherSeverity,
    dedupPeriodMinutes: raw.DedupPeriodMinutes ?? 60,
    threshold: raw.Threshold ?? 1,
    createAlert: raw.CreateAlert ?? true,
    tags: [...(raw.Tags ?? [])].sort(),
    reports,
    summaryAttributes: raw.SummaryAttributes ?? [],
    outputIds: raw.OutputIds ?? [],
    tests: (raw.Tests ?? []).map((t) => ({
      name: t.Name,
      expectedResult: t.ExpectedResult,
      log: t.Log,
      mocks: (t.Mocks ?? []).flatMap((m) =>
        m.objectName !== undefined && "returnValue" in m
          ? [{ objectName: m.objectName, returnValue: m.returnValue }]
          : [],
      ),
    })),
  };
  if (raw.DisplayName !== undefined) spec.displayName = raw.DisplayName;
  if (raw.Description !== undefined) spec.description = raw.Description;
  if (raw.Reference !== undefined) spec.reference = raw.Reference;
  if (raw.Runbook !== undefined) spec.runbook = raw.Runbook;
  if (raw.OnlyUseBaseRiskScore !== undefined) spec.onlyUseBaseRiskScore = raw.OnlyUseBaseRiskScore;
  if (raw.Status !== undefined) spec.status = raw.Status;
  if (raw.CreatedBy !== undefined) spec.createdBy = raw.CreatedBy;
  if (raw.BaseVersion !== undefined) spec.baseVersion = raw.BaseVersion;
  return spec;
}

/** Parses YAML text with the YAML 1.2 core schema (yes/no stay strings, timestamps stay strings, as in PAT). */
export function parsePantherRuleText(text: string, specPath: string): PantherRuleSpec {
  let doc: unknown;
  try {
    doc = parseYaml(text, { schema: "core", uniqueKeys: true });
  } catch (err) {
    const file = resolve(specPath);
    throw new RuleFileError(file, [
      { code: "yaml", path: "", message: `YAML error in ${file}: ${(err as Error).message}` },
    ]);
  }
  return parsePantherRule(doc, specPath);
}

/** Reads and validates a rule .yml; also checks that its .py file exists. */
export async function loadPantherRuleFile(specPath: string): Promise<PantherRuleSpec> {
  const spec = parsePantherRuleText(await readFile(specPath, "utf8"), specPath);
  if (spec.pythonPath === null) return spec;
  try {
    await readFile(spec.pythonPath);
  } catch {
    throw new RuleFileError(spec.specPath, [
      {
        code: "missing_file",
        path: "Filename",
        message: `Filename ${spec.pythonPath} cannot be read in ${spec.specPath}`,
      },
    ]);
  }
  return spec;
}
