// `vigil rules test`: runs every rule's test cases, Panther's `Tests:` and ours, with `pat test`'s pass
// criteria (reference §1.5): a positive case passes only if rule() returned true AND no function
// raised (or returned the wrong type); a negative case passes iff rule() returned false.
// Test logs without p_log_type are raw API records and are normalized through OpenAI.Audit first.

import { isSeverity, type RuleMatch } from "../core/detection.ts";
import { loadOpenAIAuditLogType } from "../schema/index.ts";
import type { RuleTestCase } from "./define-rule.ts";
import {
  type BatchEvent,
  callTs,
  compile,
  errorMatch,
  eventTimeSecs,
  nonBoolError,
  resolveMatch,
} from "./engine/engine.ts";
import type { RuleSet } from "./engine/load.ts";
import type { LoadedRule } from "./engine/loaded-rule.ts";
import { errorRepr, errorWithPlace, type FnError, jsError, type Outcome, pythonLoadProblem } from "./engine/resolve.ts";
import { BatchState } from "./engine/state.ts";
import { type DataModel, makeEvent } from "./event/index.ts";
import { correlationFires } from "./panther/correlation.ts";
import { DataModels } from "./panther/data-models.ts";
import { toPyDataModel } from "./panther/repository-files.ts";
import { PythonWorkerPool } from "./python/pool.ts";
import type { PyUdmValues, RuleRunResults } from "./python/types.ts";

export interface TestFailure {
  ruleId: string;
  file: string;
  test: string;
  reasons: string[];
}

/** What a matching case produced, as `pat test` prints it (--show-outputs). */
export interface TestOutputs {
  title: string;
  dedup: string;
  severity: string;
  alertContext: Record<string, unknown> | null;
  destinations: string[] | null;
}

export interface TestResult {
  ruleId: string;
  file: string;
  test: string;
  passed: boolean;
  expected: boolean;
  /** rule()'s output; null when it raised (Panther's None). */
  got: boolean | null;
  reasons: string[];
  outputs: TestOutputs | null;
}

export interface TestReport {
  passed: number;
  failed: number;
  failures: TestFailure[];
  /** Every case run, in order. */
  results: TestResult[];
  /** Analysis files that could not be loaded, each "file: reason". */
  invalid: string[];
  /** Valid files of a kind Vigil does not run (Panther policies), skipped; not a failure. */
  unsupported: string[];
  /** Rules with fewer tests than --minimum-tests asks (counted as failures too). */
  tooFewTests: string[];
  durationMs: number;
}

export interface RunTestsOptions {
  pythonPool?: PythonWorkerPool;
  /** Only these test names (any rule). */
  testNames?: readonly string[];
  /** Rules need at least N tests; for N > 1 at least one positive and one negative (pat test's rule). */
  minimumTests?: number;
}

const AUX = ["title", "dedup", "severity", "alert_context", "description", "reference", "runbook", "destinations"];
const STRING_FNS = new Set(["title", "dedup", "description", "reference", "runbook", "unique", "severity"]);
const TEST_PARSE_TIME_MS = Date.UTC(2025, 0, 1);

/**
 * A raw API record (no p_log_type) is normalized; a hand-normalized Panther test log (its payload under
 * the underscore key, e.g. `api_key_created`) or one that does not normalize is used as written, as
 * `pat test` does.
 */
export function prepareTestLog(log: Record<string, unknown>): Record<string, unknown> {
  if ("p_log_type" in log) return log;
  const type = log.type;
  if (typeof type === "string" && type.includes(".") && type.replace(/\./g, "_") in log) return log;
  const result = loadOpenAIAuditLogType().normalize(structuredClone(log), {
    sourceId: "",
    sourceLabel: "test",
    parseTimeMs: TEST_PARSE_TIME_MS,
    rowId: "test",
  });
  return result.ok ? result.record : log;
}

/** What a function returned that Panther would reject (its type check raises). */
function typeProblem(name: string, value: unknown): string | null {
  if (STRING_FNS.has(name) && typeof value !== "string") return `${name}() returned ${typeof value}, not a string`;
  if (name === "severity" && typeof value === "string" && value.toUpperCase() !== "DEFAULT")
    if (!isSeverity(value.toUpperCase())) return `severity() returned an invalid severity ${JSON.stringify(value)}`;
  if (name === "alert_context" && (value === null || typeof value !== "object" || Array.isArray(value)))
    return "alert_context() did not return an object";
  if (name === "destinations" && value !== null && !(Array.isArray(value) && value.every((v) => typeof v === "string")))
    return "destinations() did not return a list of strings or null";
  return null;
}

