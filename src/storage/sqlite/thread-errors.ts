// Errors crossing between the event loop and the writer thread (writer-thread.ts). Structured clone keeps an
// Error's message but not its class or fields, and the server maps errors by class (NotFoundError → 404,
// UsageError → 400) and code; so an error is sent as its name and fields and rebuilt with its class.

import { ConfigurationError, NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import { SourceSettingError } from "../../core/source.ts";

export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** The error's own fields (code, retryable, field, ...) that structured clone can carry. */
  fields: Record<string, unknown>;
  cause?: WireError;
}

/** The classes a store throws, by name. Any other error comes back as a VigilError if it has a code, else Error. */
const CLASSES: Record<string, { prototype: Error }> = {
  VigilError,
  ConfigurationError,
  UsageError,
  NotFoundError,
  SourceSettingError,
};

export function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(err)) {
    if (key === "cause") continue;
    try {
      fields[key] = structuredClone(value);
    } catch {
      fields[key] = String(value);
    }
  }
  return {
    name: err.name,
    message: err.message,
    ...(err.stack !== undefined ? { stack: err.stack } : {}),
    fields,
    ...(err.cause !== undefined ? { cause: toWire(err.cause) } : {}),
  };
}

export function fromWire(wire: WireError): Error {
  const cls = CLASSES[wire.name] ?? (typeof wire.fields.code === "string" ? VigilError : Error);
  const err = Object.create(cls.prototype) as Error;
  const define = (key: string, value: unknown) =>
    Object.defineProperty(err, key, { value, writable: true, configurable: true, enumerable: false });
  define("message", wire.message);
  define("name", wire.name);
  if (wire.stack !== undefined) define("stack", wire.stack);
  if (wire.cause !== undefined) define("cause", fromWire(wire.cause));
  Object.assign(err, wire.fields);
  return err;
}
