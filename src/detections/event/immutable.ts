// Read-only, case-insensitive views of an event, after panther_core's `immutable.py`:
//
// * ImmutableDict (Python: ImmutableCaseInsensitiveDict): lookups try the exact key first, then a
//   case-insensitive match; on a collision ("Type" and "TYPE") the first key in insertion order
//   wins. The lower-case key map is built lazily and only as far as needed, as in Python.
// * ImmutableList (Python: ImmutableList, a tuple): a frozen Array subclass, so `includes`, `map`,
//   indexing and iteration work as usual; mutation throws a TypeError (ES modules are strict).
//
// The whole value tree is wrapped once, when the event is made: the wrappers hold their own copies,
// so neither the rule nor the caller's later changes to the source record can alter the event.

/** Python's KeyError: raised by `item(key)` (Python `event[key]`) for a missing key. */
export class KeyError extends Error {
  constructor(readonly key: string) {
    super(`KeyError: '${key}'`);
    this.name = "KeyError";
  }
}

/** A value as a rule sees it. */
export type EventValue = string | number | boolean | null | ImmutableDict | ImmutableList;

export class ImmutableList extends Array<EventValue> {
  // map/filter/slice return plain (mutable) arrays rather than new ImmutableLists.
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  /** A mutable deep copy (Python `as_list()` / `copy()`). */
  asList(): unknown[] {
    return this.map((v) => toMutable(v));
  }

  as_list(): unknown[] {
    return this.asList();
  }

  copy(): unknown[] {
    return this.asList();
  }

  /** Python's `ImmutableList == list`: equal contents. */
  equals(other: unknown): boolean {
    return deepEqual(this, other);
  }
}

export class ImmutableDict implements Iterable<string> {
  readonly #data: Map<string, EventValue>;
  #lower: Map<string, string> | undefined;
  #lowerPending: Iterator<string> | undefined;

  /** Use `wrapValue` / `makeEvent`; the map's values must already be wrapped. */
  constructor(data: Map<string, EventValue>) {
    this.#data = data;
  }

  /** Case-insensitive lookup that returns `undefined` when missing (the core of every accessor). */
  #find(key: string): EventValue | undefined {
    const exact = this.#data.get(key);
    if (exact !== undefined || this.#data.has(key) || this.#data.size === 0) return exact;
    if (typeof key !== "string") return undefined;
    const original = this.#caseInsensitiveKey(key.toLowerCase());
    return original === undefined ? undefined : this.#data.get(original);
  }

  #caseInsensitiveKey(lower: string): string | undefined {
    this.#lower ??= new Map();
    const known = this.#lower.get(lower);
    if (known !== undefined) return known;
    this.#lowerPending ??= this.#data.keys();
    // Extend the map only until the key is found; later lookups continue where this one stopped.
    for (let next = this.#lowerPending.next(); !next.done; next = this.#lowerPending.next()) {
      const original = next.value;
      const folded = original.toLowerCase();
      if (!this.#lower.has(folded)) this.#lower.set(folded, original);
      if (folded === lower) return this.#lower.get(folded);
    }
    return undefined;
  }

  /**
   * Python's `mapping.get(key, default)`: the value, or `defaultValue` when the key is missing. A
   * key that is present with value null returns null, not the default.
   */
  get<D = null>(key: string, defaultValue?: D): EventValue | D {
    const value = this.#find(key);
    if (value === undefined) return (defaultValue === undefined ? null : defaultValue) as D;
    return value;
  }

  /** Python's `event[key]`: throws KeyError when missing. */
  item(key: string): EventValue {
    const value = this.#find(key);
    if (value === undefined) throw new KeyError(key);
    return value;
  }

  /** Python's `key in event` (case-insensitive). */
  has(key: string): boolean {
    return this.#find(key) !== undefined;
  }

  /** Exact-key access, as a JSONPath over the raw record does. */
  getExact(key: string): EventValue | undefined {
    return this.#data.get(key);
  }

  hasExact(key: string): boolean {
    return this.#data.has(key);
  }

  /** The original keys, in insertion order. */
  keys(): string[] {
    return [...this.#data.keys()];
  }

  values(): EventValue[] {
    return [...this.#data.values()];
  }

  items(): Array<[string, EventValue]> {
    return [...this.#data.entries()];
  }

  entries(): Array<[string, EventValue]> {
    return this.items();
  }

  get size(): number {
    return this.#data.size;
  }

  get length(): number {
    return this.#data.size;
  }

  [Symbol.iterator](): Iterator<string> {
    return this.#data.keys();
  }

  /** A mutable deep copy (Python `to_dict()` / `copy()`). */
  toDict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of this.#data) setOwn(out, k, toMutable(v));
    return out;
  }

  to_dict(): Record<string, unknown> {
    return this.toDict();
  }

  copy(): Record<string, unknown> {
    return this.toDict();
  }

  /** JSON.stringify support (Python's `PantherEvent.json_encoder`). */
  toJSON(): Record<string, unknown> {
    return this.toDict();
  }

  /** Python's `ImmutableCaseInsensitiveDict == dict`: equal contents, keys compared exactly. */
  equals(other: unknown): boolean {
    return deepEqual(this, other);
  }
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Wraps a JSON-like value tree into immutable views (cycles are rejected). */
export function wrapValue(value: unknown, ancestors: Set<object> = new Set()): EventValue {
  if (value instanceof ImmutableDict || value instanceof ImmutableList) return value;
  if (Array.isArray(value)) {
    if (ancestors.has(value)) throw new TypeError("the event contains a cycle");
    ancestors.add(value);
    const list = new ImmutableList();
    for (const element of value) list.push(wrapValue(element, ancestors));
    ancestors.delete(value);
    return Object.freeze(list);
  }
  if (isPlainObject(value)) {
    if (ancestors.has(value)) throw new TypeError("the event contains a cycle");
    ancestors.add(value);
    const map = new Map<string, EventValue>();
    for (const key of Object.keys(value)) map.set(key, wrapValue(value[key], ancestors));
    ancestors.delete(value);
    const dict = new ImmutableDict(map);
    Object.freeze(dict);
    return dict;
  }
  if (value === undefined) return null;
  return value as EventValue;
}

/** A mutable deep copy of a wrapped value. */
export function toMutable(value: unknown): unknown {
  if (value instanceof ImmutableDict) return value.toDict();
  if (Array.isArray(value)) return value.map((v) => toMutable(v));
  return value;
}

/** Python `==` between wrappers and plain values: same contents (dict keys compared exactly). */
export function deepEqual(a: unknown, b: unknown): boolean {
  const x = a instanceof ImmutableDict ? a.toDict() : a;
  const y = b instanceof ImmutableDict ? b.toDict() : b;
  if (x === y) return true;
  if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((v, i) => deepEqual(v, y[i]));
  if (isPlainObject(x) && isPlainObject(y)) {
    const kx = Object.keys(x);
    const ky = Object.keys(y);
    return kx.length === ky.length && kx.every((k) => Object.hasOwn(y, k) && deepEqual(x[k], y[k]));
  }
  return false;
}
