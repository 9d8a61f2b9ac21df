// Wire types shared by the Python worker pool and the engine that consumes its results.

import type { RuleStateOp } from "../../core/detection.ts";

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

/** A rule-state write made by a Python rule: a RuleStateOp without the rule id (it is the rule that ran). */
export type PyStateOp = RuleStateOp extends infer O ? (O extends RuleStateOp ? Omit<O, "ruleId"> : never) : never;

/** One rule-state entry as sent to the worker: [key, value, counter, members (sorted), expiresAtSecs]. */
export type PyStateEntry = [
  key: string,
  value: string | null,
  counter: number,
  members: string[],
  expiresAtSecs: number | null,
];

/** The rule state a batch starts from, per rule id (one source's). */
export type PyBatchState = Record<string, PyStateEntry[]>;

/**
 * One rule on one event. `rule` is strictly a boolean or the error it raised (a non-bool return is an error).
 * Auxiliary functions appear only when rule() returned true and the module defines them. `ops`: the rule-state
 * writes of this invocation in order, present only when there are some (none when rule() raised).
 */
export type RuleRunResults = { rule: boolean | { error: PyError } } & Partial<
  Record<AuxFunctionName, FunctionOutcome>
> & {
    ops?: PyStateOp[];
  };

export type PoolResponse<T> = { ok: true; value: T } | { ok: false; error: PyError };

/** A Panther test mock: replaces a module-level name of the rule with MagicMock(return_value=returnValue). */
export interface PyMock {
  objectName: string;
  returnValue: unknown;
}

/** One data-model mapping: a JSONPath into the event, or the name of a function in the model's module. */
export type PyMapping = string | { path: string } | { method: string };

/** Data model for event.udm(): UDM name → mapping; `module`: the .py file holding the methods. */
export interface PyDataModel {
  id?: string;
  mappings: Record<string, PyMapping>;
  module?: string;
}

/** A data model registered for its log types (chosen by each event's p_log_type). */
export interface PyRegisteredDataModel extends PyDataModel {
  id: string;
  logTypes: string[];
}

/** Values of every mapping of a data model for one event, computed on the other side of the pool. */
export type PyUdmValues = Record<string, { value: unknown } | { error: string }>;

/** A Panther repository's shared Python: global helper modules (GlobalID → file) and data models. */
export interface PyRepositoryConfig {
  globals: Record<string, string>;
  dataModels: PyRegisteredDataModel[];
}

export function isRuleError(rule: RuleRunResults["rule"]): rule is { error: PyError } {
  return typeof rule === "object" && rule !== null;
}
