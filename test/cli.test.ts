// The CLI contract, run as a user would: real `vigil` processes against the simulator.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type RunningSimulator, startSimulator } from "../src/simulator/index.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import { runVigil, tempDir } from "./helpers.ts";

const vigil = runVigil;

describe("vigil CLI", { timeout: 180_000 }, () => {
  let sim: RunningSimulator;
  const dir = tempDir("vigil-cli-");
  const env = () => ({ VIGIL_DATA_DIR: dir.path });

  before(async () => {
    sim = await startSimulator({
      seed: 5,
      history: { days: 2, eventsPerDay: 400 },
      scenarios: [{ name: "scim-disabled" }],
    });
  });
  after(async () => {
    await sim.close();
    dir.remove();
  });

  it("prints help with every command", async () => {
    const r = await vigil(["--help"], env());
    assert.equal(r.code, 0);
    for (const command of ["start", "sources", "poll", "backfill", "search", "schemas", "simulate"]) {
      assert.match(r.stdout, new RegExp(`\\b${command}\\b`));
    }
  });

  it("refuses a wrong key with a message that says what to fix, without echoing the key", async () => {
    const wrong = "sk-admin-THISISAWRONGKEY1234567890";
    const r = await vigil(["sources", "add", "openai", "--name", "bad", "--base-url", sim.baseUrl], {
      ...env(),
      OPENAI_ADMIN_KEY: wrong,
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /admin key/i);
    assert.match(r.stderr, /api\.audit_logs\.read/);
    assert.doesNotMatch(r.stderr + r.stdout, /THISISAWRONGKEY/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    const list = await vigil(["sources", "list", "--json"], env());
    assert.equal(list.stdout.trim(), "", "nothing was saved");
  });

  it("adds a source with the key from stdin, verifies it and keeps it encrypted at rest", async () => {
    const r = await vigil(
      ["sources", "add", "openai", "--name", "sim", "--base-url", sim.baseUrl, "--backfill-days", "3"],
      env(),
      `${sim.adminKey}\n`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Verified/);
    for (const file of readdirSync(dir.path)) {
      const bytes = readFileSync(join(dir.path, file));
      assert.equal(bytes.includes(sim.adminKey), false, `${file} does not hold the key in clear`);
    }
    const list = await vigil(["sources", "list", "--json"], env());
    assert.equal(list.code, 0);
    const [source] = list.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(source.name, "sim");
    assert.doesNotMatch(list.stdout, new RegExp(sim.adminKey));
  });

  it("tests a source's connection", async () => {
    const ok = await vigil(["sources", "test", "sim"], env());
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /OK/);
    const missing = await vigil(["sources", "test", "nope"], env());
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no source named "nope"/);
  });

  it("polls once and searches the stored events newest first", async () => {
    const poll = await vigil(["poll", "--once"], env());
    assert.equal(poll.code, 0, poll.stderr);
    // The new source's history came through its backfill, beside the poll: the line counts both.
    const line =
      /^sim: (\d+) events read, (\d+) new, 0 quarantined; backfill: (\d+) read, (\d+) new, 1 backfill job\(s\) completed\.$/m.exec(
        poll.stdout,
      );
    assert.ok(line, poll.stdout);
    const stored = Number(line[2]) + Number(line[4]);
    assert.ok(Number(line[4]) > 0, "the backfill stored the history");
    const search = await vigil(["search", "--json", "--limit", "1000"], env());
    assert.equal(search.code, 0, search.stderr);
    const events = search.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.ok(events.length > 100);
    assert.ok(stored >= events.length, `${stored} stored, ${events.length} found`);
    for (let i = 1; i < events.length; i++)
      assert.ok(events[i - 1].effective_at >= events[i].effective_at, "newest first");
    const scim = await vigil(["search", "--type", "scim.disabled", "--json"], env());
    assert.ok(
      scim.stdout
        .trim()
        .split("\n")
        .every((l) => JSON.parse(l).type === "scim.disabled"),
    );
    assert.ok(scim.stdout.trim().length > 0, "the scenario's event is stored");
    const csv = await vigil(["search", "--type", "scim.disabled", "--format", "csv"], env());
    assert.equal(csv.code, 0, csv.stderr);
    const rows = csv.stdout.split("\r\n");
    assert.equal(rows[0], "time,type,actor,ip,project,source,id");
    assert.match(rows[1] ?? "", /^\d{4}-\d\d-\d\dT[\d:.]+Z,scim\.disabled,/);
    const jsonl = await vigil(["search", "--limit", "3", "--format", "jsonl"], env());
    assert.equal(jsonl.code, 0, jsonl.stderr);
    const docs = jsonl.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(docs.length, 3);
    assert.equal(typeof docs[0].raw, "object");
    assert.notEqual((await vigil(["search", "--format", "xlsx"], env())).code, 0);
  });

  it("gives a one-sentence error for a bad flag value", async () => {
    const r = await vigil(["search", "--since", "yesterday-ish"], env());
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--since "yesterday-ish" is not a date/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it("poll --once exits non-zero when a source fails", async () => {
    const other = tempDir("vigil-cli-fail-");
    try {
      const add = await vigil(["sources", "add", "openai", "--name", "x", "--base-url", sim.baseUrl, "--no-verify"], {
        VIGIL_DATA_DIR: other.path,
        OPENAI_ADMIN_KEY: "sk-admin-not-the-right-one-000000",
      });
      assert.equal(add.code, 0, add.stderr);
      const poll = await vigil(["poll", "--once"], { VIGIL_DATA_DIR: other.path });
      assert.equal(poll.code, 1);
      assert.match(poll.stderr, /x: failed: .*admin key/i);
    } finally {
      other.remove();
    }
  });

  it("removes a source", async () => {
    const r = await vigil(["sources", "remove", "sim"], env());
    assert.equal(r.code, 0, r.stderr);
    const list = await vigil(["sources", "list", "--json"], env());
    assert.equal(list.stdout.trim(), "");
  });

  it("start on a taken port says so and creates no admin user, so no password is printed for nothing", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    const fresh = tempDir("vigil-cli-port-");
    try {
      const r = await vigil(["start"], {
        VIGIL_DATA_DIR: fresh.path,
        VIGIL_HOST: "127.0.0.1",
        VIGIL_PORT: String(port),
      });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`Another program already listens on 127\\.0\\.0\\.1:${port}.*VIGIL_PORT`));
      assert.doesNotMatch(r.stderr, /password/i);
      assert.doesNotMatch(r.stderr, /DEMO MODE/);
      const store = await openSqliteStore({ path: join(fresh.path, "vigil.db") });
      try {
        assert.equal(
          await store.countUsers(),
          0,
          "the admin is created by the start that runs, and its password shown then",
        );
      } finally {
        await store.close();
      }
    } finally {
      taken.close();
      fresh.remove();
    }
  });
});
