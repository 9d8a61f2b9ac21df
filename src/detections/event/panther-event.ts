// The event object rules receive: Python's `PantherEvent` (panther_core enriched_event.py) in
// TypeScript. It is an ImmutableDict (read-only, case-insensitive at every level) with deep_get,
// deep_walk, udm, udm_path and event_time_epoch. Every method has a camelCase name and the Python
// snake_case alias, so rules port line for line:
//
//   Python:     event.deep_get("actor", "user", "email", default="Unknown")
//   TypeScript: event.deep_get("actor", "user", "email", { default: "Unknown" })
//
// Keyword arguments become a trailing options object: `{ default }` for deep_get/deep_walk/udm and
// `{ returnVal }` (or `return_val`) for deep_walk. A missing value is `null` (Python's None).

import { type DeepGetOptions, type DeepWalkOptions, deepGetFrom, deepWalkFrom, splitArgs } from "./deep.ts";
import { type EventValue, ImmutableDict, wrapValue } from "./immutable.ts";
import { type CompiledPath, findAll } from "./json-path.ts";

/** A data-model method: computes a unified field from the event. */
export type DataModelMethod = (event: PantherEvent) => unknown;

/** A compiled data model (see data-model.ts `defineDataModel`): what udm() consults. */
export interface DataModel {
  readonly id: string;
  readonly logTypes: readonly string[];
  readonly paths: ReadonlyMap<string, CompiledPath>;
  readonly methods: ReadonlyMap<string, DataModelMethod>;
}

/** panther_core's PantherError, raised by udm_path when the log type has no data model. */
export class PantherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PantherError";
  }
}

type KeysThen<O> = [...keys: string[], options: O] | string[];

export class PantherEvent extends ImmutableDict {
  readonly #dataModel: DataModel | null;

  /** Use `makeEvent`; `data` as for ImmutableDict (owned by the event from now on). */
  constructor(data: ConstructorParameters<typeof ImmutableDict>[0], dataModel: DataModel | null) {
    super(data);
    this.#dataModel = dataModel;
  }

  get dataModel(): DataModel | null {
    return this.#dataModel;
  }

  get data_model(): DataModel | null {
    return this.#dataModel;
  }

  /** `deepGet("a", "b", { default: x })`: see deep.ts for the exact semantics. */
  deepGet<D = null>(...args: KeysThen<DeepGetOptions<D>>): EventValue | D {
    const { keys, options } = splitArgs<DeepGetOptions<D>>(args);
    return deepGetFrom(this, keys, options.default);
  }

  deep_get<D = null>(...args: KeysThen<DeepGetOptions<D>>): EventValue | D {
    const { keys, options } = splitArgs<DeepGetOptions<D>>(args);
    return deepGetFrom(this, keys, options.default);
  }

  /** `deepWalk("a", "b", { default, returnVal: "all" | "first" | "last" })`: descends into lists. */
  deepWalk<D = null>(...args: KeysThen<DeepWalkOptions<D>>): EventValue | EventValue[] | D {
    const { keys, options } = splitArgs<DeepWalkOptions<D>>(args);
    return deepWalkFrom(this, keys, options);
  }

  deep_walk<D = null>(...args: KeysThen<DeepWalkOptions<D>>): EventValue | EventValue[] | D {
    return this.deepWalk<D>(...args);
  }

  /**
   * Unified data model access (panther_core ≥ 0.9):
   * 1. One key and a data model: a JSONPath mapping returns its single match (even a null value;
   *    several matches throw), a method mapping returns what the method returns; a mapped key whose
   *    path matches nothing returns the default.
   * 2. Otherwise `deep_get("p_udm", ...keys)`, then `deep_get(...keys)`; the first truthy result, else the default.
   */
  udm<D = null>(...args: KeysThen<DeepGetOptions<D>>): EventValue | D {
    const { keys, options } = splitArgs<DeepGetOptions<D>>(args);
    const dflt = (options.default === undefined ? null : options.default) as D;
    const model = this.#dataModel;
    if (keys.length === 1 && model !== null) {
      const name = keys[0]!;
      const path = model.paths.get(name);
      if (path !== undefined) {
        const matches = findAll(path, this);
        if (matches.length === 1) return matches[0]!.value;
        if (matches.length > 1)
          throw new Error(`JSONPath [${path.source}] in DataModel [${model.id}], matched multiple fields.`);
      }
      const method = model.methods.get(name);
      if (method !== undefined) return wrapValue(method(this));
      // A mapped key never falls through to p_udm (panther_core keeps this for compatibility).
      if (path !== undefined) return dflt;
    }
    if (keys.length === 0) return dflt;
    const fromUdm = deepGetFrom(this, ["p_udm", ...keys]);
    if (truthy(fromUdm)) return fromUdm;
    const direct = deepGetFrom(this, keys);
    if (truthy(direct)) return direct;
    return dflt;
  }

  /** The mapping behind a udm name: the matched JSONPath, or the method's name; null when unmapped. */
  udmPath(key: string): string | null {
    const model = this.#dataModel;
    if (model === null) throw new PantherError(`No data model found for log type [${String(this.get("p_log_type"))}]`);
    const path = model.paths.get(key);
    if (path !== undefined) {
      const matches = findAll(path, this);
      if (matches.length === 1) return matches[0]!.fullPath;
      if (matches.length > 1)
        throw new Error(`JSONPath [${path.source}] in DataModel [${model.id}], matched multiple fields.`);
    }
    const method = model.methods.get(key);
    if (method !== undefined) return method.name || "method";
    return null;
  }

  udm_path(key: string): string | null {
    return this.udmPath(key);
  }

  /**
   * Lookup-table data. Vigil has no lookup tables yet, so this reads what tests mock, as panther_core
   * does without a lookup function: `_mocked_lookup_data_[table][key]`, else null.
   */
  lookup(table: string, key: string): EventValue {
    return deepGetFrom(this, ["_mocked_lookup_data_", table, key]);
  }

  /**
   * Epoch seconds of p_event_time, read as UTC unless `forceUtc` is false (then local time, like a
   * naive datetime in Python); 0 when it is missing or unparsable.
   */
  eventTimeEpoch(forceUtc = true): number {
    const text = this.get("p_event_time");
    if (typeof text !== "string" || text.trim() === "") return 0;
    const ms = parseEventTime(text.trim(), forceUtc);
    return ms === undefined ? 0 : Math.trunc(ms / 1000);
  }

  event_time_epoch(forceUtc = true): number {
    return this.eventTimeEpoch(forceUtc);
  }
}

/** Python truthiness for event values. */
export function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof ImmutableDict) return v.size > 0;
  return true;
}

const PANTHER_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** p_event_time text (Panther's format, or ISO 8601) to epoch milliseconds. */
function parseEventTime(text: string, forceUtc: boolean): number | undefined {
  const m = PANTHER_TIME.exec(text);
  if (m === null) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? "0"].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const frac = m[7] === undefined ? 0 : Number(`0.${m[7]}`) * 1000;
  const zone = m[8];
  if (zone !== undefined) {
    const offset =
      zone === "Z" ? 0 : (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2))) * 60_000;
    const d = new Date(0);
    d.setUTCFullYear(year, month - 1, day);
    d.setUTCHours(hour, minute, second, frac);
    return d.getTime() - offset;
  }
  if (forceUtc) {
    const d = new Date(0);
    d.setUTCFullYear(year, month - 1, day);
    d.setUTCHours(hour, minute, second, frac);
    return d.getTime();
  }
  const local = new Date(year, month - 1, day, hour, minute, second, frac);
  local.setFullYear(year);
  return local.getTime();
}
