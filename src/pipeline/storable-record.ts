// Decides, before anything is written, whether one API record can be stored as an event by both stores and
// handled by every later step (normalizer, detection, the Python rule worker). Pure: no I/O.
//
// Why each bound (issue 16, finding 3: one such record used to fail its whole page, and so every later poll):
// - NUL (U+0000) in any string or key: PostgreSQL text and jsonb cannot hold it (the page's INSERT failed with
//   "invalid byte sequence … 0x00"). SQLite would keep it, but documents that its text functions (length, LIKE,
//   the search's tools) may stop at the first NUL (sqlite.org/nulinstr.html). Refusing it in both keeps the two
//   stores alike, and keeps it out of alert text built from the record.
// - A lone surrogate (a \ud800 escape with no partner) in any string or key: it is not Unicode text, UTF-8 cannot
//   encode it, and the drivers silently write U+FFFD instead, so the stored columns would differ from the record.
// - Nesting deeper than MAX_RECORD_DEPTH: JSON.stringify recurses and throws RangeError near 5,000 levels; the
//   normalizer refuses more than 64 (src/schema/compile.ts), and the detection helpers and the Python rule worker
//   recurse too. Real audit records are under 10 levels deep.
// - More than MAX_RECORD_BYTES of JSON text: real audit records are a few kilobytes; one record of megabytes would
//   be copied into every index, alert context and rule-worker message. 1 MiB is hundreds of times a real record.
//
// The walk is iterative (an explicit stack), so it cannot itself overflow on a 10,000-level record, and it stops
// at the first problem: a 10 MB string is refused by its length before any text is scanned or serialized.

import { cutText } from "../core/storable-text.ts";
import type { ValidationIssue } from "../core/validation.ts";

export const MAX_RECORD_DEPTH = 64;
export const MAX_RECORD_BYTES = 1024 * 1024;

/** The record's JSON text when it can be stored, or the first reason it cannot. */
export type Storability = { ok: true; json: string } | { ok: false; issue: ValidationIssue };

/** Every check: shape (depth, size, JSON types) and text (NUL, lone surrogates) in every string and key. */
export function checkStorable(value: unknown): Storability {
  return walk(value, true, true);
}

/**
 * checkStorable for a value whose JSON text is not needed (the normalized record, which is never stored): the
 * same checks, but the text is only made when the size bound could be at stake, which for a real record it
 * never is.
 */
export function checkStorableUnserialized(value: unknown): { ok: true } | { ok: false; issue: ValidationIssue } {
  return walk(value, true, false);
}

/**
 * Only the shape checks: the value can be serialized whole within the bounds. A string holding NUL or a lone
 * surrogate is fine here, because JSON.stringify writes them as \u0000 / \udXXX escapes (plain ASCII), which
 * both stores hold: this is what a quarantine row's raw text may contain.
 */
export function checkSerializable(value: unknown): Storability {
  return walk(value, false, true);
}

interface Frame {
  value: unknown;
  /** Containers count: the record itself is depth 1. */
  depth: number;
  parent: Frame | null;
  key: string | number;
}

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// One scan for anything that could be a problem; text without NUL and without characters beyond U+FFFF (most
// text, emoji aside) does not match, so the exact checks rarely run.
const SUSPECT = /[\u0000\uD800-\uDFFF]/;

/** What makes a text unstorable, as a phrase, or null. */
function textProblem(text: string): { code: string; what: string } | null {
  if (!SUSPECT.test(text)) return null;
  if (text.includes("\u0000")) return { code: "nul_character", what: "a NUL character (U+0000)" };
  if (LONE_SURROGATE.test(text)) return { code: "lone_surrogate", what: "a lone UTF-16 surrogate (not Unicode text)" };
  return null;
}

