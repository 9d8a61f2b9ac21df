// The whole pipeline over a simulated organization (simulator → poll and history backfill → normalize →
// detect → correlate → alerts), with the built-in packs. Shared by the end-to-end detection tests, the
// signal test and `npm run bench -- --only signal`; a module of its own so that importing it runs no tests.

import type { AlertRecord } from "../src/core/alert.ts";
import type { Clock } from "../src/core/clock.ts";
import type { Severity } from "../src/core/detection.ts";
import type { SourceRecord, SourceSettings } from "../src/core/source.ts";
import { silentLogger } from "../src/logging/logger.ts";
import { runBackfillJob } from "../src/pipeline/backfill.ts";
import { type Detection, openDetection, runCorrelations } from "../src/pipeline/detection.ts";
import { SourcePoller } from "../src/pipeline/poller.ts";
import type { AuditLogReader } from "../src/pipeline/reader.ts";
import { loadOpenAIAuditLogType } from "../src/schema/index.ts";
import {
  type RunningSimulator,
  type ScenarioName,
  type SimulatorOptions,
  startSimulator,
} from "../src/simulator/index.ts";
import { OpenAIAuditLogClient } from "../src/sources/openai/client.ts";
import type { Store } from "../src/storage/ports.ts";
import { fakeClock, storeWithSource } from "./helpers.ts";

/** "Now" of every simulated run: 2026-11-20 15:00 UTC. */
export const SIM_NOW_MS = Date.UTC(2026, 10, 20, 15, 0, 0);
export const SIM_NOW = SIM_NOW_MS / 1000;
const normalizer = loadOpenAIAuditLogType();

/** A simulated organization, a store with one source reading it, and the poller and detection of that source. */
export interface SimulatedRun {
  sim: RunningSimulator;
  store: Store;
  source: SourceRecord;
  reader: OpenAIAuditLogClient;
  detection: Detection;
  poller: SourcePoller;
  close(): Promise<void>;
}

/**
 * Starts the simulator and a source polling it with the built-in packs, on `clock`. `pollReader`: what the poller
 * reads through, given the simulator's client (a test's faults); default the client itself.
 */
export async function startSimulatedRun(
  clock: Clock,
  simOptions: SimulatorOptions,
  settings: Partial<SourceSettings>,
  pollReader: (client: OpenAIAuditLogClient) => AuditLogReader = (client) => client,
): Promise<SimulatedRun> {
  const sim = await startSimulator({ clock, ...simOptions });
  const { store, source } = await storeWithSource(settings);
  const detection = await openDetection({ store, rulesDirs: [], nowSecs: () => Math.floor(clock.nowMs() / 1000) });
  const reader = new OpenAIAuditLogClient({ baseUrl: sim.baseUrl, apiKey: sim.adminKey });
  const poller = new SourcePoller({
    store,
    reader: pollReader(reader),
    source,
    clock,
    logger: silentLogger,
    normalizer,
    detector: detection.detector,
  });
  return {
    sim,
    store,
    source,
    reader,
    detection,
    poller,
    close: async () => {
      await detection.close();
      await sim.close();
      await store.close();
    },
  };
}

/** Runs the whole pipeline over a simulated organization and returns the alerts it raised. */
export async function alertsFor(simOptions: SimulatorOptions, backfillDays: number): Promise<AlertRecord[]> {
  const clock = fakeClock(SIM_NOW_MS);
  const run = await startSimulatedRun(
    clock,
    { tenantShare: 0.05, ...simOptions },
    { backfillDays, includeTenantEvents: true },
  );
  const { store, source, reader, detection } = run;
  try {
    await run.poller.pollOnce();
    for (const job of await store.listBackfillJobs({ sourceId: source.id, pendingOnly: true })) {
      // One slice at a time, oldest history last: the same order a real first start uses per slice.
      await runBackfillJob(
        { store, reader, source, clock, normalizer, detector: detection.detector, concurrency: 1 },
        job,
      );
    }
    await runCorrelations(store, source, Math.floor(clock.nowMs() / 1000), detection);
    return await store.listAlerts({ limit: 100_000 });
  } finally {
    await run.close();
  }
}

