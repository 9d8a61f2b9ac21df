// Panther's Simple Detection match expressions (`Detection:`, `InlineFilters:`, `DynamicSeverities`), evaluated
// on the plain event record. Panther transpiles them to Python server-side; this is the documented grammar
// (reference panther-semantics §1.4): key specifiers Key / DeepKey / KeyPath, the key/value, key/values, multi-key,
// list-comprehension, existence and absolute forms, and the combinators All / Any / OnlyOne / None.
// `compileMatch` checks an expression once at load time, so an unknown condition fails its file, not an event.

import { BlockList, isIP } from "node:net";

export type Matcher = (record: unknown) => boolean;
/** The values a key specifier selects (several when a KeyPath has a `[*]`); [] when absent. */
export type Selector = (record: unknown) => unknown[];

export class MatchExpressionError extends Error {
  override name = "MatchExpressionError";
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Exact key first, then the first case-insensitive match, as PantherEvent looks keys up. */
function getKey(obj: unknown, key: string): unknown {
  if (!isObj(obj)) return undefined;
  if (Object.hasOwn(obj, key)) return obj[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

type Step = { key: string } | { index: number } | { wildcard: true };

function parseKeyPath(path: string): Step[] {
  const steps: Step[] = [];
  for (const part of path.split(".")) {
    const m = /^([^[\]]*)((?:\[(?:\d+|\*)\])*)$/.exec(part);
    if (!m) throw new MatchExpressionError(`invalid KeyPath ${JSON.stringify(path)}`);
    if (m[1] !== "") steps.push({ key: m[1]! });
    for (const idx of m[2]!.match(/\[(\d+|\*)\]/g) ?? []) {
      const inner = idx.slice(1, -1);
      steps.push(inner === "*" ? { wildcard: true } : { index: Number(inner) });
    }
  }
  return steps;
}

function walk(values: unknown[], step: Step): unknown[] {
  const out: unknown[] = [];
  for (const v of values) {
    if ("key" in step) {
      const next = getKey(v, step.key);
      if (next !== undefined) out.push(next);
    } else if ("index" in step) {
      if (Array.isArray(v) && step.index < v.length) out.push(v[step.index]);
    } else if (Array.isArray(v)) out.push(...v);
  }
  return out;
}

/** A key specifier ({Key} | {DeepKey} | {KeyPath}) as a selector; null when the object has none. */
export function compileSelector(spec: Obj): Selector | null {
  let steps: Step[] | null = null;
  if (typeof spec.Key === "string") steps = [{ key: spec.Key }];
  else if (Array.isArray(spec.DeepKey))
    steps = spec.DeepKey.map((k) => (typeof k === "number" ? { index: k } : { key: String(k) }));
  else if (typeof spec.KeyPath === "string") steps = parseKeyPath(spec.KeyPath);
  if (steps === null) return null;
  const s = steps;
  return (record) => s.reduce<unknown[]>((vals, step) => walk(vals, step), [record]);
}

const lower = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : v);
const str = (v: unknown) => (typeof v === "string" ? v : v === undefined || v === null ? null : String(v));
const num = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN);
const equal = (a: unknown, b: unknown) =>
  a === b || (a !== null && b !== null && JSON.stringify(a) === JSON.stringify(b));
const empty = (v: unknown) =>
  v === undefined ||
  v === null ||
  v === "" ||
  (Array.isArray(v) && v.length === 0) ||
  (isObj(v) && Object.keys(v).length === 0);

function isPrivateIp(ip: string): boolean {
  const list = new BlockList();
  for (const [net, bits] of [
    ["10.0.0.0", 8],
    ["172.16.0.0", 12],
    ["192.168.0.0", 16],
    ["127.0.0.0", 8],
    ["169.254.0.0", 16],
  ] as const)
    list.addSubnet(net, bits, "ipv4");
  list.addSubnet("fc00::", 7, "ipv6");
  list.addSubnet("fe80::", 10, "ipv6");
  list.addAddress("::1", "ipv6");
  return list.check(ip, isIP(ip) === 6 ? "ipv6" : "ipv4");
}

function inCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split("/");
  const family = isIP(net ?? "") === 6 ? "ipv6" : "ipv4";
  if (!net || isIP(ip) !== isIP(net)) return false;
  const list = new BlockList();
  list.addSubnet(net, Number(bits ?? (family === "ipv6" ? 128 : 32)), family);
  return list.check(ip, family);
}

