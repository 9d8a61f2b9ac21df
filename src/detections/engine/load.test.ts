import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { BUILTIN_PACKS_DIR } from "../packs.ts";
import { PythonWorkerPool } from "../python/pool.ts";
import { createDetectionEngine } from "./engine.ts";
import { loadRules, RuleLoadError, refuseBlindingSuppression, requireRuleToSuppress } from "./load.ts";
import { batchEvent } from "./test-helpers.ts";

const DEFINE_RULE = fileURLToPath(new URL("../define-rule.ts", import.meta.url));
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "vigil-rules-"));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tsRuleFile = (id: string, body = "rule: (e) => e.get('type') === 'api_key.created'") =>
  `import { defineRule } from ${JSON.stringify(DEFINE_RULE)};
export default defineRule({ id: ${JSON.stringify(id)}, logTypes: ["OpenAI.Audit"], severity: "High", ${body} });\n`;

describe("loadRules", () => {
  it("loads a .ts rule from a temp dir recursively, with its pack, and skips tests and _helpers", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "team", "nested"), { recursive: true });
    writeFileSync(join(dir, "team", "pack.yml"), "id: Team.Pack\ndisplayName: Team\n");
    writeFileSync(join(dir, "team", "nested", "key.ts"), tsRuleFile("Team.Key"));
    writeFileSync(join(dir, "team", "nested", "key.test.ts"), "throw new Error('not a rule');\n");
    writeFileSync(join(dir, "team", "_helper.ts"), "export const x = 1;\n");
    writeFileSync(join(dir, "loose.mjs"), tsRuleFile("Loose").replace(/: \(e\)/, ": (e)"));
    const set = await loadRules({ packs: [], dirs: [dir] });
    assert.deepEqual(
      set.rules.map((r) => [r.id, r.packId, r.kind]),
      [
        ["Loose", null, "ts"],
        ["Team.Key", "Team.Pack", "ts"],
      ],
    );
    assert.deepEqual(
      set.packs.map((p) => [p.id, p.enabled]),
      [["Team.Pack", true]],
    );
    const { matches } = await createDetectionEngine({ rules: set }).evaluate([batchEvent("api_key.created")], []);
    assert.deepEqual(matches.map((m) => [m.ruleId, m.severity, m.packId]).sort(), [
      ["Loose", "HIGH", null],
      ["Team.Key", "HIGH", "Team.Pack"],
    ]);
  });

  it("names the file for bad metadata, a missing rule(), a non-rule module and duplicate ids", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "bad-meta.ts"), tsRuleFile("Bad", "threshold: 0, rule: () => true"));
    writeFileSync(join(dir, "no-rule.ts"), tsRuleFile("NoRule", "title: () => 'x'"));
    writeFileSync(join(dir, "plain.ts"), "export const notARule = 1;\n");
    writeFileSync(join(dir, "dup1.ts"), tsRuleFile("Dup"));
    writeFileSync(join(dir, "dup2.ts"), tsRuleFile("Dup"));
    writeFileSync(join(dir, "bad.yml"), "AnalysisType: rule\nRuleID: X\nEnabled: true\n");
    await assert.rejects(loadRules({ packs: [], dirs: [dir] }), (err: unknown) => {
      assert.ok(err instanceof RuleLoadError);
      const text = err.problems.join("\n");
      assert.match(text, /bad-meta\.ts: .*threshold/);
      assert.match(text, /no-rule\.ts: .*rule\(\) is required/);
      assert.match(text, /plain\.ts: a rule module must `export default defineRule/);
      assert.match(text, /dup2\.ts: duplicate rule id Dup \(also defined in .*dup1\.ts\)/);
      assert.match(text, /bad\.yml/);
      return true;
    });
  });

  it("loads the built-in examples pack (Panther .yml + .py pairs)", async () => {
    const set = await loadRules({ packs: [BUILTIN_PACKS_DIR] });
    const examples = set.rules.filter((r) => r.packId === "Vigil.Examples");
    assert.deepEqual(examples.map((r) => [r.id, r.kind]).sort(), [
      ["Seed.OpenAI.APIKey.Created", "python"],
      ["Seed.OpenAI.Project.Deleted", "python"],
      ["Seed.OpenAI.User.Changes", "python"],
    ]);
  });
});

describe("Panther pairs on the Python pool", () => {
  const pool = new PythonWorkerPool({ size: 1, timeoutMs: 10000 });
  after(() => pool.close());

  it("the seed examples give the actor's real email on normalized real-shape events", async () => {
    const dir = tempDir();
    cpSync(join(BUILTIN_PACKS_DIR, "examples"), dir, { recursive: true });
    // the examples pack ships disabled (enabled: false); this test runs its rules, so enable it here
    writeFileSync(join(dir, "pack.yml"), "id: Vigil.Examples\nenabled: true\n");
    writeFileSync(join(dir, "broken.py"), "def rule(event):\n    return event['missing'] == 1\n");
    writeFileSync(
      join(dir, "broken.yml"),
      "AnalysisType: rule\nRuleID: Broken\nEnabled: true\nFilename: broken.py\nLogTypes: [OpenAI.Audit]\nSeverity: Low\n",
    );
    const set = await loadRules({ packs: [dir] });
    const engine = createDetectionEngine({ rules: set, pythonPool: pool });
    const events = [
      batchEvent("api_key.created", { actor: "userKey" }),
      batchEvent("project.deleted"),
      batchEvent("user.updated"),
    ];
    const { matches } = await engine.evaluate(events, []);
    const byRule = new Map(matches.filter((m) => !m.isError).map((m) => [m.ruleId, m]));
    assert.equal(byRule.get("Seed.OpenAI.APIKey.Created")?.title, "New OpenAI API key created by bob@example.com");
    assert.equal(
      byRule.get("Seed.OpenAI.APIKey.Created")?.dedupString,
      "New OpenAI API key created by bob@example.com",
    );
    const deleted = byRule.get("Seed.OpenAI.Project.Deleted")!;
    assert.equal(deleted.title, "OpenAI project deleted");
    assert.equal(deleted.dedupString, "defaultDedupString:Seed.OpenAI.Project.Deleted");
    assert.deepEqual(deleted.destinations, ["slack-secops"]);
    assert.equal((deleted.alertContext as { actor_email: string }).actor_email, "alice@example.com");
    const users = byRule.get("Seed.OpenAI.User.Changes")!;
    assert.deepEqual([users.severity, users.threshold, users.dedupPeriodMinutes], ["MEDIUM", 2, 30]);
    const errors = matches.filter((m) => m.isError);
    assert.equal(errors.length, 3, "one KeyError per event");
    assert.deepEqual(
      [errors[0]!.ruleId, errors[0]!.dedupString, errors[0]!.title, errors[0]!.severity],
      ["Broken", "KeyError", "KeyError('missing')", "LOW"],
    );
    // the last traceback frame, as Panther reports it
    assert.match(errors[0]!.errorMessage ?? "", /^'missing': \S+\.py, line \d+, in \w+/);
  });

  it("a user rule replaces a pack rule of the same id (reported); two user rules with one id name both files", async () => {
    const packs = tempDir();
    writeFileSync(join(packs, "pack.yml"), "id: P\n");
    writeFileSync(join(packs, "managed.ts"), tsRuleFile("Same.Id"));
    const user = tempDir();
    writeFileSync(join(user, "mine.ts"), tsRuleFile("Same.Id", "rule: () => false"));
    const set = await loadRules({ packs: [packs], dirs: [user] });
    assert.deepEqual(
      set.rules.map((r) => [r.id, r.file, r.packId]),
      [["Same.Id", join(user, "mine.ts"), null]],
    );
    assert.deepEqual(set.overrides, [
      { id: "Same.Id", file: join(user, "mine.ts"), replaces: join(packs, "managed.ts") },
    ]);
    const other = tempDir();
    writeFileSync(join(other, "again.ts"), tsRuleFile("Same.Id"));
    await assert.rejects(
      loadRules({ packs: [packs], dirs: [user, other] }),
      (err: unknown) =>
        err instanceof RuleLoadError &&
        /again\.ts: duplicate rule id Same\.Id \(also defined in .*mine\.ts\)/.test(err.message),
    );
  });

  const SAMPLE_OPENAI = (() => {
    let dir = fileURLToPath(new URL(".", import.meta.url));
    for (let i = 0; i < 8; i++) {
      const candidate = join(dir, "shared", "reference", "panther-analysis-sample", "rules", "openai_rules");
      if (existsSync(candidate)) return candidate;
      dir = dirname(dir);
    }
    return "";
  })();
  it("Panther's openai_rules load next to the built-in OpenAI pack: same ids replace the pack's rules", {
    skip: SAMPLE_OPENAI === "" && "sample not present",
  }, async () => {
    const set = await loadRules({ packs: [BUILTIN_PACKS_DIR], dirs: [SAMPLE_OPENAI] });
    const panther = set.rules.filter((r) => r.file.startsWith(SAMPLE_OPENAI));
    assert.equal(panther.length, 7);
    assert.ok((set.overrides ?? []).length > 0, "the built-in pack carries some of the same ids");
    for (const o of set.overrides ?? []) {
      assert.ok(o.file.startsWith(SAMPLE_OPENAI));
      assert.equal(set.rules.filter((r) => r.id === o.id).length, 1);
    }
  });

  it("TypeScript rules outside the checkout import `vigil/rules`, with or without a package.json", async () => {
    const rule = (id: string) =>
      `import { defineRule } from "vigil/rules";\nexport default defineRule({ id: ${JSON.stringify(id)}, logTypes: ["OpenAI.Audit"], rule: (e) => e.get("type") === "x" });\n`;
    const bare = tempDir(); // os.tmpdir(): outside this repository, no package.json above it
    writeFileSync(join(bare, "r.ts"), rule("Ext.Bare"));
    // A local helper that imports the API too (it would load as CommonJS here without the hook's help)
    writeFileSync(
      join(bare, "_helpers.ts"),
      'import { makeEvent } from "vigil/rules";\nexport const api = typeof makeEvent;\n',
    );
    writeFileSync(
      join(bare, "uses-helper.ts"),
      'import { defineRule } from "vigil/rules";\nimport { api } from "./_helpers.ts";\nexport default defineRule({ id: "Ext.Helper", logTypes: ["OpenAI.Audit"], rule: () => api === "function" });\n',
    );
    const pkg = tempDir();
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "my-rules", type: "module" }));
    writeFileSync(join(pkg, "r.ts"), rule("Ext.Pkg"));
    const cjs = tempDir();
    writeFileSync(join(cjs, "package.json"), JSON.stringify({ name: "old-rules" }));
    writeFileSync(join(cjs, "r.ts"), rule("Ext.Cjs"));
    const set = await loadRules({ packs: [], dirs: [bare, pkg, cjs] });
    assert.deepEqual(set.rules.map((r) => r.id).sort(), ["Ext.Bare", "Ext.Cjs", "Ext.Helper", "Ext.Pkg"]);
    const { matches } = await createDetectionEngine({ rules: set }).evaluate(
      [{ sourceId: "s", eventId: "e", record: { p_log_type: "OpenAI.Audit", type: "x" } }],
      [],
    );
    assert.equal(matches.length, 4);
  });

  it("a rule importing a module that does not resolve: the file, the module and how rules import Vigil", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "r.ts"), 'import { x } from "no-such-package-here";\nexport default x;\n');
    await assert.rejects(
      loadRules({ packs: [], dirs: [dir] }),
      /r\.ts: cannot load no-such-package-here .*import \{ defineRule \} from "vigil\/rules"/,
    );
  });
});

describe("a tolerant load (the workers, the server, the CLI)", () => {
  it("keeps the first of two items with one name and reports the other, which does not run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-dups-"));
    try {
      for (const n of ["a", "b"]) {
        mkdirSync(join(dir, n));
        writeFileSync(
          join(dir, n, "q.yml"),
          `AnalysisType: scheduled_query\nQueryName: Q.Same\nEnabled: true\nQuery: SELECT '${n}'\nSchedule:\n  RateMinutes: 60\n  TimeoutMinutes: 1\n`,
        );
        writeFileSync(join(dir, n, "g.yml"), "AnalysisType: global\nGlobalID: my_helpers\nFilename: g.py\n");
        writeFileSync(join(dir, n, "g.py"), `WHICH = "${n}"\n`);
      }
      const set = await loadRules({ packs: [], dirs: [dir], tolerant: true });
      assert.deepEqual(
        set.scheduledQueries?.map((q) => q.sql),
        ["SELECT 'a'"],
      );
      assert.deepEqual(
        set.globals?.map((g) => g.pythonPath),
        [join(dir, "a", "g.py")],
      );
      assert.deepEqual(
        set.problems?.map((p) => p.replace(`${dir}/`, "")),
        [
          `b/q.yml: duplicate QueryName Q.Same (also defined in ${dir}/a/q.yml)`,
          `b/g.yml: duplicate GlobalID my_helpers (also defined in ${dir}/a/g.yml)`,
        ],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops at a rules directory that is not there: every rule of it would be missing", async () => {
    await assert.rejects(
      loadRules({ packs: [], dirs: ["/no/such/rules"], tolerant: true }),
      (err: unknown) =>
        err instanceof RuleLoadError && /\/no\/such\/rules: no such file or directory/.test(err.message),
    );
  });
});

it("says when a user's version of a pack rule did not load and the pack's runs meanwhile", async () => {
  const root = mkdtempSync(join(tmpdir(), "vigil-override-"));
  try {
    const rule = (dir: string, body: string) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "r.yml"), body);
      writeFileSync(join(dir, "r.py"), "def rule(event):\n    return True\n");
    };
    rule(
      join(root, "pack"),
      "AnalysisType: rule\nRuleID: Shared.Rule\nEnabled: true\nFilename: r.py\nLogTypes: [OpenAI.Audit]\nSeverity: Low\n",
    );
    // The user's version lacks its Severity.
    rule(
      join(root, "mine"),
      "AnalysisType: rule\nRuleID: Shared.Rule\nEnabled: true\nFilename: r.py\nLogTypes: [OpenAI.Audit]\n",
    );
    const set = await loadRules({ packs: [join(root, "pack")], dirs: [join(root, "mine")], tolerant: true });
    assert.deepEqual(
      set.rules.map((r) => [r.id, r.file]),
      [["Shared.Rule", join(root, "pack", "r.yml")]],
    );
    assert.equal(set.problems?.length, 2);
    assert.match(set.problems?.[0] ?? "", /mine\/r\.yml.*missing required key 'Severity'/);
    assert.equal(
      set.problems?.[1],
      `${join(root, "mine", "r.yml")}: rule Shared.Rule did not load, so the pack's version in ${join(root, "pack", "r.yml")} runs meanwhile`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

describe("what a suppression may name", () => {
  it("refuses a correlation's input, a rule that never alerts (a correlation too), and an unknown rule", async () => {
    const set = await loadRules({ packs: [BUILTIN_PACKS_DIR] });
    const correlation = set.correlationRules?.find((c) => c.ruleId === "OpenAI.BruteForce.Login.Success");
    assert.ok(correlation);
    assert.doesNotThrow(() => requireRuleToSuppress(set, "OpenAI.Login.PasswordSpray", "x"));
    assert.doesNotThrow(() => requireRuleToSuppress(set, correlation.ruleId, "x"));
    assert.throws(() => requireRuleToSuppress(set, "No.Such", "x"), /There is no rule "No\.Such"/);
    assert.throws(() => requireRuleToSuppress(set, "OpenAI.Login.Success", "x"), /input of the correlation rule/);
    const silent = { ...set, correlationRules: [{ ...correlation, createAlert: false }] };
    assert.throws(() => refuseBlindingSuppression(silent, correlation.ruleId), /never alerts/);
  });
});
