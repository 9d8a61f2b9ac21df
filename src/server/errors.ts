// Errors as the API answers them: `{error: {code, message}}`, one sentence, never a stack trace.

import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConfigurationError, VigilError } from "../core/errors.ts";
import { redactSecrets } from "../core/redact.ts";

export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

export function statusOf(err: VigilError): ContentfulStatusCode {
  switch (err.code) {
    case "not_found":
      return 404;
    case "conflict":
      return 409;
    case "usage":
      return 400;
    case "unauthorized":
      return 401;
    case "forbidden":
      return 403;
    case "rate_limited":
      return 429;
    case "not_implemented":
      return 501;
    default:
      // Something the operator must fix (a wrong key, a bad rule file): the request cannot succeed as is.
      if (err instanceof ConfigurationError) return 400;
      return err.retryable ? 503 : 500;
  }
}

export function onError(log: (err: unknown) => void) {
  return (err: Error, c: Context) => {
    if (err instanceof VigilError) {
      const status = statusOf(err);
      if (status >= 500) log(err);
      return c.json(errorBody(err.code, redactSecrets(err.message)), status);
    }
    log(err);
    return c.json(errorBody("internal", "Vigil could not complete the request; see the server log."), 500);
  };
}

/** A VigilError that maps to an HTTP status of its own (401, 403, 429). */
export class HttpError extends VigilError {}
