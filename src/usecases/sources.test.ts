// The source use cases against the simulated API: each rule of adding and changing a source, once.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readEnv } from "../config/env.ts";
import { DEMO_SOURCE_NAME } from "../config/source-defaults.ts";
import { SOURCE_DEFAULTS, SourceSettingError } from "../core/source.ts";
import { createLogger } from "../logging/logger.ts";
import { openRuntime, type Runtime } from "../pipeline/runtime.ts";
import { type RunningSimulator, startSimulator } from "../simulator/index.ts";
import { addSource, removeSource, testSource, updateSource } from "./sources.ts";

describe("source use cases", () => {
  const scratch = mkdtempSync(join(tmpdir(), "vigil-usecase-sources-"));
  let sim: RunningSimulator;
  let other: RunningSimulator;
  let runtime: Runtime;

  before(async () => {
    sim = await startSimulator({ seed: 3, history: { days: 0.01, eventsPerDay: 10, endSecs: 1_780_000_000 } });
    other = await startSimulator({ seed: 4, history: { days: 0.01, eventsPerDay: 10, endSecs: 1_780_000_000 } });
    runtime = await openRuntime(readEnv({ VIGIL_DATA_DIR: join(scratch, "data") }), createLogger({ level: "silent" }));
    runtime.requestTimeoutMs = 5_000;
  });

  after(async () => {
    await runtime?.close();
    await sim?.close();
    await other?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** A key reader that records whether it was asked. */
  function keyReader(key: string): { read: () => Promise<string>; asked: () => boolean } {
    let asked = false;
    return {
      read: async () => {
        asked = true;
        return key;
      },
      asked: () => asked,
    };
  }

  it("adds a source with the schema's defaults, after checking its key", async () => {
    const { source, verifiedLatencyMs } = await addSource(runtime, {
      settings: { name: "acme", baseUrl: sim.baseUrl },
      apiKey: sim.adminKey,
    });
    assert.equal(typeof verifiedLatencyMs, "number");
    assert.equal(source.pollIntervalSecs, SOURCE_DEFAULTS.pollIntervalSecs);
    assert.equal(source.noDataAlertSecs, SOURCE_DEFAULTS.noDataAlertSecs);
    assert.equal(typeof (await testSource(runtime, source)), "number");
  });

  it("removes the demo source when a real source is added, and says so", async () => {
    const demo = await runtime.store.createSource(
      { ...SOURCE_DEFAULTS, name: DEMO_SOURCE_NAME, baseUrl: other.baseUrl },
      { ciphertext: "unused" },
    );
    const { notice } = await addSource(runtime, {
      settings: { name: "real", baseUrl: sim.baseUrl },
      apiKey: sim.adminKey,
    });
    assert.match(notice ?? "", /^Removed the demo source .* now that a real source \(".+"\) exists/);
    assert.equal(await runtime.store.getSource(demo.id), null);
    const again = await addSource(runtime, {
      settings: { name: "real 2", baseUrl: sim.baseUrl },
      apiKey: sim.adminKey,
    });
    assert.equal(again.notice, null);
    for (const name of ["real", "real 2"]) {
      const source = await runtime.store.getSource(name);
      if (source) await removeSource(runtime, source);
    }
  });

  it("refuses invalid settings and a taken name before asking for the key", async () => {
    const reader = keyReader(sim.adminKey);
    await assert.rejects(
      addSource(runtime, { settings: { name: "b", pollIntervalSecs: 4 }, apiKey: reader.read }),
      (err) =>
        err instanceof SourceSettingError && err.message === "Invalid pollIntervalSecs: must be at least 5 seconds.",
    );
    await assert.rejects(
      addSource(runtime, { settings: { name: "acme", baseUrl: sim.baseUrl }, apiKey: reader.read }),
      { code: "conflict", message: 'A source named "acme" already exists.' },
    );
    assert.equal(reader.asked(), false);
  });

  it("refuses a key that does not work, and stores nothing", async () => {
    await assert.rejects(
      addSource(runtime, { settings: { name: "wrong", baseUrl: sim.baseUrl }, apiKey: "sk-admin-wrong" }),
      (err: Error & { code?: string }) => err.code !== undefined && err.code !== "conflict",
    );
    assert.equal(await runtime.store.getSource("wrong"), null);
  });

  it("applies the outbound policy even without verification", async () => {
    const strict = {
      ...runtime,
      env: { ...runtime.env, outbound: { allowedHosts: ["api.openai.com"], allowPlainHttp: false } },
    };
    await assert.rejects(
      addSource(strict, {
        settings: { name: "elsewhere", baseUrl: "https://evil.example/v1" },
        apiKey: "sk-admin-x",
        verify: false,
      }),
      { code: "outbound_refused" },
    );
    assert.equal(await runtime.store.getSource("elsewhere"), null);
  });

  it("needs the key again to move a source, and seals it to the new endpoint", async () => {
    const source = await runtime.store.getSource("acme");
    assert.ok(source);
    await assert.rejects(updateSource(runtime, source, { changes: { baseUrl: other.baseUrl } }), {
      code: "secret_required",
    });
    const reader = keyReader(other.adminKey);
    const { source: moved, verifiedLatencyMs } = await updateSource(runtime, source, {
      changes: { baseUrl: other.baseUrl },
      askKey: reader.read,
    });
    assert.equal(reader.asked(), true);
    assert.equal(moved.baseUrl, other.baseUrl);
    assert.equal(typeof verifiedLatencyMs, "number");
    assert.equal(typeof (await testSource(runtime, moved)), "number");
  });

  it("changes only the settings given, validated, without asking for a key", async () => {
    const source = await runtime.store.getSource("acme");
    assert.ok(source);
    const reader = keyReader("unused");
    const { source: updated } = await updateSource(runtime, source, {
      changes: { pollIntervalSecs: 30, backfillDays: undefined },
      askKey: reader.read,
    });
    assert.equal(updated.pollIntervalSecs, 30);
    assert.equal(updated.backfillDays, source.backfillDays);
    assert.equal(reader.asked(), false);
    await assert.rejects(updateSource(runtime, updated, { changes: { noDataAlertSecs: 60 } }), {
      message: "Invalid noDataAlertSecs: must be at least 900 seconds.",
    });
    // Sweeps as far apart as the window each reads would leave time that none of them reads: refused, whichever
    // of the two settings the change gives, checked against the other's stored value.
    const gap =
      "Invalid sweepIntervalSecs: must be shorter than sweepWindowSecs (7200 seconds): each sweep re-reads only the " +
      "last sweepWindowSecs, so sweeps further apart leave time that none of them reads.";
    await assert.rejects(
      updateSource(runtime, updated, { changes: { sweepWindowSecs: 7200, sweepIntervalSecs: 7200 } }),
      {
        message: gap,
      },
    );
    const narrowed = await updateSource(runtime, updated, { changes: { sweepWindowSecs: 7200 } });
    assert.equal(narrowed.source.sweepWindowSecs, 7200);
    await assert.rejects(updateSource(runtime, narrowed.source, { changes: { sweepIntervalSecs: 9000 } }), {
      message: gap,
    });
    // Two changes at once, each judged first on the record it started from (`wide`, read before both): the second
    // is judged again on the stored record, which the first changed, and refused.
    const wide = (await updateSource(runtime, narrowed.source, { changes: { sweepWindowSecs: 14_400 } })).source;
    await updateSource(runtime, wide, { changes: { sweepWindowSecs: 7200 } });
    await assert.rejects(updateSource(runtime, wide, { changes: { sweepIntervalSecs: 9000 } }), { message: gap });
    assert.equal((await runtime.store.getSource(wide.id))?.sweepIntervalSecs, wide.sweepIntervalSecs);
    // Sweeps turned off (a window of 0): their interval no longer matters.
    const off = await updateSource(runtime, narrowed.source, {
      changes: { sweepWindowSecs: 0, sweepIntervalSecs: 9000 },
    });
    assert.equal(off.source.sweepIntervalSecs, 9000);
    await assert.rejects(
      addSource(runtime, {
        settings: { name: "gaps", sweepWindowSecs: 3600, sweepIntervalSecs: 3600 },
        apiKey: keyReader(sim.adminKey).read,
      }),
      (err) => err instanceof SourceSettingError && err.field === "sweepIntervalSecs",
    );
  });

  it("changes a source whose stored name predates the name rule (the demo's)", async () => {
    const legacy = await runtime.store.createSource(
      { ...SOURCE_DEFAULTS, name: "Demo (simulated)", baseUrl: sim.baseUrl },
      { ciphertext: "unused" },
    );
    const { source } = await updateSource(runtime, legacy, { changes: { enabled: false } });
    assert.equal(source.enabled, false);
    await removeSource(runtime, source);
  });

  it("refuses a rename to a taken name, then removes", async () => {
    const second = await addSource(runtime, {
      settings: { name: "second", baseUrl: sim.baseUrl },
      apiKey: sim.adminKey,
      verify: false,
    });
    assert.equal(second.verifiedLatencyMs, null);
    await assert.rejects(updateSource(runtime, second.source, { changes: { name: "acme" } }), { code: "conflict" });
    await removeSource(runtime, second.source);
    assert.equal(await runtime.store.getSource("second"), null);
  });
});
