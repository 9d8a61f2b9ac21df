// The quarantine, read again. A record the schema refused waits in quarantine with the reason; once the schema
// accepts it (an upgrade of Vigil after the API changed a field's shape), replaying stores it as the event it is,
// through the same steps as a poll's page: validation, normalization, detection, one transaction. The records a
// page stores leave the quarantine in that transaction (PageWrite.releasedQuarantineIds), so a crash mid-replay
// loses nothing and stores nothing twice: the rest are still quarantined, and a replay run again goes on.
//
// Alerts raised by replayed events are live alerts, not history: the event was missed when it arrived, and
// whoever watches the organization has not seen it yet.

import type { ValidationIssue } from "../core/validation.ts";
import { pageRecords } from "./page-records.ts";
import { type PageWriterDeps, storePage } from "./page-writer.ts";

/** Quarantined records read, and stored, per page: a page of the API's size. */
const BATCH = 100;
/** Reasons listed for the records still refused, most common first. */
const MAX_REASONS = 10;

export interface QuarantineReplay {
  /** Quarantined records of the source read. */
  examined: number;
  /** Accepted now and stored as new events (with `dryRun`: accepted now, would be stored). */
  stored: number;
  /** Accepted now, and the event was stored already (a copy the API sent later passed): released only. */
  alreadyStored: number;
  /** Still refused: they stay in quarantine. */
  stillRefused: number;
  /** Kept as a preview only (too large or too deep to keep whole): they cannot be read again, and stay. */
  previewsOnly: number;
  /** Why the records still refused are, most common first (at most 10 reasons). */
  reasons: Array<{ reason: string; records: number }>;
  createdAlertIds: string[];
}

export async function replayQuarantine(
  deps: Omit<PageWriterDeps, "commits" | "fence">,
  options: { dryRun?: boolean } = {},
): Promise<QuarantineReplay> {
  const { store, source } = deps;
  const outcome: QuarantineReplay = {
    examined: 0,
    stored: 0,
    alreadyStored: 0,
    stillRefused: 0,
    previewsOnly: 0,
    reasons: [],
    createdAlertIds: [],
  };
  const reasons = new Map<string, number>();
  const refused = (reason: string) => {
    outcome.stillRefused++;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  };
  // Oldest first, so that rule state (first-seen sets, counters) sees the events in about the order they came.
  let afterId = 0;
  for (;;) {
    const rows = await store.listQuarantine({ sourceId: source.id, afterId, limit: BATCH });
    if (rows.length === 0) break;
    afterId = rows[rows.length - 1]!.id;
    outcome.examined += rows.length;

    const candidates: Array<{ id: number; item: unknown }> = [];
    for (const row of rows) {
      if (row.issues.some(isPreviewIssue)) outcome.previewsOnly++;
      else candidates.push({ id: row.id, item: JSON.parse(row.raw) as unknown });
    }
    // The same checks as a poll's page, pure: what passes them now is stored below, with detection.
    const checked = pageRecords(
      candidates.map((c) => c.item),
      { sourceId: source.id, sourceLabel: source.name, parseTimeMs: deps.clock.nowMs(), normalizer: deps.normalizer },
    );
    for (const q of checked.quarantined) refused(q.reason);
    const accepted = new Set(checked.events.map((e) => e.id));
    // Two quarantined copies of one event both go: the event stands for either, as when a poll reads it twice.
    const passing = candidates.filter((c) => accepted.has(idOf(c.item)));
    if (passing.length === 0) continue;
    if (options.dryRun) {
      outcome.stored += passing.length;
      continue;
    }
    const result = await storePage(
      deps,
      passing.map((c) => c.item),
      { releasedQuarantineIds: passing.map((c) => c.id) },
    );
    outcome.stored += result.insertedIds.length;
    outcome.alreadyStored += passing.length - result.insertedIds.length;
    outcome.createdAlertIds.push(...result.createdAlertIds);
  }
  outcome.reasons = [...reasons]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, MAX_REASONS)
    .map(([reason, records]) => ({ reason, records }));
  return outcome;
}

/** A record quarantined as a bounded preview (page-records.ts): its raw text is not the record. */
function isPreviewIssue(issue: ValidationIssue): boolean {
  return issue.code === "raw_preview";
}

function idOf(item: unknown): string {
  const id = item !== null && typeof item === "object" ? (item as { id?: unknown }).id : undefined;
  return typeof id === "string" ? id : "";
}
