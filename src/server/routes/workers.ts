// GET /api/workers: the workers sharing this database (a fleet, docs/deploy.md), what each holds, and whether
// the store can have a fleet at all (SQLite: one process). Read-only, for any signed-in user or API token; the
// view is usecases/workers.ts's, as in `vigil workers` and /metrics.

import { Hono } from "hono";
import { describeFleet } from "../../usecases/workers.ts";
import type { AppEnv, ServerContext } from "../context.ts";

export function workerRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/workers", async (c) => c.json(await describeFleet(ctx.runtime)));
  return app;
}
