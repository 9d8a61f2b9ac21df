// Large lists leave the server as they are read: `{"<key>":[` then each page of items, then `]}`. The
// server holds one page at a time, whatever the `limit`, and the socket's backpressure paces the reads
// (a page is fetched only when the client has taken the previous one). The body is the same JSON a single
// `c.json` would have sent, so clients need nothing new.

import type { Context } from "hono";

/** Items per page: a short, bounded query each, and at most a few MB held by the server. */
export const PAGE_SIZE = 250;

/** A page ready to send: its items' JSON joined by commas (UTF-8), and how many items. */
export interface JsonPage {
  json: Uint8Array;
  count: number;
}

/**
 * Reads up to `limit` items in pages of at most `pageSize`: `fetchPage(after, n)` reads the n items that
 * follow the cursor `after` (undefined: from the start). Stops at a short page.
 */
export async function* keysetPages<P extends JsonPage & { last: C | null }, C>(
  limit: number,
  fetchPage: (after: C | undefined, n: number) => Promise<P>,
  pageSize = PAGE_SIZE,
): AsyncGenerator<P> {
  let left = limit;
  let after: C | undefined;
  while (left > 0) {
    const n = Math.min(pageSize, left);
    const page = await fetchPage(after, n);
    yield page;
    if (page.count < n || page.last === null) return;
    left -= page.count;
    after = page.last;
  }
}

/**
 * Streams `{"<key>":[...]}` (after `fields`, e.g. a total, when given; then `trailer()`'s fields, known
 * only once the list is sent, e.g. the next page's cursor). The first page is read before the response starts, so a failing query still
 * answers with its error status; a later failure can only cut the response short (the JSON is then
 * incomplete, which no client mistakes for a whole answer) and is reported to `onError`.
 */
export async function streamJsonList(
  c: Context,
  key: string,
  pages: AsyncGenerator<JsonPage>,
  onError: (err: unknown) => void,
  fields: Record<string, unknown> = {},
  trailer: () => Record<string, unknown> = () => ({}),
): Promise<Response> {
  const first = await pages.next();
  const encoder = new TextEncoder();
  const comma = encoder.encode(",");
  const head = JSON.stringify(fields).slice(1, -1);
  const end = () => {
    const tail = JSON.stringify(trailer()).slice(1, -1);
    return encoder.encode(tail === "" ? "]}" : `],${tail}}`);
  };
  let sent = 0;
  const body = pagedBody(first, pages, onError, {
    head: encoder.encode(`{${head === "" ? "" : `${head},`}${JSON.stringify(key)}:[`),
    encode: (page) => {
      if (page.count === 0) return [];
      const chunks = sent > 0 ? [comma, page.json] : [page.json];
      sent += page.count;
      return chunks;
    },
    tail: end,
  });
  return c.body(body, 200, { "Content-Type": "application/json; charset=UTF-8" });
}

/**
 * A response body read from `pages` as the socket takes it: `head`, each page's chunks from `encode`, then
 * `tail()`. Nothing is read ahead: the next page is read when the socket has taken the previous
 * one. `first` is the first page, read by the caller before the response starts so that a failing query still
 * answers with its error status; a later failure cuts the body short and is reported to `onError`.
 */
export function pagedBody<P>(
  first: IteratorResult<P>,
  pages: AsyncGenerator<P>,
  onError: (err: unknown) => void,
  parts: { head?: Uint8Array; encode: (page: P) => Uint8Array[]; tail?: () => Uint8Array },
): ReadableStream<Uint8Array> {
  const send = (controller: ReadableStreamDefaultController<Uint8Array>, next: IteratorResult<P>) => {
    if (next.done) {
      if (parts.tail) controller.enqueue(parts.tail());
      controller.close();
      return;
    }
    for (const chunk of parts.encode(next.value)) if (chunk.length > 0) controller.enqueue(chunk);
  };
  // The client went away (it closed the connection, as `curl | head` does): nothing is wrong, and a page still
  // being read when it left has nowhere to go (enqueueing it would throw, and be reported as a failure).
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (parts.head) controller.enqueue(parts.head);
        send(controller, first);
      },
      async pull(controller) {
        try {
          const next = await pages.next();
          if (!cancelled) send(controller, next);
        } catch (err) {
          if (cancelled) return;
          onError(err);
          controller.error(err);
        }
      },
      async cancel() {
        cancelled = true;
        // Stop reading pages.
        await pages.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
