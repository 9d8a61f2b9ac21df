// The detection engine: evaluates every enabled rule on every event of a batch and returns rule
// matches and rule errors (already resolved with Panther's fallbacks), plus rule-state writes.
// TypeScript rules run in-process on one event object built per event; Python rules run on the
// worker pool in one round trip per batch. A rule that throws only ever produces its own error.

import type { RuleMatch, RuleStateOp, Severity } from "../../core/detection.ts";
import type { RuleDefinition } from "../define-rule.ts";
import { makeEvent } from "../event/index.ts";
import { EnablementResolver, type PackInfo } from "../packs.ts";
import { DataModels } from "../panther/data-models.ts";
import { type PantherDataModel, toPyDataModel } from "../panther/repository-files.ts";
import type { PythonWorkerPool } from "../python/pool.ts";
import type { FunctionOutcome, PyUdmValues, RuleRunResults } from "../python/types.ts";
import type { RuleSet } from "./load.ts";
import type { LoadedRule } from "./loaded-rule.ts";
import {
  errorRepr,
  type FnError,
  jsError,
  type Outcome,
  resolveAlertContext,
  resolveDedup,
  resolveDestinations,
  resolveSeverity,
  resolveText,
  resolveTitle,
  resolveUnique,
  truncate,
} from "./resolve.ts";
import { BatchState } from "./state.ts";
import type { DetectionSetting, RuleStateEntry } from "./types.ts";

export interface BatchEvent {
  sourceId: string;
  eventId: string;
  /** The normalized record (has p_log_type, p_event_time). */
  record: Record<string, unknown>;
}

export interface EvaluateResult {
  matches: RuleMatch[];
  stateOps: Array<{ eventId: string; op: RuleStateOp }>;
}

export interface DetectionEngine {
  evaluate(batch: readonly BatchEvent[], state: readonly RuleStateEntry[]): Promise<EvaluateResult>;
  /** Replaces the enable/disable overrides (after `vigil rules enable|disable`). */
  setSettings(settings: readonly DetectionSetting[]): void;
  /** Ids of the rules that can run for a source (to load their state). */
  ruleIdsFor(sourceId: string): string[];
  /**
   * The Python rules whose module does not import, which do not run (as a file that does not load): imported now
   * the first time (they are otherwise imported on first use), then the last verdict (a retry under way does not
   * hold it). A worker that failed meanwhile is no verdict.
   */
  pythonLoadErrors(): Promise<Array<{ rule: LoadedRule; error: FnError }>>;
  readonly rules: readonly LoadedRule[];
}

export interface CreateEngineOptions {
  rules: RuleSet | readonly LoadedRule[];
  /** Needed when the set has Python rules; started if needed. Its rules are loaded on first use. */
  pythonPool?: PythonWorkerPool;
  /** Severity of TS rules that declare none (default INFO). */
  defaultSeverity?: Severity;
  /** Milliseconds now, for the back-off between loads of Python rules a worker failed (default Date.now). */
  nowMs?: () => number;
  /**
   * Told when a load after the first finds rules whose module does not import (they stop running): start-up
   * said the first load's, and this says the later ones'.
   */
  onPythonLoadErrors?: (errors: ReadonlyArray<{ rule: LoadedRule; error: FnError }>) => void;
  /**
   * Told once the workers took the data models, of those whose Python module does not import: their log types
   * have no data model in Python (udm() falls back to the event's own fields), which must not pass unsaid.
   */
  onPythonDataModelErrors?: (errors: ReadonlyArray<{ model: PantherDataModel; message: string }>) => void;
}

/** A rule with everything the hot path needs precomputed. */
interface Compiled {
  rule: LoadedRule;
  severity: Severity;
  logTypes: ReadonlySet<string>;
}

/** Unix seconds from p_event_time ("YYYY-MM-DD HH:MM:SS.fffffffff", UTC), else effective_at. */
export function eventTimeSecs(record: Record<string, unknown>): number {
  const t = record.p_event_time;
  if (typeof t === "string" && t.length >= 19) {
    const ms = Date.parse(`${t.slice(0, 10)}T${t.slice(11, 19)}Z`);
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  }
  const e = record.effective_at;
  return typeof e === "number" && Number.isFinite(e) ? Math.floor(e) : 0;
}

