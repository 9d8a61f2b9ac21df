// Vigil on PostgreSQL, run as a user would: `VIGIL_DATABASE_URL` names the database, and real `vigil`
// processes add a source, poll the simulator, search and list alerts with nothing stored in SQLite.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isTenantScoped } from "../src/core/event-types.ts";
import { type RunningSimulator, startSimulator } from "../src/simulator/index.ts";
import { runVigil, tempDir } from "./helpers.ts";
import { type PgCluster, startPgCluster } from "./pg-cluster.ts";

const vigil = runVigil;

const lines = (text: string) =>
  text
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));

describe("vigil on PostgreSQL (VIGIL_DATABASE_URL)", { timeout: 300_000 }, () => {
  let cluster: PgCluster;
  let sim: RunningSimulator;
  const dir = tempDir("vigil-pg-runtime-");
  const nowSecs = Math.floor(Date.now() / 1000);
  const env = () => ({
    VIGIL_DATA_DIR: dir.path,
    VIGIL_DATABASE_URL: cluster.connectionString,
    VIGIL_DATABASE_SCHEMA: "vigil_e2e",
  });

  before(async () => {
    cluster = await startPgCluster();
    sim = await startSimulator({
      seed: 77,
      history: { days: 2, eventsPerDay: 500, endSecs: nowSecs },
      scenarios: [{ name: "scim-disabled" }],
    });
  });
  after(async () => {
    await sim?.close();
    await cluster?.stop();
    dir.remove();
  });

  it("adds a source, polls, stores every event once, searches and raises the scenario's alert", async () => {
    const add = await vigil(
      ["sources", "add", "openai", "--name", "sim", "--base-url", sim.baseUrl, "--backfill-days", "3"],
      env(),
      `${sim.adminKey}\n`,
    );
    assert.equal(add.code, 0, add.stderr);
    for (let round = 0; round < 2; round++) {
      const poll = await vigil(["poll", "--once"], env());
      assert.equal(poll.code, 0, poll.stderr);
    }
    assert.equal(existsSync(join(dir.path, "vigil.db")), false, "nothing went to SQLite");

    const stored = lines((await vigil(["search", "--json", "--limit", "10000"], env())).stdout);
    const expected = sim.org
      .visibleEvents(nowSecs)
      .filter((e) => !isTenantScoped(e.type))
      .map((e) => e.id);
    const ids = stored.map((e) => String(e.id));
    assert.equal(new Set(ids).size, ids.length, "no event stored twice after two polls");
    assert.deepEqual([...ids].sort(), [...expected].sort());

    const one = ids[Math.floor(ids.length / 2)]!;
    const byText = lines((await vigil(["search", "--text", one, "--json"], env())).stdout);
    assert.deepEqual(
      byText.map((e) => e.id),
      [one],
    );

    const alerts = lines((await vigil(["alerts", "list", "--limit", "1000", "--json"], env())).stdout);
    assert.ok(
      alerts.some((a) => /scim/i.test(String(a.ruleId))),
      `a SCIM alert among ${alerts.map((a) => a.ruleId).join(", ")}`,
    );
  });

  it("refuses a database URL that is not PostgreSQL's, saying what to use", async () => {
    const r = await vigil(["sources", "list"], { ...env(), VIGIL_DATABASE_URL: "mysql://x@y/z" });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /VIGIL_DATABASE_URL/);
    assert.match(r.stderr, /postgresql:\/\//);
  });
});
