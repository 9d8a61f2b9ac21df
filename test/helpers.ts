// Shared test fixtures: temporary data dirs, a movable clock, a store, a source.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SOURCE_DEFAULTS } from "../src/config/source-defaults.ts";
import type { Clock } from "../src/core/clock.ts";
import type { SourceRecord, SourceSettings, Store } from "../src/storage/ports.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";

export function tempDir(prefix = "vigil-test-"): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface FakeClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
}

export function fakeClock(startMs: number): FakeClock {
  let now = startMs;
  return {
    nowMs: () => now,
    set: (ms) => {
      now = ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

export function sourceSettings(overrides: Partial<SourceSettings> = {}): SourceSettings {
  return {
    name: "test-source",
    kind: "openai",
    baseUrl: null,
    pollIntervalSecs: SOURCE_DEFAULTS.pollIntervalSecs,
    overlapSecs: SOURCE_DEFAULTS.overlapSecs,
    sweepWindowSecs: SOURCE_DEFAULTS.sweepWindowSecs,
    sweepIntervalSecs: SOURCE_DEFAULTS.sweepIntervalSecs,
    includeTenantEvents: false,
    backfillDays: 7,
    enabled: true,
    ...overrides,
  };
}

export async function storeWithSource(
  overrides: Partial<SourceSettings> = {},
): Promise<{ store: Store; source: SourceRecord }> {
  const store = await openSqliteStore({ memory: true });
  const source = await store.createSource(sourceSettings(overrides), { ciphertext: "test-not-encrypted" });
  return { store, source };
}

/** Ids of a list of records, sorted, for set comparisons. */
export function sortedIds(records: Array<{ id: string }>): string[] {
  return records.map((r) => r.id).sort();
}
