// GET /api/events (search, newest first, paged by an opaque cursor), /api/events/histogram (the same search
// counted per hour or day), /api/events/export (the same search as JSON lines or CSV) and
// GET /api/events/:sourceId/:eventId.

import type { Context } from "hono";
import { Hono } from "hono";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import { normalizedRecord } from "../../pipeline/normalized.ts";
import { eventDocument } from "../../storage/event-document.ts";
import type { EventCursor, EventQuery } from "../../storage/ports.ts";
import { MAX_LIMIT } from "../../storage/store/event-search.ts";
import { EXPORT_FORMATS, EXPORT_MAX_ROWS, type ExportFormat } from "../../usecases/event-export.ts";
import { type AppEnv, intParam, type ServerContext, strParam } from "../context.ts";
import { exportResponse } from "../event-export.ts";
import { keysetPages, streamJsonList } from "../json-stream.ts";

/** An event as the API lists it (raw as a JSON value). */
export const eventView = eventDocument;

const HOUR_SECS = 3600;
const DAY_SECS = 86_400;
/** Searches spanning up to this are counted per hour by default, longer ones per day. */
const HOURLY_UP_TO_SECS = 2 * DAY_SECS;

/** A page's cursor as the API hands it out: opaque to clients (base64url of JSON). */
export function encodeCursor(c: EventCursor): string {
  return Buffer.from(JSON.stringify([c.effectiveAtSecs, c.id, c.sourceId])).toString("base64url");
}

export function decodeCursor(text: string): EventCursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    value = null;
  }
  if (
    !Array.isArray(value) ||
    value.length !== 3 ||
    !Number.isInteger(value[0]) ||
    typeof value[1] !== "string" ||
    typeof value[2] !== "string"
  ) {
    throw new UsageError("The after parameter is not a cursor this API handed out (use the previous page's next).");
  }
  return { effectiveAtSecs: value[0], id: value[1], sourceId: value[2] };
}

export function eventRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const store = ctx.runtime.store;

  /** The search's filters, the same for the list, the histogram and the export. */
  async function filtersOf(c: Context): Promise<EventQuery> {
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
    return query;
  }

  app.get("/events", async (c) => {
    const query = await filtersOf(c);
    const after = strParam(c, "after");
    const limit = intParam(c, "limit", { min: 1, max: MAX_LIMIT }) ?? 100;
    // Up to 10,000 events, read and sent a page at a time (see json-stream.ts): the server never holds more
    // than one page, and each page is a short, bounded query.
    // The store hands each page over as JSON text (SQLite builds it on a reader thread): the event loop
    // only writes bytes to the socket.
    // The first page starts at the caller's cursor; keysetPages continues from each page's last event.
    const start = after === undefined ? undefined : decodeCursor(after);
    let sent = 0;
    let last: EventCursor | null = null;
    const pages = keysetPages(limit, async (cursor: EventCursor | undefined, n) => {
      const page = await store.searchEventDocuments({ ...query, limit: n, after: cursor ?? start });
      sent += page.count;
      if (page.last !== null) last = page.last;
      return page;
    });
    return streamJsonList(
      c,
      "events",
      pages,
      (err) => ctx.runtime.logger.error({ err }, "An event search failed while its answer was being sent."),
      {},
      // A full answer may have more after it: its last event is where the next page starts.
      () => ({ next: sent === limit && last !== null ? encodeCursor(last) : null }),
    );
  });

  app.get("/events/histogram", async (c) => {
    const query = await filtersOf(c);
    const bucket = strParam(c, "bucket") ?? defaultBucket(query, Math.floor(ctx.nowMs() / 1000));
    if (bucket !== "hour" && bucket !== "day") throw new UsageError("The bucket parameter is hour or day.");
    const bucketSecs = bucket === "hour" ? HOUR_SECS : DAY_SECS;
    const buckets = await store.searchHistogram(query, bucketSecs);
    const total = buckets.reduce((sum, b) => sum + b.count, 0);
    return c.json({ bucket, bucketSecs, total, buckets });
  });

  app.get("/events/export", async (c) => {
    const format = strParam(c, "format") ?? "jsonl";
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(`The format parameter is ${EXPORT_FORMATS.join(" or ")}.`);
    }
    const query = await filtersOf(c);
    const limit = intParam(c, "limit", { min: 1, max: EXPORT_MAX_ROWS }) ?? EXPORT_MAX_ROWS;
    const stamp = new Date(ctx.nowMs()).toISOString().slice(0, 19).replaceAll(":", "-");
    return exportResponse(
      c,
      store,
      query,
      format as ExportFormat,
      `vigil-events-${stamp}`,
      (err) => ctx.runtime.logger.error({ err }, "An event export failed while it was being sent."),
      limit,
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

/** Hours for a search of up to two days, days for anything longer or with no start. */
function defaultBucket(query: EventQuery, nowSecs: number): "hour" | "day" {
  if (query.sinceSecs === undefined) return "day";
  return (query.untilSecs ?? nowSecs) - query.sinceSecs <= HOURLY_UP_TO_SECS ? "hour" : "day";
}
