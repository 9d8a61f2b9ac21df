// Compiles a checked schema definition into decoders: one closure per field, built once, so that
// normalizing a record walks the record, not the schema. A decoder checks a value's type, converts
// it (numbers from numeric text, timestamps to Panther's text format), feeds indicators, offers
// event times, and returns the normalized value, or FAIL after recording an issue.
//
// Keys are renamed to Panther column names at every level, declared or not. Undeclared fields are
// kept (copied with renamed keys) unless the schema sets `fieldDiscoveryEnabled: false`. Values of
// type `json` are kept as received (copied, keys untouched).

import { columnName } from "./column-name.ts";
import type { FieldDef, SchemaDef, ValueDef } from "./definition.ts";
import { compileScanner, IndicatorSink } from "./indicators.ts";
import { PathNode, renderPath } from "./json-path.ts";
import { combineTimeParsers, compileTimeFormat, type TimeParser } from "./time/formats.ts";
import { formatPantherTime, type Instant } from "./time/instant.ts";
import type { ValidationIssue } from "./types.ts";
import { compileValidator } from "./validators.ts";

/** Returned by a decoder whose value was rejected (the issue is already recorded). */
export const FAIL: unique symbol = Symbol("fail");
export type Decoded = unknown;

/** Nesting deeper than this is rejected: real audit records are a few levels deep. */
export const MAX_DEPTH = 64;
/** A hostile record could produce an issue per element; the first ones are enough to act on. */
export const MAX_ISSUES = 50;

export class DecodeState {
  readonly issues: ValidationIssue[] = [];
  readonly sink = new IndicatorSink();
  eventTime: Instant | null = null;
  /** The event time already formatted, so p_event_time does not format it twice. */
  eventTimeText = "";
  private eventRank = Number.POSITIVE_INFINITY;

  issue(code: string, parent: PathNode, key: string | number | undefined, message: string): void {
    if (this.issues.length < MAX_ISSUES) this.issues.push({ code, path: renderPath(parent, key), message });
  }

  /** The first non-empty isEventTime field in schema order wins. */
  offerEventTime(rank: number, time: Instant, text: string): void {
    if (rank < this.eventRank) {
      this.eventRank = rank;
      this.eventTime = time;
      this.eventTimeText = text;
    }
  }
}

