// POST /api/sources/:id/quarantine/replay through app.request() on a real SQLite store: admins replay (or dry-run)
// a source's quarantine with the current schema; analysts may read the quarantine but not replay it.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Hono } from "hono";
import { rawEvent } from "../../packs/openai/_controls.ts";
import { type ApiSession, loginAs } from "../../test/api-session.ts";
import { addSource } from "../../test/delivery-helpers.ts";
import { readEnv } from "../config/env.ts";
import { createLogger } from "../logging/logger.ts";
import { openRuntime, type Runtime } from "../pipeline/runtime.ts";
import { createApp } from "./app.ts";
import { createUser } from "./auth.ts";
import type { AppEnv } from "./context.ts";

const PASSWORD = "correct horse battery staple";
const scratch = mkdtempSync(join(tmpdir(), "vigil-replay-test-"));
let runtime: Runtime;
let app: Hono<AppEnv>;
let admin: ApiSession;
let analyst: ApiSession;
let sourceId = "";

before(async () => {
  runtime = await openRuntime(readEnv({ VIGIL_DATA_DIR: join(scratch, "data") }), createLogger({ level: "silent" }));
  app = createApp(runtime, { consoleDir: null });
  await createUser(runtime.store, "ada", PASSWORD, "admin");
  await createUser(runtime.store, "ana", PASSWORD, "analyst");
  sourceId = (await addSource(runtime.store)).id;
  const accepted = rawEvent("ip_allowlist.deleted", { id: "ipal_1", name: "Office" }, { id: "audit_log-ok1" });
  await runtime.store.applyPage({
    sourceId,
    events: [],
    unknownTypes: [],
    quarantined: [
      { eventId: "audit_log-ok1", reason: "refused by an older schema", issues: [], raw: JSON.stringify(accepted) },
      { eventId: "evt_bad", reason: "bad record", issues: [], raw: '{"id":"evt_bad"}' },
    ],
  });
  admin = await loginAs(app, "ada", PASSWORD);
  analyst = await loginAs(app, "ana", PASSWORD);
});

after(async () => {
  await runtime.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("quarantine replay API", () => {
  const replay = (as: ApiSession, body?: unknown) =>
    as.call("POST", `/api/sources/${sourceId}/quarantine/replay`, body);

  it("is for admins, refuses an unknown field, dry-runs, then stores what the schema accepts now", async () => {
    assert.equal((await replay(analyst, {})).status, 403);
    assert.equal((await analyst.call("GET", `/api/sources/${sourceId}/quarantine`)).status, 200);
    const misspelt = await replay(admin, { dryrun: true });
    assert.equal(misspelt.status, 400);
    assert.match(JSON.stringify(misspelt.json), /dryrun/);
    assert.equal((await admin.call("POST", "/api/sources/nope/quarantine/replay", {})).status, 404);

    const dry = await replay(admin, { dryRun: true });
    assert.equal(dry.status, 200);
    assert.deepEqual([dry.json.examined, dry.json.accepted, dry.json.stored, dry.json.stillRefused], [2, 1, 0, 1]);
    assert.equal((await runtime.store.listQuarantine({ sourceId })).length, 2);

    const done = await replay(admin);
    assert.equal(done.status, 200);
    assert.deepEqual([done.json.stored, done.json.stillRefused, done.json.createdAlertIds.length], [1, 1, 1]);
    assert.equal(done.json.reasons[0].records, 1);
    const left = await admin.call("GET", `/api/sources/${sourceId}/quarantine`);
    assert.deepEqual(
      left.json.records.map((r: { eventId: string }) => r.eventId),
      ["evt_bad"],
    );
    assert.deepEqual(await runtime.store.listEventIds(sourceId), ["audit_log-ok1"]);
  });
});
