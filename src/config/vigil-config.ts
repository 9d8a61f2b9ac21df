// The optional YAML config file (VIGIL_CONFIG, else <dataDir>/vigil.yml when it exists). Today it holds
// `destinations:`, loaded at `vigil start` / `vigil poll` and upserted into the store by name. Secrets are
// never written in the file: a string value may reference an environment variable as `${NAME}`, which is
// replaced when the file is loaded. Errors name the file and the entry; they never echo values.

import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { ConfigurationError } from "../core/errors.ts";
import { defaultMinSeverity } from "../destinations/types.ts";

export interface ConfigDestination {
  name: string;
  type: string;
  /** Upper case (INFO … CRITICAL); default: the type's (DEFAULT_MIN_SEVERITY, e.g. PagerDuty HIGH). */
  minSeverity: string;
  logTypes: string[];
  /** The type's options (webhook_url, url, secret, host, …) with `${VAR}` references resolved. */
  options: Record<string, unknown>;
}

export interface VigilConfigFile {
  path: string;
  destinations: ConfigDestination[];
}

const FileSchema = z
  .object({
    destinations: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .passthrough();

/**
 * Keys the file may hold beside `destinations`: those beginning with `x-`, the usual home of YAML anchors
 * (`x-defaults: &defaults`). Any other is refused: a misspelt `destination:` would otherwise load nothing, silently.
 */
const EXTENSION_KEY = /^x-/;

const EntrySchema = z
  .object({
    name: z.string().min(1, "needs a name"),
    type: z.string().min(1, "needs a type"),
    min_severity: z.string().optional(),
    log_types: z.array(z.string()).optional(),
  })
  .passthrough();

/** The config file to read: VIGIL_CONFIG (which must exist), else <dataDir>/vigil.yml if present, else null. */
export function configFilePath(env: { configPath: string | undefined; dataDir: string }): string | null {
  if (env.configPath !== undefined) {
    if (!existsSync(env.configPath)) {
      throw new ConfigurationError("config_file", `VIGIL_CONFIG names ${env.configPath}, which does not exist.`);
    }
    if (!statSync(env.configPath).isFile()) {
      throw new ConfigurationError(
        "config_file",
        `VIGIL_CONFIG names ${env.configPath}, which is not a file (name the YAML file itself).`,
      );
    }
    return env.configPath;
  }
  const fallback = join(env.dataDir, "vigil.yml");
  return existsSync(fallback) ? fallback : null;
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function resolveRefs(value: unknown, lookup: (name: string) => string | undefined, where: () => string): unknown {
  if (typeof value === "string") {
    return value.replace(REFERENCE, (_m, name: string) => {
      const found = lookup(name);
      if (found === undefined) {
        throw new ConfigurationError("config_file", `${where()}: environment variable ${name} is not set.`);
      }
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, lookup, where));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, lookup, where)]));
  }
  return value;
}

/** The YAML library's message cut to its first line ("… at line 5, column 16:"): the lines after it quote the file. */
function notValidYaml(path: string, message: string): ConfigurationError {
  const what = (message.split("\n")[0] ?? "").replace(/:\s*$/, "");
  return new ConfigurationError("config_file", `Config file ${path} is not valid YAML: ${what}.`);
}

/** Parses the text of a config file; `path` is only for messages. */
export function parseConfigFile(
  text: string,
  path: string,
  lookup: (name: string) => string | undefined,
): VigilConfigFile {
  // merge: the YAML 1.1 `<<` key, so that entries can share their settings through an anchor (x- keys).
  // parseDocument, not parse: parse prints each warning (an unknown tag, a directive) with the file's line quoted,
  // which may hold a secret written into it. A warning refuses the file like an error: the value it is about would
  // be read as something other than meant.
  const parsed = parseDocument(text, { merge: true });
  const problem = parsed.errors[0] ?? parsed.warnings[0];
  if (problem !== undefined) throw notValidYaml(path, problem.message);
  let doc: unknown;
  try {
    doc = parsed.toJS() ?? {};
  } catch (err) {
    throw notValidYaml(path, (err as Error).message); // an alias that cannot be resolved, say
  }
  const file = FileSchema.safeParse(doc);
  if (!file.success) {
    const issue = file.error.issues[0];
    throw new ConfigurationError(
      "config_file",
      `Config file ${path}: ${issue?.path.join(".") || "(top level)"}: ${issue?.message ?? "invalid"} (expected a mapping with a destinations: list).`,
    );
  }
  const unknown = Object.keys(file.data).find((k) => k !== "destinations" && !EXTENSION_KEY.test(k));
  if (unknown !== undefined) {
    throw new ConfigurationError(
      "config_file",
      `Config file ${path}: unknown key ${JSON.stringify(unknown)} (the file holds destinations:, and keys beginning with x- for YAML anchors).`,
    );
  }
  const seen = new Set<string>();
  const destinations = (file.data.destinations ?? []).map((raw, i): ConfigDestination => {
    const label =
      typeof raw.name === "string" && raw.name !== "" ? `destinations[${i}] (${raw.name})` : `destinations[${i}]`;
    const where = () => `Config file ${path}, ${label}`;
    const entry = EntrySchema.safeParse(raw);
    if (!entry.success) {
      const issue = entry.error.issues[0];
      throw new ConfigurationError(
        "config_file",
        `${where()}: ${issue?.path.join(".") || "(entry)"}: ${issue?.message ?? "invalid"}.`,
      );
    }
    const { name, type, min_severity, log_types, ...options } = entry.data;
    if (seen.has(name)) throw new ConfigurationError("config_file", `${where()}: the name ${name} is used twice.`);
    seen.add(name);
    return {
      name,
      type,
      minSeverity: (min_severity ?? defaultMinSeverity(type)).toUpperCase(),
      logTypes: log_types ?? [],
      options: resolveRefs(options, lookup, where) as Record<string, unknown>,
    };
  });
  return { path, destinations };
}

/** Reads the config file, if there is one (see configFilePath). */
export function loadConfigFile(env: {
  configPath: string | undefined;
  dataDir: string;
  lookup: (name: string) => string | undefined;
}): VigilConfigFile | null {
  const path = configFilePath(env);
  if (path === null) return null;
  return parseConfigFile(readFileSync(path, "utf8"), path, env.lookup);
}
