// Destinations: list, create, remove, send a test notification. The type-specific config (URLs, tokens,
// passwords) is validated, stored encrypted, and never returned.

import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { z } from "zod";
import type { DestinationRecord } from "../../core/destination.ts";
import { SEVERITIES } from "../../core/detection.ts";
import { ConfigurationError, NotFoundError, UsageError } from "../../core/errors.ts";
import { redactSecrets } from "../../core/redact.ts";
import {
  applyDestinationChange,
  assertDestinationEndpoint,
  DEFAULT_MIN_SEVERITY,
  DESTINATION_TYPES,
  defaultMinSeverity,
  parseDestinationConfig,
  sampleNotification,
} from "../../destinations/index.ts";
import { assertNotConfigManaged } from "../../pipeline/config-destinations.ts";
import { destinationBuilder, loadDestination } from "../../pipeline/delivery-worker.ts";
import { type AppEnv, readBody, requireAdmin, type ServerContext } from "../context.ts";

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

function slug(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 64);
  return s === "" ? "destination" : s;
}

function view(d: DestinationRecord) {
  return {
    id: d.id,
    name: d.name,
    type: d.type,
    minSeverity: d.minSeverity,
    logTypes: d.logTypes,
    managedBy: d.managedBy,
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

  app.get("/destinations", async (c) =>
    // The defaults too, so the console's form shows what the API applies when no severity is given.
    c.json({ destinations: (await store.listDestinations()).map(view), defaultMinSeverity: DEFAULT_MIN_SEVERITY }),
  );

  app.post("/destinations", requireAdmin, async (c) => {
    const body = await readBody(c, CreateSchema);
    const minSeverity = body.minSeverity ?? defaultMinSeverity(body.type);
    const logTypes = body.logTypes ?? [];
    const parsed = parseDestinationConfig(
      {
        ...(body.config ?? {}),
        id: slug(body.name),
        name: body.name,
        type: body.type,
        min_severity: minSeverity,
        log_types: logTypes,
      },
      runtime.env,
    );
    if (!parsed.ok) {
      const issue = parsed.issues[0];
      throw new UsageError(`Invalid destination config: ${issue?.path || "(root)"}: ${issue?.message}.`);
    }
    assertDestinationEndpoint(parsed.config, runtime.env.outbound, body.name);
    const created = await store.createDestination({
      name: body.name,
      type: body.type,
      minSeverity,
      logTypes,
      config: runtime.secrets.encrypt(JSON.stringify(parsed.config)),
    });
    return c.json({ destination: view(created) }, 201);
  });

  // Secrets are write-only: the stored config is decrypted here, the given fields are laid over it, and the
  // whole is validated again, so a PATCH can change one field without resending the others.
  app.patch("/destinations/:id", requireAdmin, async (c) => {
    const d = await requireDestination(c.req.param("id"));
    assertNotConfigManaged(d, "change");
    const body = await readBody(c, UpdateSchema);
    const stored = await store.getDestinationConfig(d.id);
    const previous = stored ? (JSON.parse(runtime.secrets.decrypt(stored)) as Record<string, unknown>) : {};
    const minSeverity = body.minSeverity ?? d.minSeverity;
    const logTypes = body.logTypes ?? d.logTypes;
    // Pointing the destination elsewhere does not carry the stored secrets over (destinations/endpoints.ts).
    const change = applyDestinationChange(d.type, previous, body.config ?? {});
    if (change.missing.length > 0) {
      throw new ConfigurationError(
        "secret_required",
        `Changing where ${d.name} sends needs ${change.missing.join(" and ")} again: a stored secret is only sent to the endpoint it was entered for.`,
      );
    }
    const parsed = parseDestinationConfig(
      {
        ...change.config,
        id: typeof previous.id === "string" ? previous.id : slug(d.name),
        name: d.name,
        type: d.type,
        min_severity: minSeverity,
        log_types: logTypes,
      },
      runtime.env,
    );
    if (!parsed.ok) {
      const issue = parsed.issues[0];
      throw new UsageError(`Invalid destination config: ${issue?.path || "(root)"}: ${issue?.message}.`);
    }
    assertDestinationEndpoint(parsed.config, runtime.env.outbound, d.name);
    const updated = await store.updateDestination(d.id, {
      minSeverity,
      logTypes,
      config: runtime.secrets.encrypt(JSON.stringify(parsed.config)),
    });
    return c.json({ destination: view(updated) });
  });

  app.delete("/destinations/:id", requireAdmin, async (c) => {
    const d = await requireDestination(c.req.param("id"));
    assertNotConfigManaged(d, "remove");
    await store.removeDestination(d.id);
    return c.json({ ok: true });
  });

  app.post("/destinations/:id/test", requireAdmin, async (c) => {
    const d = await requireDestination(c.req.param("id"));
    // Built as the delivery worker builds it, under the same outbound policy and export directory.
    const destination = await loadDestination(
      store,
      runtime.secrets,
      d,
      runtime.env.outbound,
      destinationBuilder(runtime.env),
    );
    const started = performance.now();
    const result = await destination.send(sampleNotification({ nowMs: ctx.nowMs() }), `test-${randomUUID()}`);
    const durationMs = Math.round(performance.now() - started);
    return c.json(
      result.ok
        ? { ok: true, status: result.status ?? null, durationMs }
        : { ok: false, status: result.status ?? null, message: redactSecrets(result.error), durationMs },
    );
  });

  return app;
}
