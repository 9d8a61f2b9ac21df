// Discovers rules: TypeScript/JavaScript modules (default export = defineRule(...)) and Panther
// .yml + .py pairs, recursively. A directory with a pack.yml makes everything below it part of that
// pack. Problems are collected and reported together, each naming its file.

import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { ConfigurationError, UsageError } from "../../core/errors.ts";
import { memberRuleIds } from "../correlation/live.ts";
import { correlationFromDefinition, isCorrelationDefinition } from "../define-correlation.ts";
import { isRuleDefinition } from "../define-rule.ts";
import { BUILTIN_PACKS_DIR, loadPackFile, PACK_FILE, type PackInfo } from "../packs.ts";
import { type CorrelationRuleSpec, parseCorrelationRule } from "../panther/correlation.ts";
import {
  loadDataModelFile,
  loadGlobalFile,
  type PantherDataModel,
  type PantherGlobal,
} from "../panther/repository-files.ts";
import { loadPantherRuleFile } from "../panther/rule-file.ts";
import { parseScheduledQuery, type ScheduledQuerySpec, scheduledQueriesOf } from "../panther/scheduled-query.ts";
import { fromDefinition, fromPantherSpec, type LoadedRule } from "./loaded-rule.ts";
import { RULES_MODULE, registerRuleModuleResolution, ruleModuleUrl } from "./rule-modules.ts";
import type { DetectionSetting } from "./types.ts";

export interface LoadRulesOptions {
  /** User rule directories (or single rule files). */
  dirs?: readonly string[];
  /** Pack directories; default [BUILTIN_PACKS_DIR]. Walked like dirs. */
  packs?: readonly string[];
  /** Stored enable/disable overrides, kept with the rule set for the engine. */
  settings?: readonly DetectionSetting[];
  /**
   * Collect the files that cannot load in `problems` and load the rest (`vigil rules test`, as
   * `panther_analysis_tool test` goes on past a bad file); default: throw RuleLoadError listing them.
   */
  tolerant?: boolean;
}

export interface RuleSet {
  rules: LoadedRule[];
  packs: PackInfo[];
  settings: DetectionSetting[];
  /** Panther global helper modules (GlobalID → .py), for the Python workers. */
  globals?: PantherGlobal[];
  /** Panther data models, chosen by each event's log type. */
  dataModels?: PantherDataModel[];
  /** Correlation rules (Panther YAML or defineCorrelation): tested, and run live over stored matches. */
  correlationRules?: CorrelationRuleSpec[];
  /** Panther scheduled queries over the event store, feeding scheduled rules. */
  scheduledQueries?: ScheduledQuerySpec[];
  /** Files that could not be loaded, each "file: reason" (tolerant loads only). */
  problems?: string[];
  /** Valid Panther files of a kind Vigil does not run (policies), each "file: reason"; skipped, not errors. */
  unsupported?: string[];
  /** Loaded rules that never run (a scheduled rule none of whose queries is loaded): the rule, and "file: reason". */
  idle?: Array<{ ruleId: string; message: string }>;
  /** User rules that replace a pack rule of the same id, each said once at load. */
  overrides?: Array<{ id: string; file: string; replaces: string }>;
}

/** Whether `id` is a rule or correlation rule of the set: what enabling, disabling and suppressing may name. */
export function hasRule(set: Pick<RuleSet, "rules" | "correlationRules">, id: string): boolean {
  return set.rules.some((r) => r.id === id) || (set.correlationRules ?? []).some((r) => r.ruleId === id);
}

/**
 * Throws a usage error when a suppression would name a rule that is not loaded: its matches would never come, and
 * the suppression would look active for nothing (see also refuseBlindingSuppression). `where` says where the rules
 * are listed.
 */
export function requireRuleToSuppress(set: Pick<RuleSet, "rules" | "correlationRules">, id: string, where: string) {
  if (!hasRule(set, id))
    throw new UsageError(`There is no rule ${JSON.stringify(id)} (${where} lists them): its matches would never come.`);
  refuseBlindingSuppression(set, id);
}

/**
 * Throws a usage error when a suppression of rule `id` would mute no alert of its own but blind another rule: a
 * correlation rule takes its matches as input (suppressed, they would never reach it, and the correlation would
 * go blind for what the suppression pins: the store never lets it, see store/suppressions.ts), or it never
 * alerts (nothing to mute).
 */