/** Value conditions: (event value, expected value) → bool. The negative ones are true for an absent key. */
const VALUE_CONDITIONS: Record<string, (v: unknown, x: unknown) => boolean> = {
  Equals: (v, x) => equal(v, x),
  DoesNotEqual: (v, x) => !equal(v, x),
  IEquals: (v, x) => equal(lower(v), lower(x)),
  IDoesNotEqual: (v, x) => !equal(lower(v), lower(x)),
  StartsWith: (v, x) => str(v)?.startsWith(String(x)) ?? false,
  DoesNotStartWith: (v, x) => !(str(v)?.startsWith(String(x)) ?? false),
  IStartsWith: (v, x) => str(v)?.toLowerCase().startsWith(String(x).toLowerCase()) ?? false,
  IDoesNotStartWith: (v, x) => !(str(v)?.toLowerCase().startsWith(String(x).toLowerCase()) ?? false),
  EndsWith: (v, x) => str(v)?.endsWith(String(x)) ?? false,
  DoesNotEndWith: (v, x) => !(str(v)?.endsWith(String(x)) ?? false),
  IEndsWith: (v, x) => str(v)?.toLowerCase().endsWith(String(x).toLowerCase()) ?? false,
  IDoesNotEndWith: (v, x) => !(str(v)?.toLowerCase().endsWith(String(x).toLowerCase()) ?? false),
  Contains: (v, x) => (Array.isArray(v) ? v.some((e) => equal(e, x)) : (str(v)?.includes(String(x)) ?? false)),
  DoesNotContain: (v, x) => !VALUE_CONDITIONS.Contains!(v, x),
  IContains: (v, x) =>
    Array.isArray(v)
      ? v.some((e) => equal(lower(e), lower(x)))
      : (str(v)?.toLowerCase().includes(String(x).toLowerCase()) ?? false),
  IDoesNotContain: (v, x) => !VALUE_CONDITIONS.IContains!(v, x),
  IsGreaterThan: (v, x) => num(v) > num(x),
  IsGreaterThanOrEquals: (v, x) => num(v) >= num(x),
  IsLessThan: (v, x) => num(v) < num(x),
  IsLessThanOrEquals: (v, x) => num(v) <= num(x),
  IsIPAddressInCIDR: (v, x) => typeof v === "string" && typeof x === "string" && inCidr(v, x),
  IsIPAddressNotInCIDR: (v, x) => !(typeof v === "string" && typeof x === "string" && inCidr(v, x)),
};
VALUE_CONDITIONS.IsGreaterThanOrEqual = VALUE_CONDITIONS.IsGreaterThanOrEquals!;
VALUE_CONDITIONS.IsLessThanOrEqual = VALUE_CONDITIONS.IsLessThanOrEquals!;

/** Conditions without a value. `present` says whether the key exists at all. */
const UNARY_CONDITIONS: Record<string, (v: unknown, present: boolean) => boolean> = {
  Exists: (_v, present) => present,
  DoesNotExist: (_v, present) => !present,
  IsNull: (v) => v === null || v === undefined,
  IsNotNull: (v) => v !== null && v !== undefined,
  IsNullOrEmpty: (v) => empty(v),
  IsNotNullOrEmpty: (v) => !empty(v),
  IsIPAddress: (v) => typeof v === "string" && isIP(v) !== 0,
  IsIPv4Address: (v) => typeof v === "string" && isIP(v) === 4,
  IsIPv6Address: (v) => typeof v === "string" && isIP(v) === 6,
  IsIPAddressPublic: (v) => typeof v === "string" && isIP(v) !== 0 && !isPrivateIp(v),
  IsIPAddressPrivate: (v) => typeof v === "string" && isIP(v) !== 0 && isPrivateIp(v),
};

/** Which conditions are negative: over several selected values they must hold for all, the others for any. */
const NEGATIVE = /^(I?DoesNot|IsNot|IsIPAddressNotInCIDR$)/;

/** Every condition name this evaluator implements (for documentation and error messages). */
export const IMPLEMENTED_CONDITIONS: readonly string[] = Object.freeze([
  ...Object.keys(VALUE_CONDITIONS),
  ...Object.keys(UNARY_CONDITIONS),
  "IsIn",
  "IsNotIn",
  "AnyElement",
  "AllElements",
  "OnlyOneElement",
  "NoElement",
  "AlwaysTrue",
  "AlwaysFalse",
]);

function over(values: unknown[], condition: string, test: (v: unknown) => boolean): boolean {
  const list = values.length > 0 ? values : [undefined];
  return NEGATIVE.test(condition) ? list.every(test) : list.some(test);
}

