// Crash test of the quarantine replay: `vigil sources replay-quarantine` is killed with SIGKILL at random moments
// while it moves 3,000 quarantined records into events, then run again until it completes. At the end each record
// the schema accepts is stored once and gone from the quarantine, each it refuses is still there, and each alert
// was raised once.

import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { rawEvent } from "../packs/openai/_controls.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import { prng, tempDir } from "./helpers.ts";

const BIN = fileURLToPath(new URL("../bin/vigil.mjs", import.meta.url));
const ACCEPTED = 3_000;
const REFUSED = 40;
const KILLS = 6;

describe("quarantine replay under SIGKILL", { timeout: 600_000 }, () => {
  const dir = tempDir("vigil-replay-crash-");
  after(() => dir.remove());
  const env = {
    ...process.env,
    VIGIL_DATA_DIR: dir.path,
    OPENAI_ADMIN_KEY: "sk-admin-test",
    VIGIL_LOG_LEVEL: "silent",
  };

  it("stores each accepted record once and leaves each refused one, however often it is killed", async () => {
    assert.equal(
      spawnSync(process.execPath, [BIN, "sources", "add", "openai", "--name", "acme", "--no-verify"], { env }).status,
      0,
    );
    const accepted = Array.from({ length: ACCEPTED }, (_, i) => {
      const id = `audit_log-r${String(i).padStart(6, "0")}`;
      // Every 500th an IP allowlist deletion (a CRITICAL alert each, its own key); the others logins.
      return i % 500 === 0
        ? rawEvent("ip_allowlist.deleted", { id: `ipal_${i}`, name: `List ${i}` }, { id, at: 1_795_186_800 + i })
        : rawEvent("login.succeeded", undefined, { id, at: 1_795_186_800 + i });
    });
    const refused = Array.from({ length: REFUSED }, (_, i) => ({ id: `audit_log-bad${i}`, type: "login.succeeded" }));
    const store = await openSqliteStore({ path: join(dir.path, "vigil.db") });
    try {
      const source = (await store.listSources())[0]!;
      const all = [...accepted, ...refused];
      for (let i = 0; i < all.length; i += 200) {
        await store.applyPage({
          sourceId: source.id,
          events: [],
          unknownTypes: [],
          quarantined: all.slice(i, i + 200).map((r) => ({
            eventId: r.id as string,
            reason: "refused by an older schema",
            issues: [],
            raw: JSON.stringify(r),
          })),
        });
      }
    } finally {
      await store.close();
    }

    const random = prng(77);
    /** Events stored so far, read as another process would (the replay holds the database only per page). */
    const storedCount = () => {
      const db = new Database(join(dir.path, "vigil.db"), { readonly: true, fileMustExist: true });
      try {
        return Number(db.prepare("SELECT count(*) FROM events").pluck().get());
      } finally {
        db.close();
      }
    };
    let kills = 0;
    let killedMidway = 0;
    let completed = false;
    for (let attempt = 0; !completed && attempt < KILLS * 4; attempt++) {
      const child: ChildProcess = spawn(process.execPath, [BIN, "sources", "replay-quarantine", "acme"], {
        env,
        stdio: "ignore",
      });
      const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once("exit", (c, s) => resolve({ code: c, signal: s })),
      );
      let exited = false;
      void exit.then(() => {
        exited = true;
      });
      // The first runs are killed once this run has moved some records (whatever this machine's speed), after a
      // random moment more; the last one is left to finish.
      if (kills < KILLS) {
        const before = storedCount();
        while (!exited && storedCount() === before) await sleep(20);
        await sleep(Math.floor(random() * 400));
        child.kill("SIGKILL");
      }
      const { code, signal } = await exit;
      if (signal === "SIGKILL") {
        kills++;
        // Where it was killed: some of the records moved and not the rest is the case this test is for.
        const moved = storedCount();
        if (moved > 0 && moved < ACCEPTED) killedMidway++;
      } else {
        assert.equal(code, 0);
        completed = true;
      }
    }
    assert.ok(completed, "the replay completed");
    assert.ok(killedMidway >= 3, `runs were killed with part of the records moved: ${killedMidway} of ${kills} kills`);

    const after = await openSqliteStore({ path: join(dir.path, "vigil.db") });
    try {
      const source = (await after.listSources())[0]!;
      const stored = await after.listEventIds(source.id);
      assert.equal(new Set(stored).size, stored.length, "no event stored twice");
      assert.deepEqual(
        [...stored].sort(),
        accepted.map((r) => r.id as string),
      );
      const left = await after.listQuarantine({ sourceId: source.id, limit: 1000 });
      assert.deepEqual(left.map((q) => q.eventId).sort(), refused.map((r) => r.id).sort());
      // The deletions share an actor, so they group into the rule's alert: each counted once in it.
      const critical = (await after.listAlerts({ limit: 1000 })).filter((a) => a.severity === "CRITICAL");
      assert.equal(
        critical.reduce((n, a) => n + a.matchCount, 0),
        ACCEPTED / 500,
        "each allowlist deletion matched once",
      );
    } finally {
      await after.close();
    }
  });
});
