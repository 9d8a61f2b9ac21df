// Sources: list, create (verify the key first, as `vigil sources add` does), verify a key, update, remove,
// test the stored key, health, quarantine, event statistics. Keys are accepted and never returned.

import { Hono } from "hono";
import { z } from "zod";
import { SOURCE_DEFAULTS, SourceSettingsSchema, sourceDurations } from "../../config/source-defaults.ts";
import { ConfigurationError, NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import { assertOutboundUrl } from "../../core/outbound.ts";
import { readSourceHealth } from "../../pipeline/health.ts";
import { postureHealth } from "../../pipeline/posture.ts";
import {
  clientFor,
  resolveBaseUrl,
  retireDemoSource,
  sealSourceKey,
  sourceClient,
  sourceKeyEndpoint,
} from "../../pipeline/runtime.ts";
import { parseJson } from "../../storage/event-document.ts";
import type { SourceRecord, SourceSettings } from "../../storage/ports.ts";
import { type AppEnv, intParam, readBody, requireAdmin, type ServerContext } from "../context.ts";

const BaseUrl = z.url({ protocol: /^https?$/, error: "use an https:// URL" });

// Strict: a misspelt or unsupported field is an error that names it, not a setting silently dropped.
const CreateSchema = z.strictObject({
  name: z.string(),
  apiKey: z.string().trim().min(1, "an admin API key is required"),
  baseUrl: BaseUrl.nullable().optional(),
  includeTenantEvents: z.boolean().optional(),
  pollIntervalSecs: z.number().optional(),
  backfillDays: z.number().optional(),
  noDataAlertEnabled: z.boolean().optional(),
  noDataAlertSecs: z.number().optional(),
  pollFailureAlertSecs: z.number().optional(),
  postureIntervalSecs: z.number().optional(),
  packs: z.array(z.string().min(1)).optional(),
  verify: z.boolean().optional(),
});

const UpdateSchema = z.strictObject({
  name: z.string().optional(),
  apiKey: z.string().trim().min(1).optional(),
  baseUrl: BaseUrl.nullable().optional(),
  includeTenantEvents: z.boolean().optional(),
  pollIntervalSecs: z.number().optional(),
  backfillDays: z.number().optional(),
  noDataAlertEnabled: z.boolean().optional(),
  noDataAlertSecs: z.number().optional(),
  pollFailureAlertSecs: z.number().optional(),
  postureIntervalSecs: z.number().optional(),
  enabled: z.boolean().optional(),
  verify: z.boolean().optional(),
});

const VerifySchema = z.object({
  apiKey: z.string().trim().min(1, "an admin API key is required"),
  baseUrl: BaseUrl.nullable().optional(),
});

function validSettings(input: unknown): SourceSettings {
  const parsed = SourceSettingsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`Invalid ${String(issue?.path[0] ?? "setting")}: ${issue?.message}.`);
  }
  return parsed.data;
}

/** A failed verification, as the /verify routes report it: what to fix, not an HTTP error. */
function verifyFailure(err: unknown): { ok: false; code: string; message: string } {
  if (err instanceof VigilError) return { ok: false, code: err.code, message: err.message };
  throw err;
}

