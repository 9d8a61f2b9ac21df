// GET /api/organization, /api/organization/history and /api/coverage on a runtime that snapshotted and polled the
// simulator.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sourceSettings } from "../../../test/helpers.ts";
import { readEnv } from "../../config/env.ts";
import { createLogger } from "../../logging/logger.ts";
import { runPosture } from "../../pipeline/posture.ts";
import { openRuntime, pollAllOnce, type Runtime, sealSourceKey } from "../../pipeline/runtime.ts";
import { type RunningSimulator, startSimulator } from "../../simulator/index.ts";
import { Rng } from "../../simulator/prng.ts";
import { makeRecord } from "../../simulator/records.ts";
import { ManualClock } from "../../simulator/test-support.ts";
import { createApp } from "../app.ts";
import { createApiToken } from "../auth.ts";

const START = 1_780_000_000;
let scratch: string;
let sim: RunningSimulator;
let runtime: Runtime;
let token: string;
let app: ReturnType<typeof createApp>;
let clock: ManualClock;
let source: Awaited<ReturnType<Runtime["store"]["createSource"]>>;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), "vigil-org-api-"));
  clock = new ManualClock(START);
  sim = await startSimulator({
    seed: 5,
    clock,
    history: { days: 1, eventsPerDay: 300 },
    postureScenarios: [{ name: "admin-key-without-expiry", atSecs: START - 1800 }],
  });
  runtime = await openRuntime(
    readEnv({ VIGIL_DATA_DIR: scratch, VIGIL_ALLOW_PLAIN_HTTP: "1" }),
    createLogger({ level: "silent" }),
    { clock },
  );
  const settings = sourceSettings({ name: "sim", baseUrl: sim.baseUrl, backfillDays: 1 });
  source = await runtime.store.createSource(settings, sealSourceKey(runtime, settings, sim.adminKey));
  await pollAllOnce(runtime);
  await runPosture(runtime, source);
  app = createApp(runtime, { consoleDir: null });
  token = (await createApiToken(runtime.store, "t", Date.now() + 86_400_000)).token;
});

after(async () => {
  await runtime?.close();
  await sim?.close();
  rmSync(scratch, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Json = any;

async function get(path: string) {
  const res = await app.request(`http://localhost${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, json: (await res.json()) as Json };
}

describe("organization and coverage API", () => {
  it("GET /api/organization returns the newest snapshot's objects and findings", async () => {
    const { status, json } = await get("/api/organization");
    assert.equal(status, 200);
    assert.equal(json.source.name, "sim");
    const users = json.objects.filter((o: { kind: string }) => o.kind === "user");
    assert.equal(users.length, sim.org.inventory(START).users.size);
    assert.ok(users.every((u: { data: { email: string } }) => typeof u.data.email === "string"));
    assert.ok(
      json.snapshot.findings.some((f: { ruleId: string }) => f.ruleId === "OpenAI.Posture.AdminKeyWithoutExpiry"),
    );
    assert.equal((await get("/api/organization?source=nope")).status, 404);
  });

  it("GET /api/organization/history shows a user across snapshots beside the audit events naming them", async () => {
    const member = sim.org.directory.members[0];
    const owner = sim.org.directory.owners[0];
    assert.ok(member && owner);
    const promoted = makeRecord(new Rng(9, "history"), {
      type: "user.updated",
      at: clock.secs + 60,
      actor: { type: "session", session: { user: { id: owner.id, email: owner.email } } },
      payload: { id: member.id, changes_requested: { role: "owner" } },
    });
    sim.org.addEvents([promoted]);
    clock.advanceSecs(3600);
    await pollAllOnce(runtime);
    await runPosture(runtime, source);

    const { status, json } = await get(`/api/organization/history?kind=user&id=${member.id}`);
    assert.equal(status, 200);
    assert.equal(json.current.role, "owner");
    assert.equal(json.firstSeenMs, START * 1000);
    assert.deepEqual(
      json.changes.map((c: Json) => [c.change, c.fields, c.before.role, c.after.role, c.auditEventIds]),
      [["changed", ["role"], "reader", "owner", [promoted.id]]],
    );
    assert.ok(json.events.some((e: Json) => e.id === promoted.id && e.raw.type === "user.updated"));
    assert.ok(json.events.every((e: Json) => JSON.stringify(e.raw).includes(member.id)));

    // A project setting's history: its events are those naming the project.
    const project = sim.org.directory.projects[0];
    const setting = await get(`/api/organization/history?kind=project_data_retention&id=${project?.id}`);
    assert.equal(setting.status, 200);
    assert.equal(setting.json.current.type, "zero_data_retention");
    assert.ok(setting.json.events.every((e: Json) => JSON.stringify(e.raw).includes(String(project?.id))));

    assert.equal((await get("/api/organization/history?kind=nope&id=x")).status, 400);
    assert.equal((await get("/api/organization/history?kind=user")).status, 400);
    assert.equal((await get("/api/organization/history?kind=project_user&id=proj_1/")).status, 400, "an empty part");
    const anonymous = await app.request("http://localhost/api/organization/history?kind=user&id=x");
    assert.equal(anonymous.status, 401);
  });

  it("GET /api/coverage counts this organization's events per known type", async () => {
    const { status, json } = await get("/api/coverage");
    assert.equal(status, 200);
    assert.equal(json.known, 147);
    const stored = await runtime.store.eventTypeCounts();
    assert.ok(stored.length > 0);
    const sample = stored.find((s) => json.types.some((t: { type: string }) => t.type === s.type));
    assert.ok(sample);
    const row = json.types.find((t: { type: string }) => t.type === sample.type);
    assert.equal(row.seenCount, sample.count);
    assert.equal(json.seen, stored.filter((s) => json.types.some((t: { type: string }) => t.type === s.type)).length);
  });
});