function baseMatch(c: Compiled, ev: BatchEvent, logType: string, timeSecs: number): RuleMatch {
  const r = c.rule;
  return {
    ruleId: r.id,
    packId: r.packId,
    sourceId: ev.sourceId,
    eventId: ev.eventId,
    logType,
    eventTimeSecs: timeSecs,
    isError: false,
    errorType: null,
    errorMessage: null,
    dedupString: "",
    title: "",
    severity: c.severity,
    alertContext: null,
    description: r.description === null ? null : truncate(r.description),
    reference: r.reference === null ? null : truncate(r.reference),
    runbook: r.runbook === null ? null : truncate(r.runbook),
    destinations: r.outputIds ? [...r.outputIds] : null,
    uniqueValue: null,
    dedupPeriodMinutes: r.dedupPeriodMinutes,
    threshold: r.threshold,
    createAlert: r.createAlert,
    tags: r.tags,
    reports: r.reports,
  };
}

/**
 * A rule error (§2.4): dedup string = exception name, title = repr(exception), default severity. It alerts at
 * once whatever the rule's Threshold and CreateAlert (Panther holds only rule matches to the threshold,
 * forwarder.go): a signal rule (CreateAlert false, Threshold 999999) that breaks must still be seen, or the
 * correlations it feeds go blind without a word.
 */
export function errorMatch(c: Compiled, ev: BatchEvent, logType: string, timeSecs: number, e: FnError): RuleMatch {
  const m = baseMatch(c, ev, logType, timeSecs);
  m.isError = true;
  m.threshold = 1;
  m.createAlert = true;
  m.errorType = e.type;
  m.errorMessage = e.where ? `${e.message}: ${e.where}` : e.message;
  m.dedupString = truncate(e.type);
  m.title = truncate(errorRepr(e));
  return m;
}

/** Fills a match's alert fields from the auxiliary functions' outcomes. */
export function resolveMatch(m: RuleMatch, c: Compiled, get: (name: string) => Outcome): RuleMatch {
  const r = c.rule;
  const title = get("title");
  m.title = resolveTitle(title, r.displayName, r.id);
  m.dedupString = resolveDedup(get("dedup"), title, r.id);
  m.severity = resolveSeverity(get("severity"), c.severity);
  m.alertContext = resolveAlertContext(get("alert_context"));
  m.description = resolveText(get("description"), r.description);
  m.reference = resolveText(get("reference"), r.reference);
  m.runbook = resolveText(get("runbook"), r.runbook);
  m.destinations = resolveDestinations(get("destinations"), r.outputIds);
  m.uniqueValue = resolveUnique(get("unique"));
  return m;
}

const TS_FUNCTIONS = {
  title: "title",
  dedup: "dedup",
  severity: "severity",
  alert_context: "alertContext",
  description: "description",
  reference: "reference",
  runbook: "runbook",
  destinations: "destinations",
  unique: "unique",
} as const satisfies Record<string, keyof RuleDefinition["fns"]>;

/** Runs one TS auxiliary function; absent → undefined, raise → error outcome. */
export function callTs(def: RuleDefinition, name: string, event: unknown, ctx: unknown): Outcome {
  const key = TS_FUNCTIONS[name as keyof typeof TS_FUNCTIONS];
  const fn = key === undefined ? undefined : def.fns[key];
  if (fn === undefined) return undefined;
  try {
    return { value: (fn as (e: unknown, c: unknown) => unknown)(event, ctx) };
  } catch (err) {
    return { error: jsError(err) };
  }
}

export function nonBoolError(value: unknown): FnError {
  const got = value === null ? "NoneType" : Array.isArray(value) ? "list" : typeof value;
  return { type: "FunctionReturnTypeError", message: `rule() must return a boolean, got ${got}` };
}

export function compile(rule: LoadedRule, defaultSeverity: Severity): Compiled {
  return { rule, severity: rule.severity ?? defaultSeverity, logTypes: new Set(rule.logTypes) };
}

/**
 * Why a Python rule may fail to load that says nothing of its module: no worker, one that timed out or died
 * while importing it (a busy host), or a pool closed under the import (shutting down). Such a rule reports rule
 * errors and is loaded again; any other failure is the module's own (a syntax error, no rule(), a helper raising),
 * and the rule does not run.
 */
const PYTHON_UNAVAILABLE = new Set(["PythonUnavailable", "RuleTimeout", "WorkerCrashed", "PoolClosed"]);

