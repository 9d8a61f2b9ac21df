// `vigil rules list`: a scheduled rule none of whose queries is loaded is listed as one that does not run, and
// one on a query Vigil runs (a cron schedule included) as one that runs.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../../bin/vigil.mjs", import.meta.url));

const scheduledRule = (id: string, query: string) =>
  `AnalysisType: scheduled_rule\nRuleID: ${id}\nEnabled: true\nFilename: ${id}.py\nScheduledQueries: [${query}]\nSeverity: Low\n`;

describe("vigil rules list: scheduled rules", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-rules-list-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const rules = join(dir, "rules");
  mkdirSync(rules);
  writeFileSync(join(rules, "Lake.Rule.yml"), scheduledRule("Lake.Rule", "Query.Lake"));
  writeFileSync(join(rules, "Cron.Rule.yml"), scheduledRule("Cron.Rule", "Query.Cron"));
  for (const id of ["Lake.Rule", "Cron.Rule"])
    writeFileSync(join(rules, `${id}.py`), "def rule(event):\n    return True\n");
  writeFileSync(
    join(rules, "lake.yml"),
    "AnalysisType: scheduled_query\nQueryName: Query.Lake\nEnabled: true\nSnowflakeQuery: SELECT 1\nSchedule:\n  RateMinutes: 60\n  TimeoutMinutes: 1\n",
  );
  writeFileSync(
    join(rules, "cron.yml"),
    "AnalysisType: scheduled_query\nQueryName: Query.Cron\nEnabled: true\nQuery: SELECT 1 AS one\nSchedule:\n  CronExpression: '0 6 * * *'\n  TimeoutMinutes: 1\n",
  );

  it("marks the rule whose query is not loaded, and only it", () => {
    const run = spawnSync(process.execPath, [BIN, "rules", "list", "--json"], {
      env: { ...process.env, VIGIL_DATA_DIR: join(dir, "data"), VIGIL_RULES_DIRS: rules, VIGIL_LOG_LEVEL: "silent" },
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    const rows = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; runs?: boolean });
    const runs = Object.fromEntries(rows.filter((r) => r.id.endsWith(".Rule")).map((r) => [r.id, r.runs]));
    assert.deepEqual(runs, { "Cron.Rule": true, "Lake.Rule": false });
  });
});

describe("vigil rules list: Python modules", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-rules-list-py-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const rules = join(dir, "rules");
  mkdirSync(rules);
  const rule = (id: string) =>
    `AnalysisType: rule\nRuleID: ${id}\nEnabled: true\nFilename: ${id}.py\nLogTypes: [OpenAI.Audit]\nSeverity: High\n`;
  writeFileSync(join(rules, "Py.Broken.yml"), rule("Py.Broken"));
  writeFileSync(join(rules, "Py.Broken.py"), "def rule(event)\n    return True\n");
  writeFileSync(join(rules, "Py.Fine.yml"), rule("Py.Fine"));
  writeFileSync(join(rules, "Py.Fine.py"), "def rule(event):\n    return True\n");
  const list = (json: boolean) =>
    spawnSync(process.execPath, [BIN, "rules", "list", ...(json ? ["--json"] : [])], {
      env: { ...process.env, VIGIL_DATA_DIR: join(dir, "data"), VIGIL_RULES_DIRS: rules, VIGIL_LOG_LEVEL: "silent" },
      encoding: "utf8",
    });

  it("lists a rule whose module does not import as one that does not run, with the reason", () => {
    const run = list(true);
    assert.equal(run.status, 0, run.stderr);
    const rows = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; runs?: boolean; problem?: string | null });
    const broken = rows.find((r) => r.id === "Py.Broken");
    assert.equal(broken?.runs, false);
    assert.match(broken?.problem ?? "", /Py\.Broken\.py.*SyntaxError/);
    assert.deepEqual(
      rows.filter((r) => r.id === "Py.Fine").map((r) => [r.runs, r.problem]),
      [[true, null]],
    );
    const text = list(false);
    assert.match(text.stdout, /^on {3}Py\.Broken {2}HIGH {2}python {2}does not run: .*SyntaxError/m);
  });
});
