// Saved searches: list, save, delete. Shared by the team (an analyst hands a view over by its name), so any
// console user may save or delete one; each records who saved it. The query is the search page's URL query
// string, kept as the console wrote it.

import { Hono } from "hono";
import { z } from "zod";
import { type AppEnv, readBody, type ServerContext } from "../context.ts";
import { requestActor } from "../request-actor.ts";

const CreateSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    query: z.string().max(4000),
  })
  .strict();

export function savedSearchRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const store = ctx.runtime.store;

  app.get("/saved-searches", async (c) => c.json({ savedSearches: await store.listSavedSearches() }));

  app.post("/saved-searches", async (c) => {
    const body = await readBody(c, CreateSchema);
    const savedSearch = await store.createSavedSearch({ ...body, createdBy: requestActor(c) });
    return c.json({ savedSearch }, 201);
  });

  app.delete("/saved-searches/:id", async (c) => {
    await store.deleteSavedSearch(c.req.param("id"));
    return c.json({ deleted: true });
  });

  return app;
}