export type Decoder = (
  value: NonNullable<unknown>,
  parent: PathNode,
  key: string | number,
  st: DecodeState,
  depth: number,
) => Decoded | typeof FAIL;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Sets an own property even for the key "__proto__", which plain assignment would treat as the prototype. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return value.length > 40 ? "a string" : `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

function wrongType(st: DecodeState, parent: PathNode, key: string | number, expected: string, value: unknown) {
  st.issue("wrong_type", parent, key, `expected ${expected}, got ${describe(value)}`);
  return FAIL;
}

/** Deep copy of an undeclared (or `json`) value; keys renamed to column names when `rename`. */
function copyValue(
  value: unknown,
  parent: PathNode,
  key: string | number,
  st: DecodeState,
  depth: number,
  rename: boolean,
): Decoded | typeof FAIL {
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_DEPTH) {
    st.issue("too_deep", parent, key, `nesting deeper than ${MAX_DEPTH} levels`);
    return FAIL;
  }
  const here = new PathNode(parent, key);
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const c = copyValue(value[i], here, i, st, depth + 1, rename);
      if (c === FAIL) return FAIL;
      out[i] = c;
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    const c = copyValue((value as Record<string, unknown>)[k], here, k, st, depth + 1, rename);
    if (c === FAIL) return FAIL;
    const column = rename ? columnName(k) : k;
    // After renaming two keys can collide ("a.b" and "a_b"): the first one is kept.
    if (!Object.hasOwn(out, column)) setOwn(out, column, c);
  }
  return out;
}

const INT_TEXT = /^[+-]?\d+$/;
const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

const INT_RANGES = {
  smallint: [-32768, 32767],
  int: [-2147483648, 2147483647],
} as const;
const INT64_MIN = -(2n ** 63n);
// 2^63 is exactly representable as a double, so it bounds JS numbers precisely.
const TWO_POW_63 = 2 ** 63;
const INT64_MAX = 2n ** 63n - 1n;

function compileInteger(type: "smallint" | "int" | "bigint"): Decoder {
  const label = type === "smallint" ? "16-bit" : type === "int" ? "32-bit" : "64-bit";
  return (v, parent, key, st) => {
    let n: number;
    if (typeof v === "number") {
      if (!Number.isInteger(v)) return wrongType(st, parent, key, `a ${label} integer`, v);
      n = v;
    } else if (typeof v === "string" && INT_TEXT.test(v)) {
      // Numeric text is accepted, as Panther's decoders do; it becomes a number.
      if (type === "bigint") {
        const big = BigInt(v);
        if (big < INT64_MIN || big > INT64_MAX) {
          st.issue("out_of_range", parent, key, `${v} does not fit a ${label} integer`);
          return FAIL;
        }
        // Beyond 2^53 a JS number would change the value; the exact digits are kept as text.
        return Number.isSafeInteger(Number(big)) ? Number(big) : big.toString();
      }
      n = Number(v);
    } else {
      return wrongType(st, parent, key, `a ${label} integer`, v);
    }
    if (type === "bigint") {
      if (n < -TWO_POW_63 || n >= TWO_POW_63) {
        st.issue("out_of_range", parent, key, `${n} does not fit a ${label} integer`);
        return FAIL;
      }
      return n;
    }
    const [min, max] = INT_RANGES[type];
    if (n < min || n > max) {
      st.issue("out_of_range", parent, key, `${n} does not fit a ${label} integer`);
      return FAIL;
    }
    return n;
  };
}

const decodeFloat: Decoder = (v, parent, key, st) => {
  if (typeof v === "number") return v;
  if (typeof v === "string" && FLOAT_TEXT.test(v)) return Number(v);
  return wrongType(st, parent, key, "a number", v);
};

const decodeBoolean: Decoder = (v, parent, key, st) => {
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  return wrongType(st, parent, key, "true or false", v);
};

const decodeJson: Decoder = (v, parent, key, st, depth) => copyValue(v, parent, key, st, depth, false);

/** Wraps a decoder for `isEmbeddedJSON`: a string value is parsed as JSON first. */
function embeddedJson(inner: Decoder): Decoder {
  return (v, parent, key, st, depth) => {
    if (typeof v !== "string") return inner(v, parent, key, st, depth);
    if (v.trim() === "") return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch (err) {
      st.issue("invalid_json", parent, key, `embedded JSON does not parse: ${(err as Error).message}`);
      return FAIL;
    }
    if (parsed === null || parsed === undefined) return null;
    return inner(parsed, parent, key, st, depth);
  };
}

interface CompiledField {
  name: string;
  column: string;
  required: boolean;
  /** Empty text also counts as missing for required strings and timestamps. */
  emptyIsMissing: boolean;
  decode: Decoder;
}

interface CompileContext {
  definitions: Map<string, ValueDef>;
  refs: Map<string, Decoder>;
  keepUndeclared: boolean;
  /** Depth-first position of the next isEventTime field: its priority. */
  eventRank: number;
}

function compileTimestamp(def: ValueDef, ctx: CompileContext): Decoder {
  // Formats were checked when the definition was read, so compiling cannot fail here.
  const parse: TimeParser = combineTimeParsers(def.timeFormats.map((f) => compileTimeFormat(f) as TimeParser));
  const rank = def.isEventTime ? ctx.eventRank++ : -1;
  return (v, parent, key, st) => {
    const t = parse(v);
    if (t === null) return null;
    if (typeof t === "string") {
      st.issue("bad_timestamp", parent, key, `${describe(v)} ${t}`);
      return FAIL;
    }
    const text = formatPantherTime(t);
    if (rank >= 0) st.offerEventTime(rank, t, text);
    return text;
  };
}

function compileString(def: ValueDef): Decoder {
  const validate = compileValidator(def.validate);
  const scan = def.indicators.length > 0 ? compileScanner(def.indicators) : undefined;
  return (v, parent, key, st) => {
    if (typeof v !== "string") return wrongType(st, parent, key, "a string", v);
    if (validate !== undefined) {
      const error = validate(v);
      if (error !== undefined) {
        st.issue("invalid_value", parent, key, `${describe(v)} ${error}`);
        return FAIL;
      }
    }
    if (scan !== undefined) scan(v, st.sink);
    return v;
  };
}

function compileArray(element: Decoder): Decoder {
  return (v, parent, key, st, depth) => {
    if (!Array.isArray(v)) return wrongType(st, parent, key, "an array", v);
    if (depth > MAX_DEPTH) {
      st.issue("too_deep", parent, key, `nesting deeper than ${MAX_DEPTH} levels`);
      return FAIL;
    }
    const here = new PathNode(parent, key);
    const out = new Array<unknown>(v.length);
    let failed = false;
    for (let i = 0; i < v.length; i++) {
      const e: unknown = v[i];
      if (e === null || e === undefined) {
        out[i] = null;
        continue;
      }
      const d = element(e, here, i, st, depth + 1);
      if (d === FAIL) failed = true;
      else out[i] = d;
    }
    return failed ? FAIL : out;
  };
}

/** `topLevel`: undeclared top-level keys in the reserved `p_` namespace are kept under `_p_…`. */
function compileObject(fieldDefs: FieldDef[], ctx: CompileContext, topLevel: boolean): Decoder {
  const fields: CompiledField[] = fieldDefs.map((f) => ({
    name: f.name,
    column: columnName(f.name),
    required: f.required,
    emptyIsMissing: f.type === "string" || f.type === "timestamp",
    decode: compileValue(f, ctx),
  }));
  const byName = new Map(fields.map((f) => [f.name, f]));
  const required = fields.filter((f) => f.required);
  const keepUndeclared = ctx.keepUndeclared;
  return (v, parent, key, st, depth) => {
    if (!isPlainObject(v)) return wrongType(st, parent, key, "an object", v);
    if (depth > MAX_DEPTH) {
      st.issue("too_deep", parent, key, `nesting deeper than ${MAX_DEPTH} levels`);
      return FAIL;
    }
    const here = parent.parent === null && key === "$" ? parent : new PathNode(parent, key);
    const out: Record<string, unknown> = {};
    let failed = false;
    for (const k of Object.keys(v)) {
      const value = v[k];
      const field = byName.get(k);
      if (field === undefined) {
        if (!keepUndeclared) continue;
        let column = columnName(k);
        if (topLevel && column.startsWith("p_")) column = `_${column}`;
        if (Object.hasOwn(out, column)) continue;
        const copied = copyValue(value, here, k, st, depth + 1, true);
        if (copied === FAIL) failed = true;
        else setOwn(out, column, copied);
        continue;
      }
      if (value === null || value === undefined) {
        setOwn(out, field.column, null);
        continue;
      }
      const decoded = field.decode(value, here, k, st, depth + 1);
      if (decoded === FAIL) failed = true;
      else setOwn(out, field.column, decoded);
    }
    for (const field of required) {
      const value = Object.hasOwn(v, field.name) ? v[field.name] : undefined;
      if (value === undefined || value === null || (field.emptyIsMissing && value === "")) {
        st.issue("missing_required", here, field.name, "is required but missing");
        failed = true;
      }
    }
    return failed ? FAIL : out;
  };
}

function compileValue(def: ValueDef, ctx: CompileContext): Decoder {
  let decoder: Decoder;
  switch (def.type) {
    case "string":
      decoder = compileString(def);
      break;
    case "int":
    case "smallint":
    case "bigint":
      decoder = compileInteger(def.type);
      break;
    case "float":
      decoder = decodeFloat;
      break;
    case "boolean":
      decoder = decodeBoolean;
      break;
    case "timestamp":
      decoder = compileTimestamp(def, ctx);
      break;
    case "object":
      decoder = compileObject(def.fields, ctx, false);
      break;
    case "array":
      decoder = compileArray(compileValue(def.element!, ctx));
      break;
    case "json":
      decoder = decodeJson;
      break;
    case "ref":
      decoder = refDecoder(def.target!, ctx);
      break;
  }
  return def.isEmbeddedJSON ? embeddedJson(decoder) : decoder;
}

/**
 * Definitions may be recursive: a forwarding decoder is registered before the target is compiled,
 * so a reference to itself finds it. Compiling eagerly keeps event-time priorities in schema order.
 */
function refDecoder(name: string, ctx: CompileContext): Decoder {
  const existing = ctx.refs.get(name);
  if (existing !== undefined) return existing;
  let target: Decoder | undefined;
  const decoder: Decoder = (v, parent, key, st, depth) => target!(v, parent, key, st, depth);
  ctx.refs.set(name, decoder);
  target = compileValue(ctx.definitions.get(name)!, ctx);
  return decoder;
}

/** The record decoder of a schema: decodes the top-level object. */
export function compileRecordDecoder(def: SchemaDef): Decoder {
  const ctx: CompileContext = {
    definitions: def.definitions,
    refs: new Map(),
    keepUndeclared: def.keepUndeclared,
    eventRank: 0,
  };
  return compileObject(def.fields, ctx, true);
}
