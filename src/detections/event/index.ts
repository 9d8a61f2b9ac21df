// The event object handed to rules. `makeEvent` wraps a (normalized or test) record into an
// immutable, case-insensitive PantherEvent, choosing the data model by the record's p_log_type
// unless one is given (`dataModel: null` means none), as `pat test` does.

import { type DataModel, dataModelForLogType } from "./data-model.ts";
import { copyRecord, isPlainObject } from "./immutable.ts";
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

/**
 * The event for `record`. The record is copied structurally (cheap: plain objects and arrays, no
 * wrapping), so later changes to it do not reach the event and the event never hands out the
 * caller's objects; nested values are wrapped read-only lazily, on first access.
 */
export function makeEvent(record: Record<string, unknown>, options: MakeEventOptions = {}): PantherEvent {
  if (!isPlainObject(record)) throw new TypeError("makeEvent expects a plain object record");
  const store = copyRecord(record);
  const dataModel = options.dataModel === undefined ? dataModelForLogType(store.p_log_type) : options.dataModel;
  const event = new PantherEvent(store, dataModel);
  Object.freeze(event);
  return event;
}
