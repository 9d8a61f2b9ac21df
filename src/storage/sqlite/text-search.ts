// SQLite's free-text search: an FTS5 trigram index of each record's values (`event_text`, migration 18),
// filled after the page commits (../store/text-index.ts), and the event documents built in SQL. Free text
// matches within a value of the record (see StoreDialect.textFilter); the index gives candidates, and each is
// confirmed on its values, so whether an event is indexed yet changes the speed of a search, never its result.
// Text of one or two characters has no trigram of its own: the index's vocabulary (`event_text_vocab`,
// migration 29) lists the trigrams that begin with it, and the records holding any of those are the candidates.

import { type RawBuilder, sql } from "kysely";
import type { TextPlan } from "../store/dialect.ts";
import { containsPattern } from "../store/event-search.ts";

/**
 * The FTS5 query that finds every record containing `text`, or null when the text is shorter than one
 * trigram (three characters) and only a scan can answer. The index is `detail=none` (no positions, a
 * fraction of the size and insert cost), so it cannot match the text as a phrase of trigrams; instead it
 * asks for records holding all of them. Every third trigram plus the last already covers the text, and
 * fewer terms make a faster lookup. The result is a superset of the true matches; LIKE confirms each one.
 * Each trigram is an FTS5 string ("..." with " doubled), so no character of the text is FTS5 syntax.
 */
export function trigramLookup(text: string): string | null {
  // Code points, not UTF-16 units: the tokenizer's trigrams are three characters.
  const chars = Array.from(text);
  if (chars.length < 3) return null;
  const starts = new Set<number>();
  for (let i = 0; i + 3 <= chars.length; i += 3) starts.add(i);
  starts.add(chars.length - 3);
  const terms = new Set<string>();
  for (const i of starts)
    terms.add(
      `"${chars
        .slice(i, i + 3)
        .join("")
        .replaceAll('"', '""')}"`,
    );
  return [...terms].join(" AND ");
}

/**
 * True when `text` can only be in a value if it is also in the raw JSON text as typed: it holds nothing JSON
 * escapes (quotes, backslashes, control characters). Then a LIKE on raw is a cheap necessary condition.
 */
export function spelledAlikeInJson(text: string): boolean {
  return !/["\\\u0000-\u001f]/.test(text);
}

/**
 * The exact test: `text` occurs, case-insensitively (ASCII), within one of the record's values (strings,
 * numbers, booleans; never keys or JSON syntax). json_tree gives each value unescaped.
 */
function inAValue(text: string): RawBuilder<boolean> {
  const pattern = containsPattern(text);
  const value = sql`CASE v.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE v.atom END`;
  // A record that is not JSON (none is stored today, but the store does not require it) is matched on its text.
  const exact = sql<boolean>`CASE WHEN json_valid(events.raw) THEN EXISTS (SELECT 1 FROM json_tree(events.raw) AS v
    WHERE v.type NOT IN ('object', 'array', 'null') AND ${value} LIKE ${pattern} ESCAPE '\\')
    ELSE events.raw LIKE ${pattern} ESCAPE '\\' END`;
  if (!spelledAlikeInJson(text)) return exact;
  return sql<boolean>`events.raw LIKE ${pattern} ESCAPE '\\' AND ${exact}`;
}

/**
 * The text the index holds of a record: its values, one per line (../store/text-index.ts searchableText),
 * and two more line ends. Every character of a value is then followed by at least two more characters, so a
 * text of one or two characters begins some trigram of every record that holds it (shortTextTerms).
 */
export function indexedBody(values: string): string {
  return `${values}\n\n`;
}

/**
 * The trigrams that begin with `text`, as the index folds it (lower case), when it is one or two printable
 * ASCII characters; otherwise null (a longer text has trigrams of its own, and the tokenizer's folding of other
 * characters is its own). No more than `cap` are returned.
 */
export function shortTextTerms(text: string, cap: number): RawBuilder<{ term: string }> | null {
  if (text.length === 0 || text.length > 2 || !/^[\x20-\x7e]+$/.test(text)) return null;
  const prefix = text.toLowerCase();
  // The terms from the prefix up to the prefix with its last character incremented: a range of the vocabulary.
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  return sql<{ term: string }>`SELECT term FROM event_text_vocab
    WHERE term >= ${prefix} AND term < ${end} LIMIT ${cap}`;
}

/** Above this many trigrams beginning with a short text, it is taken as common and answered by a scan. */
export const SHORT_TEXT_TERM_CAP = 200;

/** The FTS5 query for records holding any of `terms` (each an FTS5 string, as in trigramLookup). */
function anyTermLookup(terms: readonly string[]): string {
  return terms.map((t) => `"${t.replaceAll('"', '""')}"`).join(" OR ");
}

/** The FTS5 query of a plan that uses the index, "" when no indexed record can match, null when it cannot say. */
function lookupOf(text: string, plan: TextPlan): string | null {
  if (plan === "scan") return null;
  if (plan === "index") return trigramLookup(text);
  return anyTermLookup(plan.indexTerms);
}

export function sqliteTextFilter(text: string, plan: TextPlan): RawBuilder<boolean> {
  const lookup = lookupOf(text, plan);
  if (lookup === null) return inAValue(text);
  const unindexed = sql<boolean>`seq IN (SELECT seq FROM event_text_pending)`;
  const candidates =
    lookup === ""
      ? unindexed
      : sql<boolean>`(seq IN (SELECT rowid FROM event_text WHERE event_text MATCH ${lookup}) OR ${unindexed})`;
  return sql<boolean>`${candidates} AND ${inAValue(text)}`;
}

/**
 * Above this many index candidates a search reads rows in its own order instead (plan "scan"). SQLite
 * cannot tell how many records hold a text, and the two plans fail in opposite cases: sorting every
 * candidate of a common text (an email in a third of the records) took a second on 1M events, where reading
 * the newest rows finds 100 matches at once; a rare text is the reverse. Counting up to the cap is cheap.
 */
export const TEXT_CANDIDATE_CAP = 2000;

/** Counts the index candidates of a plan, up to the cap; null when it asks no index. */
export function textCandidateCount(text: string, plan: TextPlan): RawBuilder<{ n: number }> | null {
  const lookup = lookupOf(text, plan);
  if (lookup === null || lookup === "") return null;
  return sql<{
    n: number;
  }>`SELECT count(*) AS n FROM (SELECT rowid FROM event_text WHERE event_text MATCH ${lookup} LIMIT ${TEXT_CANDIDATE_CAP})`;
}

/**
 * The API document of an event (see ../event-document.ts), built by SQLite in C: the JSON text of a page
 * costs the reader thread microseconds and the event loop nothing. Same fields, same values.
 */
export const EVENT_DOCUMENT = sql<string>`json_object('sourceId', source_id, 'id', id, 'type', type,
  'effectiveAtSecs', effective_at, 'actorType', actor_type, 'actorId', actor_id, 'actorEmail', actor_email,
  'ip', ip, 'projectId', project_id,
  'raw', CASE WHEN json_valid(raw) THEN json(raw) ELSE raw END,
  'ingestedAtMs', ingested_at_ms)`;
