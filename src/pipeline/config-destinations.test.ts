import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseConfigFile } from "../config/vigil-config.ts";
import { openSecretBox } from "../secrets/secret-box.ts";
import { openSqliteStore } from "../storage/sqlite/sqlite-store.ts";
import { applyConfigDestinations } from "./config-destinations.ts";

describe("destinations from the config file", () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-config-dest-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("creates, then updates in place by name, with the config encrypted", async () => {
    const store = await openSqliteStore({ memory: true });
    const secrets = openSecretBox({ dataDir: dir });
    try {
      const yml = (severity: string) =>
        `destinations:\n  - name: sec\n    type: slack\n    min_severity: ${severity}\n    webhook_url: \${SLACK_URL}\n`;
      const lookup = (n: string) => (n === "SLACK_URL" ? "https://hooks.slack.com/services/T/B/x" : undefined);
      const first = await applyConfigDestinations({ store, secrets }, parseConfigFile(yml("HIGH"), "v.yml", lookup));
      assert.deepEqual(first.created, ["sec"]);
      const created = await store.getDestination("sec");
      assert.equal(created?.minSeverity, "HIGH");
      const stored = await store.getDestinationConfig(created?.id ?? "");
      assert.ok(stored && !stored.ciphertext.includes("hooks.slack.com"));
      assert.deepEqual(JSON.parse(secrets.decrypt(stored)), {
        webhook_url: "https://hooks.slack.com/services/T/B/x",
      });
      const second = await applyConfigDestinations({ store, secrets }, parseConfigFile(yml("LOW"), "v.yml", lookup));
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
      await assert.rejects(applyConfigDestinations({ store, secrets }, file), /destinations\[1\] \(hook\): secret/);
      const bad = parseConfigFile("destinations:\n  - {name: x, type: carrier-pigeon}\n", "v.yml", () => undefined);
      await assert.rejects(applyConfigDestinations({ store, secrets }, bad), /\(x\): unknown type "carrier-pigeon"/);
      assert.deepEqual(await store.listDestinations(), []);
    } finally {
      await store.close();
    }
  });
});
