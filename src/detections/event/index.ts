// The event object handed to rules. `makeEvent` wraps a (normalized or test) record into an
// immutable, case-insensitive PantherEvent, choosing the data model by the record's p_log_type
// unless one is given (`dataModel: null` means none), as `pat test` does.

import { type DataModel, dataModelForLogType } from "./data-model.ts";
import { type EventValue, isPlainObject, wrapValue } from "./immutable.ts";
import { PantherEvent } from "./panther-event.ts";

export {
  type DataModel,
  type DataModelMappingSpec,
  type DataModelMethod,
  type DataModelSpec,
  dataModelForLogType,
  defineDataModel,
  OPENAI_AUDIT_DATA_MODEL,
} from "./data-model.ts";
export { type DeepGetOptions, type DeepWalkOptions, deepGet, deepWalk, type ReturnVal } from "./deep.ts";
export { type EventValue, ImmutableDict, ImmutableList, KeyError } from "./immutable.ts";
export { PantherError, PantherEvent, truthy } from "./panther-event.ts";

export interface MakeEventOptions {
  /** The data model for udm(); default: the built-in model for the record's p_log_type; null: none. */
  dataModel?: DataModel | null;
}

export function makeEvent(record: Record<string, unknown>, options: MakeEventOptions = {}): PantherEvent {
  if (!isPlainObject(record)) throw new TypeError("makeEvent expects a plain object record");
  const data = new Map<string, EventValue>();
  const ancestors = new Set<object>([record]);
  for (const key of Object.keys(record)) data.set(key, wrapValue(record[key], ancestors));
  const dataModel = options.dataModel === undefined ? dataModelForLogType(record.p_log_type) : options.dataModel;
  const event = new PantherEvent(data, dataModel);
  Object.freeze(event);
  return event;
}
