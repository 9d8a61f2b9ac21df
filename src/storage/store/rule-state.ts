// Rule state (first-seen sets, counters, values) as pure transitions: the store (./detections.ts) reads the
// current entries, calls `applyStateOpsTo`, and writes the result back inside the page transaction.

import type { Selectable } from "kysely";
import type { RuleStateOp } from "../../core/detection.ts";
import type { RuleStateEntry } from "../ports.ts";
import type { RuleStateTable } from "./database.ts";

/**
 * The time a page's state is judged at: its earliest event, never later than now. Rules judge expiry by
 * event time (ttl counts from the event), so the store must too, or a backfill of old history would find
 * every counter expired by the wall clock. An entry that expires during the page needs no judging here: the
 * engine sends a delete before writing onto a key that expired at the writing event's time (engine/state.ts).
 */
export function stateTimeSecs(eventTimesSecs: Iterable<number>, nowSecs: number): number {
  let t = nowSecs;
  for (const s of eventTimesSecs) if (s > 0 && s < t) t = s;
  return t;
}

/** Whether an entry is still alive at `nowSecs` (an expiry at exactly now has expired). */
export function isLive(entry: { expiresAtSecs: number | null }, nowSecs: number): boolean {
  return entry.expiresAtSecs === null || entry.expiresAtSecs > nowSecs;
}

/**
 * The entry after `op`; null when the op deletes it. An expired entry counts as absent, so a counter
 * restarts from zero and a set from empty once it expired, whether or not a sweep removed the row yet. Each
 * op with an expiry sets the entry's expiry (the latest write decides); an op without one (null) keeps
 * the entry's current expiry, as the engine's in-batch view does. Delete removes the entry.
 */
export function applyStateOp(current: RuleStateEntry | null, op: RuleStateOp, nowSecs: number): RuleStateEntry | null {
  if (op.kind === "delete") return null;
  const base: RuleStateEntry =
    current !== null && isLive(current, nowSecs)
      ? current
      : { ruleId: op.ruleId, key: op.key, value: null, counter: 0, members: [], expiresAtSecs: null };
  switch (op.kind) {
    case "put":
      return { ...base, value: op.value, expiresAtSecs: op.expiresAtSecs ?? base.expiresAtSecs };
    case "increment":
      return { ...base, counter: base.counter + op.by, expiresAtSecs: op.expiresAtSecs ?? base.expiresAtSecs };
    case "add_to_set":
      return {
        ...base,
        members: base.members.includes(op.member) ? base.members : [...base.members, op.member].sort(),
        expiresAtSecs: op.expiresAtSecs ?? base.expiresAtSecs,
      };
  }
}

/** The ops of one (rule, key), in their original order. */
export interface KeyedStateOps {
  ruleId: string;
  key: string;
  ops: RuleStateOp[];
}

/**
 * Groups ops by (rule, key), keeping each key's ops in order (keys in order of their first op). Keys are
 * independent, so applying each group in order gives the same final state as applying every op in order,
 * with one read and one write per key instead of one per op.
 */
export function groupStateOps(ops: readonly RuleStateOp[]): KeyedStateOps[] {
  const groups = new Map<string, KeyedStateOps>();
  for (const op of ops) {
    const k = JSON.stringify([op.ruleId, op.key]);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, { ruleId: op.ruleId, key: op.key, ops: [op] });
    else group.ops.push(op);
  }
  return [...groups.values()];
}

/** The entry after applying `ops` (all of one rule and key) in order; null when it ends deleted. */
export function applyStateOpsTo(
  current: RuleStateEntry | null,
  ops: readonly RuleStateOp[],
  nowSecs: number,
): RuleStateEntry | null {
  let entry = current;
  for (const op of ops) entry = applyStateOp(entry, op, nowSecs);
  return entry;
}

/** The rule_state row of an entry (members as JSON text). */
export function ruleStateRow(sourceId: string, e: RuleStateEntry) {
  return {
    source_id: sourceId,
    rule_id: e.ruleId,
    key: e.key,
    value: e.value,
    counter: e.counter,
    members: JSON.stringify(e.members),
    expires_at_secs: e.expiresAtSecs,
  };
}

export function toRuleStateEntry(
  row: Pick<Selectable<RuleStateTable>, "rule_id" | "key" | "value" | "counter" | "members" | "expires_at_secs">,
): RuleStateEntry {
  return {
    ruleId: row.rule_id,
    key: row.key,
    value: row.value,
    counter: row.counter,
    members: JSON.parse(row.members) as string[],
    expiresAtSecs: row.expires_at_secs,
  };
}
