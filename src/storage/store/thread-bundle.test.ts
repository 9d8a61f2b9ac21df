import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { sql } from "kysely";
import { bundleModule } from "./thread-bundle.mjs";

const fixture = (name: string) => new URL(`../../../test/fixtures/thread-bundle/${name}`, import.meta.url);

describe("thread bundle", () => {
  it("keeps each file's import.meta.url and imports packages as the files Node loads", async () => {
    const url = await bundleModule(fixture("entry.ts"));
    assert.match(url, /^data:text\/javascript;base64,/);
    const bundled = await import(url);
    assert.equal(bundled.entryUrl, fixture("entry.ts").href);
    assert.equal(bundled.besideUrl, fixture("beside.ts").href);
    // The very module this process loaded for "kysely", not a copy bundled in.
    assert.equal(bundled.sql, sql);
    // Classes keep their names where the bundle renames one of two alike (an error's name crosses threads).
    assert.deepEqual(bundled.probeNames, ["Probe", "Probe"]);
    // A stack names the bundle by its file, not by the whole data: URL (a megabyte per frame).
    assert.throws(
      () => bundled.fail(),
      (err: Error) => {
        assert.match(err.stack ?? "", /entry\.ts\.bundle\.mjs:\d+/);
        assert.doesNotMatch(err.stack ?? "", /data:/);
        return true;
      },
    );
  });

  it("loads in a worker thread that has no TypeScript loader", async () => {
    const worker = new Worker(
      `import { parentPort, workerData } from "node:worker_threads";
       const m = await import(workerData.url);
       parentPort.postMessage({ entryUrl: m.entryUrl, sql: typeof m.sql });`,
      { eval: true, execArgv: [], workerData: { url: await bundleModule(fixture("entry.ts")) } },
    );
    try {
      const reply = await new Promise((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
      });
      assert.deepEqual(reply, { entryUrl: fixture("entry.ts").href, sql: "function" });
    } finally {
      await worker.terminate();
    }
  });

  it("refuses a file that uses import.meta beyond its url, which the bundle cannot give", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-thread-bundle-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "dirname.ts"), "export const here = import.meta.dirname;\n");
    await assert.rejects(
      bundleModule(pathToFileURL(join(dir, "dirname.ts"))),
      /dirname\.ts uses import\.meta\.dirname/,
    );
  });

  it("fails with the compiler's error, naming the file", async (t) => {
    // Written here, not kept as a fixture: the type check and the linter would fail on it.
    const dir = mkdtempSync(join(tmpdir(), "vigil-thread-bundle-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "broken.ts"), "export const value: number = ;\n");
    await assert.rejects(bundleModule(pathToFileURL(join(dir, "broken.ts"))), (err: Error) => {
      assert.match(err.message, /broken\.ts/);
      assert.match(err.message, /Unexpected ";"/);
      return true;
    });
  });
});
