// The public API for rule authors, importable from any folder as `vigil/rules` (package.json "exports", and a
// resolve hook for rule files outside this checkout: see engine/rule-modules.ts). Keep this list stable: rules
// written against it must keep loading across Vigil versions.

/** An event type in the spelling the spec uses now (a former spelling read as its current one). */
export { currentEventType } from "../core/event-types.ts";
export {
  type CorrelationDefinition,
  type CorrelationMember,
  type CorrelationSpec,
  defineCorrelation,
} from "./define-correlation.ts";
export {
  defineRule,
  type RuleContext,
  type RuleDefinition,
  type RuleSpec,
  type RuleState,
  type RuleTestCase,
  type StateWriteOptions,
} from "./define-rule.ts";
export {
  type DataModel,
  type DataModelSpec,
  defineDataModel,
  type EventValue,
  ImmutableDict,
  ImmutableList,
  makeEvent,
  PantherError,
  PantherEvent,
} from "./event/index.ts";
