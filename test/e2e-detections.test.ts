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
import { SCENARIO_LIST, type ScenarioName, type SimulatorOptions, startSimulator } from "../src/simulator/index.ts";
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
    await runCorrelations(store, source, Math.floor(clock.nowMs() / 1000), detection);
    return await store.listAlerts({ limit: 10_000 });
  } finally {
    await detection.close();
    await sim.close();
    await store.close();
  }
}

/** The alerts each attack scenario must raise (any one of the listed rules per entry). */
const EXPECTED: Record<ScenarioName, string[]> = {
  "credential-stuffing": ["OpenAI.Login.CredentialStuffing"],
  "brute-force-then-success": ["OpenAI.BruteForce.Login.Success"],
  "password-spray": ["OpenAI.Login.PasswordSpray"],
  "login-new-country": ["OpenAI.Login.NewCountryOrASN"],
  "impossible-travel": ["OpenAI.Login.NewCountryOrASN"],
  "api-key-all-scopes": ["OpenAI.APIKey.ElevatedScopes"],
  "key-minted-by-key": ["OpenAI.APIKey.MintedByKey"],
  "key-creation-burst": ["OpenAI.Credentials.CreationBurst"],
  "service-account-owner": ["OpenAI.ServiceAccount.OwnerRole"],
  "admin-api-key-created": ["OpenAI.AdminAPIKey.Changed"],
  "owner-role-granted": ["OpenAI.Users.OwnerGranted", "OpenAI.Admin.Role.Assignment"],
  "invite-outside-domain": ["OpenAI.Users.InviteOutsideDomain"],
  "custom-role-escalated": ["OpenAI.Roles.CustomRolePermissionsAdded"],
  "ip-allowlist-deleted": ["OpenAI.Controls.IPAllowlistWeakened"],
  "ip-allowlist-opened": ["OpenAI.Controls.IPAllowlistWeakened"],
  "scim-disabled": ["OpenAI.Controls.SCIMConfigurationChange"],
  "sso-connection-deleted": ["OpenAI.Controls.SSOPolicyChange"],
  "api-call-logging-disabled": ["OpenAI.Org.SettingWeakened"],
  "org-visibility-widened": ["OpenAI.Org.SettingWeakened"],
  "mtls-certificates-removed": ["OpenAI.Controls.MTLSCertificatesRemoved"],
  "external-key-removed": ["OpenAI.Controls.ExternalKeyChange"],
  "workload-identity-added": ["OpenAI.Controls.WorkloadIdentityChange"],
  "rate-limit-removed": ["OpenAI.Controls.SpendGuardRemoved"],
  "project-deleted": ["OpenAI.Data.ProjectDeleted"],
  "checkpoint-shared": ["OpenAI.Data.CheckpointShared"],
  "resource-share-grant": ["OpenAI.Data.ResourceShareGrant"],
  "tunnel-created": ["OpenAI.Controls.TunnelChange"],
  "off-hours-admin": ["OpenAI.Admin.OffHoursActivity"],
  "admin-new-ip": ["OpenAI.Admin.NewOrigin"],
};

describe("detections end to end", { timeout: 600_000 }, () => {
  for (const { name, description } of SCENARIO_LIST) {
    it(`scenario ${name} raises ${EXPECTED[name].join(" / ")}`, async () => {
      // Three days of benign history first, so stateful rules know the users' usual places; the
      // attack lands 15 minutes before "now" (inside the correlation rules' lookback).
      const alerts = await alertsFor(
        {
          seed: 404,
          profile: "benign",
          history: { days: 3, eventsPerDay: 600, endSecs: NOW - 20 * 60 },
          scenarios: [{ name, atSecs: NOW - 15 * 60 }],
        },
        4,
      );
      const fired = alerts.filter((a) => EXPECTED[name].includes(a.ruleId));
      assert.ok(
        fired.length > 0,
        `${description}: expected ${EXPECTED[name].join(" or ")}, got ${[...new Set(alerts.map((a) => a.ruleId))].join(", ") || "no alert"}`,
      );
    });
  }

  it("a brute force then success that arrives by backfill (three days old) raises a HIGH alert", async () => {
    // The attack is history: the first poll starts at "now" and the backfill job reads it, newest slice first
    // (so the success is stored before its failures). Correlation runs on event time, not on the wall clock.
    const atSecs = NOW - 3 * 86_400;
    const alerts = await alertsFor(
      {
        seed: 405,
        profile: "benign",
        history: { days: 4, eventsPerDay: 600, endSecs: NOW - 20 * 60 },
        scenarios: [{ name: "brute-force-then-success", atSecs }],
      },
      5,
    );
    const fired = alerts.filter((a) => a.ruleId === "OpenAI.BruteForce.Login.Success");
    assert.equal(fired.length, 1, `alerts: ${alerts.map((a) => `${a.severity} ${a.ruleId}`).join(", ")}`);
    assert.equal(fired[0]?.severity, "HIGH");
    assert.ok(
      Math.abs((fired[0]?.windowStartSecs ?? 0) - atSecs) < 86_400,
      "the alert's window is at the attack's event time, not at the wall clock",
    );
  });

  it("a simulated week of benign activity raises no HIGH or CRITICAL alert", async () => {
    const alerts = await alertsFor(
      { seed: 2026, profile: "benign", history: { days: 7, eventsPerDay: 1500, endSecs: NOW } },
      8,
    );
    const loud = alerts.filter((a) => a.severity === "HIGH" || a.severity === "CRITICAL");
    assert.deepEqual(
      loud.map((a) => `${a.severity} ${a.ruleId}: ${a.title}`),
      [],
      "no HIGH or CRITICAL alert on benign activity",
    );
  });
});
