// Destinations: list, create, change, remove, list and resend dead letters, send a test notification; the rules are in
// usecases/destinations.ts. The type-specific config (URLs, tokens, passwords) is stored encrypted and never returned.

import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { z } from "zod";
import type { DestinationRecord } from "../../core/destination.ts";
import { SEVERITIES } from "../../core/detection.ts";
import { NotFoundError } from "../../core/errors.ts";
import { redactSecrets } from "../../core/redact.ts";
import { DEFAULT_MIN_SEVERITY, DESTINATION_TYPES } from "../../destinations/index.ts";
import {
  addDestination,
  DEAD_LETTER_LIMIT,
  listDeadLetters,
  removeDestination,
  retryDeadLetters,
  testDestination,
  updateDestination,
} from "../../usecases/destinations.ts";
import { type AppEnv, intParam, readBody, requireAdmin, type ServerContext } from "../context.ts";

const CreateSchema = z.object({
  name: z.string().trim().min(1).max(200),
  type: z.enum(DESTINATION_TYPES),
  minSeverity: z.enum(SEVERITIES).optional(),
  logTypes: z.array(z.string().min(1)).optional(),
  /** The type-specific fields (snake_case, as in the destination config files). */
  config: z.record(z.string(), z.unknown()).optional(),
});

const UpdateSchema = z.object({
  minSeverity: z.enum(SEVERITIES).optional(),
  logTypes: z.array(z.string().min(1)).optional(),
  /** Fields to change; the others keep their stored values (secrets included). */
  config: z.record(z.string(), z.unknown()).optional(),
});

/**
 * A destination as the API shows it, with its delivery health (errors are stored redacted) and the dead letters
 * that sending again would deliver.
 */
function view(d: DestinationRecord, deadLetters: number) {
  return {
    id: d.id,
    name: d.name,
    type: d.type,
    minSeverity: d.minSeverity,
    logTypes: d.logTypes,
    managedBy: d.managedBy,
    // A recovered episode (a success after a give-up) ends as soon as its alert is raised: it is not shown.
    failing:
      d.failing && !d.failing.recovered
        ? { sinceMs: d.failing.sinceMs, error: d.failing.error, givenUp: d.failing.dead }
        : null,
    deadLetters,
    lastDeliveredAtMs: d.lastDeliveredAtMs,
    createdAtMs: d.createdAtMs,
    updatedAtMs: d.updatedAtMs,
  };
}

export function destinationRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { runtime } = ctx;
  const store = runtime.store;

  async function requireDestination(id: string): Promise<DestinationRecord> {
    const d = await store.getDestination(id);
    if (!d) throw new NotFoundError(`There is no destination ${JSON.stringify(id)}.`);
    return d;
  }

  app.get("/destinations", async (c) => {
    const dead = await store.countDeadDeliveries();
    // The defaults too, so the console's form shows what the API applies when no severity is given.
    return c.json({
      destinations: (await store.listDestinations()).map((d) => view(d, dead.get(d.id) ?? 0)),
      defaultMinSeverity: DEFAULT_MIN_SEVERITY,
    });
  });

  app.post("/destinations", requireAdmin, async (c) => {
    const body = await readBody(c, CreateSchema);
    const created = await addDestination(runtime, { ...body, config: body.config ?? {} });
    return c.json({ destination: view(created, 0) }, 201);
  });

  // Secrets are write-only: a PATCH changes the fields it gives and keeps the others (usecases/destinations.ts).
  app.patch("/destinations/:id", requireAdmin, async (c) => {
    const d = await requireDestination(c.req.param("id"));
    const updated = await updateDestination(runtime, d, await readBody(c, UpdateSchema));
    return c.json({ destination: view(updated, (await store.countDeadDeliveries()).get(updated.id) ?? 0) });
  });

  app.delete("/destinations/:id", requireAdmin, async (c) => {
    await removeDestination(runtime, await requireDestination(c.req.param("id")));
    return c.json({ ok: true });
  });

  // Dead letters are sent again with a new retry window (a receiver that was down for more than a day).
  app.post("/destinations/:id/retry", requireAdmin, async (c) => {
    const d = await requireDestination(c.req.param("id"));
    return c.json({ requeued: await retryDeadLetters(runtime, d) });
  });

  // Each dead letter says whether the retry above would send it again.
  app.get("/destinations/:id/dead-letters", async (c) => {
    const d = await requireDestination(c.req.param("id"));
    const limit = intParam(c, "limit", { min: 1, max: DEAD_LETTER_LIMIT.max }) ?? DEAD_LETTER_LIMIT.default;
    return c.json({ deadLetters: await listDeadLetters(runtime, d, limit) });
  });

  app.post("/destinations/:id/test", requireAdmin, async (c) => {
    const d = await requireDestination(c.req.param("id"));
    const result = await testDestination(runtime, d, { deliveryId: `test-${randomUUID()}` });
    return c.json(
      result.ok
        ? { ok: true, status: result.status ?? null, durationMs: result.durationMs }
        : {
            ok: false,
            status: result.status ?? null,
            message: redactSecrets(result.error),
            durationMs: result.durationMs,
          },
    );
  });

  return app;
}
