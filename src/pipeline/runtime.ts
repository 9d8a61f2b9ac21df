// The only place that wires the parts together: the store, the secret box, the API client of each
// source, the pollers and the backfill runner. CLI commands (and later the server) call into here.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { sqliteDatabasePath, type VigilEnv } from "../config/env.ts";
import { DEMO_SOURCE_NAME } from "../config/source-defaults.ts";
import type { Clock } from "../core/clock.ts";
import { systemClock } from "../core/clock.ts";
import { ConfigurationError, errorMessage, NotFoundError } from "../core/errors.ts";
import type { LeaseFence } from "../core/fleet.ts";
import { assertOutboundUrl, endpointOf } from "../core/outbound.ts";
import type { EncryptedSecret } from "../core/secret.ts";
import type { SourceRecord } from "../core/source.ts";
import type { Logger } from "../logging/logger.ts";
import { loadOpenAIAuditLogType } from "../schema/index.ts";
import { openSecretBox, type SecretBox } from "../secrets/secret-box.ts";
import { DEFAULT_OPENAI_BASE_URL, OpenAIAuditLogClient } from "../sources/openai/client.ts";
import type { Store } from "../storage/ports.ts";
import { openPostgresStore } from "../storage/postgres/postgres-store.ts";
import { openSqliteStore } from "../storage/sqlite/sqlite-store.ts";
import type { MigrationNotice } from "../storage/store/dialect.ts";
import { type BackfillDeps, type BackfillProgress, runBackfillJob } from "./backfill.ts";
import type { CorrelationRun } from "./correlations.ts";
import { DeliveryWorker, type DeliveryWorkerOptions } from "./delivery-worker.ts";
import { type Detection, openDetection, runCorrelations } from "./detection.ts";
import { checkSourceHealth } from "./health.ts";
import type { RecordNormalizer } from "./page-records.ts";
import { BackfillCounter, type BackfillTally } from "./poll-summary.ts";
import { type PollReport, SourcePoller } from "./poller.ts";
import { runScheduledQueries, type ScheduledQueryRun } from "./scheduled-queries.ts";

export interface Runtime {
  env: VigilEnv;
  store: Store;
  secrets: SecretBox;
  logger: Logger;
  clock: Clock;
  normalizer: RecordNormalizer;
  /** Request timeout for the OpenAI API (ms); tests shorten it. */
  requestTimeoutMs?: number;
  /** The detection engine, loaded on first use (commands that only read events never load rules). */
  detection(): Promise<Detection>;
  close(): Promise<void>;
}

export async function openRuntime(env: VigilEnv, logger: Logger, options: { clock?: Clock } = {}): Promise<Runtime> {
  mkdirSync(env.dataDir, { recursive: true, mode: 0o700 });
  // After an upgrade of Vigil, a migration of a large database can take minutes before anything else happens.
  const onMigration: MigrationNotice = (m) =>
    process.stderr.write(
      `vigil: upgrading the database, migration ${m.version} (${m.name}); on a large database this takes minutes. Stopping meanwhile is safe: the migration starts over at the next start.\n`,
    );
  // SQLite in the data directory unless a PostgreSQL database is named (several Vigil processes can share it).
  const store = env.databaseUrl
    ? await openPostgresStore({
        connectionString: env.databaseUrl,
        ...(env.databaseSchema ? { schema: env.databaseSchema } : {}),
        alertLimitPerHour: env.alertLimitPerHour,
        onMigration,
      })
    : await openSqliteStore({ path: sqliteDatabasePath(env), alertLimitPerHour: env.alertLimitPerHour, onMigration });
  const secrets = openSecretBox({ dataDir: env.dataDir, ...(env.secretKey ? { secretKey: env.secretKey } : {}) });
  const clock = options.clock ?? systemClock;
  let detection: Promise<Detection> | undefined;
  const runtime: Runtime = {
    env,
    store,
    secrets,
    logger,
    clock,
    normalizer: loadOpenAIAuditLogType(),
    detection: () => {
      detection ??= openDetection({ store, rulesDirs: env.rulesDirs, nowSecs: () => Math.floor(clock.nowMs() / 1000) });
      return detection;
    },
    close: async () => {
      if (detection) await (await detection.catch(() => undefined))?.close();
      await store.close();
    },
  };
  await sealLegacySourceKeys(runtime);
  return runtime;
}

