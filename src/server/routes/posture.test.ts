// GET /api/organization and GET /api/coverage on a runtime that snapshotted and polled the simulator.

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
import { ManualClock } from "../../simulator/test-support.ts";
import { createApp } from "../app.ts";
import { createApiToken } from "../auth.ts";

const START = 1_780_000_000;
let scratch: string;
let sim: RunningSimulator;
let runtime: Runtime;
let token: string;
let app: ReturnType<typeof createApp>;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), "vigil-org-api-"));
  const clock = new ManualClock(START);
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
  const source = await runtime.store.createSource(settings, sealSourceKey(runtime, settings, sim.adminKey));
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
