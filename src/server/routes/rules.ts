// Rules and packs: list with enabled state, enable/disable (globally or for one source), run rule tests.

import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { Hono } from "hono";
import { z } from "zod";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import { hasRule } from "../../detections/engine/load.ts";
import type { LoadedRule } from "../../detections/engine/loaded-rule.ts";
import { EnablementResolver } from "../../detections/packs.ts";
import type { CorrelationRuleSpec } from "../../detections/panther/correlation.ts";
import { runRuleTests } from "../../detections/test-runner.ts";
import { type AppEnv, readBody, requireAdmin, type ServerContext } from "../context.ts";

const ToggleSchema = z.object({ sourceId: z.string().min(1).optional() });
const TestSchema = z.object({ ruleIds: z.array(z.string().min(1)).optional() });

function testNames(rule: LoadedRule): string[] {
  const tests = rule.kind === "ts" ? (rule.definition.tests ?? []) : rule.spec.tests;
  return tests.map((t) => t.name);
}

/** The rule's own files as text: the TypeScript module, or a Panther rule's .py and .yml. */
async function sourceFiles(rule: LoadedRule): Promise<{ name: string; language: string; text: string }[]> {
  const paths: [string, string][] =
    rule.kind === "ts"
      ? [[rule.file, /\.ya?ml$/.test(rule.file) ? "yaml" : "typescript"]] // a Panther Simple Detection is YAML only
      : [
          [rule.spec.pythonPath, "python"],
          [rule.file, "yaml"],
        ];
  const files: { name: string; language: string; text: string }[] = [];
  for (const [path, language] of paths) {
    try {
      files.push({ name: basename(path), language, text: await readFile(path, "utf8") });
    } catch {
      // Moved or deleted since the rules were loaded: the rest is still worth showing.
    }
  }
  return files;
}

