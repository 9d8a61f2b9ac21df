// The quarantine, read again. A record the schema refused waits in quarantine with the reason; once the schema
// accepts it (an upgrade of Vigil after the API changed a field's shape), replaying stores it as the event it is,
// through the same steps as a poll's page: validation, normalization, detection, one transaction. A record leaves
// the quarantine in that transaction, and only when its event is stored with its very text (by this replay or
// before: PageWrite.releasedQuarantineIds); one whose event id is stored with other content stays, since the
// quarantine alone keeps it. So a crash mid-replay loses nothing and stores nothing twice: what is left is still
// quarantined, and a replay run again goes on.
//
// Alerts follow the source's own rule for history: events from before the source was added (its backfill's) are
// history, as a backfill page's are; later ones are live alerts, since they were missed when they came.

import { isHistoryOf } from "../core/source.ts";
import type { ValidationIssue } from "../core/validation.ts";
import type { Logger } from "../logging/logger.ts";
import { pageRecords } from "./page-records.ts";
import { type PageWriterDeps, recordChecks, storePage, warnNewEventTypes } from "./page-writer.ts";

/** Quarantined records read, and stored, per page: a page of the API's size. */
const BATCH = 100;
/** Reasons listed for the records still refused, most common first. */
const MAX_REASONS = 10;

export interface QuarantineReplay {
  /** Quarantined records of the source read. */
  examined: number;
  /** Accepted by the current schema. */
  accepted: number;
  /** Accepted and stored as new events (none in a dry run). */
  stored: number;
  /** Accepted, and their event was stored already with the same text: released only. */
  alreadyStored: number;
  /** Accepted, but their event id is stored with other content: they stay in quarantine. */
  conflicting: number;
  /** Still refused: they stay in quarantine. */
  stillRefused: number;
  /** Kept as a preview only (too large or too deep to keep whole): they cannot be read again, and stay. */
  previewsOnly: number;
  /** Why the records still refused are, most common first (at most 10 reasons). */
  reasons: Array<{ reason: string; records: number }>;
  /** Event types outside the known list that the stored events brought, seen on the source for the first time. */
  newEventTypes: string[];
  createdAlertIds: string[];
}

export async function replayQuarantine(
  deps: Omit<PageWriterDeps, "commits" | "fence">,
  options: { dryRun?: boolean; logger?: Pick<Logger, "warn"> } = {},
): Promise<QuarantineReplay> {
  const { store, source } = deps;
  const outcome: QuarantineReplay = {
    examined: 0,
    accepted: 0,
    stored: 0,
    alreadyStored: 0,
    conflicting: 0,
    stillRefused: 0,
    previewsOnly: 0,
    reasons: [],
    newEventTypes: [],
    createdAlertIds: [],
  };
  const reasons = new Map<string, number>();
  const check = recordChecks(deps);
  // Oldest first, so that rule state (first-seen sets, counters) sees the events in about the order they came.
  let afterId = 0;
  for (;;) {
    const rows = await store.listQuarantine({ sourceId: source.id, afterId, limit: BATCH });
    if (rows.length === 0) break;
    afterId = rows[rows.length - 1]!.id;
    outcome.examined += rows.length;

    // Each record on its own, through a poll page's checks (pure): what passes them is stored below.
    const accepted: Array<{ id: number; item: unknown; atSecs: number }> = [];
    for (const row of rows) {
      if (row.issues.some(isPreviewIssue)) {
        outcome.previewsOnly++;
        continue;
      }
      const item = JSON.parse(row.raw) as unknown;
      const checked = pageRecords([item], check);
      const event = checked.events[0];
      if (event !== undefined) accepted.push({ id: row.id, item, atSecs: event.effectiveAtSecs });
      else {
        const reason = checked.quarantined[0]?.reason ?? "The record is invalid.";
        outcome.stillRefused++;
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
    }
    outcome.accepted += accepted.length;
    if (options.dryRun) continue;
    for (const fromHistory of [true, false]) {
      const part = accepted.filter((a) => isHistoryOf(source, a.atSecs) === fromHistory);
      if (part.length === 0) continue;
      const result = await storePage(
        deps,
        part.map((a) => a.item),
        { releasedQuarantineIds: part.map((a) => a.id), fromHistory },
      );
      const kept = result.quarantineKept ?? 0;
      outcome.stored += result.insertedIds.length;
      // Released without being inserted now: stored before (or by another replay running at the same time).
      outcome.alreadyStored += part.length - result.insertedIds.length - kept;
      outcome.conflicting += kept;
      outcome.newEventTypes.push(...result.newUnknownTypes);
      // Said now: the store reports a type only the first time, so a later failure must not lose the warning.
      if (options.logger) warnNewEventTypes(options.logger, source.name, result.newUnknownTypes);
      outcome.createdAlertIds.push(...result.createdAlertIds);
    }
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
