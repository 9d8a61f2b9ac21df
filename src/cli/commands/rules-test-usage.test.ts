// `vigil rules test` exits 3 on a bad option, as its help says: 1 is "a test failed", and CI must tell the two apart.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../../bin/vigil.mjs", import.meta.url));

describe("vigil rules test: usage errors", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-rules-test-usage-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const vigil = (args: string[]) =>
    spawnSync(process.execPath, [BIN, "rules", "test", ...args], {
      env: { ...process.env, VIGIL_DATA_DIR: join(dir, "data"), VIGIL_LOG_LEVEL: "silent" },
      encoding: "utf8",
    });

  it("exits 3 for an option value it refuses and for an option it does not know, with commander's message", () => {
    for (const args of [["--minimum-tests", "abc"], ["--minimum-tests", "-1"], ["--bogus"]]) {
      const run = vigil(args);
      assert.equal(run.status, 3, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, /^error: /, args.join(" "));
    }
  });

  it("exits 0 for --help", () => {
    const run = vigil(["--help"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(
      run.stdout.replace(/\s+/g, " "),
      /Exit codes: 0 passed, 1 a test failed, 2 an analysis file is invalid, 3 a bad option/,
    );
  });
});