export function refuseBlindingSuppression(set: Pick<RuleSet, "rules" | "correlationRules">, id: string) {
  const correlations = (set.correlationRules ?? []).filter((c) => memberRuleIds(c).includes(id)).map((c) => c.ruleId);
  if (correlations.length > 0) {
    throw new UsageError(
      `${id} is an input of the correlation rule ${correlations.join(", ")}: its matches are what the correlation reads, and a suppression would blind it for them. Suppress the correlation rule instead.`,
    );
  }
  const rule = set.rules.find((r) => r.id === id) ?? (set.correlationRules ?? []).find((c) => c.ruleId === id);
  if (rule !== undefined && !rule.createAlert) {
    throw new UsageError(`${id} never alerts (it only records signals): there is nothing to suppress.`);
  }
}

/**
 * What start-up, the CLI and the API say of the files of a tolerant load that did not load, one line each: the
 * other rules run, so a typo in one file costs that file's rules, not every detection.
 */
export function notLoadedLines(set: Pick<RuleSet, "problems">): string[] {
  return (set.problems ?? []).map((p) => `rule file not loaded (the other rules run): ${p}`);
}

export class RuleLoadError extends ConfigurationError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super("rule_load_failed", `Could not load the rules:\n  ${problems.join("\n  ")}`);
    this.problems = problems;
  }
}

const CODE_EXT = new Set([".ts", ".js", ".mjs"]);
const YAML_EXT = new Set([".yml", ".yaml"]);

function isRuleModule(name: string): boolean {
  if (name.startsWith("_") || name.startsWith(".")) return false; // helpers shared by rules
  if (/\.(test|spec)\.(ts|js|mjs)$/.test(name) || name.endsWith(".d.ts")) return false;
  return CODE_EXT.has(extname(name));
}

interface Walk {
  rules: LoadedRule[];
  packs: PackInfo[];
  globals: PantherGlobal[];
  dataModels: PantherDataModel[];
  correlationRules: CorrelationRuleSpec[];
  scheduledQueries: ScheduledQuerySpec[];
  problems: string[];
  unsupported: string[];
  seen: Set<string>;
  /** RuleID → file, of the rule files that named an id and did not load. */
  failedRuleIds: Map<string, string>;
}

/** The reason a Panther policy file is skipped (RuleSet.unsupported). */
export const POLICIES_UNSUPPORTED = "Panther policies (cloud resources) are not supported";

/** Panther analysis types that are not detections Vigil runs or tests; skipped without complaint. */
const SKIPPED_TYPES = new Set(["pack", "saved_query", "lookup_table", "scheduled_prompt"]);

async function loadModule(file: string, packId: string | null, w: Walk): Promise<void> {
  let mod: Record<string, unknown>;
  registerRuleModuleResolution();
  try {
    mod = (await import(ruleModuleUrl(file))) as Record<string, unknown>;
  } catch (err) {
    w.problems.push(moduleLoadProblem(file, err));
    return;
  }
  const def = mod.default;
  if (isCorrelationDefinition(def)) {
    try {
      w.correlationRules.push(correlationFromDefinition(def, file, packId));
    } catch (err) {
      w.problems.push(`${file}: ${(err as Error).message}`);
    }
    return;
  }
  if (!isRuleDefinition(def)) {
    const has = def !== undefined && typeof def === "object" && def !== null;
    w.problems.push(
      has && typeof (def as { rule?: unknown }).rule !== "function"
        ? `${file}: the default export has no rule() function; export default defineRule({ ..., rule })`
        : `${file}: a rule module must \`export default defineRule({...})\` (name helper modules _*.ts to skip them)`,
    );
    return;
  }
  w.rules.push(fromDefinition(def, file, packId));
}

/** A module that cannot be imported: which module was missing, and how rules import Vigil's API. */
function moduleLoadProblem(file: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const message = e?.message ?? String(err);
  if (e?.code === "ERR_MODULE_NOT_FOUND" || e?.code === "MODULE_NOT_FOUND") {
    const missing = /Cannot find (?:module|package) '([^']+)'/.exec(message)?.[1] ?? "a module";
    return `${file}: cannot load ${missing} (${message.split("\n")[0]}); rules import Vigil's API as \`import { defineRule } from "${RULES_MODULE}"\`, and other imports must resolve from the rule's folder`;
  }
  return `${file}: ${message}`;
}

