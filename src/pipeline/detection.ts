// Wires the detection engine into ingest: loads the rules (built-in packs + user directories), adapts the
// engine to the page writer's Detector, and runs correlation rules (pack content like any rule) over stored
// matches (./correlations.ts).

import type { SourceRecord } from "../core/source.ts";
import { memberRuleIds } from "../detections/correlation/live.ts";
import { createDetectionEngine, type DetectionEngine } from "../detections/engine/engine.ts";
import { loadRules, notLoadedLines, POLICIES_UNSUPPORTED, type RuleSet } from "../detections/engine/load.ts";
import type { LoadedRule } from "../detections/engine/loaded-rule.ts";
import { type FnError, pythonLoadProblem } from "../detections/engine/resolve.ts";
import type { DetectionSetting } from "../detections/engine/types.ts";
import { BUILTIN_PACKS_DIR, EnablementResolver } from "../detections/packs.ts";
import type { CorrelationRuleSpec } from "../detections/panther/correlation.ts";
import type { ScheduledQuerySpec } from "../detections/panther/scheduled-query.ts";
import { PythonWorkerPool } from "../detections/python/pool.ts";
import type { Store } from "../storage/ports.ts";
import { stateTimeSecs } from "../storage/store/rule-state.ts";
import { type CorrelationRun, runCorrelations as runCorrelationRules } from "./correlations.ts";
import type { DetectionOutcome, Detector } from "./page-writer.ts";

export interface Detection {
  /** The rules as loaded (packs, user directories and what did not load), with the stored settings of that time. */
  rules: RuleSet;
  engine: DetectionEngine;
  detector: Detector;
  /** Panther scheduled queries feeding scheduled rules (pipeline/scheduled-queries.ts). */
  scheduledQueries: readonly ScheduledQuerySpec[];
  /** The Python rules whose module does not import, each with "file: reason": they do not run (kept current). */
  pythonLoadFailures: ReadonlyArray<{ ruleId: string; problem: string }>;
  /** The data models whose Python module does not import, each "file: reason": their log types run without them. */
  dataModelLoadFailures: readonly string[];
  /** Failed runs per source, query and slot, from poll to poll (pipeline/scheduled-queries.ts SLOT_ATTEMPTS). */
  scheduledFailures: Map<string, number>;
  /** The loaded correlation rules enabled for a source now (pack and rule overrides read from the store). */
  correlationRulesFor(sourceId: string): Promise<CorrelationRuleSpec[]>;
  close(): Promise<void>;
}

