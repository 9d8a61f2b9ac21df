// Read-only, case-insensitive views of an event, after panther_core's `immutable.py`:
//
// * ImmutableDict (Python: ImmutableCaseInsensitiveDict): lookups try the exact key first, then a
//   case-insensitive match; on a collision ("Type" and "TYPE") the first key in insertion order
//   wins. The lower-case key map is built lazily, on the first miss of an exact lookup, and only as
//   far as needed, as in Python.
// * ImmutableList (Python: ImmutableList, a tuple): a frozen Array subclass, so `includes`, `map`,
//   indexing and iteration work as usual; mutation throws a TypeError (ES modules are strict).
//
// Isolation: when an event is made, the record is copied once into private plain storage
// (plain objects and arrays, a cheap structural copy), so neither the rule nor the
// caller's later changes to the source record can alter the event, and nothing reachable from the
// event is the caller's. The read-only wrappers are made lazily: a nested object or list is wrapped
// (and frozen) the first time it is read, and the wrapper is cached in place of the plain copy, so
// a rule pays only for the parts of the event it actually looks at.

/** Python's KeyError: raised by `item(key)` (Python `event[key]`) for a missing key. */
export class KeyError extends Error {
  constructor(readonly key: string) {
    super(`KeyError: '${key}'`);
    this.name = "KeyError";
  }
}

/** A value as a rule sees it. */
export type EventValue = string | number | boolean | null | ImmutableDict | ImmutableList;

/**
 * The private storage behind an ImmutableDict: a plain object owned by the dict, holding primitives,
 * plain copies (stores, arrays) not yet wrapped, or cached wrappers. Every plain object or array
 * in a store is the store's own copy (see `copyValue`); other objects are kept as the record had them.
 */
type Store = Record<string, unknown>;

/**
 * A store value under an own key, else undefined. Stores are ordinary objects (V8 copies them
 * fastest, with object spread), so an inherited Object.prototype member must not pass for a key:
 * those are all functions, or the `__proto__` accessor.
 */
