// `vigil sources add` no-data alarm flags: default on at 24 h, --no-data-alert-hours N, --no-no-data-alert.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../../bin/vigil.mjs", import.meta.url));

describe("vigil sources add: no-data alarm", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-sources-nodata-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const vigil = (args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], {
      env: { ...process.env, VIGIL_DATA_DIR: dir, OPENAI_ADMIN_KEY: "sk-admin-test", VIGIL_LOG_LEVEL: "silent" },
      encoding: "utf8",
    });

  it("defaults to 24 hours, takes hours, turns off, and refuses less than 15 minutes", () => {
    assert.equal(vigil(["sources", "add", "openai", "--name", "a", "--no-verify"]).status, 0);
    assert.equal(
      vigil(["sources", "add", "openai", "--name", "b", "--no-verify", "--no-data-alert-hours", "2"]).status,
      0,
    );
    assert.equal(vigil(["sources", "add", "openai", "--name", "c", "--no-verify", "--no-no-data-alert"]).status, 0);
    const bad = vigil(["sources", "add", "openai", "--name", "d", "--no-verify", "--no-data-alert-hours", "0.1"]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /no-data-alert-hours/);
    const listed = vigil(["sources", "list", "--json"])
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { name: string; noDataAlertEnabled: boolean; noDataAlertSecs: number });
    assert.deepEqual(
      listed.map((s) => [s.name, s.noDataAlertEnabled, s.noDataAlertSecs]),
      [
        ["a", true, 86_400],
        ["b", true, 7_200],
        ["c", false, 86_400],
      ],
    );
  });

  it("refuses two thresholds, or a threshold and off, as sources update does, rather than pick one", () => {
    for (const [flags, message] of [
      [["--no-data-alert-hours", "2", "--no-data-alarm-minutes", "30"], /not both/],
      [["--no-data-alarm-minutes", "30", "--no-no-data-alarm"], /threshold or turn it off/],
      [["--no-data-alert-hours", "2", "--no-no-data-alert"], /threshold or turn it off/],
    ] as const) {
      const run = vigil(["sources", "add", "openai", "--name", "e", "--no-verify", ...flags]);
      assert.notEqual(run.status, 0, flags.join(" "));
      assert.match(run.stderr, message, flags.join(" "));
    }
    const names = vigil(["sources", "list", "--json"])
      .stdout.trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { name: string }).name);
    assert.ok(!names.includes("e"), "nothing was added");
  });
});
