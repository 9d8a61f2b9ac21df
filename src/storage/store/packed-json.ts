// Alert contexts as the store keeps them: deflated JSON, behind a format byte, in a BLOB (SQLite) or bytea
// (PostgreSQL) column. A context is what a rule chose to report of its event (who, from where, on what), and
// every match keeps its own: after the event's raw record it was the largest thing stored per event (about
// 250 bytes per match, nearly one match per event). Deflated with a preset dictionary of the words contexts
// repeat (their keys, the pack's values), a context takes 40-45% of its JSON; the random parts (ids,
// addresses, emails) are what remains.
//
// Only JavaScript reads contexts (no query filters on them), so packing them hides nothing from SQL.
// Contexts stored before this format are JSON text (SQLite) or its UTF-8 bytes (PostgreSQL, migration 32),
// and read as such: JSON never begins with the format byte.

import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { RuleMatch } from "../../core/detection.ts";
import type { PageWrite } from "../ports.ts";

/** The first byte of a packed context: deflate (raw) with DICTIONARY. Another dictionary needs another byte. */
const DEFLATED = 0x01;

/**
 * Words a context is likely to hold, most likely last (deflate reaches the end of its window most cheaply).
 * Any text compresses with it; text that shares nothing with it only loses a byte or two. It must never
 * change: packed contexts name it by their format byte alone.
 */
const DICTIONARY = Buffer.from(
  [
    '"is_error":false,"error_code":"invalid_credentials","error_message":"","targeted_email":"","count":',
    '"scopes":["api.model.read","api.model.request","api.responses.write"],"role":"owner","key_id":"key_',
    '"changes_requested":{"name":"","role":"reader"},"data":{"scopes":[]},"object":"organization.',
    '"user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) ',
    'Chrome/126.0.0.0 Safari/537.36","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) ',
    '{"correlationKey":"","actor_email":"@.com","actor_id":"user-","actor_type":"session","source_ip":"',
    '","user_agent":"","geo":{"country":"US","city":"","region":"","asn":""},"project_id":"proj_",',
    '"project_name":null,"event_type":"api_key.created","event_id":"audit_log-","effective_at":17',
  ].join(""),
  "latin1",
);

/**
 * zlib's options. Output chunks of 1 KiB, not the default 16: each call allocates one outside the JavaScript heap,
 * garbage at once, for a context that deflates to a few hundred bytes.
 */
const ZLIB = { dictionary: DICTIONARY, chunkSize: 1024 };

/** A context as the store writes it; null stays null, and a context packed already (see below) is kept. */
export function packJson(value: unknown): Uint8Array | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return value;
  const deflated = deflateRawSync(JSON.stringify(value), ZLIB);
  // Its own buffer, of its exact size: a small Buffer is a view into a shared 8 KiB slab, and a view crossing to
  // a thread takes its whole buffer along.
  const packed = new Uint8Array(deflated.length + 1);
  packed[0] = DEFLATED;
  packed.set(deflated, 1);
  return packed;
}

/** A stored context read back: packed, or JSON text or bytes written before packing. */
export function unpackJson(stored: string | Uint8Array | null): unknown {
  if (stored === null) return null;
  if (typeof stored === "string") return JSON.parse(stored);
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (bytes[0] !== DEFLATED) return JSON.parse(bytes.toString("utf8"));
  return JSON.parse(inflateRawSync(bytes.subarray(1), ZLIB).toString("utf8"));
}

/**
 * The page with its matches' contexts packed ahead of its transaction: by the store's applyPages (./events.ts), or
 * by the writer thread when it packs them (PageWriter.packsContexts, ./writer-thread.ts). Inside the transaction
 * the packing (about 25 µs a match) would run while it holds its rule locks. SQLite's writer thread is the busier
 * side of a backfill and receives them packed; PostgreSQL's packs them itself, sparing the event loop. A context
 * is a JSON object, never bytes, so the write's `packJson` knows packed bytes for what they are, and a page with
 * nothing left to pack is returned as it is (the thread is handed SQLite's pages packed already).
 */
export function withPackedContexts(write: PageWrite): PageWrite {
  if (!write.matches?.some((m) => m.alertContext !== null && !(m.alertContext instanceof Uint8Array))) return write;
  const matches = write.matches.map((m) => ({
    ...m,
    alertContext: packJson(m.alertContext) as unknown as RuleMatch["alertContext"],
  }));
  return { ...write, matches };
}
