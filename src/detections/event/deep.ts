// deep_get and deep_walk with panther_core's exact semantics (enriched_event.py; the same as the
// free functions in panther_base_helpers). They work on any value, so data-model methods and
// helpers can use them on sub-objects too.
//
// deep_get: each step is a case-insensitive `.get(key, default)`; a non-mapping step (a list, a
// string, null) gives the default, so lists are never indexed; a final null gives the default;
// falsy values (0, "", false, [], {}) are returned as they are. If the default is itself a mapping,
// the next keys are looked up in it (plain objects case-sensitively, as Python dicts are).
//
// deep_walk: like deep_get but it descends into every element of a list and collects the values
// found, flattening lists and de-duplicating in first-seen order. Quirks kept on purpose:
// * an element where the path is missing contributes the default (when the default is not null);
// * `returnVal` "first"/"last" pick one value, "all" gives the single value or the list, and any
//   other string returns the literal string "all";
// * values are de-duplicated like Python dict keys: true equals 1, and an object or list found
//   inside a list raises TypeError ("unhashable type"), as it does in Python.
// Keys are matched case-insensitively, as in deep_get. (The newest panther_core walks the raw dict,
// which would make deep_walk case-sensitive; the reference semantics and panther_base_helpers'
// deep_walk over an event are case-insensitive, which is what rules are written against.)

import { type EventValue, ImmutableDict, isPlainObject } from "./immutable.ts";

export interface DeepGetOptions<D = unknown> {
  default?: D;
}

export type ReturnVal = "all" | "first" | "last";

export interface DeepWalkOptions<D = unknown> {
  default?: D;
  /** "all" (default), "first" or "last". Python's keyword is return_val, also accepted. */
  returnVal?: ReturnVal | string;
  return_val?: ReturnVal | string;
}

/** Splits `(...keys, options?)` call arguments. */
export function splitArgs<O extends object>(args: readonly unknown[]): { keys: string[]; options: O } {
  const last = args[args.length - 1];
  if (args.length > 0 && typeof last === "object" && last !== null && !Array.isArray(last) && isPlainObject(last))
    return { keys: args.slice(0, -1) as string[], options: last as O };
  return { keys: args as string[], options: {} as O };
}

function isMapping(v: unknown): v is ImmutableDict | Record<string, unknown> {
  return v instanceof ImmutableDict || isPlainObject(v);
}

/** `mapping.get(key, default)`: case-insensitive on event values, exact on plain (default) objects. */
function mappingGet(m: ImmutableDict | Record<string, unknown>, key: string, dflt: unknown): unknown {
  if (m instanceof ImmutableDict) return m.get(key, dflt);
  return Object.hasOwn(m, key) ? m[key] : dflt;
}

function isNone(v: unknown): v is null | undefined {
  return v === null || v === undefined;
}

export function deepGetFrom<D = null>(root: unknown, keys: readonly string[], dflt?: D): EventValue | D {
  const fallback = (dflt === undefined ? null : dflt) as D;
  let current: unknown = root;
  for (const key of keys) current = isMapping(current) ? mappingGet(current, key, fallback) : fallback;
  return (isNone(current) ? fallback : current) as EventValue | D;
}

function isSequence(v: unknown): v is readonly unknown[] {
  return Array.isArray(v);
}

/** Python's `_empty_list`: a list whose elements are all (recursively) empty lists. */
function isEmptyList(v: unknown): boolean {
  return isSequence(v) && v.every(isEmptyList);
}

/** Python dict-key identity: True == 1 and False == 0; objects and lists are unhashable. */
function hashKey(v: unknown): unknown {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "object" && v !== null) {
    const kind = Array.isArray(v) ? "ImmutableList" : "ImmutableCaseInsensitiveDict";
    throw new TypeError(`unhashable type: '${kind}'`);
  }
  return v;
}

function walk(obj: unknown, keys: readonly string[], dflt: unknown, returnVal: string): unknown {
  if (keys.length === 0) return isEmptyList(obj) || isNone(obj) ? dflt : obj;
  const [current, ...rest] = keys as [string, ...string[]];
  if (isMapping(obj)) return walk(mappingGet(obj, current, dflt), rest, dflt, returnVal);
  const found = new Map<unknown, unknown>();
  if (isSequence(obj)) {
    for (const item of obj) {
      const value = walk(item, keys, dflt, returnVal);
      if (isNone(value)) continue;
      if (isSequence(value)) {
        for (const sub of value) {
          const k = hashKey(sub);
          if (!found.has(k)) found.set(k, sub);
        }
      } else {
        const k = hashKey(value);
        if (!found.has(k)) found.set(k, value);
      }
    }
  }
  const values = [...found.values()];
  if (values.length === 0) return dflt;
  switch (returnVal) {
    case "first":
      return values[0];
    case "last":
      return values[values.length - 1];
    case "all":
      return values.length === 1 ? values[0] : values;
    default:
      return "all";
  }
}

export function deepWalkFrom<D = null>(
  root: unknown,
  keys: readonly string[],
  options: DeepWalkOptions<D> = {},
): EventValue | EventValue[] | D {
  const dflt = options.default === undefined ? null : options.default;
  const returnVal = options.returnVal ?? options.return_val ?? "all";
  return walk(root, keys, dflt, returnVal) as EventValue | EventValue[] | D;
}

/** Free-function form, like panther_base_helpers.deep_get(obj, *keys, default=None). */
export function deepGet(obj: unknown, ...args: Array<string | DeepGetOptions>): unknown {
  const { keys, options } = splitArgs<DeepGetOptions>(args);
  return deepGetFrom(obj, keys, options.default);
}

/** Free-function form, like panther_base_helpers.deep_walk(obj, *keys, default=None, return_val="all"). */
export function deepWalk(obj: unknown, ...args: Array<string | DeepWalkOptions>): unknown {
  const { keys, options } = splitArgs<DeepWalkOptions>(args);
  return deepWalkFrom(obj, keys, options);
}