function walk(root: unknown, checkText: boolean, serialize: true): Storability;
function walk(root: unknown, checkText: boolean, serialize: boolean): Storability | { ok: true };
function walk(root: unknown, checkText: boolean, serialize: boolean): Storability | { ok: true } {
  const stack: Frame[] = [{ value: root, depth: 0, parent: null, key: "$" }];
  // A lower bound of the JSON text's length in bytes (every character takes at least one byte; quotes, colons,
  // commas and brackets are counted; a number at least one digit), so passing the bound here is a sure refusal,
  // before anything is serialized. The exact measure is taken on the JSON text at the end.
  let estimate = 0;
  // An upper bound of the same (a UTF-16 unit takes at most 6 bytes of JSON: a \uXXXX escape; a number at most
  // 24 characters): below the limit, the exact measure need not be taken.
  let upper = 0;
  const tooLarge = (): Storability =>
    fail(
      "too_large",
      null,
      `The record is over ${MAX_RECORD_BYTES.toLocaleString("en-US")} bytes of JSON text; a real audit record is a few kilobytes.`,
    );
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const value = frame.value;
    switch (typeof value) {
      case "string": {
        estimate += value.length + 2;
        upper += value.length * 6 + 2;
        if (estimate > MAX_RECORD_BYTES) return tooLarge();
        const problem = checkText ? textProblem(value) : null;
        if (problem) return fail(problem.code, frame, `This string holds ${problem.what}, which cannot be stored.`);
        break;
      }
      case "number":
        estimate += 1;
        upper += 25;
        // JSON.parse never gives these; a caller handing in other values would see them turn into null.
        if (!Number.isFinite(value)) return fail("not_json", frame, `${value} is not a JSON number.`);
        break;
      case "boolean":
        estimate += 4;
        upper += 5;
        break;
      case "object": {
        estimate += value === null ? 4 : 2;
        upper += 4;
        if (value === null) break;
        const depth = frame.depth + 1;
        if (depth > MAX_RECORD_DEPTH) {
          return fail("too_deep", frame, `The record is nested deeper than ${MAX_RECORD_DEPTH} levels.`);
        }
        if (Array.isArray(value)) {
          // Reversed, so that the first problem in document order is the one reported.
          for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], depth, parent: frame, key: i });
          estimate += Math.max(0, value.length - 1);
          upper += value.length;
        } else {
          const keys = Object.keys(value);
          estimate += Math.max(0, keys.length - 1);
          for (let i = keys.length - 1; i >= 0; i--) {
            const key = keys[i] as string;
            estimate += key.length + 3;
            upper += key.length * 6 + 4;
            const problem = checkText ? textProblem(key) : null;
            if (problem) {
              return fail(problem.code, { value, depth, parent: frame, key }, `This key holds ${problem.what}.`);
            }
            stack.push({ value: (value as Record<string, unknown>)[key], depth, parent: frame, key });
          }
        }
        if (estimate > MAX_RECORD_BYTES) return tooLarge();
        break;
      }
      case "undefined":
        // JSON.stringify leaves out an undefined property and writes an undefined array item as null, as the
        // normalizer's output may rely on; only a record that is itself undefined has nothing to store.
        if (frame.parent === null) return fail("not_json", frame, "The record is undefined, not a JSON value.");
        estimate += 4;
        upper += 4;
        break;
      default:
        return fail("not_json", frame, `A ${typeof value} is not a JSON value.`);
    }
  }
  if (!serialize && upper <= MAX_RECORD_BYTES) return { ok: true };
  const json = JSON.stringify(root);
  // A UTF-16 unit is at most 3 bytes of UTF-8: a short text needs no exact count.
  if (json.length * 3 > MAX_RECORD_BYTES && Buffer.byteLength(json, "utf8") > MAX_RECORD_BYTES) return tooLarge();
  return { ok: true, json };
}

function fail(code: string, frame: Frame | null, message: string): Storability {
  return { ok: false, issue: { code, path: frame ? pathOf(frame) : "$", message } };
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_PATH_KEY = 60;

/** `$.actor.session["ip address"][0]`; keys written with JSON escapes, so the path itself is always storable. */
function pathOf(frame: Frame): string {
  const keys: Array<string | number> = [];
  for (let f: Frame | null = frame; f !== null && f.parent !== null; f = f.parent) keys.push(f.key);
  let path = "$";
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i] as string | number;
    if (typeof key === "number") path += `[${key}]`;
    else if (IDENTIFIER.test(key) && key.length <= MAX_PATH_KEY) path += `.${key}`;
    else path += `[${JSON.stringify(key.length > MAX_PATH_KEY ? `${key.slice(0, MAX_PATH_KEY)}…` : key)}]`;
  }
  return path;
}

// Bounds of a quarantine preview: enough to recognize the record and see what is wrong with it.
export const PREVIEW_DEPTH = 16;
export const PREVIEW_STRING = 1024;
export const PREVIEW_ENTRIES = 100;
const PREVIEW_BUDGET = 64 * 1024;

/**
 * A bounded JSON form of a record that cannot be kept whole (too deep, too large): at most PREVIEW_DEPTH levels,
 * PREVIEW_STRING characters per string or key, PREVIEW_ENTRIES entries per object or array and about 64 K
 * characters in all, with a note wherever something was left out. JSON.stringify writes NUL and lone surrogates as
 * \u escapes, so the text is plain, storable JSON whatever the record held.
 */
export function previewJson(value: unknown): string {
  const budget = { left: PREVIEW_BUDGET };
  return JSON.stringify(preview(value, 1, budget)) ?? "null";
}

function preview(value: unknown, depth: number, budget: { left: number }): unknown {
  if (typeof value === "string") return previewString(value, budget);
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "boolean" || value === null) return value;
  if (typeof value !== "object") return `[a ${typeof value}, not a JSON value]`;
  if (depth > PREVIEW_DEPTH) return `[nested deeper than ${PREVIEW_DEPTH} levels: not kept]`;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      if (out.length >= PREVIEW_ENTRIES || budget.left <= 0) {
        out.push(`[${value.length - out.length} more items not kept]`);
        break;
      }
      budget.left -= 1;
      out.push(preview(item, depth + 1, budget));
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  const keys = Object.keys(value);
  let kept = 0;
  for (const key of keys) {
    if (kept >= PREVIEW_ENTRIES || budget.left <= 0) {
      out["…"] = `${keys.length - kept} more keys not kept`;
      break;
    }
    kept++;
    const shortKey = cutText(key, PREVIEW_STRING);
    budget.left -= shortKey.length + 1;
    out[shortKey] = preview((value as Record<string, unknown>)[key], depth + 1, budget);
  }
  return out;
}

function previewString(text: string, budget: { left: number }): string {
  const keep = Math.max(0, Math.min(PREVIEW_STRING, budget.left));
  budget.left -= Math.min(text.length, keep);
  if (text.length <= keep) return text;
  const kept = cutText(text, keep);
  return `${kept}…[${(text.length - kept.length).toLocaleString("en-US")} more characters not kept]`;
}