export function resolveBaseUrl(runtime: Pick<Runtime, "env">, source: Pick<SourceRecord, "baseUrl">): string {
  return source.baseUrl ?? runtime.env.openaiBaseUrl ?? DEFAULT_OPENAI_BASE_URL;
}

/** The endpoint a source's key is sealed to: its base URL as resolved when the key is entered (core/outbound.ts). */
export function sourceKeyEndpoint(runtime: Pick<Runtime, "env">, source: Pick<SourceRecord, "baseUrl">): string {
  return endpointOf(resolveBaseUrl(runtime, source));
}

/** Encrypts a source's admin key, sealed to the endpoint it is entered for: it is never sent anywhere else. */
export function sealSourceKey(
  runtime: Pick<Runtime, "env" | "secrets">,
  source: Pick<SourceRecord, "baseUrl">,
  apiKey: string,
): EncryptedSecret {
  return runtime.secrets.encrypt(apiKey, sourceKeyEndpoint(runtime, source));
}

/**
 * Keys stored before keys were sealed to their endpoint (v1) are sealed to the source's current endpoint, once,
 * at start-up. A key that cannot be decrypted is left alone: using it reports the problem.
 */
async function sealLegacySourceKeys(runtime: Runtime): Promise<void> {
  for (const source of await runtime.store.listSources()) {
    const secret = await runtime.store.getSourceSecret(source.id);
    if (!secret || runtime.secrets.boundEndpoint(secret) !== null) continue;
    let apiKey: string;
    try {
      apiKey = runtime.secrets.decrypt(secret);
    } catch {
      continue;
    }
    await runtime.store.updateSource(source.id, {}, sealSourceKey(runtime, source, apiKey));
    runtime.logger.info({ source: source.name }, "Sealed the source's stored key to its endpoint.");
  }
}

/** A client of the audit-log API; refuses a base URL the outbound policy does not allow (core/outbound.ts). */
export function clientFor(runtime: Runtime, baseUrl: string, apiKey: string): OpenAIAuditLogClient {
  assertOutboundUrl(baseUrl, runtime.env.outbound, "base URL");
  return new OpenAIAuditLogClient({
    baseUrl,
    apiKey,
    ...(runtime.requestTimeoutMs ? { timeoutMs: runtime.requestTimeoutMs } : {}),
    onRetry: (info) =>
      runtime.logger.warn(
        { baseUrl, ...info },
        `The OpenAI API request failed (${info.reason}); retrying in ${info.delayMs} ms.`,
      ),
  });
}

export async function sourceClient(runtime: Runtime, source: SourceRecord): Promise<OpenAIAuditLogClient> {
  const secret = await runtime.store.getSourceSecret(source.id);
  if (!secret)
    throw new ConfigurationError("source_without_key", `Source ${source.name} has no API key; add it again.`);
  // Decrypts only when the source still points to the endpoint its key was entered for.
  const apiKey = runtime.secrets.decrypt(secret, sourceKeyEndpoint(runtime, source));
  return clientFor(runtime, resolveBaseUrl(runtime, source), apiKey);
}

export async function requireSource(runtime: Runtime, name: string): Promise<SourceRecord> {
  const source = await runtime.store.getSource(name);
  if (!source) throw new NotFoundError(`There is no source named ${JSON.stringify(name)}; see \`vigil sources list\`.`);
  return source;
}

/** `fence`: in a fleet, the source's lease, which the poller's pages are written under. */
export async function pollerFor(runtime: Runtime, source: SourceRecord, fence?: LeaseFence): Promise<SourcePoller> {
  return new SourcePoller({
    ...(fence ? { fence } : {}),
    store: runtime.store,
    reader: await sourceClient(runtime, source),
    source,
    clock: runtime.clock,
    logger: runtime.logger,
    normalizer: runtime.normalizer,
    detector: (await runtime.detection()).detector,
  });
}

