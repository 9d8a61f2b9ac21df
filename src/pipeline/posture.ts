// Wires inventory snapshots (src/posture) to a source: its sealed key, its base URL under the outbound policy, the
// detection engine (the OpenAI.Posture rules) and the store. Snapshots run beside the audit-log polls and never
// touch the poll status: a key without the management scope shows up here, per endpoint, and the audit-log
// polling goes on as before.

import { ConfigurationError } from "../core/errors.ts";
import { assertOutboundUrl } from "../core/outbound.ts";
import type { SourceRecord } from "../core/source.ts";
import { AdminListClient } from "../posture/admin-client.ts";
import { type PostureRunReport, runPostureCycle } from "../posture/run.ts";
import { postureSettingsFromEnv } from "../posture/settings.ts";
import type { EndpointStatus } from "../posture/snapshot.ts";
import type { Store } from "../storage/ports.ts";
import { type Runtime, resolveBaseUrl, sourceKeyEndpoint } from "./runtime.ts";

export async function postureClientFor(runtime: Runtime, source: SourceRecord): Promise<AdminListClient> {
  const secret = await runtime.store.getSourceSecret(source.id);
  if (!secret)
    throw new ConfigurationError("source_without_key", `Source ${source.name} has no API key; add it again.`);
  const apiKey = runtime.secrets.decrypt(secret, sourceKeyEndpoint(runtime, source));
  const baseUrl = resolveBaseUrl(runtime, source);
  assertOutboundUrl(baseUrl, runtime.env.outbound, "base URL");
  return new AdminListClient({
    baseUrl,
    apiKey,
    ...(runtime.requestTimeoutMs ? { timeoutMs: runtime.requestTimeoutMs } : {}),
    onRetry: (info) =>
      runtime.logger.warn(
        { source: source.name, ...info },
        `Admin API request ${info.path} failed (${info.reason}); retrying in ${info.delayMs} ms.`,
      ),
  });
}

/** One snapshot of the source's organization, with its findings applied as alerts. */
export async function runPosture(
  runtime: Runtime,
  source: SourceRecord,
  signal?: AbortSignal,
): Promise<PostureRunReport> {
  const report = await runPostureCycle({
    store: runtime.store,
    client: await postureClientFor(runtime, source),
    source,
    engine: (await runtime.detection()).engine,
    settings: postureSettingsFromEnv(),
    nowMs: () => runtime.clock.nowMs(),
    ...(signal ? { signal } : {}),
  });
  for (const e of report.failedEndpoints) {
    runtime.logger.warn({ source: source.name, endpoint: e.path }, `Inventory snapshot skipped ${e.path}: ${e.error}`);
  }
  if (report.pruneError !== null) {
    runtime.logger.warn(
      { source: source.name },
      `Pruning old snapshots of ${source.name} failed: ${report.pruneError}`,
    );
  }
  return report;
}

/** Whether a snapshot is due: snapshots on, and none yet or the newest older than the interval. */
export async function postureDue(store: Store, source: SourceRecord, nowMs: number): Promise<boolean> {
  if (source.postureIntervalSecs <= 0) return false;
  const [latest] = await store.listPostureSnapshots(source.id, 1);
  return !latest || nowMs - latest.takenAtMs >= source.postureIntervalSecs * 1000;
}

/** What source health shows of the snapshots: when the last one ran and which endpoints it could not read. */
export interface PostureHealth {
  enabled: boolean;
  intervalSecs: number;
  lastSnapshotMs: number | null;
  objects: number | null;
  failedEndpoints: Array<Pick<EndpointStatus, "path" | "error" | "missingScope">>;
}

export async function postureHealth(store: Store, source: SourceRecord): Promise<PostureHealth> {
  const [latest] = await store.listPostureSnapshots(source.id, 1);
  return {
    enabled: source.postureIntervalSecs > 0,
    intervalSecs: source.postureIntervalSecs,
    lastSnapshotMs: latest?.takenAtMs ?? null,
    objects: latest?.objectCount ?? null,
    failedEndpoints: (latest?.endpoints ?? [])
      .filter((e) => !e.ok)
      .map((e) => ({ path: e.path, error: e.error, missingScope: e.missingScope })),
  };
}
