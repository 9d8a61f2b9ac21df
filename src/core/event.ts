// Audit-log events as they are stored, and the records that could not be stored as events.

import type { ValidationIssue } from "./validation.ts";

/** One valid event, ready to store. */
export interface EventRow {
  id: string;
  type: string;
  effectiveAtSecs: number;
  actorType: string | null;
  actorId: string | null;
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