/**
 * Runs every unfinished backfill job of the source to completion (in a fleet: the slices this worker can claim).
 * Returns how many jobs are complete now.
 */
export async function runPendingBackfills(
  runtime: Runtime,
  source: SourceRecord,
  options: {
    concurrency?: number;
    signal?: AbortSignal;
    onProgress?: (jobId: number, p: BackfillProgress) => void;
    claimSlice?: BackfillDeps["claimSlice"];
  } = {},
): Promise<number> {
  const jobs = await runtime.store.listBackfillJobs({ sourceId: source.id, pendingOnly: true });
  if (jobs.length === 0) return 0;
  const reader = await sourceClient(runtime, source);
  let complete = 0;
  for (const job of jobs) {
    const run = await runBackfillJob(
      {
        store: runtime.store,
        reader,
        source,
        clock: runtime.clock,
        concurrency: options.concurrency ?? 4,
        normalizer: runtime.normalizer,
        detector: (await runtime.detection()).detector,
        ...(options.onProgress ? { onProgress: (p) => options.onProgress?.(job.id, p) } : {}),
        ...(options.claimSlice ? { claimSlice: options.claimSlice } : {}),
      },
      job,
      options.signal,
    );
    if (run.complete) complete++;
  }
  return complete;
}

export function deliveryWorkerFor(
  runtime: Runtime,
  options: Partial<Omit<DeliveryWorkerOptions, "store" | "secrets" | "logger" | "clock">> = {},
): DeliveryWorker {
  return new DeliveryWorker({
    store: runtime.store,
    secrets: runtime.secrets,
    logger: runtime.logger,
    clock: runtime.clock,
    publicUrl: runtime.env.publicUrl,
    outbound: runtime.env.outbound,
    exportDir: runtime.env.exportDir,
    ...options,
  });
}

/** Source health checks (no-data and auth-failure system alerts); a failure is logged, never thrown. */
export async function runHealthChecks(runtime: Runtime, source: SourceRecord): Promise<void> {
  try {
    const actions = await checkSourceHealth(runtime.store, source, runtime.clock.nowMs());
    for (const a of actions) {
      runtime.logger.warn(
        { source: source.name, check: a.check },
        a.kind === "raise"
          ? `Raised a ${a.check} system alert for ${source.name}.`
          : `Resolved the ${a.check} system alert of ${source.name}.`,
      );
    }
  } catch (err) {
    runtime.logger.warn({ source: source.name }, `Health check of ${source.name} failed: ${errorMessage(err)}`);
  }
}

/**
 * Removes the demo source once a real source exists. The demo polls the simulator that only `vigil start`'s
 * demo mode serves: beside a real source it would poll a port nobody serves (the demo mode does not start
 * again once a real source exists), and its simulated events and alerts would sit beside real ones. Its data
 * goes with it. Returns a note saying what was done (null: nothing to do); the note is also logged.
 */
export async function retireDemoSource(runtime: Runtime): Promise<string | null> {
  const sources = await runtime.store.listSources();
  const demo = sources.find((s) => s.name === DEMO_SOURCE_NAME);
  const real = sources.find((s) => s.name !== DEMO_SOURCE_NAME);
  if (!demo || !real) return null;
  await runtime.store.removeSource(demo.id);
  const note =
    `Removed the demo source "${demo.name}" and its simulated events and alerts, ` +
    `now that a real source ("${real.name}") exists; nothing polls the built-in simulator any more.`;
  runtime.logger.warn({ source: demo.name, realSource: real.name }, note);
  return note;
}

export interface SourcePollOutcome {
  source: SourceRecord;
  report?: PollReport;
  backfillJobs?: number;
  /** What the source's history backfill read and stored in this poll; null when none ran. */
  backfill?: BackfillTally | null;
  correlationAlerts?: number;
  error?: string;
}

