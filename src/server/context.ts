// What every route receives: the runtime, the server's options, and small helpers shared by the routes
// (body parsing, query parsing, error mapping).

import type { Context, MiddlewareHandler } from "hono";
import type { z } from "zod";
import type { UserRecord } from "../core/access.ts";
import { UsageError } from "../core/errors.ts";
import { loadRules, type RuleSet } from "../detections/engine/load.ts";
import { BUILTIN_PACKS_DIR } from "../detections/packs.ts";
import type { Runtime } from "../pipeline/runtime.ts";
import { errorBody } from "./errors.ts";
import { DEFAULT_LOGIN_THROTTLE, type LoginThrottlePolicy } from "./login-throttle.ts";

export interface AuthInfo {
  kind: "session" | "token";
  user: UserRecord | null;
  tokenName: string | null;
  /** Session only. */
  csrf: string | null;
  sessionHash: string | null;
}

export type AppEnv = { Variables: { auth: AuthInfo } };

export interface ServerOptions {
  /** The built console (index.html and assets); null: none. Default console/dist of the repository. */
  consoleDir?: string | null;
  /** Mark the session cookie Secure even when the request URL is http (TLS terminated in front). */
  secureCookies?: boolean;
  /** Session lifetime; default 12 hours. */
  sessionTtlMs?: number;
  /** Rule packs to list and test; default the built-in packs (user rules come from runtime.env.rulesDirs). */
  rulePacks?: string[];
  /** Backoff for failed logins (./login-throttle.ts); default DEFAULT_LOGIN_THROTTLE. */
  loginThrottle?: LoginThrottlePolicy;
}

export interface ServerContext {
  runtime: Runtime;
  options: ServerOptions;
  loginThrottle: LoginThrottlePolicy;
  /** The rule set (loaded once). */
  rules(): Promise<RuleSet>;
  nowMs(): number;
}

export function makeContext(runtime: Runtime, options: ServerOptions): ServerContext {
  let rules: Promise<RuleSet> | undefined;
  return {
    runtime,
    options,
    loginThrottle: options.loginThrottle ?? DEFAULT_LOGIN_THROTTLE,
    rules: () => {
      rules ??= loadRules({
        packs: options.rulePacks ?? [BUILTIN_PACKS_DIR],
        dirs: runtime.env.rulesDirs,
        // As the workers load them: the files that cannot load are listed (GET /api/rules), the rest shown.
        tolerant: true,
      });
      // A load that fails (a rules directory that is not there) is not cached: fixing it and retrying works
      // without a restart. Files that do not load are listed as problems, until a restart, as the workers see them.
      rules.catch(() => {
        rules = undefined;
      });
      return rules;
    },
    nowMs: () => runtime.clock.nowMs(),
  };
}

/** The JSON body, validated; a bad body is a usage error naming the first problem. */
export async function readBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  let body: unknown;
  try {
    const text = await c.req.text();
    body = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new UsageError("The request body must be JSON.");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map(String).join(".") || "body";
    // A field the body lacks is named as missing, not as "expected string, received undefined".
    if (issue?.code === "invalid_type" && issue.path.length > 0 && valueAt(body, issue.path) === undefined) {
      throw new UsageError(`Missing ${field}.`);
    }
    throw new UsageError(`Invalid ${field}: ${issue?.message ?? "not valid"}.`);
  }
  return parsed.data;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const key of path) {
    if (at === null || typeof at !== "object" || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/** An optional integer query parameter within bounds. */
export function intParam(c: Context, name: string, bounds: { min: number; max: number }): number | undefined {
  const value = c.req.query(name);
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < bounds.min || n > bounds.max) {
    throw new UsageError(`The ${name} parameter must be a whole number from ${bounds.min} to ${bounds.max}.`);
  }
  return n;
}

export function strParam(c: Context, name: string): string | undefined {
  const value = c.req.query(name);
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/**
 * Settings and secrets (sources, destinations, rule settings) are for admins; analysts read and triage.
 * API tokens are made on the host (`vigil tokens create`) by whoever runs Vigil, so they act as admins.
 */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const auth = c.get("auth");
  if (auth.kind === "token" || auth.user?.role === "admin") return next();
  return c.json(
    errorBody("forbidden", "This needs the admin role: analysts can read and triage, not change settings."),
    403,
  );
};
