// Resuming a walk of the audit log from a saved cursor: a backfill slice's, or the rest of a poll window that
// stopped part way. Both save the cursor of each page with the page, and both must cope with an API that no
// longer knows it.

import type { AuditLogPage, AuditLogQuery } from "../core/audit-log.ts";
import { VigilError } from "../core/errors.ts";
import type { AuditLogReader } from "./reader.ts";

/**
 * How the API answers a cursor it no longer knows. That is undocumented: a 400, a 404 (`openai_cursor_rejected`),
 * or an empty last page.
 */
const CURSOR_REFUSED = new Set(["openai_bad_request", "openai_cursor_rejected"]);

/**
 * The pages of `query` after `cursor`, or, when the API refuses the cursor, of the whole query again: its events
 * already stored are ignored by id. Reading only below the time reached instead would trust the API to list by
 * effective_at, which it does not promise (a batch of events written late is listed before older ones); a query
 * read twice costs requests, a skipped part costs events. Failures after the first page are the caller's.
 */
export async function* pagesFrom(
  reader: AuditLogReader,
  query: AuditLogQuery,
  cursor: string | null,
  signal?: AbortSignal,
): AsyncGenerator<AuditLogPage> {
  if (cursor !== null) {
    let first = true;
    try {
      for await (const page of reader.pages({ ...query, after: cursor }, signal)) {
        // A first page that ends the walk with nothing in it: either the walk had in fact ended (the page before
        // said has_more wrongly), or the API dropped the cursor and answered an empty list. Taking it as the end
        // would lose the second case's events for good; reading the query again costs little in the first.
        if (first && !page.has_more && page.data.length === 0) break;
        first = false;
        yield page;
      }
      if (!first) return;
    } catch (err) {
      if (!(first && err instanceof VigilError && CURSOR_REFUSED.has(err.code))) throw err;
    }
  }
  yield* reader.pages(query, signal);
}
