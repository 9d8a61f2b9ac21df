// Operational errors: each has a stable `code`, says whether retrying can help, and keeps its cause.
// Messages are one clear sentence that a user can act on; secrets never appear in them (see redact.ts).

import { redactSecrets } from "./redact.ts";

export class VigilError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  /** How long the remote side asked to be left alone before the next try (a 429's Retry-After), if it did. */
  readonly retryAfterMs: number | null;

  constructor(
    code: string,
    message: string,
    options: { retryable?: boolean; cause?: unknown; retryAfterMs?: number | null } = {},
  ) {
    super(redactSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}

/** How long the remote side asked to be left alone (VigilError.retryAfterMs), or null: no error of ours, or no ask. */
export function retryAfterMsOf(err: unknown): number | null {
  return err instanceof VigilError ? err.retryAfterMs : null;
}

/** Something the operator must fix (wrong key, missing scope, bad config). Never retried. */
export class ConfigurationError extends VigilError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, retryable: false });
  }
}

/** Input that is not valid (a bad flag, a bad date). */
export class UsageError extends VigilError {
  constructor(message: string) {
    super("usage", message);
  }
}

export class NotFoundError extends VigilError {
  constructor(message: string) {
    super("not_found", message);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return redactSecrets(err.message);
  return redactSecrets(String(err));
}
