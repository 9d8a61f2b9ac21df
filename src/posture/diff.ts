// The difference between two snapshots: objects added, removed and changed (with the top-level fields that
// changed). Only kinds read completely in BOTH snapshots are compared: an endpoint that failed (a missing scope)
// would otherwise make every object of its kind look removed, then added back.

import type { PostureKind } from "./endpoints.ts";

/** Fields that move on their own (every use of a key): kept in the stored object, never reported as a change. */
export const VOLATILE_FIELDS: ReadonlySet<string> = new Set(["last_used_at"]);

export interface ManifestEntry {
  kind: PostureKind;
  id: string;
  projectId: string | null;
  hash: string;
}

export interface PostureChange {
  kind: PostureKind;
  id: string;
  projectId: string | null;
  change: "added" | "removed" | "changed";
  /** For "changed": the top-level fields whose values differ (volatile fields excluded). */
  fields: string[];
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /**
   * Set on a change of an earlier snapshot's diff that is kept in a later snapshot only to be judged for drift
   * (the audit log was still behind it): not a change of that later snapshot, so not counted or shown there.
   */
  carried?: CarriedChange;
}

/** Where a carried change belongs: the snapshot of its diff, and the time its audit events may lie in. */
export interface CarriedChange {
  takenAtMs: number;
  fromSecs: number;
  toSecs: number;
}

export interface DiffInput {
  previous: ManifestEntry[];
  next: ManifestEntry[];
  /** Kinds read completely in both snapshots. */
  comparableKinds: ReadonlySet<PostureKind>;
  /** The object JSON behind a hash (both snapshots' objects). */
  objectOf: (hash: string) => Record<string, unknown>;
}

export function diffSnapshots(input: DiffInput): PostureChange[] {
  const key = (e: ManifestEntry) => `${e.kind}\u0000${e.id}`;
  const before = new Map(input.previous.filter((e) => input.comparableKinds.has(e.kind)).map((e) => [key(e), e]));
  const changes: PostureChange[] = [];
  for (const entry of input.next) {
    if (!input.comparableKinds.has(entry.kind)) continue;
    const old = before.get(key(entry));
    before.delete(key(entry));
    const base = { kind: entry.kind, id: entry.id, projectId: entry.projectId };
    if (!old) {
      changes.push({ ...base, change: "added", fields: [], before: null, after: input.objectOf(entry.hash) });
      continue;
    }
    if (old.hash === entry.hash) continue;
    const a = input.objectOf(old.hash);
    const b = input.objectOf(entry.hash);
    const fields = changedFields(a, b);
    if (fields.length > 0) changes.push({ ...base, change: "changed", fields, before: a, after: b });
  }
  for (const old of before.values()) {
    changes.push({
      kind: old.kind,
      id: old.id,
      projectId: old.projectId,
      change: "removed",
      fields: [],
      before: input.objectOf(old.hash),
      after: null,
    });
  }
  return changes.sort((x, y) => (x.kind < y.kind ? -1 : x.kind > y.kind ? 1 : x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

export function changedFields(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  const same = (x: unknown, y: unknown) =>
    JSON.stringify(setsSorted(x ?? null)) === JSON.stringify(setsSorted(y ?? null));
  return [...names].filter((n) => !VOLATILE_FIELDS.has(n) && !same(a[n], b[n])).sort();
}

/**
 * The value with its arrays of text sorted, at every depth: in the Admin API's objects those are sets (a
 * project's model ids, a spend alert's recipients, a key's scopes), and the same set listed in another order is
 * no change. (Objects are compared with their keys in one order already: canonical.ts.)
 */
function setsSorted(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.every((v) => typeof v === "string") ? [...value].sort() : value.map(setsSorted);
  }
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, setsSorted(v)]));
  }
  return value;
}
