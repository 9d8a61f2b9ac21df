// `vigil suppressions add|list|remove`, run as a user would (a real `vigil` process on a data dir).

import assert from "node:assert/strict";
import { userInfo } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import { addSource, createAlerts } from "./delivery-helpers.ts";
import { runVigil, tempDir } from "./helpers.ts";

const vigil = (args: string[], dataDir: string) => runVigil(args, { VIGIL_DATA_DIR: dataDir });

describe("vigil suppressions", { timeout: 120_000 }, () => {
  const dir = tempDir("vigil-suppressions-cli-");
  let alertId = "";
  let inputAlertId = "";

  before(async () => {
    const store = await openSqliteStore({ path: join(dir.path, "vigil.db") });
    try {
      const source = await addSource(store);
      [alertId = ""] = await createAlerts(store, source, 1, { ruleId: "OpenAI.Login.PasswordSpray" });
      // An alert of a correlation's input (its rule failing, say): muting the rule would blind the correlation.
      [inputAlertId = ""] = await createAlerts(store, source, 1, { ruleId: "OpenAI.Login.Failed" });
    } finally {
      await store.close();
    }
  });
  after(() => dir.remove());

  it("adds one from an alert's rule, lists it with who, expiry and count, and removes it", async () => {
    const who = `cli:${userInfo().username}`;
    const add = await vigil(
      [
        "suppressions",
        "add",
        "--from-alert",
        alertId,
        "--ip",
        "203.0.113.7",
        "--for",
        "7d",
        "--reason",
        "office NAT",
        "--json",
      ],
      dir.path,
    );
    assert.equal(add.code, 0, add.stderr);
    const made = JSON.parse(add.stdout) as { id: string; ruleId: string; createdBy: string; expiresAtMs: number };
    assert.equal(made.ruleId, "OpenAI.Login.PasswordSpray");
    assert.equal(made.createdBy, who);
    const days = (made.expiresAtMs - Date.now()) / 86_400_000;
    assert.ok(days > 6.99 && days <= 7, String(days));

    const list = await vigil(["suppressions", "list"], dir.path);
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      new RegExp(`^${made.id}\\tOpenAI.Login.PasswordSpray\\tip=203.0.113.7\\t0 suppressed\\tnever\\tactive until `),
    );
    assert.match(list.stdout, /\t"office NAT"\n$/);

    const unknown = await vigil(["suppressions", "add", "--rule", "R", "--ip", "1.2.3.4", "--reason", "x"], dir.path);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /There is no rule "R"/);
    const input = await vigil(
      ["suppressions", "add", "--from-alert", inputAlertId, "--ip", "1.2.3.4", "--reason", "x"],
      dir.path,
    );
    assert.notEqual(input.code, 0);
    assert.match(input.stderr, /input of the correlation rule OpenAI\.BruteForce\.Login\.Success/);
    const noField = await vigil(
      ["suppressions", "add", "--rule", "OpenAI.Login.PasswordSpray", "--reason", "x"],
      dir.path,
    );
    assert.notEqual(noField.code, 0);
    assert.match(noField.stderr, /at least one field/);
    const badFor = await vigil(
      [
        "suppressions",
        "add",
        "--rule",
        "OpenAI.Login.PasswordSpray",
        "--ip",
        "1.2.3.4",
        "--for",
        "soon",
        "--reason",
        "x",
      ],
      dir.path,
    );
    assert.notEqual(badFor.code, 0);
    assert.match(badFor.stderr, /not a duration/);

    const remove = await vigil(["suppressions", "remove", made.id], dir.path);
    assert.equal(remove.code, 0, remove.stderr);
    assert.equal((await vigil(["suppressions", "list"], dir.path)).stdout, "");
    const all = await vigil(["suppressions", "list", "--all"], dir.path);
    assert.match(all.stdout, new RegExp(`\\tremoved \\S+ by ${who}\\t`));
  });
});
