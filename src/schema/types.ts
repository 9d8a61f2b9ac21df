// The public shapes of the schema engine (re-exported by index.ts).

import type { ValidationIssue } from "../core/validation.ts";

export type { ValidationIssue };

export interface NormalizeContext {
  /** The source integration id; p_source_id is omitted when empty. */
  sourceId: string;
  sourceLabel: string;
  /** When the record was parsed (Unix ms); becomes p_parse_time, and p_event_time when there is no event time. */
  parseTimeMs: number;
  /** p_row_id to use; a new unique id is generated when absent. */
  rowId?: string;
}

export type NormalizeResult =
  | { ok: true; record: Record<string, unknown>; eventTimeMs: number; unknownType: boolean }
  | { ok: false; issues: ValidationIssue[] };

export interface LogType {
  name: string;
  /** Never throws: bad input comes back as `{ ok: false, issues }`. */
  normalize(raw: unknown, ctx: NormalizeContext): NormalizeResult;
}