export function sourceRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { runtime } = ctx;
  const store = runtime.store;

  async function requireSource(id: string): Promise<SourceRecord> {
    const source = await store.getSource(id);
    if (!source) throw new NotFoundError(`There is no source ${JSON.stringify(id)}.`);
    return source;
  }

  async function view(source: SourceRecord) {
    const [status, main, tenant, events, health] = await Promise.all([
      store.getPollStatus(source.id),
      store.getStreamState(source.id, "main"),
      store.getStreamState(source.id, "tenant"),
      store.countEvents({ sourceId: source.id }),
      readSourceHealth(store, source, ctx.nowMs()),
    ]);
    return {
      ...source,
      effectiveBaseUrl: resolveBaseUrl(runtime, source),
      // The one health (pipeline/health.ts), to show as is, and the time settings in readable units.
      health: health.state,
      healthReason: health.reason,
      durations: sourceDurations(source),
      status,
      checkpointSecs: main.checkpointSecs,
      checkpoints: { main: main.checkpointSecs, tenant: tenant.checkpointSecs },
      events,
    };
  }

  async function verifyKey(baseUrl: string, apiKey: string) {
    const result = await clientFor(runtime, baseUrl, apiKey).verify();
    return { ok: true as const, latencyMs: result.latencyMs };
  }

  app.get("/sources", async (c) => {
    const sources = await store.listSources();
    return c.json({ sources: await Promise.all(sources.map(view)) });
  });

  app.post("/sources/verify", requireAdmin, async (c) => {
    const body = await readBody(c, VerifySchema);
    const baseUrl = resolveBaseUrl(runtime, { baseUrl: body.baseUrl ?? null });
    try {
      return c.json(await verifyKey(baseUrl, body.apiKey));
    } catch (err) {
      return c.json(verifyFailure(err));
    }
  });

  app.post("/sources", requireAdmin, async (c) => {
    const body = await readBody(c, CreateSchema);
    const settings = validSettings({
      name: body.name,
      kind: "openai",
      baseUrl: body.baseUrl ?? null,
      pollIntervalSecs: body.pollIntervalSecs ?? SOURCE_DEFAULTS.pollIntervalSecs,
      overlapSecs: SOURCE_DEFAULTS.overlapSecs,
      sweepWindowSecs: SOURCE_DEFAULTS.sweepWindowSecs,
      sweepIntervalSecs: SOURCE_DEFAULTS.sweepIntervalSecs,
      includeTenantEvents: body.includeTenantEvents ?? false,
      backfillDays: body.backfillDays ?? SOURCE_DEFAULTS.backfillDays,
      enabled: true,
      noDataAlertEnabled: body.noDataAlertEnabled ?? SOURCE_DEFAULTS.noDataAlertEnabled,
      noDataAlertSecs: body.noDataAlertSecs ?? SOURCE_DEFAULTS.noDataAlertSecs,
      pollFailureAlertSecs: body.pollFailureAlertSecs ?? SOURCE_DEFAULTS.pollFailureAlertSecs,
      postureIntervalSecs: body.postureIntervalSecs ?? SOURCE_DEFAULTS.postureIntervalSecs,
    });
    if (await store.getSource(settings.name)) {
      throw new VigilError("conflict", `A source named ${JSON.stringify(settings.name)} already exists.`);
    }
    if (body.packs && body.packs.length > 0) {
      const known = new Set((await ctx.rules()).packs.map((p) => p.id));
      const unknown = body.packs.find((p) => !known.has(p));
      if (unknown !== undefined) throw new UsageError(`There is no pack ${JSON.stringify(unknown)}.`);
    }
    // Refused before anything is sent, even with verify: false.
    assertOutboundUrl(resolveBaseUrl(runtime, settings), runtime.env.outbound, "base URL");
    // A key that does not work is reported as what to fix (the verification's own sentence).
    if (body.verify !== false) await verifyKey(resolveBaseUrl(runtime, settings), body.apiKey);
    const source = await store.createSource(settings, sealSourceKey(runtime, settings, body.apiKey));
    for (const pack of body.packs ?? []) {
      await store.setDetectionSetting({ kind: "pack", id: pack, sourceId: source.id, enabled: true });
    }
    // A real source replaces the demo: `notice` says so, for the console to show.
    const notice = await retireDemoSource(runtime);
    return c.json({ source: await view(source), ...(notice ? { notice } : {}) }, 201);
  });

  app.patch("/sources/:id", requireAdmin, async (c) => {
    const source = await requireSource(c.req.param("id"));
    const body = await readBody(c, UpdateSchema);
    const { apiKey, verify, ...changes } = body;
    const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
    const merged = validSettings({ ...source, ...defined });
    if (merged.name !== source.name && (await store.getSource(merged.name))) {
      throw new VigilError("conflict", `A source named ${JSON.stringify(merged.name)} already exists.`);
    }
    // The stored key is sealed to the endpoint it was entered for (runtime.sealSourceKey): pointing the source
    // elsewhere needs the key again, from whoever makes the change, so that it cannot be sent to their host.
    if (sourceKeyEndpoint(runtime, merged) !== sourceKeyEndpoint(runtime, source)) {
      if (apiKey === undefined) {
        throw new ConfigurationError(
          "secret_required",
          "Changing the base URL needs the admin key again (apiKey): a stored key is only sent to the endpoint it was entered for.",
        );
      }
      assertOutboundUrl(resolveBaseUrl(runtime, merged), runtime.env.outbound, "base URL");
    }
    if (apiKey !== undefined && verify !== false) await verifyKey(resolveBaseUrl(runtime, merged), apiKey);
    const updated = await store.updateSource(
      source.id,
      defined as Partial<SourceSettings>,
      apiKey === undefined ? undefined : sealSourceKey(runtime, merged, apiKey),
    );
    return c.json({ source: await view(updated) });
  });

  app.delete("/sources/:id", requireAdmin, async (c) => {
    const source = await requireSource(c.req.param("id"));
    await store.removeSource(source.id);
    return c.json({ ok: true });
  });

  app.post("/sources/:id/test", requireAdmin, async (c) => {
    const source = await requireSource(c.req.param("id"));
    try {
      const result = await (await sourceClient(runtime, source)).verify();
      return c.json({ ok: true, latencyMs: result.latencyMs });
    } catch (err) {
      return c.json(verifyFailure(err));
    }
  });

  app.get("/sources/:id/health", async (c) => {
    const source = await requireSource(c.req.param("id"));
    const [health, status, main, tenant, counts, unknown, jobs, posture] = await Promise.all([
      readSourceHealth(store, source, ctx.nowMs()),
      store.getPollStatus(source.id),
      store.getStreamState(source.id, "main"),
      store.getStreamState(source.id, "tenant"),
      store.sourceCounts(),
      store.listUnknownTypes(source.id),
      store.listBackfillJobs({ sourceId: source.id, pendingOnly: true }),
      postureHealth(store, source),
    ]);
    const mine = counts.find((s) => s.sourceId === source.id);
    return c.json({
      sourceId: source.id,
      name: source.name,
      enabled: source.enabled,
      health: health.state,
      healthReason: health.reason,
      status,
      lastError: status.lastError,
      lastErrorCode: status.lastErrorCode,
      checkpoints: { main: main, tenant: tenant },
      events: mine?.events ?? 0,
      quarantined: mine?.quarantined ?? 0,
      ruleErrors: mine?.ruleErrors ?? 0,
      newEventTypes: unknown.map((u) => ({ type: u.type, firstSeenMs: u.firstSeenMs })),
      pendingBackfillJobs: jobs.length,
      // Inventory snapshots: an endpoint the key may not read is named here with the missing scope.
      posture,
    });
  });

  app.get("/sources/:id/quarantine", async (c) => {
    const source = await requireSource(c.req.param("id"));
    const limit = intParam(c, "limit", { min: 1, max: 1000 }) ?? 100;
    const records = await store.listQuarantine({ sourceId: source.id, limit });
    return c.json({
      records: records.map((r) => ({ ...r, raw: parseJson(r.raw) })),
    });
  });

  app.get("/sources/:id/stats", async (c) => {
    const source = await requireSource(c.req.param("id"));
    const days = intParam(c, "days", { min: 1, max: 90 }) ?? 7;
    const bucketSecs = days <= 2 ? 3600 : 86_400;
    const nowSecs = Math.floor(ctx.nowMs() / 1000);
    const sinceSecs = Math.floor((nowSecs - days * 86_400) / bucketSecs) * bucketSecs;
    const buckets = await store.eventHistogram({ sourceId: source.id, sinceSecs, bucketSecs });
    return c.json({ sourceId: source.id, sinceSecs, bucketSecs, buckets });
  });

  return app;
}
