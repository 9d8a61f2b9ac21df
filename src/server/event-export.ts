// The export download (GET /api/events/export): the rows of ../usecases/event-export.ts streamed as they are
// read, one page at a time, the socket's backpressure pacing the reads.

import type { Context } from "hono";
import type { EventQuery, Store } from "../storage/ports.ts";
import {
  CSV_COLUMNS,
  csvLine,
  csvRow,
  EXPORT_MAX_ROWS,
  type ExportFormat,
  exportPages,
  jsonLine,
} from "../usecases/event-export.ts";
import { pagedBody } from "./json-stream.ts";

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
  const body = pagedBody(first, pages, onError, {
    ...(format === "csv" ? { head: encoder.encode(csvRow(CSV_COLUMNS)) } : {}),
    encode: (events) => [encoder.encode(events.map(line).join(""))],
  });
  return c.body(body, 200, {
    "Content-Type": format === "csv" ? "text/csv; charset=UTF-8" : "application/x-ndjson; charset=UTF-8",
    "Content-Disposition": `attachment; filename="${filename}.${format}"`,
    "X-Vigil-Export-Limit": String(max),
  });
}
