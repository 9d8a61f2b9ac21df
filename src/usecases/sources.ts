// Adding, changing, verifying and removing sources: the rules, written once for the CLI (`vigil sources`,
// `vigil start`) and the HTTP API (and through it the console). The adapters read their input (flags, a
// JSON body), call these, and present the result.
//
// The rules: settings are valid by the one schema (core/source.ts) and names unique; an admin key is sealed
// to the endpoint it is entered for, only when the outbound policy lets a secret go there, and checked
// against the API first unless the caller says not to; moving a source to another endpoint needs its key
// again.

import { unixSeconds } from "../core/clock.ts";
import { ConfigurationError, VigilError } from "../core/errors.ts";
import { assertOutboundUrl } from "../core/outbound.ts";
import type { EncryptedSecret } from "../core/secret.ts";
import {
  checkSweepSettings,
  parseSettingChanges,
  parseSourceSettings,
  type SourceRecord,
  type SourceSettingsInput,
} from "../core/source.ts";
import { runCorrelations } from "../pipeline/detection.ts";
import { type QuarantineReplay, replayQuarantine } from "../pipeline/quarantine-replay.ts";
import {
  clientFor,
  type Runtime,
  resolveBaseUrl,
  retireDemoSource,
  sealSourceKey,
  sourceClient,
  sourceKeyEndpoint,
} from "../pipeline/runtime.ts";

/** An admin key: given, or read only once it is needed (the CLI reads it from the environment or stdin). */
export type AdminKey = string | (() => Promise<string>);

async function keyOf(key: AdminKey): Promise<string> {
  return typeof key === "string" ? key : await key();
}

async function assertNameFree(runtime: Pick<Runtime, "store">, name: string): Promise<void> {
  if (await runtime.store.getSource(name)) {
    throw new VigilError("conflict", `A source named ${JSON.stringify(name)} already exists.`);
  }
}

/** Checks that the key can read the audit log at `baseUrl` (under the outbound policy); its latency. */
export async function verifyAdminKey(runtime: Runtime, baseUrl: string, apiKey: string): Promise<number> {
  return (await clientFor(runtime, baseUrl, apiKey).verify()).latencyMs;
}

/**
 * Checks the key at the source's endpoint unless `verify` is false, and seals it to that endpoint. The outbound
 * policy is applied either way: a key is never stored for an endpoint it may not be sent to.
 */
async function sealKey(
  runtime: Runtime,
  source: Pick<SourceRecord, "baseUrl">,
  apiKey: string,
  verify: boolean,
): Promise<{ secret: EncryptedSecret; latencyMs: number | null }> {
  const baseUrl = resolveBaseUrl(runtime, source);
  assertOutboundUrl(baseUrl, runtime.env.outbound, "base URL");
  const latencyMs = verify ? await verifyAdminKey(runtime, baseUrl, apiKey) : null;
  return { secret: sealSourceKey(runtime, source, apiKey), latencyMs };
}

export interface NewSource {
  /** The name, and any setting that differs from its default. */
  settings: SourceSettingsInput;
  apiKey: AdminKey;
  /** Check the key against the API before saving (default true). */
  verify?: boolean;
}

/** The new source, and how long the key's check took (null when it was not checked). */
export interface SourceWrite {
  source: SourceRecord;
  verifiedLatencyMs: number | null;
}

export interface NewSourceWrite extends SourceWrite {
  /** Set when the new source replaced the demo source (runtime.retireDemoSource): what was done, also logged. */
  notice: string | null;
}

export async function addSource(runtime: Runtime, input: NewSource): Promise<NewSourceWrite> {
  const settings = parseSourceSettings(input.settings);
  await assertNameFree(runtime, settings.name);
  const apiKey = await keyOf(input.apiKey);
  const { secret, latencyMs } = await sealKey(runtime, settings, apiKey, input.verify !== false);
  const source = await runtime.store.createSource(settings, secret);
  // A real source replaces the demo, whose simulator only runs in demo mode.
  const notice = await retireDemoSource(runtime);
  return { source, verifiedLatencyMs: latencyMs, notice };
}

