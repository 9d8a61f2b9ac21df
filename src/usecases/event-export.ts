// Exporting a search's results (issue 12), for the API's download and `vigil search --format`: JSON lines
// (the API's event documents) or CSV, read a page at a time (short, bounded queries; the caller holds one page)
// up to EXPORT_MAX_ROWS. CSV is quoted per RFC 4180, and a cell a spreadsheet would run as a formula
// (= + - @, or a tab or carriage return before one) is written with a leading ' so that it opens as text.

import { eventDocument } from "../storage/event-document.ts";
import type { EventCursor, EventQuery, Store, StoredEvent } from "../storage/ports.ts";

/** The most rows one export sends (the API says so in its X-Vigil-Export-Limit header). */
export const EXPORT_MAX_ROWS = 100_000;
/** Events per read: a short, bounded query each. */
const EXPORT_PAGE = 1000;

export const EXPORT_FORMATS = ["jsonl", "csv"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CSV_COLUMNS = ["time", "type", "actor", "ip", "project", "source", "id"] as const;

/** One CSV field: formula-like text defused with a leading ', then quoted when it holds a quote, comma or line break. */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function csvRow(values: readonly string[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}

export function csvLine(e: StoredEvent): string {
  return csvRow([
    new Date(e.effectiveAtSecs * 1000).toISOString(),
    e.type,
    e.actorEmail ?? e.actorId ?? "",
    e.ip ?? "",
    e.projectId ?? "",
    e.sourceId,
    e.id,
  ]);
}

export function jsonLine(e: StoredEvent): string {
  return `${JSON.stringify(eventDocument(e))}\n`;
}

/** The matches of `query`, newest first, a page at a time, up to `max`. */
export async function* exportPages(store: Store, query: EventQuery, max: number): AsyncGenerator<StoredEvent[]> {
  let left = max;
  let after: EventCursor | undefined;
  while (left > 0) {
    const n = Math.min(EXPORT_PAGE, left);
    const page = await store.searchEvents({ ...query, limit: n, ...(after ? { after } : {}) });
    if (page.length > 0) yield page;
    const last = page.at(-1);
    if (page.length < n || last === undefined) return;
    left -= page.length;
    after = { effectiveAtSecs: last.effectiveAtSecs, id: last.id, sourceId: last.sourceId };
  }
}
