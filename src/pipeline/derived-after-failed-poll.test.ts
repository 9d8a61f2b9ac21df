// Correlation rules run on what a poll stored even when the poll as a whole failed: a stream that keeps failing
// (tenant events the key may not read) must not hold back the alerts of the events the other stream stored.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { sourceSettings } from "../../test/helpers.ts";
import { readEnv } from "../config/env.ts";
import { VigilError } from "../core/errors.ts";
import { createLogger } from "../logging/logger.ts";
import { startSimulator } from "../simulator/index.ts";
import { ManualClock } from "../simulator/test-support.ts";
import { SourcePoller } from "./poller.ts";
import { openRuntime, pollAllOnce, sealSourceKey } from "./runtime.ts";

const START = 1_790_000_000;
const RULE = "OpenAI.BruteForce.Login.Success";

it("a poll that fails after storing its events (the tenant stream refused) still correlates them", async () => {
  const scratch = mkdtempSync(join(tmpdir(), "vigil-derived-"));
  const clock = new ManualClock(START);
  // Five failed logins and a success, a minute apart, starting a minute after the source's first poll.
  const sim = await startSimulator({
    seed: 3,
    clock,
    history: { days: 0.05, eventsPerDay: 200 },
    scenarios: [{ name: "brute-force-then-success", atSecs: START + 60 }],
  });
  const runtime = await openRuntime(
    readEnv({ VIGIL_DATA_DIR: scratch, VIGIL_ALLOW_PLAIN_HTTP: "1" }),
    createLogger({ level: "silent" }),
    { clock },
  );
  const pollOnce = SourcePoller.prototype.pollOnce;
  try {
    const settings = sourceSettings({ name: "sim", baseUrl: sim.baseUrl, backfillDays: 1 });
    const source = await runtime.store.createSource(settings, sealSourceKey(runtime, settings, sim.adminKey));
    const [first] = await pollAllOnce(runtime);
    assert.equal(first?.error, undefined);
    clock.setSecs(START + 20 * 60);
    // The organization's stream is read and stored; then the tenant stream fails, as the poll does.
    SourcePoller.prototype.pollOnce = async function (this: SourcePoller, signal?: AbortSignal) {
      await pollOnce.call(this, signal);
      throw new VigilError("openai_tenant_refused", "Tenant events (tenant_only=true): the key may not read them");
    };
    const [outcome] = await pollAllOnce(runtime);
    assert.match(outcome?.error ?? "", /Tenant events/);
    const stored = await runtime.store.countEvents({ sourceId: source.id });
    assert.ok(stored > 0, "the organization's events were stored");
    // Before: correlation ran only after a complete poll, so this alert waited for the tenant stream to work.
    const alerts = await runtime.store.listAlerts({ ruleId: RULE });
    assert.equal(alerts.length, 1, JSON.stringify(alerts.map((a) => a.title)));
  } finally {
    SourcePoller.prototype.pollOnce = pollOnce;
    await runtime.close();
    await sim.close();
    rmSync(scratch, { recursive: true, force: true });
  }
});