function ownValue(store: Store, key: string): unknown {
  const v = store[key];
  if (v === undefined) return undefined;
  if ((typeof v === "function" || key === "__proto__") && !Object.hasOwn(store, key)) return undefined;
  return v;
}

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
  readonly #store: Store;
  #keys: string[] | undefined;
  #lower: Map<string, string> | undefined;
  #lowerNext = 0;

  /**
   * Use `wrapValue` / `makeEvent`. Takes ownership of `data`: a Map of wrapped values, or a private
   * store made by `copyRecord` (never shared with a caller).
   */
  constructor(data: Map<string, EventValue> | Store) {
    if (data instanceof Map) {
      const store: Store = {};
      for (const [k, v] of data) setOwn(store, k, v);
      this.#store = store;
    } else this.#store = data;
  }

  /** The value under an existing key of the store, wrapped on first read (the wrapper is cached). */
  #load(key: string, raw: unknown): EventValue {
    if (typeof raw !== "object" || raw === null) return raw as EventValue;
    const wrapped = materialize(raw);
    if (wrapped !== raw) setOwn(this.#store, key, wrapped);
    return wrapped;
  }

  /** Case-insensitive lookup that returns `undefined` when missing (the core of every accessor). */
  #find(key: string): EventValue | undefined {
    if (typeof key !== "string") return undefined;
    const store = this.#store;
    const exact = ownValue(store, key);
    if (exact !== undefined) return this.#load(key, exact);
    const original = this.#caseInsensitiveKey(key.toLowerCase());
    return original === undefined ? undefined : this.#load(original, store[original]);
  }

  #keyList(): string[] {
    this.#keys ??= Object.keys(this.#store);
    return this.#keys;
  }

  #caseInsensitiveKey(lower: string): string | undefined {
    this.#lower ??= new Map();
    const known = this.#lower.get(lower);
    if (known !== undefined) return known;
    const keys = this.#keyList();
    // Extend the map only until the key is found; later lookups continue where this one stopped.
    while (this.#lowerNext < keys.length) {
      const original = keys[this.#lowerNext++]!;
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
    if (typeof key !== "string") return undefined;
    const raw = ownValue(this.#store, key);
    return raw === undefined ? undefined : this.#load(key, raw);
  }

  hasExact(key: string): boolean {
    return typeof key === "string" && ownValue(this.#store, key) !== undefined;
  }

  /** The original keys, in insertion order. */
  keys(): string[] {
    return [...this.#keyList()];
  }

  values(): EventValue[] {
    return this.#keyList().map((k) => this.#load(k, this.#store[k]));
  }

  items(): Array<[string, EventValue]> {
    return this.#keyList().map((k) => [k, this.#load(k, this.#store[k])]);
  }

  entries(): Array<[string, EventValue]> {
    return this.items();
  }

  get size(): number {
    return this.#keyList().length;
  }

  get length(): number {
    return this.#keyList().length;
  }

  [Symbol.iterator](): Iterator<string> {
    return this.keys()[Symbol.iterator]();
  }

  /** A mutable deep copy (Python `to_dict()` / `copy()`). */
  toDict(): Record<string, unknown> {
    return storeToDict(this.#store, this.#keyList());
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

/** Wraps a JSON-like value tree into immutable views (a private copy; cycles are rejected). */
export function wrapValue(value: unknown): EventValue {
  return materialize(copyValue(value, []));
}

/**
 * The private storage for an event made from `record`: a structural copy of the record into
 * stores and arrays (undefined becomes null; values that are not plain objects or
 * arrays are kept as they are, as before). Throws TypeError on a cycle.
 */
export function copyRecord(record: Record<string, unknown>): Store {
  return copyObject(record, []);
}

function copyObject(value: Record<string, unknown>, ancestors: object[]): Store {
  if (ancestors.includes(value)) throw new TypeError("the event contains a cycle");
  ancestors.push(value);
  // Spread copies the shape in one step; then only object-valued (and undefined) entries change.
  const out: Store = { ...value };
  for (const key of Object.keys(out)) {
    const v = out[key];
    if (v === undefined || (typeof v === "object" && v !== null)) setOwn(out, key, copyValue(v, ancestors));
  }
  ancestors.pop();
  return out;
}

function copyValue(value: unknown, ancestors: object[]): unknown {
  if (value === undefined) return null;
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof ImmutableDict || value instanceof ImmutableList) return value;
  if (Array.isArray(value)) {
    if (ancestors.includes(value)) throw new TypeError("the event contains a cycle");
    ancestors.push(value);
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) out.push(copyValue(value[i], ancestors));
    ancestors.pop();
    return out;
  }
  if (isPlainObject(value)) return copyObject(value, ancestors);
  return value;
}

/** Wraps a privately owned copy (from `copyValue`) one level deep; wrappers and others pass through. */
function materialize(raw: unknown): EventValue {
  if (typeof raw !== "object" || raw === null) return raw as EventValue;
  if (raw instanceof ImmutableDict || raw instanceof ImmutableList) return raw;
  if (Array.isArray(raw)) {
    const list = new ImmutableList();
    // A list's elements must be real values (indexing cannot be lazy), so they are wrapped now;
    // dicts among them stay lazy inside.
    for (let i = 0; i < raw.length; i++) list.push(materialize(raw[i]));
    return Object.freeze(list);
  }
  if (isPlainObject(raw)) {
    const dict = new ImmutableDict(raw as Store);
    Object.freeze(dict);
    return dict;
  }
  return raw as EventValue;
}

function storeToDict(store: Store, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) setOwn(out, k, rawToMutable(store[k]));
  return out;
}

/** A mutable deep copy of a store value: a wrapper, or a plain copy not yet wrapped. */
function rawToMutable(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof ImmutableDict) return value.toDict();
  if (Array.isArray(value)) return value.map((v) => rawToMutable(v));
  if (isPlainObject(value)) return storeToDict(value as Store, Object.keys(value));
  return value;
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
