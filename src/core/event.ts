// Audit-log events as they are stored, and the records that could not be stored as events.

import type { ValidationIssue } from "./validation.ts";

/**
 * An email address as Vigil compares it: its ASCII letters in lower case. Addresses are matched without regard to
 * case in practice (the API may log "Joan@Acme.com" for joan@acme.com), so the stored actor email, the search
 * filter and a suppression's address all compare this form; the raw record keeps the address as the API wrote
 * it. ASCII only, as SQL's lower() folds in both stores (SQLite; PostgreSQL's "C" collation), so the addresses
 * stored before were folded alike (migration 40).
 */
export function foldEmail(email: string): string {
  return email.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/** One valid event, ready to store. */
export interface EventRow {
  id: string;
  type: string;
  effectiveAtSecs: number;
  actorType: string | null;
  actorId: string | null;
  /** Stored folded (foldEmail). */
  actorEmail: string | null;
  ip: string | null;
  projectId: string | null;
  /** The record as received from the API (JSON text). */
  raw: string;
}

export interface StoredEvent extends EventRow {
  sourceId: string;
  ingestedAtMs: number;
}

/**
 * A record that could not be stored as an event, with the reasons. Every field is text both stores hold (no NUL,
 * no lone surrogate; see src/pipeline/storable-record.ts).
 */
export interface QuarantineRow {
  /** The record's id when it had a usable one (NUL and lone surrogates written as \u escapes, at most 256). */
  eventId: string | null;
  reason: string;
  issues: ValidationIssue[];
  /** The record's JSON text; a bounded preview (with a `raw_preview` issue) when it is too deep or too large. */
  raw: string;
}

export interface QuarantineRecord extends QuarantineRow {
  id: number;
  sourceId: string;
  receivedAtMs: number;
}

/** An event type outside the known list, as first seen on a source. */
export interface UnknownTypeRecord {
  sourceId: string;
  type: string;
  firstSeenMs: number;
}
