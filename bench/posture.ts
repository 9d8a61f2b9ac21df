// Inventory snapshot of a simulated organization of 500 users, 200 projects and 2,000 project keys: Admin API
// requests, wall time and storage, for the first snapshot and for a second one where nothing changed (objects are
// content-addressed, so only the manifest is new). Optional latency per request models the real API. `endpoints`
// "identity" reads only the keys, users, invites, projects, memberships and rate limits (the snapshot before the
// controls endpoints), as a same-run baseline for what the controls cost.

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { createDetectionEngine } from "../src/detections/engine/engine.ts";
import { loadRules } from "../src/detections/engine/load.ts";
import { AdminListClient } from "../src/posture/admin-client.ts";
import { POSTURE_ENDPOINTS } from "../src/posture/endpoints.ts";
import { runPostureCycle } from "../src/posture/run.ts";
import { DEFAULT_POSTURE_SETTINGS } from "../src/posture/settings.ts";
import { startSimulator } from "../src/simulator/index.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";

export interface PostureFigures {
  objects: number;
  users: number;
  projects: number;
  keys: number;
  /** Control objects: data retention, spend alerts, model and hosted-tool permissions. */
  controls: number;
  firstRequests: number;
  firstSecs: number;
  firstBytes: number;
  secondRequests: number;
  secondSecs: number;
  secondBytes: number;
  findings: number;
}

const CONTROL_KINDS = new Set([
  "data_retention",
  "spend_alert",
  "project_data_retention",
  "project_spend_alert",
  "project_model_permissions",
  "project_hosted_tool_permissions",
]);

export async function benchPosture(
  scale = { users: 500, projects: 200, keys: 2000 },
  requestDelayMs = 0,
  endpoints: "all" | "identity" = "all",
): Promise<PostureFigures> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-posture-"));
  const nowSecs = 1_790_000_000;
  const clock = { nowMs: () => nowSecs * 1000 };
  const sim = await startSimulator({ seed: 42, clock, inventory: scale, pageDelayMs: requestDelayMs });
  const path = join(dir, "vigil.db");
  const store = await openSqliteStore({ path });
  try {
    const source = await store.createSource(
      {
        name: "bench",
        kind: "openai",
        baseUrl: sim.baseUrl,
        pollIntervalSecs: 60,
        overlapSecs: 600,
        sweepWindowSecs: 86_400,
        sweepIntervalSecs: 3600,
        includeTenantEvents: false,
        backfillDays: 0,
        enabled: true,
      },
      { ciphertext: "bench" },
    );
    const pack = fileURLToPath(new URL("../packs/openai-posture/", import.meta.url));
    const engine = createDetectionEngine({ rules: await loadRules({ packs: [pack] }) });
    const cycle = () =>
      runPostureCycle({
        store,
        client: new AdminListClient({ baseUrl: sim.baseUrl, apiKey: sim.adminKey }),
        source,
        engine,
        settings: DEFAULT_POSTURE_SETTINGS,
        nowMs: clock.nowMs,
        ...(endpoints === "identity" ? { endpoints: POSTURE_ENDPOINTS.filter((e) => !CONTROL_KINDS.has(e.kind)) } : {}),
      });
    const bytes = () => postureBytes(path);
    const before = bytes();
    let t = performance.now();
    const first = await cycle();
    const firstSecs = (performance.now() - t) / 1000;
    const afterFirst = bytes();
    t = performance.now();
    const second = await cycle();
    const secondSecs = (performance.now() - t) / 1000;
    const afterSecond = bytes();
    const snapshot = await store.getPostureSnapshot(source.id);
    const count = (kind: string) => snapshot?.manifest.filter((m) => m.kind === kind).length ?? 0;
    return {
      objects: first.objects,
      users: count("user"),
      projects: count("project"),
      keys: count("project_api_key"),
      controls: snapshot?.manifest.filter((m) => CONTROL_KINDS.has(m.kind)).length ?? 0,
      firstRequests: first.requests,
      firstSecs,
      firstBytes: afterFirst - before,
      secondRequests: second.requests,
      secondSecs,
      secondBytes: afterSecond - afterFirst,
      findings: second.findings.length,
    };
  } finally {
    await store.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Bytes stored in the posture tables (SQLite's dbstat payload: the rows' bytes, indexes included, without page
 * slack; a small row usually fits a page already allocated, so the file size may not move at all).
 */
function postureBytes(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    const row = db
      .prepare(
        "SELECT coalesce(sum(payload), 0) AS bytes FROM dbstat WHERE name LIKE 'posture_%' OR name LIKE 'sqlite_autoindex_posture_%'",
      )
      .get() as { bytes: number };
    return row.bytes;
  } catch {
    // A build without dbstat: the file size is an upper bound.
    return statSync(path).size;
  } finally {
    db.close();
  }
}
