// TEMPORARY: the operations still answered by the old per-dialect stores while they move into this folder.
// Each area's key list goes when its module lands; the file goes with the last one.

import type { Store } from "../ports.ts";

type Key = keyof Omit<Store, "migrate" | "close">;

export const SOURCE_KEYS = [
  "createSource",
  "updateSource",
  "getSource",
  "listSources",
  "removeSource",
  "getSourceSecret",
  "getStreamState",
  "getPollStatus",
  "recordPollStart",
  "recordPollResult",
  "createBackfillJob",
  "listBackfillJobs",
  "getBackfillSlices",
  "completeBackfillJobIfDone",
] as const satisfies readonly Key[];

export const POSTURE_KEYS = [
  "savePostureSnapshot",
  "getPostureSnapshot",
  "listPostureSnapshots",
  "getPostureObjects",
] as const satisfies readonly Key[];

/** What the old stores still answer: the lifecycle and the key lists above, one line per area. */
export type LegacyStore = Pick<
  Store,
  "migrate" | "close" | (typeof SOURCE_KEYS)[number] | (typeof POSTURE_KEYS)[number]
>;

export function legacyOps<K extends Key>(legacy: Pick<Store, K>, keys: readonly K[]): Pick<Store, K> {
  const out = {} as Pick<Store, K>;
  for (const key of keys) out[key] = (legacy[key] as (...args: never[]) => unknown).bind(legacy) as Store[K];
  return out;
}