function auxProblems(get: (name: string) => Outcome): string[] {
  const out: string[] = [];
  for (const name of [...AUX, "unique"]) {
    const o = get(name);
    if (o === undefined) continue;
    if ("error" in o) out.push(`${name}() raised ${errorRepr(o.error)}${o.error.where ? ` at ${o.error.where}` : ""}`);
    else {
      const p = typeProblem(name, o.value);
      if (p) out.push(p);
    }
  }
  return out;
}

function compareExpected(t: RuleTestCase, m: RuleMatch): string[] {
  const out: string[] = [];
  const check = (what: string, expected: unknown, actual: unknown) => {
    if (expected !== undefined && JSON.stringify(expected) !== JSON.stringify(actual))
      out.push(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  };
  check("title", t.expectedTitle, m.title);
  check("dedup", t.expectedDedup, m.dedupString);
  check("severity", t.expectedSeverity?.toUpperCase(), m.severity);
  check("alert context", t.expectedAlertContext, m.alertContext);
  check("destinations", t.expectedDestinations, m.destinations);
  return out;
}

interface CaseOutcome {
  /** true / false, or the error rule() raised (output None in Panther). */
  output: boolean | FnError;
  get: (name: string) => Outcome;
  match: RuleMatch | null;
}

const fakeEvent = (record: Record<string, unknown>): BatchEvent => ({ sourceId: "test", eventId: "test", record });

function runTsCase(
  rule: Extract<LoadedRule, { kind: "ts" }>,
  t: RuleTestCase,
  record: Record<string, unknown>,
  dataModel: DataModel | null | undefined,
) {
  const c = compile(rule, "INFO");
  const entries = (t.state ?? []).map((s) => ({
    ruleId: rule.id,
    key: s.key,
    value: s.value ?? null,
    counter: s.counter ?? 0,
    members: s.members ?? [],
    expiresAtSecs: null,
  }));
  const state = new BatchState(entries);
  const time = eventTimeSecs(record);
  state.begin(rule.id, "test", "test", time);
  const event = makeEvent(record, dataModel === undefined ? {} : { dataModel });
  let raw: unknown;
  try {
    raw = rule.definition.fns.rule(event, state.context);
  } catch (err) {
    return { output: jsError(err), get: () => undefined, match: null } satisfies CaseOutcome;
  }
  if (typeof raw !== "boolean") return { output: nonBoolError(raw), get: () => undefined, match: null };
  const cache = new Map<string, Outcome>();
  const get = (name: string) => {
    if (!cache.has(name)) cache.set(name, callTs(rule.definition, name, event, state.context));
    return cache.get(name);
  };
  const match = raw ? resolveMatch(errorlessBase(c, record), c, get) : null;
  return { output: raw, get, match } satisfies CaseOutcome;
}

function errorlessBase(c: ReturnType<typeof compile>, record: Record<string, unknown>): RuleMatch {
  // errorMatch builds the common fields; clear the error part for a match
  const m = errorMatch(c, fakeEvent(record), String(record.p_log_type ?? ""), eventTimeSecs(record), {
    type: "",
    message: "",
  });
  m.isError = false;
  m.errorType = null;
  m.errorMessage = null;
  return m;
}

async function runPyCase(
  pool: PythonWorkerPool,
  rule: Extract<LoadedRule, { kind: "python" }>,
  mocks: Array<{ objectName: string; returnValue: unknown }>,
  record: Record<string, unknown>,
  models: DataModels,
): Promise<CaseOutcome> {
  // InlineFilters run first: an event they reject is rule() == False (Panther)
  if (rule.inlineFilter && !rule.inlineFilter(record)) return { output: false, get: () => undefined, match: null };
  // Each case starts from an empty rule state at the event's time; Mocks replace the caching helpers.
  // Scheduled rules never get a data model (pat test); others get the one of the log's p_log_type.
  const scheduled = rule.spec.analysisType === "scheduled_rule";
  const reply = await pool.run(rule.id, record, {
    mocks,
    timeSecs: eventTimeSecs(record),
    ...(scheduled ? { dataModel: null } : { udmValues: models.udmValuesForPython(record) }),
  });
  if (!reply.ok) return { output: reply.error, get: () => undefined, match: null };
  const res: RuleRunResults = reply.value;
  if (typeof res.rule === "object") return { output: res.rule.error, get: () => undefined, match: null };
  const get = (name: string) => res[name as keyof RuleRunResults] as Outcome;
  const c = compile(rule, "INFO");
  return { output: res.rule, get, match: res.rule ? resolveMatch(errorlessBase(c, record), c, get) : null };
}

function judge(expected: boolean, o: CaseOutcome, t: RuleTestCase | null): string[] {
  if (typeof o.output === "object") {
    const e = o.output;
    return [`rule() raised ${errorRepr(e)}${e.where ? ` at ${e.where}` : ""}`];
  }
  if (o.output !== expected) return [`expected rule() to return ${expected}, got ${o.output}`];
  if (!expected) return [];
  const problems = auxProblems(o.get);
  if (t && o.match) problems.push(...compareExpected(t, o.match));
  return problems;
}

function outputsOf(m: RuleMatch | null): TestOutputs | null {
  if (!m) return null;
  return {
    title: m.title,
    dedup: m.dedupString,
    severity: m.severity,
    alertContext: m.alertContext,
    destinations: m.destinations,
  };
}

/** pat test's --minimum-tests: at least N tests, and for N > 1 one positive and one negative. */
function minimumTestsProblem(id: string, expectations: boolean[], n: number): string | null {
  if (expectations.length < n) return `${id}: ${expectations.length} test(s), --minimum-tests asks for ${n}`;
  if (n > 1 && !(expectations.includes(true) && expectations.includes(false)))
    return `${id}: needs at least one positive and one negative test`;
  return null;
}

/** Runs the tests of every rule and correlation rule; Python rules get a pool of their own unless one is given. */
export async function runRuleTests(
  rules: RuleSet | readonly LoadedRule[],
  options: RunTestsOptions = {},
): Promise<TestReport> {
  const started = performance.now();
  const set: RuleSet = Array.isArray(rules)
    ? { rules: [...(rules as LoadedRule[])], packs: [], settings: [] }
    : (rules as RuleSet);
  const list = set.rules;
  const models = new DataModels(set.dataModels ?? []);
  const names = options.testNames ? new Set(options.testNames) : null;
  const wanted = (name: string) => names === null || names.has(name);
  const report: TestReport = {
    passed: 0,
    failed: 0,
    failures: [],
    results: [],
    invalid: [...(set.problems ?? [])],
    unsupported: [...(set.unsupported ?? [])],
    tooFewTests: [],
    durationMs: 0,
  };
  const record = (
    rule: { id: string; file: string },
    test: string,
    expected: boolean,
    got: boolean | null,
    reasons: string[],
    outputs: TestOutputs | null = null,
  ) => {
    const passed = reasons.length === 0;
    report.results.push({ ruleId: rule.id, file: rule.file, test, passed, expected, got, reasons, outputs });
    if (passed) report.passed++;
    else {
      report.failed++;
      report.failures.push({ ruleId: rule.id, file: rule.file, test, reasons });
    }
  };
  const gotOf = (o: CaseOutcome) => (typeof o.output === "boolean" ? o.output : null);
  if (options.minimumTests !== undefined && options.minimumTests > 0) {
    const n = options.minimumTests;
    for (const rule of list) {
      const exp =
        rule.kind === "ts"
          ? rule.definition.tests.map((t) => t.expected)
          : rule.spec.tests.map((t) => t.expectedResult);
      const p = minimumTestsProblem(rule.id, exp, n);
      if (p) report.tooFewTests.push(p);
    }
    for (const c of set.correlationRules ?? []) {
      const p = minimumTestsProblem(
        c.ruleId,
        c.tests.map((t) => t.expectedResult),
        n,
      );
      if (p) report.tooFewTests.push(p);
    }
  }
  // Every Python rule is imported, tests or not: a module that does not import is an invalid file, as for
  // panther_analysis_tool, not a rule that silently never matches.
  const python = list.filter((r) => r.kind === "python");
  const tsNeedsPython = list.some(
    (r) => r.kind === "ts" && r.definition.tests.some((t) => wanted(t.name) && models.needsPython(t.log.p_log_type)),
  );
  let pool = options.pythonPool;
  const ownPool = pool === undefined && (python.length > 0 || tsNeedsPython);
  if (ownPool) pool = new PythonWorkerPool({ size: 1 });
  // Set when the workers did not take the helpers and data models: the Python rules are not imported then (they
  // would fail importing the helpers, which would read as each rule's own fault).
  let notConfigured: string | null = null;
  try {
    if (pool && (python.length > 0 || tsNeedsPython)) {
      await pool.start();
      const configured = await pool.configure({
        globals: Object.fromEntries((set.globals ?? []).map((g) => [g.id, g.pythonPath])),
        dataModels: models.forPython(toPyDataModel),
      });
      if (configured.ok)
        for (const [id, error] of Object.entries(configured.value.errors))
          report.invalid.push(`data model ${id}: its Python module does not load: ${error}`);
      else {
        notConfigured = `the Python workers did not take the global helpers and data models: ${configured.error.message}`;
        report.invalid.push(
          `global helpers and data models: the Python workers did not take them: ${configured.error.message}`,
        );
      }
    }
    for (const rule of list) {
      if (rule.kind === "ts") {
        for (const t of rule.definition.tests) {
          if (!wanted(t.name)) continue;
          const log = prepareTestLog(t.log);
          // Its data model's Python methods would be asked of workers without it: the rule is not at fault.
          if (notConfigured !== null && models.needsPython(log.p_log_type)) {
            record(rule, t.name, t.expected, null, [`not run: ${notConfigured}`]);
            continue;
          }
          let values: PyUdmValues | null = null;
          if (pool && models.needsPython(log.p_log_type)) {
            const r = await pool.udm([log]);
            values = r.ok ? (r.value[0] ?? null) : null;
          }
          const outcome = runTsCase(rule, t, log, models.forTypeScript(log, values));
          record(rule, t.name, t.expected, gotOf(outcome), judge(t.expected, outcome, t), outputsOf(outcome.match));
        }
      } else if (notConfigured !== null) {
        for (const t of rule.spec.tests)
          if (wanted(t.name)) record(rule, t.name, t.expectedResult, null, [`not run: ${notConfigured}`]);
      } else if (pool) {
        const loaded = await pool.loadRule(rule.id, rule.spec.pythonPath, {
          optionalRule: rule.spec.analysisType === "scheduled_rule",
        });
        if (!loaded.ok) report.invalid.push(pythonLoadProblem(rule.spec.pythonPath, loaded.error));
        for (const t of rule.spec.tests) {
          if (!wanted(t.name)) continue;
          if (!loaded.ok) {
            record(rule, t.name, t.expectedResult, null, [`the rule does not load: ${errorWithPlace(loaded.error)}`]);
            continue;
          }
          const outcome = await runPyCase(pool, rule, t.mocks, prepareTestLog(t.log), models);
          record(
            rule,
            t.name,
            t.expectedResult,
            gotOf(outcome),
            judge(t.expectedResult, outcome, null),
            outputsOf(outcome.match),
          );
        }
      }
    }
    for (const c of set.correlationRules ?? []) {
      for (const t of c.tests) {
        if (!wanted(t.name)) continue;
        const got = correlationFires(c, t.ruleOutputs);
        const reasons =
          got === t.expectedResult
            ? []
            : [`expected the correlation to ${t.expectedResult ? "fire" : "not fire"}, got ${got}`];
        record({ id: c.ruleId, file: c.specPath }, t.name, t.expectedResult, got, reasons);
      }
    }
  } finally {
    if (ownPool) await pool?.close();
  }
  report.durationMs = performance.now() - started;
  return report;
}

const perSecond = (r: TestReport) => {
  const secs = r.durationMs / 1000;
  return secs > 0 ? Math.round((r.passed + r.failed) / secs) : 0;
};

/**
 * Invalid files, then one block per failure (rule id, test name, expected vs got, reasons), with --show-outputs
 * each matching test's outputs, then `N passed, N failed` and the rate on the last line.
 */
export function formatTestReport(report: TestReport, options: { showOutputs?: boolean } = {}): string {
  const lines: string[] = [];
  for (const p of report.invalid) lines.push(`INVALID ${p}`);
  for (const p of report.tooFewTests) lines.push(`TOO FEW TESTS ${p}`);
  for (const r of report.results) {
    if (r.passed && !options.showOutputs) continue;
    const got = r.got === null ? "an error" : String(r.got);
    lines.push(
      `${r.passed ? "PASS" : "FAIL"} ${r.ruleId} › ${r.test}: expected ${r.expected}, got ${got}  (${r.file})`,
    );
    for (const reason of r.reasons) lines.push(`  - ${reason}`);
    if (options.showOutputs && r.outputs) {
      const o = r.outputs;
      lines.push(`  title: ${o.title}`, `  dedup: ${o.dedup}`, `  severity: ${o.severity}`);
      lines.push(
        `  alert_context: ${JSON.stringify(o.alertContext)}`,
        `  destinations: ${JSON.stringify(o.destinations)}`,
      );
    }
  }
  if (report.unsupported.length > 0)
    lines.push(`SKIPPED ${report.unsupported.length} file(s) Vigil does not run, e.g. ${report.unsupported[0]}`);
  const invalid = report.invalid.length > 0 ? `, ${report.invalid.length} invalid file(s)` : "";
  lines.push(`${report.passed} passed, ${report.failed} failed${invalid} (${perSecond(report)} tests/s)`);
  return `${lines.join("\n")}\n`;
}

/** The report as one JSON object for CI (`--json`); outputs only with --show-outputs. */
export function testReportJson(report: TestReport, showOutputs: boolean): Record<string, unknown> {
  return {
    passed: report.passed,
    failed: report.failed,
    invalid: report.invalid,
    unsupported: report.unsupported,
    tooFewTests: report.tooFewTests,
    durationMs: Math.round(report.durationMs),
    testsPerSecond: perSecond(report),
    results: report.results.map((r) => (showOutputs ? r : { ...r, outputs: undefined })),
  };
}
