// Suppressions: list, create ("suppress matches like this", from an alert), remove. Admins and analysts
// alike: muting a known-benign pattern is triage, and every suppression says who made and removed it, why,
// and how many matches it absorbed.

import { Hono } from "hono";
import { z } from "zod";
import { UsageError } from "../../core/errors.ts";
import { SUPPRESSION_FIELDS, SUPPRESSION_MAX_MS } from "../../core/suppression.ts";
import { requireRuleToSuppress } from "../../detections/engine/load.ts";
import { type AppEnv, readBody, type ServerContext, strParam } from "../context.ts";
import { requestActor } from "../request-actor.ts";

const CreateSchema = z
  .object({
    ruleId: z.string().min(1).max(500),
    conditions: z.partialRecord(z.enum(SUPPRESSION_FIELDS), z.string().min(1).max(1000)),
    reason: z.string().min(1).max(1000),
    /** Seconds from now; null or absent (with no expiresAtMs): until removed. */
    expiresInSecs: z
      .number()
      .int()
      .min(60)
      .max(SUPPRESSION_MAX_MS / 1000)
      .nullable()
      .optional(),
    expiresAtMs: z.number().int().positive().nullable().optional(),
  })
  .strict();

export function suppressionRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const store = ctx.runtime.store;

  app.get("/suppressions", async (c) => {
    const all = strParam(c, "all");
    if (all !== undefined && all !== "true" && all !== "false")
      throw new UsageError("The all parameter is true or false.");
    const rule = strParam(c, "rule");
    const suppressions = await store.listSuppressions({
      includeRemoved: all === "true",
      ...(rule !== undefined ? { ruleId: rule } : {}),
    });
    return c.json({ suppressions, nowMs: ctx.nowMs() });
  });

  app.post("/suppressions", async (c) => {
    const body = await readBody(c, CreateSchema);
    requireRuleToSuppress(await ctx.rules(), body.ruleId, "GET /api/rules");
    if (body.expiresInSecs != null && body.expiresAtMs != null) {
      throw new UsageError("Give expiresInSecs or expiresAtMs, not both.");
    }
    const expiresAtMs =
      body.expiresInSecs != null ? ctx.nowMs() + body.expiresInSecs * 1000 : (body.expiresAtMs ?? null);
    const suppression = await store.createSuppression({
      ruleId: body.ruleId,
      conditions: body.conditions,
      reason: body.reason,
      createdBy: requestActor(c),
      expiresAtMs,
    });
    return c.json({ suppression }, 201);
  });

  app.delete("/suppressions/:id", async (c) => {
    const suppression = await store.removeSuppression(c.req.param("id"), requestActor(c), ctx.nowMs());
    return c.json({ suppression });
  });

  return app;
}