async function loadYaml(file: string, packId: string | null, w: Walk): Promise<void> {
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(file, "utf8"), { schema: "core" });
  } catch (err) {
    w.problems.push(`${file}: YAML error: ${(err as Error).message}`);
    return;
  }
  const type = (doc as { AnalysisType?: unknown } | null)?.AnalysisType;
  try {
    if (type === "rule" || type === "scheduled_rule")
      w.rules.push(fromPantherSpec(await loadPantherRuleFile(file), packId));
    else if (type === "global") w.globals.push(await loadGlobalFile(doc, file));
    else if (type === "datamodel") w.dataModels.push(await loadDataModelFile(doc, file));
    else if (type === "correlation_rule") w.correlationRules.push({ ...parseCorrelationRule(doc, file), packId });
    else if (type === "scheduled_query") {
      const q = parseScheduledQuery(doc, file);
      if ("unsupported" in q) w.unsupported.push(q.unsupported);
      else w.scheduledQueries.push(q);
    }
    // A Panther repository has policies; Vigil has no cloud resources to run them on. Not an error: said once
    else if (type === "policy") w.unsupported.push(`${file}: ${POLICIES_UNSUPPORTED}`);
    else if (type === undefined) w.problems.push(`${file}: not a Panther rule (no AnalysisType)`);
    else if (!SKIPPED_TYPES.has(String(type))) w.problems.push(`${file}: unknown AnalysisType ${String(type)}`);
  } catch (err) {
    w.problems.push((err as Error).message);
    // Its id, when it names one: a user's file that fails must not let the pack's rule of that id run unsaid.
    const id = (doc as { RuleID?: unknown } | null)?.RuleID;
    if (typeof id === "string" && id !== "") w.failedRuleIds.set(id, file);
  }
}

async function walk(path: string, packId: string | null, w: Walk, top: boolean): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    // A rules directory that is not there (a typo in VIGIL_RULES_DIRS) is no bad file among good ones: every
    // rule of it would be missing, so it stops the load, tolerant or not.
    if (top) throw new RuleLoadError([`${path}: no such file or directory`]);
    return;
  }
  if (info.isFile()) {
    const ext = extname(path);
    if (YAML_EXT.has(ext)) await loadYaml(path, packId, w);
    else if (CODE_EXT.has(ext)) await loadModule(path, packId, w);
    else if (top) w.problems.push(`${path}: not a rule file (.ts, .js, .mjs, .yml)`);
    return;
  }
  if (!info.isDirectory()) return;
  const names = (await readdir(path)).sort();
  let pack = packId;
  if (names.includes(PACK_FILE)) {
    try {
      const p = await loadPackFile(join(path, PACK_FILE));
      const dup = w.packs.find((q) => q.id === p.id);
      if (dup) w.problems.push(`${p.file}: duplicate pack id ${p.id} (also in ${dup.file})`);
      else w.packs.push(p);
      pack = p.id;
    } catch (err) {
      w.problems.push((err as Error).message);
    }
  }
  for (const name of names) {
    if (name === PACK_FILE || name === "node_modules" || name.startsWith(".")) continue;
    const child = join(path, name);
    if (w.seen.has(child)) continue;
    w.seen.add(child);
    const childInfo = await stat(child).catch(() => null);
    if (childInfo?.isDirectory()) await walk(child, pack, w, false);
    else if (childInfo?.isFile()) {
      if (YAML_EXT.has(extname(name))) await loadYaml(child, pack, w);
      else if (isRuleModule(name)) await loadModule(child, pack, w);
    }
  }
}

