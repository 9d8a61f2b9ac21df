// GET /api/coverage (the coverage ledger), GET /api/organization (the newest inventory snapshot of a source,
// with its posture findings) and GET /api/organization/history (one object across the kept snapshots, beside the
// audit events about it): what the console's Organization page shows.

import { Hono } from "hono";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import type { SourceRecord } from "../../core/source.ts";
import { buildLedger } from "../../coverage/ledger.ts";
import { auditEventsAbout } from "../../posture/drift.ts";
import { POSTURE_ENDPOINTS, type PostureKind } from "../../posture/endpoints.ts";
import { eventDocument } from "../../storage/event-document.ts";
import { type AppEnv, intParam, type ServerContext, strParam } from "../context.ts";

const KINDS: ReadonlySet<string> = new Set(POSTURE_ENDPOINTS.map((e) => e.kind));

export function postureRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const store = ctx.runtime.store;

  async function sourceFor(idOrName: string | undefined): Promise<SourceRecord | null> {
    if (idOrName) {
      const source = await store.getSource(idOrName);
      if (!source) throw new NotFoundError(`There is no source ${JSON.stringify(idOrName)}.`);
      return source;
    }
    return (await store.listSources())[0] ?? null;
  }

  app.get("/coverage", async (c) => {
    const source = c.req.query("source") ? await sourceFor(c.req.query("source")) : null;
    const [rules, counts] = await Promise.all([ctx.rules(), store.eventTypeCounts(source?.id)]);
    return c.json(buildLedger(rules.rules, counts));
  });

  app.get("/organization", async (c) => {
    const source = await sourceFor(c.req.query("source"));
    if (!source) return c.json({ source: null, snapshot: null, objects: [] });
    const snapshot = await store.getPostureSnapshot(source.id);
    if (!snapshot) return c.json({ source: { id: source.id, name: source.name }, snapshot: null, objects: [] });
    const json = await store.getPostureObjects(
      source.id,
      snapshot.manifest.map((m) => m.hash),
    );
    const { manifest, ...summary } = snapshot;
    return c.json({
      source: { id: source.id, name: source.name },
      snapshot: summary,
      objects: manifest.map((m) => ({
        kind: m.kind,
        id: m.id,
        projectId: m.projectId,
        data: JSON.parse(json.get(m.hash) ?? "null"),
      })),
    });
  });
  app.get("/organization/history", async (c) => {
    const kind = strParam(c, "kind");
    const id = strParam(c, "id");
    // A project-scoped id is "<project>/<id>": each part must be there, or the audit-event search would name nothing.
    if (!kind || !KINDS.has(kind) || !id || id.split("/").some((part) => part === "")) {
      throw new UsageError(`Give kind (one of ${[...KINDS].join(", ")}) and id: the object whose history to show.`);
    }
    const limit = intParam(c, "limit", { min: 1, max: 500 }) ?? 100;
    const source = await sourceFor(strParam(c, "source"));
    if (!source) throw new NotFoundError("There is no source.");
    const [history, latest] = await Promise.all([
      store.getPostureHistory(source.id, kind, id, limit),
      store.getPostureSnapshot(source.id),
    ]);
    const entry = latest?.manifest.find((m) => m.kind === kind && m.id === id) ?? null;
    const current = entry ? (await store.getPostureObjects(source.id, [entry.hash])).get(entry.hash) : undefined;
    const about = auditEventsAbout(kind as PostureKind, id, entry?.projectId ?? null);
    const events =
      "types" in about && about.types.length === 0
        ? []
        : await store.searchEvents({ sourceId: source.id, ...about, limit });
    return c.json({
      source: { id: source.id, name: source.name },
      kind,
      id,
      current: current === undefined ? null : JSON.parse(current),
      currentAsOfMs: latest?.takenAtMs ?? null,
      firstSeenMs: history.firstSeenMs,
      changes: history.entries,
      events: events.map(eventDocument),
    });
  });
  return app;
}
