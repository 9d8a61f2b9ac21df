import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseConfigFile } from "../config/vigil-config.ts";
import { OPEN_POLICY } from "../core/outbound.ts";
import { openSecretBox } from "../secrets/secret-box.ts";
import { openSqliteStore } from "../storage/sqlite/sqlite-store.ts";
import { applyConfigDestinations } from "./config-destinations.ts";
import { assertNotConfigManaged } from "./destinations.ts";

describe("destinations from the config file", () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-config-dest-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { outbound: OPEN_POLICY, exportDir: join(dir, "exports") };

  it("creates, then updates in place by name, with the config encrypted", async () => {
    const store = await openSqliteStore({ memory: true });
    const secrets = openSecretBox({ dataDir: dir });
    try {
      const yml = (severity: string) =>
        `destinations:\n  - name: sec\n    type: slack\n    min_severity: ${severity}\n    webhook_url: \${SLACK_URL}\n`;
      const lookup = (n: string) => (n === "SLACK_URL" ? "https://hooks.slack.com/services/T/B/x" : undefined);
      const first = await applyConfigDestinations(
        { store, secrets, env },
        parseConfigFile(yml("HIGH"), "v.yml", lookup),
      );
      assert.deepEqual(first.created, ["sec"]);
      const created = await store.getDestination("sec");
      assert.equal(created?.minSeverity, "HIGH");
      const stored = await store.getDestinationConfig(created?.id ?? "");
      assert.ok(stored && !stored.ciphertext.includes("hooks.slack.com"));
      assert.deepEqual(JSON.parse(secrets.decrypt(stored)), {
        webhook_url: "https://hooks.slack.com/services/T/B/x",
      });
      const second = await applyConfigDestinations(
        { store, secrets, env },
        parseConfigFile(yml("LOW"), "v.yml", lookup),
      );
      assert.deepEqual(second.updated, ["sec"]);
      const updated = await store.getDestination("sec");
      assert.equal(updated?.id, created?.id);
      assert.equal(updated?.minSeverity, "LOW");
    } finally {
      await store.close();
    }
  });

  it("rejects an invalid entry by name and writes nothing", async () => {
    const store = await openSqliteStore({ memory: true });
    const secrets = openSecretBox({ dataDir: dir });
    try {
      const file = parseConfigFile(
        "destinations:\n  - {name: ok, type: file, path: stdout}\n  - {name: hook, type: webhook, url: https://x.example.com}\n",
        "v.yml",
        () => undefined,
      );
      await assert.rejects(
        applyConfigDestinations({ store, secrets, env }, file),
        /destinations\[1\] \(hook\): secret/,
      );
      const bad = parseConfigFile("destinations:\n  - {name: x, type: carrier-pigeon}\n", "v.yml", () => undefined);
      await assert.rejects(
        applyConfigDestinations({ store, secrets, env }, bad),
        /\(x\): unknown type "carrier-pigeon"/,
      );
      assert.deepEqual(await store.listDestinations(), []);
    } finally {
      await store.close();
    }
  });

  it("owns what it wrote: removes it when no longer named, adopts a same-named one, leaves others alone", async () => {
    const store = await openSqliteStore({ memory: true });
    const secrets = openSecretBox({ dataDir: dir });
    try {
      const file = (...names: string[]) =>
        parseConfigFile(
          `destinations:\n${names.map((n) => `  - {name: ${n}, type: file, path: stdout}\n`).join("")}`,
          "v.yml",
          () => undefined,
        );
      const byHand = await store.createDestination({
        name: "by-hand",
        type: "file",
        minSeverity: "INFO",
        logTypes: [],
        config: secrets.encrypt(JSON.stringify({ path: "stdout" })),
      });
      assert.equal(byHand.managedBy, null);
      await store.createDestination({ ...byHand, name: "adopted", config: secrets.encrypt("{}") });

      const first = await applyConfigDestinations({ store, secrets, env }, file("a", "b", "adopted"));
      assert.deepEqual(first.created, ["a", "b"]);
      assert.deepEqual(first.updated, ["adopted"]);
      assert.deepEqual(first.removed, []);
      const owners = async () => (await store.listDestinations()).map((d) => `${d.name}:${d.managedBy}`);
      assert.deepEqual(await owners(), ["a:config", "adopted:config", "b:config", "by-hand:null"]);

      const second = await applyConfigDestinations({ store, secrets, env }, file("a"));
      assert.deepEqual(second.removed, ["adopted", "b"]);
      assert.deepEqual(await owners(), ["a:config", "by-hand:null"]);

      // No config file at all: nothing is removed.
      const none = await applyConfigDestinations({ store, secrets, env }, null);
      assert.deepEqual(none.removed, []);
      assert.deepEqual(await owners(), ["a:config", "by-hand:null"]);
    } finally {
      await store.close();
    }
  });

  it("refuses changes outside the file to a destination the file owns", async () => {
    const store = await openSqliteStore({ memory: true });
    const secrets = openSecretBox({ dataDir: dir });
    try {
      const file = parseConfigFile(
        "destinations:\n  - {name: ops, type: file, path: stdout}\n",
        "v.yml",
        () => undefined,
      );
      await applyConfigDestinations({ store, secrets, env }, file);
      const ops = await store.getDestination("ops");
      assert.ok(ops);
      assert.throws(() => assertNotConfigManaged(ops, "remove"), /comes from the config file; remove it there/);
      assert.doesNotThrow(() => assertNotConfigManaged({ ...ops, managedBy: null }, "change"));
    } finally {
      await store.close();
    }
  });
});