/** Compiles one expression (or a list: an implicit All). `where` names it in errors. */
export function compileMatch(expr: unknown, where = "Detection", inlineFilter = false): Matcher {
  if (Array.isArray(expr)) {
    const parts = expr.map((e, i) => compileMatch(e, `${where}[${i}]`, inlineFilter));
    return (r) => parts.every((p) => p(r));
  }
  if (!isObj(expr)) throw new MatchExpressionError(`${where}: a match expression must be an object`);
  for (const [name, combine] of [
    ["All", (xs: boolean[]) => xs.every(Boolean)],
    ["Any", (xs: boolean[]) => xs.some(Boolean)],
    ["OnlyOne", (xs: boolean[]) => xs.filter(Boolean).length === 1],
    ["None", (xs: boolean[]) => !xs.some(Boolean)],
  ] as const) {
    if (!(name in expr)) continue;
    if (inlineFilter && (name === "OnlyOne" || name === "None"))
      throw new MatchExpressionError(`${where}: InlineFilters allow only All and Any`);
    const list = expr[name];
    if (!Array.isArray(list)) throw new MatchExpressionError(`${where}.${name}: must be a list`);
    const parts = list.map((e, i) => compileMatch(e, `${where}.${name}[${i}]`, inlineFilter));
    return (r) => combine(parts.map((p) => p(r)));
  }
  if ("Enrichment" in expr)
    throw new MatchExpressionError(`${where}: Enrichment (lookup-table) conditions are not supported`);
  const condition = expr.Condition;
  if (typeof condition !== "string") throw new MatchExpressionError(`${where}: Condition is required`);
  if (condition === "AlwaysTrue") return () => true;
  if (condition === "AlwaysFalse") return () => false;
  const select = compileSelector(expr);
  if (select === null) {
    // multi-key: compares two event fields, {Condition, Values: [{KeyPath: a}, {KeyPath: b}]}
    const values = expr.Values;
    const test = VALUE_CONDITIONS[condition];
    if (!Array.isArray(values) || values.length !== 2 || !test)
      throw new MatchExpressionError(`${where}: needs a Key, DeepKey or KeyPath (condition ${condition})`);
    const [a, b] = values.map((v) => (isObj(v) ? compileSelector(v) : null));
    if (!a || !b) throw new MatchExpressionError(`${where}: a multi-key Values entry needs a key specifier`);
    return (r) => test(a(r)[0], b(r)[0]);
  }
  if (inlineFilter && (typeof expr.Key === "string" || Array.isArray(expr.DeepKey)))
    throw new MatchExpressionError(`${where}: InlineFilters use KeyPath only`);
  if (["AnyElement", "AllElements", "OnlyOneElement", "NoElement"].includes(condition)) {
    const inner = compileMatch(expr.Expressions ?? [], `${where}.Expressions`, inlineFilter);
    return (r) => {
      const lists = select(r).filter(Array.isArray) as unknown[][];
      const hits = lists.flat().map((e) => inner(e));
      if (condition === "AnyElement") return hits.some(Boolean);
      if (condition === "AllElements") return hits.length > 0 && hits.every(Boolean);
      if (condition === "OnlyOneElement") return hits.filter(Boolean).length === 1;
      return !hits.some(Boolean);
    };
  }
  if (condition === "IsIn" || condition === "IsNotIn" || condition === "IIsIn" || condition === "IIsNotIn") {
    if (!Array.isArray(expr.Values)) throw new MatchExpressionError(`${where}: ${condition} needs Values`);
    const ci = condition.startsWith("II");
    const allowed = expr.Values.map((x) => (ci ? lower(x) : x));
    const inList = (v: unknown) => allowed.some((x) => equal(ci ? lower(v) : v, x));
    return condition.endsWith("NotIn") ? (r) => select(r).every((v) => !inList(v)) : (r) => select(r).some(inList);
  }
  const unary = UNARY_CONDITIONS[condition];
  if (unary) {
    return (r) => {
      const vals = select(r);
      return over(vals, condition, (v) => unary(v, vals.length > 0));
    };
  }
  const test = VALUE_CONDITIONS[condition];
  if (!test) throw new MatchExpressionError(`${where}: condition ${condition} is not implemented`);
  if (!("Value" in expr)) throw new MatchExpressionError(`${where}: ${condition} needs a Value`);
  const expected = expr.Value;
  return (r) => over(select(r), condition, (v) => test(v, expected));
}
