// The one place that reads process.env. Everything else receives these values.

import type { BlockList } from "node:net";
import { homedir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { z } from "zod";
import { DEFAULT_ALERT_LIMIT_PER_HOUR } from "../alerts/limiter.ts";
import { parseTrustedProxies } from "../core/client-address.ts";
import type { OutboundPolicy } from "../core/outbound.ts";

const EnvSchema = z.object({
  VIGIL_DATA_DIR: z.string().min(1).optional(),
  VIGIL_SECRET_KEY: z.string().min(1).optional(),
  VIGIL_LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).optional(),
  VIGIL_LOG_FORMAT: z.enum(["pretty", "json"]).optional(),
  OPENAI_ADMIN_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.string().url().optional(),
  VIGIL_DEBUG: z.string().optional(),
  VIGIL_RULES_DIRS: z.string().optional(),
  VIGIL_HOST: z.string().min(1).optional(),
  VIGIL_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  VIGIL_PUBLIC_URL: z.string().url().optional(),
  VIGIL_CONFIG: z.string().min(1).optional(),
  VIGIL_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "use a PostgreSQL URL, postgresql://user:password@host:5432/database")
    .refine(
      readsAsOneUrl,
      "it does not read as one URL (host, port, database); percent-encode any @ : / # ? % in the user name or password (# as %23, @ as %40)",
    )
    .optional(),
  VIGIL_DATABASE_SCHEMA: z.string().min(1).optional(),
  VIGIL_ALLOWED_HOSTS: z.string().optional(),
  VIGIL_ALERT_LIMIT_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).optional(),
  VIGIL_ALLOW_PLAIN_HTTP: z.enum(["0", "1", "true", "false"]).optional(),
  VIGIL_EXPORT_DIR: z.string().min(1).optional(),
  VIGIL_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(36_500).optional(),
  VIGIL_TOKEN_MAX_TTL_DAYS: z.coerce.number().int().min(1).max(36_500).optional(),
  VIGIL_WORKER_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, "use letters, digits and . _ : - (at most 128)")
    .optional(),
  VIGIL_LEASE_TTL_SECS: z.coerce.number().int().min(2).max(3600).optional(),
  VIGIL_TRUSTED_PROXIES: z.string().optional(),
});

/**
 * Whether a database URL parses as the driver reads it (pg-connection-string: a URL, or one with no host, whose
 * socket directory comes in `?host=`), and has no `#`: a `#` in a password ends the URL's authority there, and
 * the rest of the password would be taken for a host and named in a connection error. Never echoes the URL.
 */
function readsAsOneUrl(value: string): boolean {
  if (value.includes("#")) return false;
  for (const candidate of [value, value.replace("@/", "@localhost/")]) {
    try {
      new URL(candidate);
      return true;
    } catch {
      // not this way
    }
  }
  return false;
}

export interface VigilEnv {
  /** Where the database, the secret key file and logs live. */
  dataDir: string;
  secretKey: string | undefined;
  logLevel: string;
  /** VIGIL_LOG_FORMAT: `pretty` (default, short human lines) or `json` (one JSON object per line). */
  logFormat: "pretty" | "json";
  openaiAdminKey: string | undefined;
  openaiBaseUrl: string | undefined;
  /** Directories of user rules (TypeScript/JavaScript modules and Panther .yml+.py pairs), beside the built-in packs. */
  rulesDirs: string[];
  /** Base URL of the Vigil console, for links in alert notifications. */
  publicUrl: string;
  /** Print stack traces of failed commands. */
  debug: boolean;
  /** Where `vigil start` serves the HTTP API and console (VIGIL_HOST, default 127.0.0.1). */
  httpHost: string;
  /** VIGIL_PORT, default 8080; 0 picks a free port. */
  httpPort: number;
  /** VIGIL_CONFIG: the YAML config file (destinations); unset means `<dataDir>/vigil.yml` when it exists. */
  configPath: string | undefined;
  /** VIGIL_DATABASE_URL: store in this PostgreSQL database instead of `<dataDir>/vigil.db` (SQLite). */
  databaseUrl: string | undefined;
  /** VIGIL_DATABASE_SCHEMA: the PostgreSQL schema for Vigil's tables; unset means the server's search_path. */
  databaseSchema: string | undefined;
  /** Alerts one rule may raise per source and hour before further matches fold into a noisy alert. */
  alertLimitPerHour: number;
  /** Where stored secrets may be sent (VIGIL_ALLOWED_HOSTS, VIGIL_ALLOW_PLAIN_HTTP); see core/outbound.ts. */
  outbound: OutboundPolicy;
  /**
   * VIGIL_EXPORT_DIR: the only directory file destinations may write under (default `<dataDir>/exports`).
   * Set by the operator only: the API and the config file choose paths inside it, never the directory.
   */
  exportDir: string;
  /** VIGIL_TOKEN_TTL_DAYS: lifetime of a new API token when its creator names none (default 90). */
  tokenTtlDays: number;
  /** VIGIL_TOKEN_MAX_TTL_DAYS: the longest lifetime an API token may be given (default 365). */
  tokenMaxTtlDays: number;
  /**
   * VIGIL_WORKER_ID: this process's name in a fleet (several workers on one PostgreSQL database); unset means
   * host-pid-random. Must be unique among the running workers.
   */
  workerId: string | undefined;
  /**
   * VIGIL_LEASE_TTL_SECS (default 20): how long a fleet worker's leases last without a heartbeat, so how soon
   * another worker takes over the sources of one that died (after about 1⅓ × this: docs/deploy.md).
   */
  leaseTtlSecs: number;
  /**
   * VIGIL_TRUSTED_PROXIES: the reverse proxies in front of Vigil (addresses or CIDR ranges); a login through one
   * of them is counted by the client address it forwards (core/client-address.ts). null: none.
   */
  trustedProxies: BlockList | null;
  /** Any variable by name (for `--api-key-env VAR`). */
  lookup(name: string): string | undefined;
}

