// `vigil rules …` and `vigil packs …`: list rules and packs, enable or disable them (globally or for one
// source, stored through the Store), and run rule tests.
//
// Rules come from the built-in packs (packs/) plus the directories in VIGIL_RULES_DIRS (':'-separated).

import { type Command, CommanderError, InvalidArgumentError } from "commander";
import { readEnv } from "../../config/env.ts";
import { UsageError } from "../../core/errors.ts";
import { hasRule, loadRules, notLoadedLines, RuleLoadError, type RuleSet } from "../../detections/engine/load.ts";
import { BUILTIN_PACKS_DIR, EnablementResolver } from "../../detections/packs.ts";
import { scheduledQueriesOf } from "../../detections/panther/scheduled-query.ts";
import { filterRuleSet, parseFilter, type TestFilter } from "../../detections/test-filters.ts";
import { formatTestReport, runRuleTests, testReportJson } from "../../detections/test-runner.ts";
import { requireSource } from "../../pipeline/runtime.ts";
import { printJsonLine, withRuntime } from "../context.ts";

async function loadAll(): Promise<RuleSet> {
  const set = await loadRules({ packs: [BUILTIN_PACKS_DIR], dirs: readEnv().rulesDirs, tolerant: true });
  for (const line of notLoadedLines(set)) process.stderr.write(`vigil: ${line}\n`);
  // Said once per load: a user rule replaces the pack rule with its id
  for (const o of set.overrides ?? [])
    process.stderr.write(`vigil: rule ${o.id} from ${o.file} replaces the pack rule in ${o.replaces}\n`);
  return set;
}

function setEnabled(kind: "rule" | "pack", enabled: boolean) {
  return async (id: string, options: { source?: string }) => {
    const set = await loadAll();
    const known = kind === "rule" ? hasRule(set, id) : set.packs.some((p) => p.id === id);
    if (!known) throw new UsageError(`There is no ${kind} ${JSON.stringify(id)}; see \`vigil ${kind}s list\`.`);
    await withRuntime(async (runtime) => {
      const source = options.source === undefined ? null : await requireSource(runtime, options.source);
      await runtime.store.setDetectionSetting({ kind, id, sourceId: source?.id ?? null, enabled });
      const where = source ? ` for source ${source.name}` : "";
      process.stdout.write(`${kind} ${id} ${enabled ? "enabled" : "disabled"}${where}\n`);
    });
  };
}

