// Wire types shared by the Python worker pool and the engine that consumes its results.

/** An exception raised in Python (or a pool-level failure such as a crash or timeout). */
export interface PyError {
  /** Exception class name, or WorkerCrashed / RuleTimeout / PoolClosed / RuleNotLoaded. */
  type: string;
  message: string;
  /** Last traceback frame, "file.py, line N, in func", when Python raised. */
  where?: string;
}

/** The outcome of one auxiliary function: its (type-checked, JSON) value or its exception. */
export type FunctionOutcome = { value: unknown } | { error: PyError };

export const AUX_FUNCTIONS = [
  "title",
  "description",
  "reference",
  "severity",
  "runbook",
  "destinations",
  "dedup",
  "alert_context",
  "unique",
] as const;
export type AuxFunctionName = (typeof AUX_FUNCTIONS)[number];

/**
 * One rule on one event. `rule` is strictly a boolean or the error it raised (a non-bool return is an error).
 * Auxiliary functions appear only when rule() returned true and the module defines them.
 */
export type RuleRunResults = { rule: boolean | { error: PyError } } & Partial<Record<AuxFunctionName, FunctionOutcome>>;

export type PoolResponse<T> = { ok: true; value: T } | { ok: false; error: PyError };

/** A Panther test mock: replaces a module-level name of the rule with MagicMock(return_value=returnValue). */
export interface PyMock {
  objectName: string;
  returnValue: unknown;
}

/** Data model for event.udm(): UDM name → JSONPath into the event. */
export interface PyDataModel {
  id?: string;
  mappings: Record<string, string>;
}

export function isRuleError(rule: RuleRunResults["rule"]): rule is { error: PyError } {
  return typeof rule === "object" && rule !== null;
}
