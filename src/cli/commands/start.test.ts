// `vigil start` loads the rules before anything else: a rules directory that is not there ends the start with that
// reason, before the demo is set up or "running" is said.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../../bin/vigil.mjs", import.meta.url));

describe("vigil start: rules", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-start-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("stops before it says it runs when a rules directory is not there", () => {
    const { OPENAI_ADMIN_KEY: _key, VIGIL_DATABASE_URL: _db, VIGIL_CONFIG: _config, ...env } = process.env;
    const run = spawnSync(process.execPath, [BIN, "start"], {
      env: {
        ...env,
        VIGIL_DATA_DIR: join(dir, "data"),
        VIGIL_RULES_DIRS: join(dir, "no-such-rules"),
        VIGIL_PORT: "0",
        VIGIL_LOG_LEVEL: "silent",
      },
      encoding: "utf8",
      timeout: 90_000,
    });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /Could not load the rules:\s+\S*no-such-rules: no such file or directory/);
    assert.doesNotMatch(run.stderr, /Vigil is running|Console and API|DEMO MODE|generated password/);
  });
});
