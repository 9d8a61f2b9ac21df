// Sources: list, create (verify the key first, as `vigil sources add` does), verify a key, update, remove,
// test the stored key, health, quarantine (and its replay), event statistics, and the settings' bounds for the
// console. The rules of creating and changing a source are in usecases/sources.ts. Keys are accepted and never
// returned.

import { Hono } from "hono";
import { z } from "zod";
import { NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import {
  SOURCE_DEFAULTS,
  SOURCE_SETTING_BOUNDS,
  type SourceRecord,
  SourceSettingChangesSchema,
  sourceDurations,
} from "../../core/source.ts";
import { readSourceHealth } from "../../pipeline/health.ts";
import { postureHealth } from "../../pipeline/posture.ts";
import { resolveBaseUrl } from "../../pipeline/runtime.ts";
import { parseJson } from "../../storage/event-document.ts";
import {
  addSource,
  removeSource,
  replaySourceQuarantine,
  testSource,
  updateSource,
  verifyAdminKey,
} from "../../usecases/sources.ts";
import { type AppEnv, intParam, readBody, requireAdmin, type ServerContext } from "../context.ts";

// The settings the API takes, validated by the one schema (core/source.ts): a value out of bounds is refused
// with a message naming the field and the limit.
const Settings = SourceSettingChangesSchema.pick({
  baseUrl: true,
  includeTenantEvents: true,
  pollIntervalSecs: true,
  overlapSecs: true,
  sweepWindowSecs: true,
  sweepIntervalSecs: true,
  backfillDays: true,
  noDataAlertEnabled: true,
  noDataAlertSecs: true,
  pollFailureAlertSecs: true,
  postureIntervalSecs: true,
}).shape;

// Strict: a misspelt or unsupported field is an error that names it, not a setting silently dropped.
const CreateSchema = z.strictObject({
  ...Settings,
  name: z.string(),
  apiKey: z.string().trim().min(1, "an admin API key is required"),
  packs: z.array(z.string().min(1)).optional(),
  verify: z.boolean().optional(),
});

const UpdateSchema = z.strictObject({
  ...Settings,
  name: z.string().optional(),
  enabled: z.boolean().optional(),
  apiKey: z.string().trim().min(1).optional(),
  verify: z.boolean().optional(),
});

const ReplaySchema = z.strictObject({ dryRun: z.boolean().optional() });

const VerifySchema = z.object({
  apiKey: z.string().trim().min(1, "an admin API key is required"),
  baseUrl: Settings.baseUrl,
});

/** The bounds and defaults of the settings, for the console's forms: {field: {min, max, default, unit}}. */
const SETTINGS_SCHEMA = {
  ...SOURCE_SETTING_BOUNDS,
  includeTenantEvents: { default: SOURCE_DEFAULTS.includeTenantEvents },
  enabled: { default: SOURCE_DEFAULTS.enabled },
  noDataAlertEnabled: { default: SOURCE_DEFAULTS.noDataAlertEnabled },
};

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

  app.get("/sources", async (c) => {
    const sources = await store.listSources();
    return c.json({ sources: await Promise.all(sources.map(view)) });
  });

  app.get("/sources/settings-schema", (c) => c.json({ settings: SETTINGS_SCHEMA }));

  app.post("/sources/verify", requireAdmin, async (c) => {
    const body = await readBody(c, VerifySchema);
    const baseUrl = resolveBaseUrl(runtime, { baseUrl: body.baseUrl ?? null });
    try {
      return c.json({ ok: true, latencyMs: await verifyAdminKey(runtime, baseUrl, body.apiKey) });
    } catch (err) {
      return c.json(verifyFailure(err));
    }
  });

  app.post("/sources", requireAdmin, async (c) => {
    const { apiKey, packs, verify, ...settings } = await readBody(c, CreateSchema);
    // Packs are checked before anything is written: a source is created with its packs or not at all.
    if (packs && packs.length > 0) {
      const known = new Set((await ctx.rules()).packs.map((p) => p.id));
      const unknown = packs.find((p) => !known.has(p));
      if (unknown !== undefined) throw new UsageError(`There is no pack ${JSON.stringify(unknown)}.`);
    }
    // A key that does not work is reported as what to fix (the verification's own sentence).
    const { source, notice } = await addSource(runtime, { settings, apiKey, verify: verify !== false });
    for (const pack of packs ?? []) {
      await store.setDetectionSetting({ kind: "pack", id: pack, sourceId: source.id, enabled: true });
    }
    // A real source replaces the demo source: `notice` says so, for the console to show.
    return c.json({ source: await view(source), ...(notice ? { notice } : {}) }, 201);
  });

  app.patch("/sources/:id", requireAdmin, async (c) => {
    const source = await requireSource(c.req.param("id"));
    const { apiKey, verify, ...changes } = await readBody(c, UpdateSchema);
    const { source: updated } = await updateSource(runtime, source, {
      changes,
      ...(apiKey === undefined ? {} : { apiKey }),
      verify: verify !== false,
    });
    return c.json({ source: await view(updated) });
  });

  app.delete("/sources/:id", requireAdmin, async (c) => {
    const source = await requireSource(c.req.param("id"));
    await removeSource(runtime, source);
    return c.json({ ok: true });
  });

  app.post("/sources/:id/test", requireAdmin, async (c) => {
    const source = await requireSource(c.req.param("id"));
    try {
      return c.json({ ok: true, latencyMs: await testSource(runtime, source) });
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

  // Reads the quarantine again with the current schema (usecases/sources.ts): what it accepts now is stored.
  app.post("/sources/:id/quarantine/replay", requireAdmin, async (c) => {
    const source = await requireSource(c.req.param("id"));
    const { dryRun } = await readBody(c, ReplaySchema);
    return c.json(await replaySourceQuarantine(runtime, source, { dryRun: dryRun === true }));
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