export const DEFAULT_DATA_DIR = join(homedir(), ".vigil");

/** The SQLite database of a data directory (where no VIGIL_DATABASE_URL names PostgreSQL). */
export function sqliteDatabasePath(env: Pick<VigilEnv, "dataDir">): string {
  return join(env.dataDir, "vigil.db");
}
export const DEFAULT_PUBLIC_URL = "http://localhost:8080";
export const DEFAULT_TOKEN_TTL_DAYS = 90;
export const DEFAULT_TOKEN_MAX_TTL_DAYS = 365;
export const DEFAULT_LEASE_TTL_SECS = 20;

export function readEnv(source: NodeJS.ProcessEnv = process.env): VigilEnv {
  const parsed = EnvSchema.safeParse(
    Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== "")),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Environment variable ${String(issue?.path[0])} is invalid: ${issue?.message}.`);
  }
  const env = parsed.data;
  const dataDir = resolve(env.VIGIL_DATA_DIR ?? DEFAULT_DATA_DIR);
  const tokenMaxTtlDays = env.VIGIL_TOKEN_MAX_TTL_DAYS ?? DEFAULT_TOKEN_MAX_TTL_DAYS;
  const tokenTtlDays = env.VIGIL_TOKEN_TTL_DAYS ?? Math.min(DEFAULT_TOKEN_TTL_DAYS, tokenMaxTtlDays);
  if (tokenTtlDays > tokenMaxTtlDays) {
    throw new Error(
      `Environment variable VIGIL_TOKEN_TTL_DAYS is invalid: ${tokenTtlDays} days is longer than VIGIL_TOKEN_MAX_TTL_DAYS (${tokenMaxTtlDays}).`,
    );
  }
  let trustedProxies: BlockList | null;
  try {
    trustedProxies = parseTrustedProxies(env.VIGIL_TRUSTED_PROXIES ?? "");
  } catch (err) {
    throw new Error(`Environment variable VIGIL_TRUSTED_PROXIES is invalid: ${(err as Error).message}`);
  }
  return {
    dataDir,
    secretKey: env.VIGIL_SECRET_KEY,
    logLevel: env.VIGIL_LOG_LEVEL ?? "info",
    logFormat: env.VIGIL_LOG_FORMAT ?? "pretty",
    openaiAdminKey: env.OPENAI_ADMIN_KEY,
    openaiBaseUrl: env.OPENAI_BASE_URL,
    rulesDirs: (env.VIGIL_RULES_DIRS ?? "")
      .split(delimiter)
      .filter((d) => d.trim() !== "")
      .map((d) => resolve(d)),
    publicUrl: (env.VIGIL_PUBLIC_URL ?? DEFAULT_PUBLIC_URL).replace(/\/+$/, ""),
    debug: env.VIGIL_DEBUG !== undefined && env.VIGIL_DEBUG !== "0",
    httpHost: env.VIGIL_HOST ?? "127.0.0.1",
    httpPort: env.VIGIL_PORT ?? 8080,
    configPath: env.VIGIL_CONFIG === undefined ? undefined : resolve(env.VIGIL_CONFIG),
    databaseUrl: env.VIGIL_DATABASE_URL,
    databaseSchema: env.VIGIL_DATABASE_SCHEMA,
    alertLimitPerHour: env.VIGIL_ALERT_LIMIT_PER_HOUR ?? DEFAULT_ALERT_LIMIT_PER_HOUR,
    outbound: {
      allowedHosts: (env.VIGIL_ALLOWED_HOSTS ?? "")
        .split(",")
        .map((h) => h.trim())
        .filter((h) => h !== ""),
      allowPlainHttp: env.VIGIL_ALLOW_PLAIN_HTTP === "1" || env.VIGIL_ALLOW_PLAIN_HTTP === "true",
    },
    exportDir: resolve(env.VIGIL_EXPORT_DIR ?? join(dataDir, "exports")),
    tokenTtlDays,
    tokenMaxTtlDays,
    workerId: env.VIGIL_WORKER_ID,
    leaseTtlSecs: env.VIGIL_LEASE_TTL_SECS ?? DEFAULT_LEASE_TTL_SECS,
    trustedProxies,
    lookup: (name) => {
      const v = source[name];
      return v === undefined || v === "" ? undefined : v;
    },
  };
}
