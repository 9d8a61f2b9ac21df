// Destinations from the config file (src/config/vigil-config.ts), upserted into the store by name at
// `vigil start` and `vigil poll`: a new name is created, an existing one updated in place (same id, so
// rules routing by id or name keep working). The type-specific config is validated like `vigil
// destinations add` does and stored encrypted. The file owns what it wrote (managedBy "config"): such a
// destination is changed and removed only there — dropped from the file, it is removed at the next start —
// and the console, API and CLI refuse to change it. Destinations they made are left alone, unless the file
// names one, which it then adopts. Without a config file nothing is removed: a start that merely forgot
// VIGIL_CONFIG must not silence alerting.

import type { VigilEnv } from "../config/env.ts";
import { loadConfigFile, type VigilConfigFile } from "../config/vigil-config.ts";
import type { DestinationRecord } from "../core/destination.ts";
import { isSeverity, SEVERITIES, type Severity } from "../core/detection.ts";
import { ConfigurationError, VigilError } from "../core/errors.ts";
import { assertDestinationEndpoint, DESTINATION_TYPES, parseDestinationConfig } from "../destinations/index.ts";
import type { Runtime } from "./runtime.ts";

export interface ConfigApplyResult {
  path: string | null;
  created: string[];
  updated: string[];
  /** Destinations the file had written and no longer names. */
  removed: string[];
}

/** Refuses to change or remove, outside the config file, a destination the config file owns. */
export function assertNotConfigManaged(d: DestinationRecord, action: "change" | "remove"): void {
  if (d.managedBy === "config") {
    throw new VigilError(
      "conflict",
      `The destination ${JSON.stringify(d.name)} comes from the config file; ${action} it there, then restart Vigil.`,
    );
  }
}

/** Validates every entry first (nothing is written when one is invalid), then upserts them. */
export async function applyConfigDestinations(
  runtime: Pick<Runtime, "store" | "secrets"> & { env: Pick<VigilEnv, "outbound" | "exportDir"> },
  file: VigilConfigFile | null,
): Promise<ConfigApplyResult> {
  if (file === null) return { path: null, created: [], updated: [], removed: [] };
  const valid = file.destinations.map((entry, i) => {
    const where = `Config file ${file.path}, destinations[${i}] (${entry.name})`;
    if (!(DESTINATION_TYPES as readonly string[]).includes(entry.type)) {
      throw new ConfigurationError(
        "config_file",
        `${where}: unknown type ${JSON.stringify(entry.type)}; use one of ${DESTINATION_TYPES.join(", ")}.`,
      );
    }
    if (!isSeverity(entry.minSeverity)) {
      throw new ConfigurationError("config_file", `${where}: min_severity must be one of ${SEVERITIES.join(", ")}.`);
    }
    const config = { ...entry.options, type: entry.type };
    const parsed = parseDestinationConfig(
      {
        ...config,
        id: "validation",
        name: entry.name,
        min_severity: entry.minSeverity,
        ...(entry.logTypes.length > 0 ? { log_types: entry.logTypes } : {}),
      },
      runtime.env,
    );
    if (!parsed.ok) {
      // The issues name fields, never values: the resolved secrets stay out of the message.
      throw new ConfigurationError(
        "config_file",
        `${where}: ${parsed.issues.map((i) => `${i.path || "(config)"}: ${i.message}`).join("; ")}.`,
      );
    }
    assertDestinationEndpoint(parsed.config, runtime.env.outbound, `${where}:`);
    const { type: _type, ...typeConfig } = config;
    return { entry, minSeverity: entry.minSeverity as Severity, typeConfig };
  });
  const result: ConfigApplyResult = { path: file.path, created: [], updated: [], removed: [] };
  for (const { entry, minSeverity, typeConfig } of valid) {
    const ciphertext = runtime.secrets.encrypt(JSON.stringify(typeConfig));
    const existing = await runtime.store.getDestination(entry.name);
    if (existing && existing.name === entry.name) {
      await runtime.store.updateDestination(existing.id, {
        type: entry.type,
        minSeverity,
        logTypes: entry.logTypes,
        config: ciphertext,
        managedBy: "config",
      });
      result.updated.push(entry.name);
    } else {
      await runtime.store.createDestination({
        name: entry.name,
        type: entry.type,
        minSeverity,
        logTypes: entry.logTypes,
        config: ciphertext,
        managedBy: "config",
      });
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
