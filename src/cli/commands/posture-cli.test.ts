// `vigil sources update --posture-interval`, the posture block of `vigil sources list --json`, and `vigil coverage`.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../../bin/vigil.mjs", import.meta.url));

describe("vigil posture settings and coverage", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-posture-cli-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const vigil = (args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], {
      env: { ...process.env, VIGIL_DATA_DIR: dir, OPENAI_ADMIN_KEY: "sk-admin-test", VIGIL_LOG_LEVEL: "silent" },
      encoding: "utf8",
    });
  const listed = () =>
    JSON.parse(vigil(["sources", "list", "--json"]).stdout.trim()) as {
      postureIntervalSecs: number;
      posture: { enabled: boolean; lastSnapshotMs: number | null; failedEndpoints: unknown[] };
    };

  it("snapshots hourly by default, takes another interval, 0 turns them off, refuses under 5 minutes", () => {
    assert.equal(vigil(["sources", "add", "openai", "--name", "a", "--no-verify"]).status, 0);
    assert.equal(listed().postureIntervalSecs, 3600);
    assert.deepEqual(listed().posture, {
      enabled: true,
      intervalSecs: 3600,
      lastSnapshotMs: null,
      objects: null,
      failedEndpoints: [],
    });
    assert.equal(vigil(["sources", "update", "a", "--posture-interval", "900"]).status, 0);
    assert.equal(listed().postureIntervalSecs, 900);
    assert.equal(vigil(["sources", "update", "a", "--posture-interval", "0"]).status, 0);
    assert.equal(listed().posture.enabled, false);
    const bad = vigil(["sources", "update", "a", "--posture-interval", "60"]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--posture-interval/);
    assert.equal(listed().postureIntervalSecs, 0);
  });

  it("vigil coverage --json lists the 147 known types", () => {
    const out = vigil(["coverage", "--json"]);
    assert.equal(out.status, 0, out.stderr);
    const ledger = JSON.parse(out.stdout) as { known: number; types: Array<{ type: string; rules: string[] }> };
    assert.equal(ledger.known, 147);
    assert.ok(ledger.types.find((t) => t.type === "login.failed")?.rules.length);
  });
});
