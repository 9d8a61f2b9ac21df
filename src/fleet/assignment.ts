// Which live worker should own which item (a source's polling): computed by every worker on its own from the
// same inputs, so the fleet agrees without talking. Pure and deterministic: inputs are deduplicated and sorted
// first, and the hash is fixed.
//
// Rendezvous (highest-random-weight) hashing with bounded load: every (item, worker) pair gets a score, and
// pairs are taken best score first, each worker up to ceil(items / workers). Fair: no worker gets more than
// that bound. Stable: a pair's score never changes, so a worker joining takes mostly items whose best score
// is its own, and a worker leaving hands on only its items (plus the few a full worker has to pass along).

import { createHash } from "node:crypto";

function score(item: string, worker: string): bigint {
  // The first 8 bytes of SHA-256: independent of Node's version and of the platform, unlike a seeded Math hash.
  return createHash("sha256").update(item).update("\0").update(worker).digest().readBigUInt64BE(0);
}

/**
 * Gives each item one worker. Returns, per worker (every worker given, even one with nothing), its items
 * sorted. With no workers, nothing is assigned.
 */
export function assignItems(items: readonly string[], workers: readonly string[]): Map<string, string[]> {
  const ws = [...new Set(workers)].sort();
  const its = [...new Set(items)].sort();
  const result = new Map<string, string[]>(ws.map((w) => [w, []]));
  if (ws.length === 0) return result;
  const capacity = Math.ceil(its.length / ws.length);
  const pairs: Array<{ item: string; worker: string; score: bigint }> = [];
  for (const item of its) for (const worker of ws) pairs.push({ item, worker, score: score(item, worker) });
  // Best score first; ties (vanishingly rare) broken by names, so the order is total and the same everywhere.
  pairs.sort((a, b) =>
    a.score !== b.score
      ? a.score > b.score
        ? -1
        : 1
      : a.item !== b.item
        ? a.item < b.item
          ? -1
          : 1
        : a.worker < b.worker
          ? -1
          : 1,
  );
  const taken = new Set<string>();
  for (const p of pairs) {
    if (taken.has(p.item)) continue;
    const mine = result.get(p.worker) as string[];
    if (mine.length >= capacity) continue;
    mine.push(p.item);
    taken.add(p.item);
    if (taken.size === its.length) break;
  }
  for (const list of result.values()) list.sort();
  return result;
}
