import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { sourceSettings } from "../../test/storage-contract.ts";
import { RULES_MODULE } from "../detections/engine/rule-modules.ts";
import { openSqliteStore } from "../storage/sqlite/sqlite-store.ts";
import { openDetection } from "./detection.ts";

it("a rule file that cannot load, or a Python module that does not import, is said with its reason, and the other rules still run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-detection-"));
  writeFileSync(
    join(dir, "good.ts"),
    `import { defineRule } from ${JSON.stringify(RULES_MODULE)};
export default defineRule({
  id: "Good.Rule",
  logTypes: ["OpenAI.Audit"],
  severity: "LOW",
  rule: (event) => event.get("type") === "api_key.created",
});
`,
  );
  writeFileSync(join(dir, "typo.yml"), "AnalysisType: rule\nRuleID: Typo.Rule\nEnabled: true\n");
  // A Python rule whose module does not import: not run (no rule error on every event), said as a file not loaded.
  writeFileSync(join(dir, "unparsable.py"), "def rule(event)\n    return True\n");
  writeFileSync(
    join(dir, "unparsable.yml"),
    "AnalysisType: rule\nRuleID: Unparsable.Rule\nEnabled: true\nFilename: unparsable.py\nLogTypes: [OpenAI.Audit]\nSeverity: Low\n",
  );
  // A data model whose module raises as it is imported: said too (Python rules on its log type get no data model).
  writeFileSync(join(dir, "broken_model.py"), "raise RuntimeError('broken at import')\n");
  writeFileSync(
    join(dir, "broken_model.yml"),
    "AnalysisType: datamodel\nDataModelID: Broken.Model\nEnabled: true\nFilename: broken_model.py\n" +
      "LogTypes: [Broken.Log]\nMappings:\n  - Name: actor_user\n    Method: get_actor\n",
  );
  const said: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => {
    said.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  const store = await openSqliteStore({ memory: true });
  try {
    const detection = await openDetection({ store, rulesDirs: [dir], packsDirs: [], nowSecs: () => 0 });
    process.stderr.write = write;
    try {
      assert.deepEqual(detection.engine.rules.map((r) => r.id).sort(), ["Good.Rule", "Unparsable.Rule"]);
      assert.deepEqual(
        detection.pythonLoadFailures.map((f) => [f.ruleId, f.problem.replace(`${dir}/`, "")]),
        [
          [
            "Unparsable.Rule",
            "unparsable.py: the rule's Python module does not load: SyntaxError(\"expected ':'\") (unparsable.py, line 1)",
          ],
        ],
      );
      assert.equal(
        said.filter((l) => /rule file not loaded \(the other rules run\): .*unparsable\.py: /.test(l)).length,
        1,
      );
      assert.equal(said.filter((l) => /rule file not loaded \(the other rules run\): .*typo\.yml: /.test(l)).length, 1);
      assert.equal(
        said.filter((l) =>
          /data model not loaded \(the rules run without it\): .*broken_model\.py: its Python module does not import: RuntimeError: broken at import/.test(
            l,
          ),
        ).length,
        1,
        said.join(""),
      );
      // Listed with the files that did not load (the console's Detections page shows them).
      assert.deepEqual(
        detection.dataModelLoadFailures.map((f) => f.replace(`${dir}/`, "")),
        ["broken_model.py: its Python module does not import: RuntimeError: broken at import"],
      );
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "x" });
      const record = { id: "e1", type: "api_key.created", effective_at: 1, p_log_type: "OpenAI.Audit" };
      const { matches } = await detection.detector.detect(source, [{ eventId: "e1", record }]);
      assert.deepEqual(
        matches.map((m) => m.ruleId),
        ["Good.Rule"],
      );
    } finally {
      await detection.close();
    }
  } finally {
    process.stderr.write = write;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