/**
 * Runs the Panther scheduled queries due for this source (pipeline/scheduled-queries.ts); a failing query is
 * logged with its reason and retried at the next run, never failing the poll.
 */
export async function runScheduledFor(
  runtime: Runtime,
  source: SourceRecord,
  signal?: AbortSignal,
): Promise<ScheduledQueryRun[]> {
  const detection = await runtime.detection();
  if (detection.scheduledQueries.length === 0) return [];
  const runs = await runScheduledQueries({
    store: runtime.store,
    engine: detection.engine,
    queries: detection.scheduledQueries,
    source,
    nowSecs: Math.floor(runtime.clock.nowMs() / 1000),
    failures: detection.scheduledFailures,
    ...(signal ? { signal } : {}),
  });
  for (const r of runs) {
    const at = new Date(r.slotSecs * 1000).toISOString();
    if (r.gaveUp)
      runtime.logger.error(
        { source: source.name, query: r.query },
        `Scheduled query ${r.query} failed for its run at ${at} for the last time, and that run is given up (the next ones go on): ${r.error}`,
      );
    else if (r.error !== undefined)
      runtime.logger.warn(
        { source: source.name, query: r.query },
        `Scheduled query ${r.query} failed for its run at ${at} (tried again at the next poll): ${r.error}`,
      );
    else if (r.createdAlertIds.length > 0)
      runtime.logger.info(
        { source: source.name, query: r.query, alerts: r.createdAlertIds.length },
        `Scheduled query ${r.query}: ${r.rows} rows, ${r.createdAlertIds.length} new alerts.`,
      );
  }
  return runs;
}

/**
 * What runs after a source's poll over what is stored: its correlation rules, then its scheduled queries. Each
 * runs whatever the other did (a failing correlation must not hold the scheduled slots back); a correlation
 * failure is thrown once the queries have run.
 */
export async function runDerivedDetections(
  runtime: Runtime,
  source: SourceRecord,
  signal?: AbortSignal,
): Promise<CorrelationRun> {
  let correlation: CorrelationRun | null = null;
  let failure: unknown = null;
  try {
    correlation = await runCorrelations(
      runtime.store,
      source,
      Math.floor(runtime.clock.nowMs() / 1000),
      await runtime.detection(),
    );
  } catch (err) {
    failure = err;
  }
  await runScheduledFor(runtime, source, signal);
  if (correlation === null) throw failure;
  return correlation;
}

/** One complete poll of each source (history backfill of a new source included). */
export async function pollAllOnce(
  runtime: Runtime,
  options: { sourceName?: string; signal?: AbortSignal } = {},
): Promise<SourcePollOutcome[]> {
  // The demo source beside a real one polls a port nobody serves: it goes before anything is polled.
  await retireDemoSource(runtime);
  const sources = options.sourceName
    ? [await requireSource(runtime, options.sourceName)]
    : (await runtime.store.listSources()).filter((s) => s.enabled);
  const outcomes: SourcePollOutcome[] = [];
  for (const source of sources) {
    let polled: SourcePollOutcome | null = null;
    let failure: unknown = null;
    try {
      const poller = await pollerFor(runtime, source);
      const report = await poller.pollOnce(options.signal);
      const tally = new BackfillCounter();
      const backfillJobs = await runPendingBackfills(runtime, source, {
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (jobId, progress) => tally.record(jobId, progress),
      });
      polled = { source, report, backfillJobs, backfill: tally.take() };
    } catch (err) {
      if (options.signal?.aborted) throw err;
      failure = err;
    }
    // Correlation and scheduled rules read what is stored, whatever the poll's outcome (as the scheduler's loop).
    try {
      const correlation = await runDerivedDetections(runtime, source, options.signal);
      if (polled !== null) outcomes.push({ ...polled, correlationAlerts: correlation.createdAlertIds.length });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      failure ??= err;
    }
    if (failure !== null) outcomes.push({ source, error: errorMessage(failure) });
    await runHealthChecks(runtime, source);
  }
  return outcomes;
}