export interface SourceChange {
  /** The settings to change; absent ones keep their value. */
  changes: Partial<SourceSettingsInput>;
  /** A new admin key, replacing the stored one. */
  apiKey?: string;
  /**
   * Where to get the key when the change needs it again (another endpoint) and `apiKey` is absent; without it
   * such a change is refused (`secret_required`).
   */
  askKey?: () => Promise<string>;
  /** Check a new key against the API before saving (default true). */
  verify?: boolean;
}

export async function updateSource(runtime: Runtime, source: SourceRecord, change: SourceChange): Promise<SourceWrite> {
  // Only the settings given are validated: a stored value that predates a rule (the demo source's name) does not
  // block an unrelated change.
  const changes = parseSettingChanges(
    Object.fromEntries(Object.entries(change.changes).filter(([, v]) => v !== undefined)),
  );
  const merged = { ...source, ...changes };
  // Checked now, before any key is asked for or verified, and again by the store on the record as it is then.
  const checkSweeps =
    changes.sweepWindowSecs !== undefined || changes.sweepIntervalSecs !== undefined ? checkSweepSettings : undefined;
  checkSweeps?.(merged);
  if (merged.name !== source.name) await assertNameFree(runtime, merged.name);
  // The stored key is sealed to the endpoint it was entered for (runtime.sealSourceKey): pointing the source
  // elsewhere needs the key again, from whoever makes the change, so that it cannot be sent to their host.
  const moved = sourceKeyEndpoint(runtime, merged) !== sourceKeyEndpoint(runtime, source);
  let apiKey = change.apiKey;
  if (moved && apiKey === undefined) {
    if (change.askKey === undefined) {
      throw new ConfigurationError(
        "secret_required",
        "Changing the base URL needs the admin key again (apiKey): a stored key is only sent to the endpoint it was entered for.",
      );
    }
    apiKey = await change.askKey();
  }
  const sealed = apiKey === undefined ? undefined : await sealKey(runtime, merged, apiKey, change.verify !== false);
  // Only the settings given are written, so that a concurrent change of another one stays; the sweep rule is
  // judged again on the stored record under its lock, so that two changes at once cannot break it together.
  const updated = await runtime.store.updateSource(source.id, changes, sealed?.secret, checkSweeps);
  return { source: updated, verifiedLatencyMs: sealed?.latencyMs ?? null };
}

/** Checks that the source's stored key still reads the audit log; its latency. */
export async function testSource(runtime: Runtime, source: SourceRecord): Promise<number> {
  return (await (await sourceClient(runtime, source)).verify()).latencyMs;
}

/** Removes the source and everything stored for it. */
export async function removeSource(runtime: Pick<Runtime, "store">, source: SourceRecord): Promise<void> {
  await runtime.store.removeSource(source.id);
}

/**
 * Reads the source's quarantined records again with the current schema (pipeline/quarantine-replay.ts): those it
 * accepts now are stored, with detection, and leave the quarantine; then the correlations run over their matches
 * (as after a poll), whose alerts are counted in `createdAlertIds` too.
 */
export async function replaySourceQuarantine(
  runtime: Runtime,
  source: SourceRecord,
  options: { dryRun?: boolean } = {},
): Promise<QuarantineReplay> {
  const detection = await runtime.detection();
  const replay = await replayQuarantine(
    {
      store: runtime.store,
      source,
      clock: runtime.clock,
      normalizer: runtime.normalizer,
      detector: detection.detector,
    },
    { ...options, logger: runtime.logger },
  );
  if (options.dryRun || replay.stored === 0) return replay;
  const correlation = await runCorrelations(runtime.store, source, unixSeconds(runtime.clock), detection);
  return { ...replay, createdAlertIds: [...replay.createdAlertIds, ...correlation.createdAlertIds] };
}
