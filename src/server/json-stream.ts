// Large lists leave the server as they are read: `{"<key>":[` then each page of items, then `]}`. The
// server holds one page at a time, whatever the `limit`, and the socket's backpressure paces the reads
// (a page is fetched only when the previous one has been taken by the client). The body is the same JSON
// a single `c.json` would have sent, so clients need nothing new.

import type { Context } from "hono";

/** Items per page: small enough that one page is a short slice of the event loop and a few MB at most. */
export const PAGE_SIZE = 250;

/**
 * Reads up to `limit` items in pages of `pageSize` with `fetchPage(after, n)`, where `after` is the cursor
 * of the last item of the previous page (undefined for the first); stops at a short page.
 */
export async function* keysetPages<T, C>(
  limit: number,
  fetchPage: (after: C | undefined, n: number) => Promise<T[]>,
  cursorOf: (item: T) => C,
  pageSize = PAGE_SIZE,
): AsyncGenerator<T[]> {
  let left = limit;
  let after: C | undefined;
  while (left > 0) {
    const n = Math.min(pageSize, left);
    const page = await fetchPage(after, n);
    yield page;
    const last = page.at(-1);
    if (page.length < n || last === undefined) return;
    left -= page.length;
    after = cursorOf(last);
  }
}

/**
 * Streams `{"<key>":[...]}`. The first page is read before the response starts, so a failing query still
 * answers with its error status; a later failure can only cut the response short (the JSON is then
 * incomplete, which no client mistakes for a full answer) and is reported to `onError`.
 */
export async function streamJsonList<T>(
  c: Context,
  key: string,
  pages: AsyncGenerator<T[]>,
  view: (item: T) => unknown,
  onError: (err: unknown) => void,
): Promise<Response> {
  const first = await pages.next();
  const encoder = new TextEncoder();
  let count = 0;
  const encodePage = (items: T[]) => {
    let text = "";
    for (const item of items) {
      text += `${count === 0 ? "" : ","}${JSON.stringify(view(item))}`;
      count++;
    }
    return encoder.encode(text);
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(encoder.encode(`{${JSON.stringify(key)}:[`));
        if (!first.done) controller.enqueue(encodePage(first.value));
        if (first.done) {
          controller.enqueue(encoder.encode("]}"));
          controller.close();
        }
      },
      async pull(controller) {
        try {
          const next = await pages.next();
          if (next.done) {
            controller.enqueue(encoder.encode("]}"));
            controller.close();
          } else {
            controller.enqueue(encodePage(next.value));
          }
        } catch (err) {
          onError(err);
          controller.error(err);
        }
      },
      async cancel() {
        // The client went away: stop reading pages.
        await pages.return(undefined);
      },
    },
    // Nothing read ahead: the next page is fetched when the socket has taken the previous one.
    { highWaterMark: 0 },
  );
  return c.body(body, 200, { "Content-Type": "application/json; charset=UTF-8" });
}