/**
 * After such a failure the rules are loaded again no sooner than this, doubled at each failure in a row up to
 * PYTHON_RETRY_MAX_MS: on a host that keeps timing out, every batch waiting for a whole import (seconds per rule)
 * would starve the rules that do run.
 */
export const PYTHON_RETRY_MIN_MS = 5_000;
export const PYTHON_RETRY_MAX_MS = 5 * 60_000;

export function createDetectionEngine(options: CreateEngineOptions): DetectionEngine {
  const set: RuleSet = Array.isArray(options.rules)
    ? { rules: [...(options.rules as LoadedRule[])], packs: [], settings: [] }
    : (options.rules as RuleSet);
  const compiled = set.rules.map((r) => compile(r, options.defaultSeverity ?? "INFO"));
  const packs = new Map<string, PackInfo>(set.packs.map((p) => [p.id, p]));
  let resolver = new EnablementResolver(set.settings, packs);
  // sourceId → logType → rules to run; rebuilt when settings change
  let plan = new Map<string, Map<string, { ts: Compiled[]; py: Compiled[] }>>();
  const pool = options.pythonPool;
  const models = new DataModels(set.dataModels ?? []);
  // The last load's verdict, once one has ended; the load under way, if any.
  let pythonVerdict: Map<string, FnError> | undefined;
  let pythonLoading: Promise<Map<string, FnError>> | undefined;
  // Whether the workers hold the repository's helpers and data models (PythonWorkerPool.configure).
  let pythonConfigured = false;
  // When a worker failed the last load: when to load again, and the wait before that (for the next doubling).
  let pythonRetry: { atMs: number; waitMs: number } | null = null;
  /** Rules found lost (pythonRuleLost) while a load runs, which replaces the verdict as it ends. */
  const lostWhileLoading = new Map<string, FnError>();
  const nowMs = options.nowMs ?? Date.now;

  function rulesFor(sourceId: string, logType: string): { ts: Compiled[]; py: Compiled[] } {
    let bySource = plan.get(sourceId);
    if (!bySource) {
      bySource = new Map();
      plan.set(sourceId, bySource);
    }
    let entry = bySource.get(logType);
    if (!entry) {
      entry = { ts: [], py: [] };
      for (const c of compiled)
        if (c.logTypes.has(logType) && resolver.ruleEnabled(c.rule, sourceId))
          (c.rule.kind === "ts" ? entry.ts : entry.py).push(c);
      bySource.set(logType, entry);
    }
    return entry;
  }

  /**
   * The Python rules' load verdict. A rule whose module does not import does not run (pythonLoadErrors); one that
   * could not be loaded for want of a working Python worker (PYTHON_UNAVAILABLE) reports a rule error on each
   * event, and those rules are loaded again after a back-off (PYTHON_RETRY_MIN_MS, doubling). Only the first load
   * is waited for: a retry runs beside the batches, which keep the last verdict until it ends, and it imports only
   * the rules that were unavailable (the others stay loaded and run meanwhile). Imports are seconds for a
   * repository, N × the timeout on a host where they time out, and every batch would otherwise wait for them.
   */
  function loadPython(): Promise<Map<string, FnError>> {
    const retryDue = pythonRetry !== null && nowMs() >= pythonRetry.atMs;
    if (pythonLoading === undefined && (pythonVerdict === undefined || retryDue)) {
      // This load is the retry: the batches that come while it runs do not start loads of their own.
      if (pythonRetry !== null) pythonRetry = { ...pythonRetry, atMs: Number.POSITIVE_INFINITY };
      const before = pythonVerdict;
      // Only what is lost while this load runs (a load that threw, or a rule lost as one ended, leaves entries that
      // the verdict holds already).
      lostWhileLoading.clear();
      pythonLoading = importPython(before)
        .then((failed) => {
          // Rules a worker said it lost while this load ran (pythonRuleLost): this load did not import them.
          for (const [ruleId, error] of lostWhileLoading) if (!failed.has(ruleId)) failed.set(ruleId, error);
          if (lostWhileLoading.size > 0) pythonRetry ??= firstRetry();
          pythonVerdict = failed;
          if (before !== undefined) reportNewLoadErrors(before, failed);
          return failed;
        })
        .finally(() => {
          pythonLoading = undefined;
        });
      // A retry nobody waits for: should it throw (importPython reports failures as verdicts), try again later.
      if (before !== undefined)
        pythonLoading.catch(() => {
          pythonRetry = firstRetry();
        });
    }
    return pythonVerdict !== undefined
      ? Promise.resolve(pythonVerdict)
      : (pythonLoading as Promise<Map<string, FnError>>);
  }

  /**
   * A worker answered that it does not hold a rule the verdict has loaded: the pool stopped re-loading it into
   * replacement workers (each died or hung re-importing it), or a re-import there failed. The rule is unavailable
   * until the next retry imports it into every worker again.
   */
  function pythonRuleLost(ruleId: string, error: FnError): void {
    if (pythonVerdict === undefined || pythonVerdict.has(ruleId)) return;
    const unavailable: FnError = { type: "PythonUnavailable", message: error.message };
    pythonVerdict = new Map(pythonVerdict).set(ruleId, unavailable);
    // A load under way replaces the verdict when it ends: it keeps this one (see loadPython).
    if (pythonLoading !== undefined) lostWhileLoading.set(ruleId, unavailable);
    pythonRetry ??= firstRetry();
  }

  /** The first load again after a failure: after the shortest back-off, which doubles from there. */
  function firstRetry(): { atMs: number; waitMs: number } {
    return { atMs: nowMs() + PYTHON_RETRY_MIN_MS, waitMs: PYTHON_RETRY_MIN_MS };
  }

  /** A retry that found a module's own failure: that rule stops running, which is said as at start-up. */
  function reportNewLoadErrors(before: ReadonlyMap<string, FnError>, after: ReadonlyMap<string, FnError>): void {
    const now = compiled.flatMap((c) => {
      const error = after.get(c.rule.id);
      const was = before.get(c.rule.id);
      const isNew = error !== undefined && !PYTHON_UNAVAILABLE.has(error.type);
      return isNew && (was === undefined || PYTHON_UNAVAILABLE.has(was.type)) ? [{ rule: c.rule, error }] : [];
    });
    if (now.length > 0) options.onPythonLoadErrors?.(now);
  }

  /**
   * Imports the helpers and data models (unless they are in the workers already) and the Python rules into the
   * workers: every rule the first time (`before` undefined), then only those `before` holds unavailable. Returns
   * the verdict: `before`'s, with the rules imported now replaced by what they gave.
   */
  async function importPython(before: ReadonlyMap<string, FnError> | undefined): Promise<Map<string, FnError>> {
    const failed = new Map<string, FnError>(before);
    const py = compiled.filter(
      (c) =>
        c.rule.kind === "python" && (before === undefined || PYTHON_UNAVAILABLE.has(before.get(c.rule.id)?.type ?? "")),
    );
    for (const c of py) failed.delete(c.rule.id);
    // Data models with Python methods need the workers even when every rule is TypeScript
    if (py.length === 0 && (pythonConfigured || !models.repository.some((m) => m.pythonPath !== null))) {
      pythonRetry = null;
      return failed;
    }
    if (!pool) {
      for (const c of py)
        failed.set(c.rule.id, { type: "PythonUnavailable", message: "no Python worker pool was configured" });
      return failed;
    }
    let unavailable: string | null = null;
    try {
      await pool.start();
      // A repository's global helpers and data models first: rules import the helpers when they load. Not again
      // once taken: it replaces the helper modules, which the rules loaded already would no longer share.
      if (!pythonConfigured) {
        const configured = await pool.configure({
          globals: Object.fromEntries((set.globals ?? []).map((g) => [g.id, g.pythonPath])),
          dataModels: models.forPython(toPyDataModel),
        });
        // Not taken (a worker timed out or died): the rules would fail to import their helpers, which would read
        // as their own fault. Nothing is imported; all of it is tried again after the back-off.
        if (!configured.ok)
          unavailable = `the Python workers did not take the repository's helpers: ${configured.error.message}`;
        else {
          pythonConfigured = true;
          const broken = models.repository.flatMap((m) => {
            const message = configured.value.errors[m.id];
            return message === undefined ? [] : [{ model: m, message }];
          });
          if (broken.length > 0) options.onPythonDataModelErrors?.(broken);
        }
      }
      for (const c of unavailable === null ? py : []) {
        if (c.rule.kind !== "python") continue;
        const r = await pool.loadRule(c.rule.id, c.rule.spec.pythonPath, {
          optionalRule: c.rule.spec.analysisType === "scheduled_rule",
        });
        if (!r.ok) failed.set(c.rule.id, r.error);
      }
    } catch (err) {
      // The workers would not start (no python3, a spawn refused): no verdict on any module, tried again later.
      unavailable = `the Python workers could not start: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (unavailable !== null)
      for (const c of py)
        if (!failed.has(c.rule.id)) failed.set(c.rule.id, { type: "PythonUnavailable", message: unavailable });
    // A worker that timed out or died is no verdict on the module: load again, after a while.
    if (!pythonConfigured || [...failed.values()].some((e) => PYTHON_UNAVAILABLE.has(e.type))) {
      const waitMs = pythonRetry === null ? PYTHON_RETRY_MIN_MS : Math.min(2 * pythonRetry.waitMs, PYTHON_RETRY_MAX_MS);
      pythonRetry = { atMs: nowMs() + waitMs, waitMs };
    } else {
      pythonRetry = null;
    }
    return failed;
  }

  async function runPython(
    batch: readonly BatchEvent[],
    jobs: Array<{ index: number; logType: string; timeSecs: number; rules: Compiled[] }>,
    matches: RuleMatch[],
    state: BatchState,
  ): Promise<void> {
    const failed = await loadPython();
    // One round trip per distinct rule list (usually one: same source, same log type). A rule list belongs
    // to one source (rulesFor), so each round trip carries that source's rule state.
    const groups = new Map<Compiled[], typeof jobs>();
    for (const j of jobs) {
      const g = groups.get(j.rules);
      if (g) g.push(j);
      else groups.set(j.rules, [j]);
    }
    for (const [rules, items] of groups) {
      const runnable = rules.filter((c) => !failed.has(c.rule.id));
      let results: RuleRunResults[][] | null = null;
      let batchError: FnError | null = null;
      if (runnable.length > 0 && pool) {
        const ids = runnable.map((c) => c.rule.id);
        const snapshot = state.snapshot(batch[items[0]!.index]!.sourceId, ids);
        const records = items.map((j) => batch[j.index]!.record);
        // InlineFilters run here; the worker answers False for the rules they reject, without running them
        const withFilters = runnable.filter((c) => c.rule.kind === "python" && c.rule.inlineFilter !== null);
        const filtered =
          withFilters.length === 0
            ? undefined
            : records.map((r) =>
                withFilters
                  .filter((c) => c.rule.kind === "python" && c.rule.inlineFilter !== null && !c.rule.inlineFilter(r))
                  .map((c) => c.rule.id),
              );
        const udmValues = records.map((r) => models.udmValuesForPython(r));
        const reply = await pool.runBatch(ids, records, {
          timesSecs: items.map((j) => j.timeSecs),
          ...(snapshot ? { state: snapshot } : {}),
          ...(udmValues.some((v) => v !== null) ? { udmValues } : {}),
          ...(filtered ? { filtered } : {}),
        });
        if (reply.ok) results = reply.value;
        else batchError = reply.error;
      }
      items.forEach((j, k) => {
        const ev = batch[j.index]!;
        for (const c of rules) {
          // A rule whose module does not import does not run: it is a file that did not load, said at start-up
          // and listed with the others (pythonLoadErrors), not a rule error on every event it would see (a demo
          // organization's hour of events raised one such alert per window, each "matching" every event).
          const loadError = failed.get(c.rule.id);
          if (loadError !== undefined) {
            if (PYTHON_UNAVAILABLE.has(loadError.type))
              matches.push(errorMatch(c, ev, j.logType, j.timeSecs, loadError));
            continue;
          }
          if (batchError) {
            matches.push(errorMatch(c, ev, j.logType, j.timeSecs, batchError));
            continue;
          }
          const res = results?.[k]?.[runnable.indexOf(c)];
          if (!res) continue;
          const opsError = res.ops ? state.replay(c.rule.id, ev.sourceId, ev.eventId, j.timeSecs, res.ops) : null;
          if (opsError !== null) {
            matches.push(errorMatch(c, ev, j.logType, j.timeSecs, { type: "RuleStateError", message: opsError }));
          } else if (typeof res.rule === "object") {
            if (res.rule.error.type === "RuleNotLoaded") pythonRuleLost(c.rule.id, res.rule.error);
            matches.push(errorMatch(c, ev, j.logType, j.timeSecs, res.rule.error));
          } else if (res.rule === true) {
            const m = baseMatch(c, ev, j.logType, j.timeSecs);
            matches.push(
              resolveMatch(m, c, (name) => res[name as keyof RuleRunResults] as FunctionOutcome | undefined),
            );
          }
        }
      });
    }
  }

  /**
   * For TypeScript rules on log types whose repository data model has Python methods: the events (by index) that
   * need values from the workers. Usually none, and then evaluate() stays synchronous for TypeScript-only work.
   */
  function needingPythonUdm(batch: readonly BatchEvent[]): number[] {
    if (!pool || models.repository.length === 0) return [];
    return batch.flatMap((ev, i) => {
      const logType = ev.record.p_log_type;
      return models.needsPython(logType) && rulesFor(ev.sourceId, String(logType)).ts.length > 0 ? [i] : [];
    });
  }

  async function pythonUdmValues(
    batch: readonly BatchEvent[],
    wanted: number[],
  ): Promise<Map<number, PyUdmValues | null>> {
    const out = new Map<number, PyUdmValues | null>();
    if (!pool) return out;
    await loadPython();
    // Workers without the data models would answer nothing useful, and one whose data model kills it at import
    // is replaced (and killed) again and again: the values are then missing, and the rules reading them say so.
    if (!pythonConfigured) return out;
    const reply = await pool.udm(wanted.map((i) => batch[i]!.record));
    if (reply.ok) for (const [k, i] of wanted.entries()) out.set(i, reply.value[k] ?? null);
    return out;
  }

  return {
    rules: set.rules,
    async pythonLoadErrors() {
      const failed = await loadPython();
      return compiled.flatMap((c) => {
        const error = failed.get(c.rule.id);
        return error === undefined || PYTHON_UNAVAILABLE.has(error.type) ? [] : [{ rule: c.rule, error }];
      });
    },
    setSettings(settings) {
      resolver = new EnablementResolver(settings, packs);
      plan = new Map();
    },
    ruleIdsFor(sourceId) {
      return compiled.filter((c) => resolver.ruleEnabled(c.rule, sourceId)).map((c) => c.rule.id);
    },
    async evaluate(batch, stateEntries) {
      const matches: RuleMatch[] = [];
      const state = new BatchState(stateEntries);
      const ctx = state.context;
      const pyJobs: Array<{ index: number; logType: string; timeSecs: number; rules: Compiled[] }> = [];
      const wanted = needingPythonUdm(batch);
      const udmFromPython = wanted.length > 0 ? await pythonUdmValues(batch, wanted) : new Map<number, null>();
      for (let i = 0; i < batch.length; i++) {
        const ev = batch[i]!;
        const logType = typeof ev.record.p_log_type === "string" ? ev.record.p_log_type : "";
        const { ts, py } = rulesFor(ev.sourceId, logType);
        if (ts.length === 0 && py.length === 0) continue;
        const timeSecs = eventTimeSecs(ev.record);
        if (py.length > 0) pyJobs.push({ index: i, logType, timeSecs, rules: py });
        if (ts.length === 0) continue;
        const dataModel = models.forTypeScript(ev.record, udmFromPython.get(i) ?? null);
        const event = makeEvent(ev.record, dataModel === undefined ? {} : { dataModel });
        for (let r = 0; r < ts.length; r++) {
          const c = ts[r]!;
          const def = (c.rule as Extract<LoadedRule, { kind: "ts" }>).definition;
          state.begin(c.rule.id, ev.sourceId, ev.eventId, timeSecs);
          let out: unknown;
          try {
            out = def.fns.rule(event, ctx);
          } catch (err) {
            state.rollback();
            matches.push(errorMatch(c, ev, logType, timeSecs, jsError(err)));
            continue;
          }
          if (out === false) continue;
          if (out !== true) {
            state.rollback();
            matches.push(errorMatch(c, ev, logType, timeSecs, nonBoolError(out)));
            continue;
          }
          const m = baseMatch(c, ev, logType, timeSecs);
          matches.push(resolveMatch(m, c, (name) => callTs(def, name, event, ctx)));
        }
      }
      if (pyJobs.length > 0) await runPython(batch, pyJobs, matches, state);
      return { matches, stateOps: state.ops };
    },
  };
}
