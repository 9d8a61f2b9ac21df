// GET /api/events (search, newest first) and GET /api/events/:sourceId/:eventId.

import { Hono } from "hono";
import { NotFoundError } from "../../core/errors.ts";
import { normalizedRecord } from "../../pipeline/normalized.ts";
import { eventDocument } from "../../storage/event-document.ts";
import type { EventCursor, EventQuery } from "../../storage/ports.ts";
import { MAX_LIMIT } from "../../storage/store/event-search.ts";
import { type AppEnv, intParam, type ServerContext, strParam } from "../context.ts";
import { keysetPages, streamJsonList } from "../json-stream.ts";

/** An event as the API lists it (raw as a JSON value). */
export const eventView = eventDocument;

export function eventRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const store = ctx.runtime.store;

  app.get("/events", async (c) => {
    const query: EventQuery = {};
    const source = strParam(c, "source");
    if (source !== undefined) {
      const record = await store.getSource(source);
      if (!record) throw new NotFoundError(`There is no source ${JSON.stringify(source)}.`);
      query.sourceId = record.id;
    }
    const type = strParam(c, "type");
    if (type !== undefined)
      query.types = type
        .split(",")
        .map((t) => t.trim())
        .filter((t) => t !== "");
    const actor = strParam(c, "actor");
    if (actor !== undefined) {
      if (actor.includes("@")) query.actorEmail = actor;
      else query.actorId = actor;
    }
    const ip = strParam(c, "ip");
    if (ip !== undefined) query.ip = ip;
    const project = strParam(c, "project");
    if (project !== undefined) query.projectId = project;
    const since = intParam(c, "since", { min: 0, max: 1e11 });
    if (since !== undefined) query.sinceSecs = since;
    const until = intParam(c, "until", { min: 0, max: 1e11 });
    if (until !== undefined) query.untilSecs = until;
    const text = strParam(c, "text");
    if (text !== undefined) query.text = text;
    const limit = intParam(c, "limit", { min: 1, max: MAX_LIMIT }) ?? 100;
    // Up to 10,000 events, read and sent a page at a time (see json-stream.ts): the server never holds more
    // than one page, and each page is a short, bounded query.
    // The store hands each page over as JSON text (SQLite builds it on a reader thread): the event loop
    // only writes bytes to the socket.
    const pages = keysetPages(limit, (after: EventCursor | undefined, n) =>
      store.searchEventDocuments({ ...query, limit: n, after }),
    );
    return streamJsonList(c, "events", pages, (err) =>
      ctx.runtime.logger.error({ err }, "An event search failed while its answer was being sent."),
    );
  });

  app.get("/events/:sourceId/:eventId", async (c) => {
    const source = await store.getSource(c.req.param("sourceId"));
    const id = c.req.param("eventId");
    const [event] = source ? await store.searchEvents({ sourceId: source.id, ids: [id], limit: 1 }) : [];
    if (!event) throw new NotFoundError(`There is no event ${JSON.stringify(id)} in that source.`);
    // The normalized form (what rules see), rebuilt from the raw record.
    return c.json({ event: { ...eventView(event), normalized: source ? normalizedRecord(event, source) : null } });
  });

  return app;
}
