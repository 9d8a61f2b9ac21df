// Destinations from the config file (src/config/vigil-config.ts), upserted into the store by name at
// `vigil start` and `vigil poll`: a new name is created, an existing one updated in place (same id, so
// rules routing by id or name keep working). Each entry is checked by the same rules as `vigil
// destinations add` and the API (destinations.ts) and stored encrypted. The file owns what it wrote (managedBy "config"): such a
// destination is changed and removed only there — dropped from the file, it is removed at the next start —
// and the console, API and CLI refuse to change it. Destinations they made are left alone, unless the file
// names one, which it then adopts. Without a config file nothing is removed: a start that merely forgot
// VIGIL_CONFIG must not silence alerting.

import type { VigilEnv } from "../config/env.ts";
import { loadConfigFile, type VigilConfigFile } from "../config/vigil-config.ts";
import { ConfigurationError, VigilError } from "../core/errors.ts";
import type { Runtime } from "../pipeline/runtime.ts";
import { InvalidDestination, type ValidDestination, validateDestination } from "./destinations.ts";

export interface ConfigApplyResult {
  path: string | null;
  created: string[];
  updated: string[];
  /** Destinations the file had written and no longer names. */
  removed: string[];
}

/** Validates every entry first (nothing is written when one is invalid), then upserts them. */
export async function applyConfigDestinations(
  runtime: Pick<Runtime, "store" | "secrets"> & { env: Pick<VigilEnv, "outbound" | "exportDir"> },
  file: VigilConfigFile | null,
): Promise<ConfigApplyResult> {
  if (file === null) return { path: null, created: [], updated: [], removed: [] };
  const valid = file.destinations.map((entry, i): ValidDestination => {
    try {
      return validateDestination(
        {
          name: entry.name,
          type: entry.type,
          minSeverity: entry.minSeverity,
          logTypes: entry.logTypes,
          config: entry.options,
        },
        runtime.env,
      );
    } catch (err) {
      // The problem placed in the file; it names fields, never the resolved secrets.
      const where = `Config file ${file.path}, destinations[${i}] (${entry.name})`;
      if (err instanceof InvalidDestination) throw new ConfigurationError("config_file", `${where}: ${err.problem}.`);
      if (err instanceof VigilError) throw new ConfigurationError(err.code, `${where}: ${err.message}`);
      throw err;
    }
  });
  const result: ConfigApplyResult = { path: file.path, created: [], updated: [], removed: [] };
  for (const entry of valid) {
    const written = {
      type: entry.type,
      minSeverity: entry.minSeverity,
      logTypes: entry.logTypes,
      config: runtime.secrets.encrypt(JSON.stringify(entry.config)),
      managedBy: "config" as const,
    };
    const existing = await runtime.store.getDestination(entry.name);
    if (existing && existing.name === entry.name) {
      await runtime.store.updateDestination(existing.id, written);
      result.updated.push(entry.name);
    } else {
      await runtime.store.createDestination({ name: entry.name, ...written });
      result.created.push(entry.name);
    }
  }
  const named = new Set(file.destinations.map((entry) => entry.name));
  for (const d of await runtime.store.listDestinations()) {
    if (d.managedBy === "config" && !named.has(d.name)) {
      await runtime.store.removeDestination(d.id);
      result.removed.push(d.name);
    }
  }
  return result;
}

/** Loads the config file named by the runtime's environment (if any) and applies its destinations. */
export async function loadConfigDestinations(runtime: Runtime): Promise<ConfigApplyResult> {
  const result = await applyConfigDestinations(runtime, loadConfigFile(runtime.env));
  if (result.path !== null) {
    runtime.logger.info(
      { config: result.path, created: result.created, updated: result.updated, removed: result.removed },
      `Loaded ${result.created.length + result.updated.length} destinations from ${result.path}` +
        (result.removed.length > 0 ? `; removed ${result.removed.length} it no longer names.` : "."),
    );
  }
  return result;
}
