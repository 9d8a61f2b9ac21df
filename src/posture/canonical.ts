// Canonical JSON (keys sorted at every depth) and its hash: the same object always hashes the same whatever
// the order the API sent its keys in, so an unchanged object is recognised and stored once.

import { createHash } from "node:crypto";

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** 128 bits of SHA-256: collisions among one organization's objects are not a practical concern. */
export function objectHash(canonical: string): string {
  return createHash("sha256").update(canonical).digest("hex").slice(0, 32);
}