export async function openDetection(options: {
  store: Store;
  rulesDirs: readonly string[];
  packsDirs?: readonly string[];
  nowSecs: () => number;
}): Promise<Detection> {
  const { store } = options;
  // Tolerant: a file that cannot load is said below, with its reason, and the other rules run.
  const rules = await loadRules({
    packs: options.packsDirs ?? [BUILTIN_PACKS_DIR],
    dirs: options.rulesDirs,
    settings: await store.listDetectionSettings(),
    tolerant: true,
  });
  for (const line of notLoadedLines(rules)) process.stderr.write(`vigil: ${line}\n`);
  const needsPython =
    rules.rules.some((r) => r.kind === "python") || (rules.dataModels ?? []).some((m) => m.pythonPath !== null);
  // Policies in one line (a Panther repository has hundreds); anything else skipped (a scheduled query for the
  // data lake only, a scheduled rule without its query) each with its reason.
  const skipped = rules.unsupported ?? [];
  const policies = skipped.filter((u) => u.endsWith(POLICIES_UNSUPPORTED));
  if (policies.length > 0) process.stderr.write(`vigil: skipped ${policies.length} Panther policy file(s)\n`);
  for (const u of skipped) if (!u.endsWith(POLICIES_UNSUPPORTED)) process.stderr.write(`vigil: skipped ${u}\n`);
  for (const i of rules.idle ?? []) process.stderr.write(`vigil: ${i.message}\n`);
  for (const o of rules.overrides ?? [])
    process.stderr.write(`vigil: rule ${o.id} from ${o.file} replaces the pack rule in ${o.replaces}\n`);
  const pythonPool = needsPython ? new PythonWorkerPool({}) : undefined;
  // Started now, so a missing python3 is reported at start-up, not at the first match.
  await pythonPool?.start();
  // A module that does not import is a file that did not load; its rule does not run (the engine skips it). The
  // first import's are said at start-up; a later import (after a worker failed) can find more, said then.
  const pythonLoadFailures: Array<{ ruleId: string; problem: string }> = [];
  const dataModelLoadFailures: string[] = [];
  const notImported = (errors: ReadonlyArray<{ rule: LoadedRule; error: FnError }>) => {
    const found = errors.map(({ rule, error }) => ({
      ruleId: rule.id,
      problem: pythonLoadProblem(rule.kind === "python" ? rule.spec.pythonPath : rule.file, error),
    }));
    pythonLoadFailures.push(...found);
    for (const line of notLoadedLines({ problems: found.map((f) => f.problem) }))
      process.stderr.write(`vigil: ${line}\n`);
  };
  const engine = createDetectionEngine({
    rules,
    ...(pythonPool ? { pythonPool } : {}),
    onPythonLoadErrors: notImported,
    onPythonDataModelErrors: (broken) => {
      for (const { model, message } of broken) {
        const problem = `${model.pythonPath ?? model.specPath}: its Python module does not import: ${message}`;
        dataModelLoadFailures.push(problem);
        process.stderr.write(
          `vigil: data model not loaded (the rules run without it): ${problem}; on ${model.logTypes.join(", ")}, ` +
            `Python rules get no data model and TypeScript rules reading its Method mappings get rule errors\n`,
        );
      }
    },
  });
  // Imported now, so that start-up says which do not.
  notImported(await engine.pythonLoadErrors());
  const packs = new Map(rules.packs.map((p) => [p.id, p]));
  const correlationRulesEnabled = (settings: readonly DetectionSetting[], sourceId: string) => {
    const resolver = new EnablementResolver(settings, packs);
    return (rules.correlationRules ?? []).filter((c) =>
      resolver.ruleEnabled({ id: c.ruleId, enabled: c.enabled, packId: c.packId }, sourceId),
    );
  };
  const detector: Detector = {
    async detect(source: SourceRecord, events): Promise<DetectionOutcome> {
      // Overrides may change from another process (`vigil rules disable`); they are one small query.
      const settings = await store.listDetectionSettings();
      engine.setSettings(settings);
      const ruleIds = engine.ruleIdsFor(source.id);
      if (ruleIds.length === 0) return { matches: [], stateOps: [] };
      // State alive at the batch's earliest event: rules judge expiry by event time (a backfill reads history).
      const state = await store.loadRuleState(
        source.id,
        ruleIds,
        stateTimeSecs(
          events.map((e) => eventTime(e.record)),
          options.nowSecs(),
        ),
      );
      // Oldest first: stateful rules ("first time seen") read history in time order (alert windows do not
      // depend on the order: see alerts/windows.ts).
      const batch = events
        .map((e) => ({ sourceId: source.id, eventId: e.eventId, record: e.record }))
        .sort((a, b) => eventTime(a.record) - eventTime(b.record) || (a.eventId < b.eventId ? -1 : 1));
      const outcome = await engine.evaluate(batch, state);
      // Only the matches a correlation rule enabled now takes as member wait for correlation: the others no
      // correlation run would read (it clears them unread). A rule enabled later reads matches stored after.
      const correlationMemberRuleIds = [
        ...new Set(correlationRulesEnabled(settings, source.id).flatMap(memberRuleIds)),
      ];
      return { ...outcome, correlationMemberRuleIds };
    },
  };
  return {
    rules,
    engine,
    detector,
    scheduledQueries: rules.scheduledQueries ?? [],
    scheduledFailures: new Map(),
    pythonLoadFailures,
    dataModelLoadFailures,
    async correlationRulesFor(sourceId) {
      return correlationRulesEnabled(await store.listDetectionSettings(), sourceId);
    },
    close: async () => pythonPool?.close(),
  };
}

function eventTime(record: Record<string, unknown>): number {
  const at = record.effective_at;
  return typeof at === "number" ? at : 0;
}

/**
 * Runs the correlation rules enabled for the source over its matches not yet correlated (./correlations.ts):
 * on event time, so history from a backfill and late events correlate too; re-runs never count twice.
 */
export async function runCorrelations(
  store: Store,
  source: SourceRecord,
  nowSecs: number,
  detection: Pick<Detection, "correlationRulesFor">,
): Promise<CorrelationRun> {
  return runCorrelationRules(store, source, nowSecs, await detection.correlationRulesFor(source.id));
}