export function ruleRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const store = ctx.runtime.store;

  /** The rules, their enablement and, for the views that show them, the Python modules that do not import. */
  async function state({ loadProblems }: { loadProblems: boolean }) {
    const set = await ctx.rules();
    // Only the rule views need these: reading them opens the detection (the first call waits for its imports).
    const { notImported, modelsNotImported } = loadProblems
      ? await pythonLoadFailures()
      : { notImported: new Map<string, string>(), modelsNotImported: [] };
    const settings = await store.listDetectionSettings();
    const resolver = new EnablementResolver(settings, new Map(set.packs.map((p) => [p.id, p])));
    const overrides = (kind: "rule" | "pack", id: string) =>
      settings
        .filter((s) => s.kind === kind && s.id === id && s.sourceId !== null)
        .map((s) => ({ sourceId: s.sourceId, enabled: s.enabled }));
    return { set, resolver, overrides, notImported, modelsNotImported };
  }

  /**
   * The Python rules whose module does not import, by rule id ("file: reason"), and the data models whose module
   * does not, as the detection this process runs (the workers') found them; none if it cannot run.
   */
  async function pythonLoadFailures(): Promise<{ notImported: Map<string, string>; modelsNotImported: string[] }> {
    try {
      const detection = await ctx.runtime.detection();
      return {
        notImported: new Map(detection.pythonLoadFailures.map((f) => [f.ruleId, f.problem])),
        modelsNotImported: [...detection.dataModelLoadFailures],
      };
    } catch {
      return { notImported: new Map(), modelsNotImported: [] };
    }
  }

  const view = (r: LoadedRule, s: Awaited<ReturnType<typeof state>>) => ({
    id: r.id,
    displayName: r.displayName,
    pack: r.packId,
    kind: r.kind,
    enabled: s.resolver.ruleEnabled(r, null),
    severity: r.severity ?? "INFO",
    logTypes: r.logTypes,
    description: r.description,
    runbook: r.runbook,
    reference: r.reference,
    tags: r.tags,
    reports: r.reports,
    threshold: r.threshold,
    dedupPeriodMinutes: r.dedupPeriodMinutes,
    tests: testNames(r),
    sourceOverrides: s.overrides("rule", r.id),
    // Set when its Python module does not import: the rule does not run, whatever `enabled` says.
    loadProblem: s.notImported.get(r.id) ?? null,
  });

  // Correlation rules list beside the rules, in the same shape (kind "correlation", their members' rule ids).
  const correlationView = (r: CorrelationRuleSpec, s: Awaited<ReturnType<typeof state>>) => ({
    id: r.ruleId,
    displayName: r.displayName,
    pack: r.packId,
    kind: "correlation" as const,
    enabled: s.resolver.ruleEnabled({ id: r.ruleId, enabled: r.enabled, packId: r.packId }, null),
    severity: r.severity,
    logTypes: [],
    description: r.description,
    runbook: r.runbook,
    reference: r.reference,
    tags: r.tags,
    reports: r.reports,
    threshold: 1,
    dedupPeriodMinutes: r.dedupPeriodMinutes,
    tests: r.tests.map((t) => t.name),
    sourceOverrides: s.overrides("rule", r.ruleId),
    members: r.members.map((m) => m.ruleId),
    lookbackMinutes: r.lookbackMinutes,
  });

  app.get("/rules", async (c) => {
    const s = await state({ loadProblems: true });
    return c.json({
      rules: [
        ...s.set.rules.map((r) => view(r, s)),
        ...(s.set.correlationRules ?? []).map((r) => correlationView(r, s)),
      ],
      // The files that did not load, each "file: reason": their rules do not run. Python modules are imported by
      // the detection this process runs (the workers'), which says which do not import.
      problems: [...(s.set.problems ?? []), ...s.notImported.values(), ...s.modelsNotImported],
    });
  });

  // One rule with its source text (`files`: the .ts module, or the .py and .yml of a Panther rule).
  app.get("/rules/:id", async (c) => {
    const id = c.req.param("id");
    const s = await state({ loadProblems: true });
    const rule = s.set.rules.find((r) => r.id === id);
    const correlation = (s.set.correlationRules ?? []).find((r) => r.ruleId === id);
    if (!rule && correlation) {
      const text = await readFile(correlation.specPath, "utf8").catch(() => null);
      const files = text === null ? [] : [{ name: basename(correlation.specPath), language: "yaml", text }];
      return c.json({ rule: { ...correlationView(correlation, s), source: text, files } });
    }
    if (!rule) throw new NotFoundError(`There is no rule ${JSON.stringify(id)}.`);
    const files = await sourceFiles(rule);
    return c.json({ rule: { ...view(rule, s), source: files[0]?.text ?? null, files } });
  });

  app.get("/packs", async (c) => {
    const { set, resolver, overrides } = await state({ loadProblems: false });
    return c.json({
      packs: set.packs.map((p) => ({
        id: p.id,
        displayName: p.displayName,
        description: p.description,
        enabled: resolver.packEnabled(p.id, null),
        rules: [
          ...set.rules.filter((r) => r.packId === p.id).map((r) => r.id),
          ...(set.correlationRules ?? []).filter((r) => r.packId === p.id).map((r) => r.ruleId),
        ],
        sourceOverrides: overrides("pack", p.id),
      })),
    });
  });

  for (const kind of ["rule", "pack"] as const) {
    for (const enabled of [true, false]) {
      app.post(`/${kind}s/:id/${enabled ? "enable" : "disable"}`, requireAdmin, async (c) => {
        const id = c.req.param("id");
        const { sourceId } = await readBody(c, ToggleSchema);
        const set = await ctx.rules();
        const known = kind === "rule" ? hasRule(set, id) : set.packs.some((p) => p.id === id);
        if (!known) throw new NotFoundError(`There is no ${kind} ${JSON.stringify(id)}.`);
        let source: string | null = null;
        if (sourceId !== undefined) {
          const record = await store.getSource(sourceId);
          if (!record) throw new NotFoundError(`There is no source ${JSON.stringify(sourceId)}.`);
          source = record.id;
        }
        await store.setDetectionSetting({ kind, id, sourceId: source, enabled });
        return c.json({ kind, id, sourceId: source, enabled });
      });
    }
  }

  app.post("/rules/test", async (c) => {
    const { ruleIds } = await readBody(c, TestSchema);
    const set = await ctx.rules();
    let rules = set.rules;
    if (ruleIds && ruleIds.length > 0) {
      const wanted = new Set(ruleIds);
      rules = set.rules.filter((r) => wanted.has(r.id));
      const missing = ruleIds.find((id) => !rules.some((r) => r.id === id));
      if (missing !== undefined) throw new UsageError(`There is no rule ${JSON.stringify(missing)}.`);
    }
    const report = await runRuleTests(rules);
    return c.json({ passed: report.passed, failed: report.failed, results: report.failures });
  });

  return app;
}
