// An event as the API shows it: the stored row with `raw` as a JSON value rather than JSON text (a text that
// is not valid JSON stays a string). The normalized form is added by the single-event route (it is rebuilt
// from raw, see src/pipeline/normalized.ts); lists carry the raw record only. The SQLite store builds the same document in
// SQL (sqlite/search.ts) so that long lists never parse and re-serialize records on the event loop.

import type { EventCursor, EventDocuments, StoredEvent } from "./ports.ts";

export function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function eventDocument(e: StoredEvent) {
  return { ...e, raw: parseJson(e.raw) };
}

export function cursorOf(e: Pick<StoredEvent, "effectiveAtSecs" | "id" | "sourceId">): EventCursor {
  return { effectiveAtSecs: e.effectiveAtSecs, id: e.id, sourceId: e.sourceId };
}

/** The documents of a page, in JavaScript (the PostgreSQL store, and SQLite's in-memory store). */
export function documentsOf(events: StoredEvent[]): EventDocuments {
  const last = events.at(-1);
  return {
    json: new TextEncoder().encode(events.map((e) => JSON.stringify(eventDocument(e))).join(",")),
    count: events.length,
    last: last === undefined ? null : cursorOf(last),
  };
}
