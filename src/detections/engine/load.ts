// Discovers rules: TypeScript/JavaScript modules (default export = defineRule(...)) and Panther
// .yml + .py pairs, recursively. A directory with a pack.yml makes everything below it part of that
// pack. Problems are collected and reported together, each naming its file.

import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";
import { ConfigurationError } from "../../core/errors.ts";
import { isRuleDefinition } from "../define-rule.ts";
import { BUILTIN_PACKS_DIR, loadPackFile, PACK_FILE, type PackInfo } from "../packs.ts";
import { loadPantherRuleFile } from "../panther/rule-file.ts";
import { fromDefinition, fromPantherSpec, type LoadedRule } from "./loaded-rule.ts";
import type { DetectionSetting } from "./types.ts";

export interface LoadRulesOptions {
  /** User rule directories (or single rule files). */
  dirs?: readonly string[];
  /** Pack directories; default [BUILTIN_PACKS_DIR]. Walked like dirs. */
  packs?: readonly string[];
  /** Stored enable/disable overrides, kept with the rule set for the engine. */
  settings?: readonly DetectionSetting[];
}

export interface RuleSet {
  rules: LoadedRule[];
  packs: PackInfo[];
  settings: DetectionSetting[];
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
  problems: string[];
  seen: Set<string>;
}

async function loadModule(file: string, packId: string | null, w: Walk): Promise<void> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    w.problems.push(`${file}: ${(err as Error).message}`);
    return;
  }
  const def = mod.default;
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

async function loadYaml(file: string, packId: string | null, w: Walk): Promise<void> {
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(file, "utf8"), { schema: "core" });
  } catch (err) {
    w.problems.push(`${file}: YAML error: ${(err as Error).message}`);
    return;
  }
  const type = (doc as { AnalysisType?: unknown } | null)?.AnalysisType;
  // Other Panther analysis files (globals, data models, Panther pack files, queries) are not rules
  if (type !== "rule" && type !== "scheduled_rule") {
    if (type === undefined) w.problems.push(`${file}: not a Panther rule (no AnalysisType)`);
    return;
  }
  try {
    w.rules.push(fromPantherSpec(await loadPantherRuleFile(file), packId));
  } catch (err) {
    w.problems.push((err as Error).message);
  }
}

async function walk(path: string, packId: string | null, w: Walk, top: boolean): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    if (top) w.problems.push(`${path}: no such file or directory`);
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

/** Loads every rule below `packs` and `dirs`; throws RuleLoadError listing each bad file. */
export async function loadRules(options: LoadRulesOptions = {}): Promise<RuleSet> {
  const w: Walk = { rules: [], packs: [], problems: [], seen: new Set() };
  for (const dir of [...(options.packs ?? [BUILTIN_PACKS_DIR]), ...(options.dirs ?? [])])
    await walk(resolve(dir), null, w, true);
  const byId = new Map<string, LoadedRule>();
  for (const rule of w.rules) {
    const prev = byId.get(rule.id);
    if (prev) w.problems.push(`${rule.file}: duplicate rule id ${rule.id} (also defined in ${prev.file})`);
    else byId.set(rule.id, rule);
  }
  if (w.problems.length > 0) throw new RuleLoadError(w.problems);
  return { rules: w.rules, packs: w.packs, settings: [...(options.settings ?? [])] };
}
