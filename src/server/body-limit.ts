// Request body limits, so that no request (not even one before login) can make the server buffer an
// unbounded body: hono's bodyLimit checks Content-Length up front and, when there is none (chunked
// transfer), counts bytes as it reads and stops at the limit. It then hands the route the bytes it read,
// so readBody (context.ts) reads that bounded copy and never the socket.

import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./context.ts";
import { errorBody } from "./errors.ts";

/** POST /api/login: a username and a password (at most 1024 characters) fit many times over. */
export const LOGIN_BODY_LIMIT_BYTES = 16 * 1024;
/** Every other route: the largest JSON the API takes (a destination config, a rule test) is far smaller. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

function describeBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}

export function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      c.json(
        errorBody(
          "payload_too_large",
          `The request body is larger than the ${describeBytes(maxBytes)} this route accepts.`,
        ),
        413,
      ),
  });
}
