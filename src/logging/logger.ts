// Logs go through pino to stderr, as sentences. Every string argument and every field passes through
// the secret redactor, so an admin key that leaks into an error message never reaches a log line.
//
// Two formats: `pretty` (the default, also when stderr is not a terminal: one short line per entry,
// `14:02:07 INFO: Polled X: 3 new events.`, coloured only on a terminal; the messages are whole sentences,
// so the structured fields are left out) and `json` (VIGIL_LOG_FORMAT=json: one pino JSON object per
// line, with every field, for log shippers).

import pino, { type Logger } from "pino";
import pretty from "pino-pretty";
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

export type LogFormat = "pretty" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["pretty", "json"];

/** The message of an entry; an entry logged with only an error shows the error's message. */
function prettyMessage(log: Record<string, unknown>, messageKey: string): string {
  const msg = log[messageKey];
  if (typeof msg === "string" && msg !== "") return msg;
  const err = log.err as { message?: unknown } | undefined;
  return typeof err?.message === "string" ? err.message : "";
}

function prettyStream(destination: pino.DestinationStream | undefined): pino.DestinationStream {
  return pretty({
    // Synchronous, so log lines and the CLI's own stderr lines come out in the order they were written.
    sync: true,
    destination: destination ?? 2,
    colorize: destination === undefined && process.stderr.isTTY === true,
    translateTime: "SYS:HH:MM:ss",
    hideObject: true,
    messageFormat: prettyMessage,
  });
}

export function createLogger(
  options: { level?: string; format?: LogFormat; destination?: pino.DestinationStream } = {},
): Logger {
  const level = options.level ?? "info";
  const destination =
    (options.format ?? "pretty") === "pretty" && level !== "silent"
      ? prettyStream(options.destination)
      : (options.destination ?? pino.destination(2));
  return pino(
    {
      level,
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
    destination,
  );
}

/** A logger that drops everything; for tests and library use. */
export const silentLogger: Logger = pino({ level: "silent" });
