// Opens what a command needs (environment, logger, store) and closes it afterwards, whatever happens.

import { readEnv, type VigilEnv } from "../config/env.ts";
import { createLogger } from "../logging/logger.ts";
import { openRuntime, type Runtime } from "../pipeline/runtime.ts";
import { terminalJson } from "./terminal-text.ts";

export async function withRuntime<T>(
  fn: (runtime: Runtime) => Promise<T>,
  options: { logLevel?: string; env?: VigilEnv } = {},
): Promise<T> {
  const env = options.env ?? readEnv();
  // Commands log warnings and worse; `vigil start` logs everything at the configured level.
  const logger = createLogger({
    level: options.logLevel ?? (env.logLevel === "info" ? "warn" : env.logLevel),
    format: env.logFormat,
  });
  const runtime = await openRuntime(env, logger);
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

export function printJsonLine(value: unknown): void {
  process.stdout.write(`${terminalJson(value)}\n`);
}
