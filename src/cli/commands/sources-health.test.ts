// `vigil sources add --no-data-alarm-minutes`, `vigil sources update`, and the health fields of
// `vigil sources list --json`.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../../bin/vigil.mjs", import.meta.url));

describe("vigil sources: alarm minutes, update, list --json health", { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-sources-health-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const vigil = (args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], {
      env: { ...process.env, VIGIL_DATA_DIR: dir, OPENAI_ADMIN_KEY: "sk-admin-test", VIGIL_LOG_LEVEL: "silent" },
      encoding: "utf8",
    });
  const list = () =>
    vigil(["sources", "list", "--json"])
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it("takes minutes, validates the range, turns off, and updates", () => {
    assert.equal(
      vigil(["sources", "add", "openai", "--name", "a", "--no-verify", "--no-data-alarm-minutes", "15"]).status,
      0,
    );
    assert.equal(vigil(["sources", "add", "openai", "--name", "b", "--no-verify", "--no-no-data-alarm"]).status, 0);
    for (const bad of ["14", "43201", "20.5"]) {
      const r = vigil(["sources", "add", "openai", "--name", "c", "--no-verify", "--no-data-alarm-minutes", bad]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /--no-data-alarm-minutes .*15 to 43200/);
    }
    let [a, b] = list();
    assert.deepEqual([a?.noDataAlertEnabled, a?.noDataAlertSecs, a?.noDataAlarmMinutes], [true, 900, 15]);
    assert.deepEqual([b?.noDataAlertEnabled, b?.noDataAlarmMinutes], [false, null]);
    assert.equal(a?.pollFailureAlertSecs, 3600);

    const upd = vigil([
      "sources",
      "update",
      "b",
      "--poll-interval",
      "30",
      "--no-data-alarm-minutes",
      "43200",
      "--disable",
    ]);
    assert.equal(upd.status, 0, upd.stderr);
    assert.equal(vigil(["sources", "update", "a", "--no-no-data-alarm"]).status, 0);
    const none = vigil(["sources", "update", "a"]);
    assert.notEqual(none.status, 0);
    assert.match(none.stderr, /Nothing to change/);
    assert.match(vigil(["sources", "update", "a", "--no-data-alarm-minutes", "5"]).stderr, /15 to 43200/);
    [a, b] = list();
    assert.equal(a?.noDataAlertEnabled, false);
    assert.deepEqual(
      [b?.enabled, b?.pollIntervalSecs, b?.noDataAlertEnabled, b?.noDataAlarmMinutes],
      [false, 30, true, 43200],
    );
  });

  it("sets the late-event re-reads on add and update, and refuses sweeps as far apart as their window", () => {
    const add = vigil([
      "sources",
      "add",
      "openai",
      "--name",
      "busy",
      "--no-verify",
      "--sweep-window-secs",
      "43200",
      "--sweep-interval-secs",
      "7200",
      "--overlap-secs",
      "300",
    ]);
    assert.equal(add.status, 0, add.stderr);
    const busy = () => list().find((s) => s.name === "busy");
    assert.deepEqual([busy()?.sweepWindowSecs, busy()?.sweepIntervalSecs, busy()?.overlapSecs], [43200, 7200, 300]);
    const gap = vigil(["sources", "update", "busy", "--sweep-interval-secs", "43200"]);
    assert.notEqual(gap.status, 0);
    assert.match(gap.stderr, /sweepIntervalSecs: must be shorter than sweepWindowSecs \(43200 seconds\)/);
    assert.match(
      vigil(["sources", "update", "busy", "--sweep-interval-secs", "30"]).stderr,
      /--sweep-interval-secs .*60 to/,
    );
    const upd = vigil(["sources", "update", "busy", "--sweep-window-secs", "90000", "--sweep-interval-secs", "14400"]);
    assert.equal(upd.status, 0, upd.stderr);
    assert.deepEqual([busy()?.sweepWindowSecs, busy()?.sweepIntervalSecs], [90000, 14400]);
    assert.equal(vigil(["sources", "remove", "busy"]).status, 0);
  });

  it("shows last successful poll, last event time, events in 24 h, health and last error", () => {
    const [a] = list();
    assert.ok(a);
    for (const key of ["lastSuccessMs", "lastEventAtSecs", "eventsLast24h", "health", "lastError"]) {
      assert.ok(key in a, key);
    }
    assert.equal(a.lastSuccessMs, null);
    assert.equal(a.lastEventAtSecs, null);
    assert.equal(a.eventsLast24h, 0);
    assert.equal(a.health, "ok");
    assert.equal(a.lastError, null);
  });
});
