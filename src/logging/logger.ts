// Logs go through pino to stderr, as sentences. Every string argument and every field passes through
// the secret redactor, so an admin key that leaks into an error message never reaches a log line.

import pino, { type Logger } from "pino";
import { redactDeep, redactSecrets } from "../core/redact.ts";

export type { Logger };

function redactArg(arg: unknown): unknown {
  if (typeof arg === "string") return redactSecrets(arg);
  if (arg instanceof Error) return { err: { type: arg.name, message: redactSecrets(arg.message) } };
  if (arg && typeof arg === "object") {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(arg)) {
      copy[k] = v instanceof Error ? { type: v.name, message: redactSecrets(v.message) } : redactDeep(v);
    }
    return copy;
  }
  return arg;
}

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: undefined,
      redact: {
        paths: ["apiKey", "*.apiKey", "authorization", "*.authorization", "headers.authorization"],
        censor: "[redacted]",
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map(redactArg) as Parameters<typeof method>);
        },
      },
    },
    options.destination ?? pino.destination(2),
  );
}

/** A logger that drops everything; for tests and library use. */
export const silentLogger: Logger = pino({ level: "silent" });
