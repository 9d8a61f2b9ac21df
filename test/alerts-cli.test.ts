// `vigil alerts ack|resolve|status|show|list`, run as a user would (a real `vigil` process on a data dir).

import assert from "node:assert/strict";
import { userInfo } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import { addSource, createAlerts } from "./delivery-helpers.ts";
import { runVigil, tempDir } from "./helpers.ts";

const vigil = (args: string[], dataDir: string) => runVigil(args, { VIGIL_DATA_DIR: dataDir });

describe("vigil alerts ack / resolve", { timeout: 120_000 }, () => {
  const dir = tempDir("vigil-alerts-cli-");
  let alertId = "";
  let otherIds: string[] = [];
  let otherSourceId = "";

  before(async () => {
    const store = await openSqliteStore({ path: join(dir.path, "vigil.db") });
    try {
      const source = await addSource(store);
      [alertId = ""] = await createAlerts(store, source, 1);
      const other = await addSource(store, "other org");
      otherSourceId = other.id;
      otherIds = await createAlerts(store, other, 2);
    } finally {
      await store.close();
    }
  });
  after(() => dir.remove());

  it("acknowledges, resolves, and shows the history with who and when", async () => {
    const who = `cli:${userInfo().username}`;
    const ack = await vigil(["alerts", "ack", alertId], dir.path);
    assert.equal(ack.code, 0, ack.stderr);
    assert.equal(ack.stdout, `${alertId}\tACKNOWLEDGED\n`);
    const resolve = await vigil(["alerts", "resolve", alertId], dir.path);
    assert.equal(resolve.code, 0, resolve.stderr);
    assert.equal(resolve.stdout, `${alertId}\tRESOLVED\n`);
    const reopen = await vigil(["alerts", "status", alertId, "open"], dir.path);
    assert.equal(reopen.code, 0, reopen.stderr);

    const show = await vigil(["alerts", "show", alertId], dir.path);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /status changes:\n.*\t- -> OPEN\t/);
    assert.match(show.stdout, new RegExp(`\\tOPEN -> ACKNOWLEDGED\\t${who}\\n`));
    assert.match(show.stdout, new RegExp(`\\tACKNOWLEDGED -> RESOLVED\\t${who}\\n`));

    const json = await vigil(["alerts", "show", alertId, "--json"], dir.path);
    const { statusChanges, deliveries } = JSON.parse(json.stdout);
    assert.deepEqual(
      statusChanges.map((c: { from: string | null; to: string; by: string | null }) => [c.from, c.to, c.by]),
      [
        [null, "OPEN", "system:detection"],
        ["OPEN", "ACKNOWLEDGED", who],
        ["ACKNOWLEDGED", "RESOLVED", who],
        ["RESOLVED", "OPEN", who],
      ],
    );
    assert.ok(statusChanges.every((c: { atMs: number }) => Number.isInteger(c.atMs)));
    assert.deepEqual(deliveries, []);

    const unknown = await vigil(["alerts", "ack", "no-such-alert"], dir.path);
    assert.notEqual(unknown.code, 0);
  });

  it("lists the alerts of one source, named by name or id, and refuses an unknown source", async () => {
    for (const source of ["other org", otherSourceId]) {
      const list = await vigil(["alerts", "list", "--source", source, "--json"], dir.path);
      assert.equal(list.code, 0, list.stderr);
      const ids = list.stdout
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { id: string }).id);
      assert.deepEqual(ids.sort(), [...otherIds].sort());
    }
    const all = await vigil(["alerts", "list", "--json"], dir.path);
    assert.equal(all.stdout.trim().split("\n").length, 3);
    const unknown = await vigil(["alerts", "list", "--source", "nope"], dir.path);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /There is no source named "nope"/);
  });
});
