// Stores one page of API records: validate and normalize them, run the detection rules on them (pure,
// before the transaction), then hand everything to the store's one transaction per page. The poller
// and the backfill both store pages through here.

import type { Clock } from "../core/clock.ts";
import type { RuleMatch, RuleStateOp } from "../core/detection.ts";
import type { LeaseFence } from "../core/fleet.ts";
import type { SourceRecord } from "../core/source.ts";
import type { PageWrite, PageWriteResult, Store } from "../storage/ports.ts";
import { pageRecords, type RecordNormalizer } from "./page-records.ts";

export interface DetectionOutcome {
  matches: RuleMatch[];
  stateOps: Array<{ eventId: string; op: RuleStateOp }>;
}

/** Runs the enabled rules of a source over normalized records (the pipeline adapts the engine to this). */
export interface Detector {
  detect(
    source: SourceRecord,
    events: Array<{ eventId: string; record: Record<string, unknown> }>,
  ): Promise<DetectionOutcome>;
}

export interface PageWriterDeps {
  store: Store;
  source: SourceRecord;
  clock: Clock;
  normalizer: RecordNormalizer;
  detector?: Detector;
  /** Fleet mode: the lease every page is written under (see PageWrite.fence). */
  fence?: LeaseFence;
}

export async function storePage(
  deps: PageWriterDeps,
  items: readonly unknown[],
  progress: Pick<PageWrite, "streamUpdate" | "sliceProgress">,
): Promise<PageWriteResult> {
  const { store, source } = deps;
  const { normalized, ...records } = pageRecords(items, {
    sourceId: source.id,
    sourceLabel: source.name,
    parseTimeMs: deps.clock.nowMs(),
    normalizer: deps.normalizer,
  });
  const detection = deps.detector && normalized.length > 0 ? await deps.detector.detect(source, normalized) : undefined;
  return store.applyPage({
    sourceId: source.id,
    ...records,
    ...progress,
    // A backfill slice's page is history: its alerts are marked so, and destinations skip them unless asked.
    fromHistory: progress.sliceProgress !== undefined,
    ...(deps.fence ? { fence: deps.fence } : {}),
    ...(detection ? { matches: detection.matches, stateOps: detection.stateOps } : {}),
  });
}
