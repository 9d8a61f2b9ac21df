// TEMPORARY placeholder: the detections area (another branch) replaces this file.
import type { RuleMatch, RuleStateOp } from "../../core/detection.ts";
import type { Db, StoreContext } from "./dialect.ts";

export async function applyMatchesIn(
  _ctx: StoreContext,
  _trx: Db,
  matches: readonly RuleMatch[],
  _nowMs: number,
  _options: { fromHistory: boolean },
): Promise<string[]> {
  if (matches.length > 0) throw new Error("applyMatchesIn: not moved yet");
  return [];
}

export async function applyStateOpsIn(
  _ctx: StoreContext,
  _trx: Db,
  _sourceId: string,
  ops: readonly RuleStateOp[],
  _stateTimeSecs: number,
): Promise<void> {
  if (ops.length > 0) throw new Error("applyStateOpsIn: not moved yet");
}
