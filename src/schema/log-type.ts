// Turns a compiled schema into a LogType: decode the record, let an optional log-type-specific
// projection enrich it, then add the standard p_ fields (Panther's "Standard Fields").

import { compileRecordDecoder, DecodeState, FAIL } from "./compile.ts";
import type { SchemaDef } from "./definition.ts";
import { ROOT } from "./json-path.ts";
import { nextRowId } from "./row-id.ts";
import { formatPantherTime, instantFromMs, instantToMs } from "./time/instant.ts";
import type { LogType, NormalizeContext, NormalizeResult } from "./types.ts";

export interface LogTypeHooks {
  /** Log-type-specific enrichment of a decoded record (e.g. OpenAI's seed projection). Must not throw. */
  project?: (record: Record<string, unknown>, raw: Record<string, unknown>) => void;
  /** Says whether the record's event type is outside the known list. */
  isUnknownType?: (record: Record<string, unknown>) => boolean;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function buildLogType(def: SchemaDef, hooks: LogTypeHooks = {}): LogType {
  const decode = compileRecordDecoder(def);
  const name = def.name;
  // A batch shares one parse time, so its text is formatted once.
  let lastParseMs = Number.NaN;
  let lastParseText = "";

  function normalizeUnsafe(raw: unknown, ctx: NormalizeContext): NormalizeResult {
    if (!isPlainObject(raw)) {
      const got = Array.isArray(raw) ? "an array" : raw === null ? "null" : typeof raw;
      return { ok: false, issues: [{ code: "wrong_type", path: "$", message: `expected a JSON object, got ${got}` }] };
    }
    const st = new DecodeState();
    const decoded = decode(raw, ROOT, "$", st, 0);
    if (decoded === FAIL || st.issues.length > 0) return { ok: false, issues: st.issues };
    const record = decoded as Record<string, unknown>;
    hooks.project?.(record, raw);

    // A parse time that is not a number would format as garbage; the wall clock is the honest fallback.
    const parseTimeMs = Number.isFinite(ctx.parseTimeMs) ? ctx.parseTimeMs : Date.now();
    if (parseTimeMs !== lastParseMs) {
      lastParseMs = parseTimeMs;
      lastParseText = formatPantherTime(instantFromMs(parseTimeMs));
    }
    const eventTime = st.eventTime;
    record.p_log_type = name;
    record.p_row_id = ctx.rowId ?? nextRowId();
    record.p_event_time = eventTime === null ? lastParseText : st.eventTimeText;
    record.p_parse_time = lastParseText;
    if (ctx.sourceId !== "") record.p_source_id = ctx.sourceId;
    record.p_source_label = ctx.sourceLabel;
    st.sink.writeTo(record);
    return {
      ok: true,
      record,
      eventTimeMs: eventTime === null ? parseTimeMs : instantToMs(eventTime),
      unknownType: hooks.isUnknownType?.(record) ?? false,
    };
  }

  return {
    name,
    normalize(raw, ctx) {
      try {
        return normalizeUnsafe(raw, ctx);
      } catch (err) {
        // Not expected; but a normalizer that throws would stop a whole page, so it is reported as data.
        const message = err instanceof Error ? err.message : String(err);
        return { ok: false, issues: [{ code: "internal_error", path: "$", message: `normalizer failed: ${message}` }] };
      }
    },
  };
}
