import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { sourceSettings } from "../../test/storage-contract.ts";
import { RULES_MODULE } from "../detections/engine/rule-modules.ts";
import { openSqliteStore } from "../storage/sqlite/sqlite-store.ts";
import { openDetection } from "./detection.ts";

it("a rule file that cannot load is said with its reason, and the other rules still run", async () => {
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
      assert.deepEqual(
        detection.engine.rules.map((r) => r.id),
        ["Good.Rule"],
      );
      assert.equal(said.filter((l) => /rule file not loaded \(the other rules run\): .*typo\.yml: /.test(l)).length, 1);
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
