// Who did what: every request that acts (POST, PUT, PATCH, DELETE under /api: a change, or an act such as sending
// a destination's test alert) and succeeded is logged at info with its caller, method and path, so an operator can
// tell who made a user an admin, disabled a rule, repointed a source or suppressed an alert, from the log Vigil
// already ships. Bodies are never logged: they carry passwords and keys. A refused request did nothing (its error
// is the caller's answer).

import type { MiddlewareHandler } from "hono";
import type { Logger } from "../logging/logger.ts";
import type { AppEnv } from "./context.ts";
import { requestActor } from "./request-actor.ts";

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

/** After authentication (it reads the caller): logs each successful act. */
export function logChanges(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (READS.has(c.req.method) || c.res.status >= 400 || c.get("auth") === undefined) return;
    logger.info(
      { actor: requestActor(c), method: c.req.method, path: c.req.path, status: c.res.status },
      "Done through the API.",
    );
  };
}
