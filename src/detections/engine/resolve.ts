// Panther's fallbacks, type checks and limits for the alert fields (reference §2.1, §2.2, §2.4),
// shared by TypeScript and Python rules. Each auxiliary function's result arrives as an Outcome:
// absent (not defined), a value, or the error it raised.

import { defaultDedupString, isSeverity, type Severity, VIGIL_DEDUP_PREFIX } from "../../core/detection.ts";
import { cutText, wellFormedText } from "../../core/storable-text.ts";

export interface FnError {
  type: string;
  message: string;
  /** Last traceback frame ("file.py, line N, in func"), for Python. */
  where?: string;
}
export type Outcome = { value: unknown } | { error: FnError } | undefined;

export const MAX_FIELD = 1000;
export const TRUNCATED_SUFFIX = "... (truncated)";
export const MAX_CONTEXT_CHARS = 200 * 1024;
export const MAX_DESTINATIONS = 10;

/**
 * At most 1000 characters: past that, the first 985 (984 rather than split a surrogate pair) and the suffix. NUL
 * and lone surrogates are written as \u escapes (core/storable-text.ts), so a dedup string or title read back
 * from either store is the one the rule gave: matches are told apart by their dedup string.
 */
export function truncate(s: string): string {
  // An escape is at most six units: what lies past MAX_FIELD × 6 would be cut anyway, and is not escaped for nothing.
  const text = wellFormedText(s.length > MAX_FIELD * 6 ? s.slice(0, MAX_FIELD * 6) : s);
  return text.length > MAX_FIELD ? cutText(text, MAX_FIELD - TRUNCATED_SUFFIX.length) + TRUNCATED_SUFFIX : text;
}

const ok = (o: Outcome): o is { value: unknown } => o !== undefined && "value" in o;
const okString = (o: Outcome): string | null => (ok(o) && typeof o.value === "string" ? o.value : null);

/** title() → DisplayName → RuleID; a raise, a non-string or an empty string falls back too. */
export function resolveTitle(o: Outcome, displayName: string | null, ruleId: string): string {
  const t = okString(o);
  return truncate(t !== null && t !== "" ? t : displayName || ruleId);
}

/**
 * dedup() → the title() output (only when title() is defined and produced one) → defaultDedupString. A string in
 * Vigil's own namespace (VIGIL_DEDUP_PREFIX) is given the prefix `rule:`, so it never stands for Vigil's alerts.
 */
export function resolveDedup(o: Outcome, titleOutcome: Outcome, ruleId: string): string {
  const d = okString(o);
  if (d !== null && d !== "") return ruleDedup(d);
  const t = okString(titleOutcome);
  if (t !== null && t !== "") return ruleDedup(t);
  return defaultDedupString(ruleId);
}

function ruleDedup(s: string): string {
  return truncate(s.startsWith(VIGIL_DEDUP_PREFIX) ? `rule:${s}` : s);
}

/** Upper-cased; DEFAULT, an invalid value, a raise or absence all mean the configured severity. */
export function resolveSeverity(o: Outcome, configured: Severity): Severity {
  const s = okString(o);
  if (s === null) return configured;
  const up = s.toUpperCase();
  return isSeverity(up) ? up : configured;
}

/** description/reference/runbook: function → static metadata; a raise or a non-string gives "". */
export function resolveText(o: Outcome, fallback: string | null): string | null {
  if (o === undefined) return fallback === null ? null : truncate(fallback);
  const s = okString(o);
  return s === null ? "" : truncate(s);
}

/** null: default routing. [] or "SKIP": suppressed. Deduplicated, at most 10. A raise: default routing. */
export function resolveDestinations(o: Outcome, fallback: readonly string[] | null): string[] | null {
  const def = fallback && fallback.length > 0 ? [...fallback] : null;
  if (!ok(o) || o.value === null || o.value === undefined) return def;
  const v = o.value;
  if (!Array.isArray(v) || !v.every((d) => typeof d === "string")) return def;
  if (v.length === 0 || v.includes("SKIP")) return [];
  return [...new Set(v as string[])].slice(0, MAX_DESTINATIONS);
}

export function resolveUnique(o: Outcome): string | null {
  return okString(o);
}

/** Python's repr of an exception, as Panther titles rule errors: `KeyError('x')`. */
export function errorRepr(e: FnError): string {
  // str(KeyError('x')) is already the repr of its argument
  if (e.type === "KeyError" && /^'.*'$|^".*"$/s.test(e.message)) return `${e.type}(${e.message})`;
  return e.message === "" ? `${e.type}()` : `${e.type}(${pyStrRepr(e.message)})`;
}

/** An error with the place it was raised, when Python said: `KeyError('x') (boom.py, line 3, in <module>)`. */
export function errorWithPlace(e: FnError): string {
  return e.where === undefined ? errorRepr(e) : `${errorRepr(e)} (${e.where})`;
}

/** What `vigil rules test` (an invalid file) and start-up say of a Python rule whose module does not import. */
export function pythonLoadProblem(path: string, e: FnError): string {
  return `${path}: the rule's Python module does not load: ${errorWithPlace(e)}`;
}

function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s
    .replace(/\\/g, "\\\\")
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t")
    .replace(quote === "'" ? /'/g : /"/g, `\\${quote}`);
  return quote + body + quote;
}

/** The length of Python's json.dumps(value) (", " and ": " separators, ensure_ascii) for a JSON value. */
export function pythonJsonLength(json: string, value: unknown): number {
  let extra = 0;
  for (let i = 0; i < json.length; i++) if (json.charCodeAt(i) > 127) extra += 5;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      if (v.length > 1) extra += v.length - 1;
      for (const x of v) walk(x);
    } else if (v !== null && typeof v === "object") {
      const vals = Object.values(v);
      if (vals.length > 0) extra += 2 * vals.length - 1;
      for (const x of vals) walk(x);
    }
  };
  walk(value);
  return json.length + extra;
}

/**
 * A Mapping, serialized; over 204800 characters (as Python measures them) it is replaced by the
 * `_error` object; a raise or a non-object becomes `{"_error": repr(err)}`. Absent: null.
 */
export function resolveAlertContext(o: Outcome): Record<string, unknown> | null {
  if (o === undefined) return null;
  if (!ok(o)) return { _error: errorRepr(o.error) };
  const v = o.value;
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    const got = v === null ? "NoneType" : Array.isArray(v) ? "list" : typeof v;
    return {
      _error: errorRepr({ type: "FunctionReturnTypeError", message: `alert_context() must return a dict, got ${got}` }),
    };
  }
  let json: string;
  let plain: Record<string, unknown>;
  try {
    json = JSON.stringify(v);
    plain = JSON.parse(json) as Record<string, unknown>;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return { _error: errorRepr({ type: e.name, message: e.message }) };
  }
  // Python's text is at most 6 characters per JSON character (\uXXXX) plus 1 per separator: a context that
  // short cannot be over the limit, and the exact measure (a walk of the value) is skipped.
  const size = json.length * 7 <= MAX_CONTEXT_CHARS ? json.length : pythonJsonLength(json, plain);
  if (size > MAX_CONTEXT_CHARS)
    return {
      _error: `alert_context size is [${size}] characters, bigger than maximum of [${MAX_CONTEXT_CHARS}] characters`,
    };
  return plain;
}

/** A thrown JS value as an FnError (name of the exception class). */
export function jsError(err: unknown): FnError {
  if (err instanceof Error) return { type: err.name || err.constructor.name || "Error", message: err.message };
  return { type: "Error", message: String(err) };
}