/** Loads every rule below `packs` and `dirs`; throws RuleLoadError listing each bad file (unless tolerant). */
export async function loadRules(options: LoadRulesOptions = {}): Promise<RuleSet> {
  const w: Walk = {
    rules: [],
    packs: [],
    globals: [],
    dataModels: [],
    correlationRules: [],
    scheduledQueries: [],
    problems: [],
    unsupported: [],
    seen: new Set(),
    failedRuleIds: new Map(),
  };
  for (const dir of options.packs ?? [BUILTIN_PACKS_DIR]) await walk(resolve(dir), null, w, true);
  const packRules = w.rules.splice(0);
  w.failedRuleIds.clear();
  for (const dir of options.dirs ?? []) await walk(resolve(dir), null, w, true);
  const { rules, overrides } = resolveIds(packRules, w.rules, w.problems);
  // A user's version of a pack rule that did not load: the pack's runs meanwhile, which is said, not assumed.
  for (const r of packRules) {
    const failed = w.failedRuleIds.get(r.id);
    if (failed !== undefined && !overrides.some((o) => o.id === r.id))
      w.problems.push(`${failed}: rule ${r.id} did not load, so the pack's version in ${r.file} runs meanwhile`);
  }
  // Of two items with one name, the first found is kept and the other reported: a tolerant load must not run
  // what it says it did not load.
  const ids = new Map<string, string>();
  const correlationRules = w.correlationRules.filter((c) => {
    const clash = ids.get(c.ruleId) ?? rules.find((r) => r.id === c.ruleId)?.file;
    if (clash) w.problems.push(`${c.specPath}: duplicate rule id ${c.ruleId} (also defined in ${clash})`);
    else ids.set(c.ruleId, c.specPath);
    return clash === undefined;
  });
  const queryNames = new Map<string, string>();
  const scheduledQueries = w.scheduledQueries.filter((q) => {
    const prev = queryNames.get(q.name);
    if (prev) w.problems.push(`${q.specPath}: duplicate QueryName ${q.name} (also defined in ${prev})`);
    else queryNames.set(q.name, q.specPath);
    return prev === undefined;
  });
  // A scheduled rule runs on the rows of its queries: one whose queries are all missing or skipped never runs,
  // and is said to be so, rather than listed as if it ran.
  const idle: Array<{ ruleId: string; message: string }> = [];
  for (const r of rules) {
    const queries = scheduledQueriesOf(r);
    if (queries.length > 0 && queries.every((n) => !queryNames.has(n)))
      idle.push({
        ruleId: r.id,
        message:
          `${r.file}: scheduled rule ${r.id} does not run: its scheduled ${queries.length === 1 ? "query" : "queries"} ` +
          `${queries.join(", ")} ${queries.length === 1 ? "is" : "are"} not loaded (missing, or skipped)`,
      });
  }
  const globalIds = new Map<string, string>();
  const globals = w.globals.filter((g) => {
    const prev = globalIds.get(g.id);
    if (prev) w.problems.push(`${g.specPath}: duplicate GlobalID ${g.id} (also defined in ${prev})`);
    else globalIds.set(g.id, g.specPath);
    return prev === undefined;
  });
  if (w.problems.length > 0 && options.tolerant !== true) throw new RuleLoadError(w.problems);
  return {
    rules,
    packs: w.packs,
    settings: [...(options.settings ?? [])],
    globals,
    dataModels: w.dataModels.filter((m) => m.enabled),
    correlationRules,
    scheduledQueries,
    problems: w.problems,
    unsupported: w.unsupported,
    idle,
    overrides,
  };
}

/**
 * Rule ids: a user rule may replace a pack rule of the same id (a team's own version of a managed rule); two pack
 * rules, or two user rules, with one id are an error naming both files.
 */
function resolveIds(
  packRules: LoadedRule[],
  userRules: LoadedRule[],
  problems: string[],
): { rules: LoadedRule[]; overrides: NonNullable<RuleSet["overrides"]> } {
  const dedupe = (list: LoadedRule[]) => {
    const byId = new Map<string, LoadedRule>();
    for (const rule of list) {
      const prev = byId.get(rule.id);
      if (prev) problems.push(`${rule.file}: duplicate rule id ${rule.id} (also defined in ${prev.file})`);
      else byId.set(rule.id, rule);
    }
    return byId;
  };
  const packs = dedupe(packRules);
  const users = dedupe(userRules);
  const overrides: NonNullable<RuleSet["overrides"]> = [];
  const rules: LoadedRule[] = [];
  for (const rule of packs.values()) {
    const mine = users.get(rule.id);
    if (mine) overrides.push({ id: rule.id, file: mine.file, replaces: rule.file });
    else rules.push(rule);
  }
  rules.push(...users.values());
  return { rules, overrides };
}
