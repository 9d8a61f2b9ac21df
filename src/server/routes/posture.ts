// GET /api/coverage (the coverage ledger) and GET /api/organization (the newest inventory snapshot of a source,
// with its posture findings): what the console's Organization page shows.

import { Hono } from "hono";
import { NotFoundError } from "../../core/errors.ts";
import type { SourceRecord } from "../../core/source.ts";
import { buildLedger } from "../../coverage/ledger.ts";
import type { AppEnv, ServerContext } from "../context.ts";

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
  return app;
}
