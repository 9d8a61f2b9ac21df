// Crash tests: a child `vigil` process ingests a long simulated history, with faults on, and is killed
// with SIGKILL at random moments, at least 20 times, then restarted. At the end the store must hold
// exactly the simulator's events: none missing, none twice.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { isTenantScoped } from "../src/core/event-types.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/index.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import { prng, tempDir } from "./helpers.ts";

const BIN = fileURLToPath(new URL("../bin/vigil.mjs", import.meta.url));
const KILLS = 20;
const FAULTS = {
  rateLimitProbability: 0.03,
  retryAfter: 1,
  serverErrorProbability: 0.05,
  resetProbability: 0.02,
  truncateProbability: 0.04,
  slowProbability: 0.05,
  slowMs: 200,
} as const;

function vigil(args: string[], env: NodeJS.ProcessEnv, stdio: "ignore" | "pipe" = "ignore"): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = vigil(args, env, "pipe");
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  child.stdout?.resume();
  const { code } = await exited(child);
  return { code, stderr };
}

/** Starts `args` again and again, killing it with SIGKILL after a random delay, until `kills` kills landed. */
async function killRepeatedly(
  args: string[],
  env: NodeJS.ProcessEnv,
  seed: number,
): Promise<{ kills: number; completions: number }> {
  const random = prng(seed);
  let kills = 0;
  let completions = 0;
  for (let attempt = 0; kills < KILLS && attempt < KILLS * 4; attempt++) {
    const child = vigil(args, env);
    const delay = 700 + Math.floor(random() * 2300);
    const timer = setTimeout(() => child.kill("SIGKILL"), delay);
    const { signal } = await exited(child);
    clearTimeout(timer);
    if (signal === "SIGKILL") kills++;
    else completions++;
  }
  return { kills, completions };
}

describe("crash safety (SIGKILL during ingest)", { timeout: 600_000 }, () => {
  let sim: RunningSimulator;
  const nowSecs = Math.floor(Date.now() / 1000);

  before(async () => {
    sim = await startSimulator({
      seed: 4242,
      history: { days: 2, eventsPerDay: 15_000, endSecs: nowSecs },
      tenantShare: 0.05,
      faults: FAULTS,
      pageDelayMs: 4,
    });
  });
  after(async () => sim.close());

  async function assertExactlyTheSimulatorsEvents(dataDir: string): Promise<void> {
    const store = await openSqliteStore({ path: join(dataDir, "vigil.db") });
    try {
      const [source] = await store.listSources();
      assert.ok(source);
      const stored = await store.listEventIds(source.id);
      const expected = sim.org
        .visibleEvents(nowSecs)
        .filter((e) => !isTenantScoped(e.type))
        .map((e) => e.id);
      assert.equal(new Set(stored).size, stored.length, "no event stored twice");
      assert.equal(stored.length, expected.length, "no event missing");
      assert.deepEqual([...stored].sort(), [...expected].sort());
      // A page queues its events for the text index in its own transaction, and the indexer moves them in its
      // own: whenever the process died, each stored event is indexed or queued, exactly once.
      const count = (table: string) => store.connection.prepare(`SELECT count(*) FROM ${table}`).pluck().get();
      assert.equal(
        Number(count("event_text")) + Number(count("event_text_pending")),
        stored.length,
        "every stored event is in the text index or queued for it, once",
      );
      await store.indexPendingText();
      assert.equal(count("event_text"), stored.length, "once the queue is drained, every event is indexed");
      for (const id of stored.filter((_, i) => i % 50 === 0)) {
        const found = await store.searchEvents({ text: id });
        assert.deepEqual(
          found.map((e) => e.id),
          [id],
          `text search finds event ${id}`,
        );
      }
    } finally {
      await store.close();
    }
  }

  it("poll --once killed 20 times stores every event once", async () => {
    const dir = tempDir("vigil-crash-poll-");
    const env = { VIGIL_DATA_DIR: dir.path, OPENAI_ADMIN_KEY: sim.adminKey, VIGIL_LOG_LEVEL: "silent" };
    try {
      sim.setFaults(FAULTS);
      const add = await run(
        ["sources", "add", "openai", "--name", "sim", "--base-url", sim.baseUrl, "--backfill-days", "3", "--no-verify"],
        env,
      );
      assert.equal(add.code, 0, add.stderr);
      const { kills } = await killRepeatedly(["poll", "--once"], env, 7);
      assert.ok(kills >= KILLS, `at least ${KILLS} kills landed mid-run (${kills})`);
      sim.setFaults({});
      const final = await run(["poll", "--once"], env);
      assert.equal(final.code, 0, final.stderr);
      await assertExactlyTheSimulatorsEvents(dir.path);
    } finally {
      dir.remove();
    }
  });

  it("backfill killed 20 times resumes and stores every event once", async () => {
    const dir = tempDir("vigil-crash-backfill-");
    const env = { VIGIL_DATA_DIR: dir.path, OPENAI_ADMIN_KEY: sim.adminKey, VIGIL_LOG_LEVEL: "silent" };
    try {
      sim.setFaults(FAULTS);
      const add = await run(
        ["sources", "add", "openai", "--name", "sim", "--base-url", sim.baseUrl, "--no-verify"],
        env,
      );
      assert.equal(add.code, 0, add.stderr);
      const args = [
        "backfill",
        "--source",
        "sim",
        "--since",
        String(nowSecs - 3 * 86_400),
        "--until",
        String(nowSecs + 1),
        "--concurrency",
        "4",
      ];
      const { kills } = await killRepeatedly(args, env, 8);
      assert.ok(kills >= KILLS, `at least ${KILLS} kills landed mid-run (${kills})`);
      sim.setFaults({});
      const final = await run(args, env);
      assert.equal(final.code, 0, final.stderr);
      await assertExactlyTheSimulatorsEvents(dir.path);
    } finally {
      dir.remove();
    }
  });
});