/** The alert each attack scenario must raise: the rule and the severity that scenario deserves. */
export const SCENARIO_EXPECTATIONS: Record<ScenarioName, { ruleId: string; severity: Severity }> = {
  "credential-stuffing": { ruleId: "OpenAI.Login.CredentialStuffing", severity: "MEDIUM" },
  "brute-force-then-success": { ruleId: "OpenAI.BruteForce.Login.Success", severity: "HIGH" },
  "password-spray": { ruleId: "OpenAI.Login.PasswordSpray", severity: "HIGH" },
  "login-new-country": { ruleId: "OpenAI.Login.NewCountryOrASN", severity: "HIGH" },
  "impossible-travel": { ruleId: "OpenAI.Login.NewCountryOrASN", severity: "HIGH" },
  "api-key-all-scopes": { ruleId: "OpenAI.APIKey.ElevatedScopes", severity: "HIGH" },
  "key-minted-by-key": { ruleId: "OpenAI.APIKey.MintedByKey", severity: "HIGH" },
  "key-creation-burst": { ruleId: "OpenAI.Credentials.CreationBurst", severity: "HIGH" },
  "service-account-owner": { ruleId: "OpenAI.ServiceAccount.OwnerRole", severity: "HIGH" },
  "admin-api-key-created": { ruleId: "OpenAI.AdminAPIKey.Changed", severity: "HIGH" },
  "owner-role-granted": { ruleId: "OpenAI.Users.OwnerGranted", severity: "HIGH" },
  "invite-outside-domain": { ruleId: "OpenAI.Users.InviteOutsideDomain", severity: "HIGH" },
  "custom-role-escalated": { ruleId: "OpenAI.Roles.CustomRolePermissionsAdded", severity: "CRITICAL" },
  "ip-allowlist-deleted": { ruleId: "OpenAI.Controls.IPAllowlistWeakened", severity: "CRITICAL" },
  "ip-allowlist-opened": { ruleId: "OpenAI.Controls.IPAllowlistWeakened", severity: "HIGH" },
  "scim-disabled": { ruleId: "OpenAI.Controls.SCIMConfigurationChange", severity: "HIGH" },
  "sso-connection-deleted": { ruleId: "OpenAI.Controls.SSOPolicyChange", severity: "HIGH" },
  "api-call-logging-disabled": { ruleId: "OpenAI.Org.SettingWeakened", severity: "HIGH" },
  "org-visibility-widened": { ruleId: "OpenAI.Org.SettingWeakened", severity: "MEDIUM" },
  "mtls-certificates-removed": { ruleId: "OpenAI.Controls.MTLSCertificatesRemoved", severity: "HIGH" },
  "external-key-removed": { ruleId: "OpenAI.Controls.ExternalKeyChange", severity: "HIGH" },
  "workload-identity-added": { ruleId: "OpenAI.Controls.WorkloadIdentityChange", severity: "HIGH" },
  "rate-limit-removed": { ruleId: "OpenAI.Controls.SpendGuardRemoved", severity: "HIGH" },
  // One project archived and deleted and its resources removed within two minutes: the burst rule's MEDIUM
  // (a project's worth of blast radius); a single deletion (OpenAI.Data.ProjectDeleted) is routine and LOW.
  "project-deleted": { ruleId: "OpenAI.Data.DeletionBurst", severity: "MEDIUM" },
  "checkpoint-shared": { ruleId: "OpenAI.Data.CheckpointShared", severity: "MEDIUM" },
  "resource-share-grant": { ruleId: "OpenAI.Data.ResourceShareGrant", severity: "MEDIUM" },
  // Inform only: no payload says what a tunnel connects (LOW: a new network path).
  "tunnel-created": { ruleId: "OpenAI.Controls.TunnelChange", severity: "LOW" },
  // The owner acts from home at 03:00 UTC, which this org's owners do every night: weak evidence alone.
  "off-hours-admin": { ruleId: "OpenAI.Admin.OffHoursActivity", severity: "LOW" },
  "admin-new-ip": { ruleId: "OpenAI.Admin.NewOrigin", severity: "HIGH" },
};

/**
 * Runs one scenario on top of three days of routine history (so stateful rules know the users' usual
 * places); the attack lands 15 minutes before "now", inside the correlation rules' lookback.
 */
export function scenarioAlerts(name: ScenarioName): Promise<AlertRecord[]> {
  return alertsFor(
    {
      seed: 404,
      history: { days: 3, eventsPerDay: 600, endSecs: SIM_NOW - 20 * 60 },
      scenarios: [{ name, atSecs: SIM_NOW - 15 * 60 }],
    },
    4,
  );
}

/** Whether the alerts include the scenario's expected alert at its expected severity. */
export function raisedAsExpected(name: ScenarioName, alerts: readonly AlertRecord[]): boolean {
  const want = SCENARIO_EXPECTATIONS[name];
  return alerts.some((a) => a.ruleId === want.ruleId && a.severity === want.severity);
}

export const MEDIUM_OR_ABOVE: ReadonlySet<Severity> = new Set(["MEDIUM", "HIGH", "CRITICAL"]);
export const HIGH_OR_ABOVE: ReadonlySet<Severity> = new Set(["HIGH", "CRITICAL"]);

/** Alerts per day of a run over `days` days: all, MEDIUM and above, HIGH and above. */
export function alertsPerDay(alerts: readonly AlertRecord[], days: number) {
  return {
    all: alerts.length / days,
    mediumPlus: alerts.filter((a) => MEDIUM_OR_ABOVE.has(a.severity)).length / days,
    highPlus: alerts.filter((a) => HIGH_OR_ABOVE.has(a.severity)).length / days,
  };
}
