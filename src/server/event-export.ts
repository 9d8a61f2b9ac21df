// Exporting a search's results (issue 12): JSON lines or CSV, streamed a page at a time (the server holds one
// page, and the socket's backpressure paces the reads), up to EXPORT_MAX_ROWS. CSV is quoted per RFC 4180, and
// a cell a spreadsheet would run as a formula (= + - @, or a tab or carriage return before one) is written with
// a leading ' so that it opens as text.

import type { Context } from "hono";
import { eventDocument } from "../storage/event-document.ts";
import type { EventCursor, EventQuery, Store, StoredEvent } from "../storage/ports.ts";

/** The most rows one export sends; said in the X-Vigil-Export-Limit header and the docs. */
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

function csvLine(e: StoredEvent): string {
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

function jsonLine(e: StoredEvent): string {
  return `${JSON.stringify(eventDocument(e))}\n`;
}

/** The matches of `query`, newest first, a page at a time, up to `max`. */
async function* exportPages(store: Store, query: EventQuery, max: number): AsyncGenerator<StoredEvent[]> {
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

/**
 * The export as a streamed download. The first page is read before the response starts, so a bad query still
 * answers with its error status; a later failure cuts the download short and is reported to `onError`.
 */
export async function exportResponse(
  c: Context,
  store: Store,
  query: EventQuery,
  format: ExportFormat,
  filename: string,
  onError: (err: unknown) => void,
  max = EXPORT_MAX_ROWS,
): Promise<Response> {
  const pages = exportPages(store, query, max);
  const first = await pages.next();
  const encoder = new TextEncoder();
  const line = format === "csv" ? csvLine : jsonLine;
  const encode = (events: StoredEvent[]) => encoder.encode(events.map(line).join(""));
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (format === "csv") controller.enqueue(encoder.encode(csvRow(CSV_COLUMNS)));
        if (first.done) controller.close();
        else controller.enqueue(encode(first.value));
      },
      async pull(controller) {
        try {
          const next = await pages.next();
          if (next.done) controller.close();
          else controller.enqueue(encode(next.value));
        } catch (err) {
          onError(err);
          controller.error(err);
        }
      },
      async cancel() {
        await pages.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
  return c.body(body, 200, {
    "Content-Type": format === "csv" ? "text/csv; charset=UTF-8" : "application/x-ndjson; charset=UTF-8",
    "Content-Disposition": `attachment; filename="${filename}.${format}"`,
    "X-Vigil-Export-Limit": String(max),
  });
}
