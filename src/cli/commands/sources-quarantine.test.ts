// `vigil sources quarantine` and `vigil sources replay-quarantine`: list what was refused, then read it again
// with the current schema once the reason is fixed.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { rawEvent } from "../../../packs/openai/_controls.ts";
import { openSqliteStore } from "../../storage/sqlite/sqlite-store.ts";

const BIN = fileURLToPath(new URL("../../../bin/vigil.mjs", import.meta.url));

describe("vigil sources quarantine / replay-quarantine", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-sources-quarantine-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const vigil = (args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], {
      env: { ...process.env, VIGIL_DATA_DIR: dir, OPENAI_ADMIN_KEY: "sk-admin-test", VIGIL_LOG_LEVEL: "silent" },
      encoding: "utf8",
    });

  it("lists the refused records safely for a terminal, and stores those the schema accepts now", async () => {
    assert.equal(vigil(["sources", "add", "openai", "--name", "acme", "--no-verify"]).status, 0);
    // Quarantined by an older schema: one record the current schema accepts, and one it still refuses.
    const store = await openSqliteStore({ path: join(dir, "vigil.db") });
    try {
      const source = (await store.listSources())[0]!;
      const accepted = rawEvent("ip_allowlist.deleted", { id: "ipal_1", name: "Office" }, { id: "audit_log-ok1" });
      const refused = { ...accepted, id: "audit_log-\u001b[2Jbad", effective_at: "soon" };
      await store.applyPage({
        sourceId: source.id,
        events: [],
        unknownTypes: [],
        quarantined: [accepted, refused].map((r) => ({
          eventId: r.id as string,
          reason: `ip_allowlist: refused by an older schema (${r.id as string})`,
          issues: [{ code: "wrong_type", path: "ip_allowlist", message: "refused by an older schema" }],
          raw: JSON.stringify(r),
        })),
      });
    } finally {
      await store.close();
    }

    const listed = vigil(["sources", "quarantine", "acme"]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.equal(listed.stdout.trim().split("\n").length, 2);
    assert.ok(!listed.stdout.includes("\u001b"), "an escape sequence reached the terminal");
    assert.match(listed.stdout, /audit_log-⟨U\+001B⟩\[2Jbad/);

    const dry = vigil(["sources", "replay-quarantine", "acme", "--dry-run"]);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /2 quarantined record\(s\) read; 1 accepted by the current schema; 1 still refused \(dry run: nothing changed\)\./,
    );

    const replay = vigil(["sources", "replay-quarantine", "acme"]);
    assert.equal(replay.status, 0, replay.stderr);
    assert.match(
      replay.stdout,
      /2 quarantined record\(s\) read; 1 accepted by the current schema; 1 stored as new events; 1 alert\(s\) raised; 1 still refused\./,
    );
    assert.match(replay.stdout, /1 × effective_at: The record has no usable effective_at/);

    const left = vigil(["sources", "quarantine", "acme", "--json"]);
    assert.deepEqual(
      left.stdout
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { eventId: string }).eventId),
      ["audit_log-\u001b[2Jbad"],
    );
    const alerts = vigil(["alerts", "list", "--json"]);
    assert.equal(alerts.stdout.trim().split("\n").length, 1, alerts.stdout);
  });
});