async function listing(kind: "rule" | "pack", json: boolean): Promise<void> {
  await withRuntime(async (runtime) => {
    // The rules as `vigil start` loads them, Python modules imported: a module that does not import is listed as a
    // rule that does not run, with its reason, not as one that is on.
    const detection = await runtime.detection();
    const set = detection.rules;
    const notImported = new Map(detection.pythonLoadFailures.map((f) => [f.ruleId, f.problem]));
    const settings = await runtime.store.listDetectionSettings();
    const sources = new Map((await runtime.store.listSources()).map((s) => [s.id, s.name]));
    const resolver = new EnablementResolver(settings, new Map(set.packs.map((p) => [p.id, p])));
    const overrides = (id: string) =>
      settings
        .filter((s) => s.kind === kind && s.id === id && s.sourceId !== null)
        .map((s) => ({ source: sources.get(s.sourceId ?? "") ?? s.sourceId, enabled: s.enabled }));
    if (kind === "rule") {
      const replaced = new Map((set.overrides ?? []).map((o) => [o.id, o.replaces]));
      // A scheduled rule runs on its queries' rows: without a loaded query it never runs, enabled or not.
      const idleRules = new Set((set.idle ?? []).map((i) => i.ruleId));
      for (const r of set.rules) {
        const queries = scheduledQueriesOf(r);
        const idle = idleRules.has(r.id);
        const problem = notImported.get(r.id) ?? null;
        const row = {
          id: r.id,
          pack: r.packId,
          kind: r.kind,
          enabled: resolver.ruleEnabled(r, null),
          severity: r.severity ?? "INFO",
          logTypes: r.logTypes,
          sourceOverrides: overrides(r.id),
          file: r.file,
          /** The pack rule this user rule replaces (same id). */
          replaces: replaced.get(r.id) ?? null,
          /** A scheduled rule's queries, and whether any of them is loaded (it runs on their rows). */
          scheduledQueries: queries,
          runs: !idle && problem === null,
          /** Why a rule that loaded does not run: its Python module does not import. */
          problem,
        };
        if (json) printJsonLine(row);
        else
          process.stdout.write(
            `${row.enabled ? "on " : "off"}  ${r.id}  ${row.severity}  ${r.kind}${queries.length > 0 ? " scheduled" : ""}${r.packId ? `  pack=${r.packId}` : ""}${row.replaces ? `  replaces=${row.replaces}` : ""}${row.sourceOverrides.map((o) => `  ${o.source}=${o.enabled ? "on" : "off"}`).join("")}${idle ? `  does not run: no query ${queries.join(", ")} is loaded` : ""}${problem === null ? "" : `  does not run: ${problem}`}\n`,
          );
      }
      // Correlation rules are enabled and disabled like rules (their matches group into alerts the same way).
      for (const c of set.correlationRules ?? []) {
        const row = {
          id: c.ruleId,
          pack: c.packId,
          kind: "correlation" as const,
          enabled: resolver.ruleEnabled({ id: c.ruleId, enabled: c.enabled, packId: c.packId }, null),
          severity: c.severity,
          members: c.members.map((m) => m.ruleId),
          sourceOverrides: overrides(c.ruleId),
          file: c.specPath,
        };
        if (json) printJsonLine(row);
        else
          process.stdout.write(
            `${row.enabled ? "on " : "off"}  ${c.ruleId}  ${row.severity}  correlation${c.packId ? `  pack=${c.packId}` : ""}${row.sourceOverrides.map((o) => `  ${o.source}=${o.enabled ? "on" : "off"}`).join("")}\n`,
          );
      }
    } else {
      for (const p of set.packs) {
        const row = {
          id: p.id,
          displayName: p.displayName,
          enabled: resolver.packEnabled(p.id, null),
          rules: set.rules.filter((r) => r.packId === p.id).map((r) => r.id),
          sourceOverrides: overrides(p.id),
          dir: p.dir,
        };
        if (json) printJsonLine(row);
        else
          process.stdout.write(
            `${row.enabled ? "on " : "off"}  ${p.id}  ${row.rules.length} rules${p.displayName ? `  ${p.displayName}` : ""}${row.sourceOverrides.map((o) => `  ${o.source}=${o.enabled ? "on" : "off"}`).join("")}\n`,
          );
      }
    }
  });
}

export interface RulesTestOptions {
  /** `KEY=VALUE` / `KEY!=VALUE` (repeatable). */
  filter?: string[];
  testNames?: string[];
  minimumTests?: number;
  skipDisabled?: boolean;
  showOutputs?: boolean;
  json?: boolean;
}

/** Exit codes of `vigil rules test` (documented in docs/rules.md). */
export const TEST_EXIT = Object.freeze({ passed: 0, testFailed: 1, invalidFile: 2, usage: 3 });

/**
 * `vigil rules test [PATH…]`; returns the process exit code: 0 all passed, 1 a test failed (or a rule has fewer
 * tests than --minimum-tests), 2 an analysis file is invalid (the other tests still ran), 3 a bad option.
 */
