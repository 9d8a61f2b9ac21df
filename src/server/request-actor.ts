// Who made a change, as the audit columns record it: `user:<name>` for a console session, `token:<name>` for
// an API token.

import type { Context } from "hono";
import type { AppEnv } from "./context.ts";

export function requestActor(c: Context<AppEnv>): string {
  const auth = c.get("auth");
  return auth.kind === "session" ? `user:${auth.user?.username ?? "unknown"}` : `token:${auth.tokenName ?? "unknown"}`;
}
