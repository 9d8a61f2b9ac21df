// End to end: simulator → poll (and history backfill) → normalize → detect → alerts, with the built-in
// packs. Each attack scenario must raise the alerts of its detection area; a week of benign activity must
// raise no HIGH or CRITICAL alert.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentLogger } from "../src/logging/logger.ts";
import { runBackfillJob } from "../src/pipeline/backfill.ts";
import { openDetection, runCorrelations } from "../src/pipeline/detection.ts";
import { SourcePoller } from "../src/pipeline/poller.ts";
import { loadOpenAIAuditLogType } from "../src/schema/index.ts";
import { type ScenarioName, type SimulatorOptions, startSimulator } from "../src/simulator/index.ts";
import { OpenAIAuditLogClient } from "../src/sources/openai/client.ts";
import type { AlertRecord } from "../src/storage/ports.ts";
import { fakeClock, storeWithSource } from "./helpers.ts";

const NOW_MS = Date.UTC(2026, 10, 20, 15, 0, 0);
const NOW = NOW_MS / 1000;
const normalizer = loadOpenAIAuditLogType();

/** Runs the whole pipeline over a simulated organization and returns the alerts it raised. */
export async function alertsFor(simOptions: SimulatorOptions, backfillDays: number): Promise<AlertRecord[]> {
  const clock = fakeClock(NOW_MS);
  const sim = await startSimulator({ clock, tenantShare: 0.05, ...simOptions });
  const { store, source } = await storeWithSource({ backfillDays, includeTenantEvents: true });
  const detection = await openDetection({ store, rulesDirs: [], nowSecs: () => Math.floor(clock.nowMs() / 1000) });
  try {
    const reader = new OpenAIAuditLogClient({ baseUrl: sim.baseUrl, apiKey: sim.adminKey });
    const poller = new SourcePoller({
      store,
      reader,
      source,
      clock,
      logger: silentLogger,
      normalizer,
      detector: detection.detector,
    });
    await poller.pollOnce();
    for (const job of await store.listBackfillJobs({ sourceId: source.id, pendingOnly: true })) {
      // One slice at a time, oldest history last: the same order a real first start uses per slice.
      await runBackfillJob(
        { store, reader, source, clock, normalizer, detector: detection.detector, concurrency: 1 },
        job,
      );
    }
    await runCorrelations(store, source, Math.floor(clock.nowMs() / 1000));
    return await store.listAlerts({ limit: 10_000 });
  } finally {
    await detection.close();
    await sim.close();
    await store.close();
  }
}

describe("detections end to end", { timeout: 600_000 }, () => {
  it("a simulated week of benign activity raises no HIGH or CRITICAL alert", async () => {
    const alerts = await alertsFor({ seed: 2026, history: { days: 7, eventsPerDay: 1500, endSecs: NOW } }, 8);
    const loud = alerts.filter((a) => a.severity === "HIGH" || a.severity === "CRITICAL");
    assert.deepEqual(
      loud.map((a) => `${a.severity} ${a.ruleId}: ${a.title}`),
      [],
      "no HIGH or CRITICAL alert on benign activity",
    );
  });
});

export type { ScenarioName };