export async function rulesTestCommand(
  paths: string[],
  out: NodeJS.WritableStream = process.stdout,
  options: RulesTestOptions = {},
): Promise<number> {
  let filters: TestFilter[];
  try {
    filters = (options.filter ?? []).map(parseFilter);
  } catch (err) {
    process.stderr.write(`vigil: ${(err as Error).message}\n`);
    return TEST_EXIT.usage;
  }
  let loaded: RuleSet;
  try {
    loaded =
      paths.length > 0
        ? await loadRules({ packs: [], dirs: paths, tolerant: true })
        : await loadRules({ packs: [BUILTIN_PACKS_DIR], dirs: readEnv().rulesDirs, tolerant: true });
  } catch (err) {
    // A path that is not there: nothing to test, said as a bad argument.
    if (!(err instanceof RuleLoadError)) throw err;
    process.stderr.write(`vigil: ${err.message}\n`);
    return TEST_EXIT.usage;
  }
  const set = filterRuleSet(loaded, filters, options.skipDisabled === true);
  const report = await runRuleTests(set, {
    ...(options.testNames && options.testNames.length > 0 ? { testNames: options.testNames } : {}),
    ...(options.minimumTests !== undefined ? { minimumTests: options.minimumTests } : {}),
  });
  if (options.json) out.write(`${JSON.stringify(testReportJson(report, options.showOutputs === true))}\n`);
  else out.write(formatTestReport(report, { showOutputs: options.showOutputs === true }));
  if (report.invalid.length > 0) return TEST_EXIT.invalidFile;
  return report.failed > 0 || report.tooFewTests.length > 0 ? TEST_EXIT.testFailed : TEST_EXIT.passed;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number ≥ 0");
  return n;
}

export function register(program: Command): void {
  const rules = program.command("rules").description("List, enable, disable and test detection rules.");
  rules
    .command("list")
    .description("List every rule (built-in packs and VIGIL_RULES_DIRS) and whether it is enabled.")
    .option("--json", "one JSON object per line")
    .action((options: { json?: boolean }) => listing("rule", options.json === true));
  for (const [name, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    rules
      .command(name)
      .argument("<id>", "rule id")
      .option("--source <name>", "only for this source")
      .description(`${name === "enable" ? "Enable" : "Disable"} a rule, globally or for one source.`)
      .action(setEnabled("rule", enabled));
  }
  rules
    .command("test")
    .argument(
      "[paths...]",
      "rule files or directories, e.g. a Panther repository's root (default: built-in packs and VIGIL_RULES_DIRS)",
    )
    .description(
      "Run the rules' test cases, as `panther_analysis_tool test` does. Exit codes: 0 passed, 1 a test failed, 2 an analysis file is invalid, 3 a bad option.",
    )
    .option(
      "--filter <KEY=VALUE>",
      "keep items whose Panther key matches, e.g. RuleID=A,B or Severity!=Info (repeatable)",
      collect,
    )
    .option("--test-names <names...>", "run only the tests with these names")
    .option(
      "--minimum-tests <n>",
      "fail rules with fewer tests (n > 1: also one positive and one negative)",
      positiveInt,
    )
    .option("--skip-disabled", "skip disabled rules (also --skip-disabled-tests)")
    .option("--skip-disabled-tests", "same as --skip-disabled")
    .option("--show-outputs", "print each matching test's title, dedup, severity, alert context and destinations")
    .option("--json", "one JSON report for CI")
    // Commander ends a bad option with 1, which here means a test failed: CI must tell a typo from a failing rule.
    .exitOverride((err) => {
      throw err.exitCode === 0 ? err : new CommanderError(TEST_EXIT.usage, err.code, err.message);
    })
    .action(async (paths: string[], o: RulesTestOptions & { skipDisabledTests?: boolean }) => {
      process.exitCode = await rulesTestCommand(paths, process.stdout, {
        ...o,
        skipDisabled: o.skipDisabled === true || o.skipDisabledTests === true,
      });
    });

  const packs = program.command("packs").description("List, enable and disable rule packs.");
  packs
    .command("list")
    .description("List every pack and whether it is enabled.")
    .option("--json", "one JSON object per line")
    .action((options: { json?: boolean }) => listing("pack", options.json === true));
  for (const [name, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    packs
      .command(name)
      .argument("<id>", "pack id")
      .option("--source <name>", "only for this source")
      .description(`${name === "enable" ? "Enable" : "Disable"} a pack, globally or for one source.`)
      .action(setEnabled("pack", enabled));
  }
}
