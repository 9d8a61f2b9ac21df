// SQLite's free-text search: an FTS5 trigram index of each record's values (`event_text`, migration 18),
// filled after the page commits (../store/text-index.ts), and the event documents built in SQL. Free text
// matches within a value of the record (see StoreDialect.textFilter); the index gives candidates, and each is
// confirmed on its values, so whether an event is indexed yet changes the speed of a search, never its result.
// Text of one or two characters has no trigram of its own: the index's vocabulary (`event_text_vocab`,
// migration 29) lists the trigrams that begin with it, and the records holding any of those are the candidates.

import { type RawBuilder, sql } from "kysely";
import { TEXT_CANDIDATE_CAP, type TextPlan } from "../store/dialect.ts";
import { containsPattern, spelledAlikeInJson } from "../store/event-search.ts";
import { sourceIdOfRow } from "../store/source-numbers.ts";

/** A term of an FTS5 query as an FTS5 string ("..." with " doubled), so no character of it is FTS5 syntax. */
function ftsString(term: string): string {
  return `"${term.replaceAll('"', '""')}"`;
}

/**
 * The FTS5 query that finds every record containing `text`, or null when the text is shorter than one
 * trigram (three characters): see shortTextLookup. The index is `detail=none` (no positions, a fraction of the
 * size and insert cost), so it cannot match the text as a phrase of trigrams; instead it asks for records
 * holding all of them. Every third trigram plus the last already covers the text, and fewer terms make a
 * faster lookup. The result is a superset of the true matches; LIKE confirms each one.
 */
export function trigramLookup(text: string): string | null {
  // Code points, not UTF-16 units: the tokenizer's trigrams are three characters.
  const chars = Array.from(text);
  if (chars.length < 3) return null;
  const starts = new Set<number>();
  for (let i = 0; i + 3 <= chars.length; i += 3) starts.add(i);
  starts.add(chars.length - 3);
  const terms = new Set<string>();
  for (const i of starts) terms.add(ftsString(chars.slice(i, i + 3).join("")));
  return [...terms].join(" AND ");
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
 * text of one or two characters begins some trigram of every record that holds it (shortTextLookup).
 */
export function indexedBody(values: string): string {
  return `${values}\n\n`;
}

/**
 * The vocabulary range of the trigrams that begin with `text`, as the index folds it (lower case), when it is
 * one or two printable ASCII characters; otherwise null (a longer text has trigrams of its own, and the
 * tokenizer's folding of other characters is its own).
 */
function shortTextRange(text: string): { from: string; to: string } | null {
  if (text.length === 0 || text.length > 2 || !/^[\x20-\x7e]+$/.test(text)) return null;
  const from = text.toLowerCase();
  // Up to the prefix with its last character incremented.
  return { from, to: from.slice(0, -1) + String.fromCharCode(from.charCodeAt(from.length - 1) + 1) };
}

/**
 * The FTS5 query of a short text, built by SQLite from the vocabulary inside the statement that uses it: any of
 * the trigrams that begin with the text (or the empty phrase, which matches nothing, when there is none). Taken
 * in the same statement as the search, the vocabulary and the queue of unindexed events are one snapshot; an
 * event indexed between a separate read of the terms and the search would be in neither.
 */
function shortTextLookup(range: { from: string; to: string }): RawBuilder<string> {
  return sql<string>`(SELECT coalesce(group_concat('"' || replace(term, '"', '""') || '"', ' OR '), '""')
    FROM event_text_vocab WHERE term >= ${range.from} AND term < ${range.to})`;
}

/** The FTS5 query operand for `text`, or null when the index cannot answer and only a scan can. */
function indexLookup(text: string): RawBuilder<string> | string | null {
  const range = shortTextRange(text);
  return range !== null ? shortTextLookup(range) : trigramLookup(text);
}

/**
 * Counts the trigrams that begin with a short text, up to `cap`; null for any other text. Beyond the cap the
 * text is in very many records, and reading rows in order answers it at once (plan "scan"). fts5vocab reads each
 * term's whole document list, so a common text is not asked for all of them.
 */
export function shortTextTermCount(text: string, cap: number): RawBuilder<{ n: number }> | null {
  const range = shortTextRange(text);
  if (range === null) return null;
  return sql<{ n: number }>`SELECT count(*) AS n FROM (SELECT term FROM event_text_vocab
    WHERE term >= ${range.from} AND term < ${range.to} LIMIT ${cap})`;
}

/** Above this many trigrams beginning with a short text, it is taken as common and answered by a scan. */
export const SHORT_TEXT_TERM_CAP = 200;

export function sqliteTextFilter(text: string, plan: TextPlan): RawBuilder<boolean> {
  const lookup = plan === "scan" ? null : indexLookup(text);
  if (lookup === null) return inAValue(text);
  return sql<boolean>`(seq IN (SELECT rowid FROM event_text WHERE event_text MATCH ${lookup})
    OR seq IN (SELECT seq FROM event_text_pending)) AND ${inAValue(text)}`;
}

/** Counts the index candidates of `text`, up to the cap; null when the index cannot answer. */
export function textCandidateCount(text: string): RawBuilder<{ n: number }> | null {
  const lookup = indexLookup(text);
  if (lookup === null) return null;
  return sql<{
    n: number;
  }>`SELECT count(*) AS n FROM (SELECT rowid FROM event_text WHERE event_text MATCH ${lookup} LIMIT ${TEXT_CANDIDATE_CAP})`;
}

/**
 * The API document of an event (see ../event-document.ts), built by SQLite in C: the JSON text of a page
 * costs the reader thread microseconds and the event loop nothing. Same fields, same values.
 */
export const EVENT_DOCUMENT = sql<string>`json_object(
  'sourceId', ${sourceIdOfRow("events.source_num")}, 'id', id, 'type', type,
  'effectiveAtSecs', effective_at, 'actorType', actor_type, 'actorId', actor_id, 'actorEmail', actor_email,
  'ip', ip, 'projectId', project_id,
  'raw', CASE WHEN json_valid(raw) THEN json(raw) ELSE raw END,
  'ingestedAtMs', ingested_at_ms)`;
