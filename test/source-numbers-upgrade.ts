// The upgrade to events and matches that name their source by number (migration 30 on both databases): the
// same rows, written as the schema before it holds them, and the same checks through the store after it. Each
// store's test writes the rows with its own driver.

import assert from "node:assert/strict";
import type { Store } from "../src/storage/ports.ts";
import { eventRow } from "./storage-contract.ts";

const T0 = 1_800_000_000;

/** A search cursor at s1's last event once s1 is removed (`assertSourceNumbersUpgrade` removes it). */
export const AFTER_REMOVED_SOURCE = { effectiveAtSecs: T0 + 4, id: "e4", sourceId: "s1" };

/** Statements valid on both databases at the schema just before migration 30. */
export const ROWS_BEFORE_SOURCE_NUMBERS: readonly string[] = [
  ...["s1", "s2"].map(
    (id, i) => `INSERT INTO sources (id, name, kind, poll_interval_secs, overlap_secs, sweep_window_secs,
       sweep_interval_secs, include_tenant_events, backfill_days, enabled, encrypted_secret, created_at_ms)
     VALUES ('${id}', 'org-${id}', 'openai', 60, 300, 86400, 3600, false, 0, true, 'x', ${i})`,
  ),
  // Both sources hold an event "e1": ids are unique per source only. s1's "e3", the last, is deleted before the
  // upgrade, so its seq must not be given again.
  ...[
    ["s1", "e1", "alpha-one"],
    ["s2", "e1", "beta-one"],
    ["s1", "e2", "alpha-two"],
    ["s1", "e3", "gone"],
  ].map(
    ([source, id, note], i) => `INSERT INTO events (source_id, id, type, effective_at, raw, ingested_at_ms)
     VALUES ('${source}', '${id}', 'login.succeeded', ${T0 + i}, '{"id":"${id}","note":"${note}"}', 0)`,
  ),
  "INSERT INTO event_text_pending (seq) SELECT seq FROM events",
  "DELETE FROM events WHERE id = 'e3'",
  `INSERT INTO event_counts (source_id, day_secs, type, events)
     SELECT source_id, (effective_at / 86400) * 86400, type, count(*) FROM events GROUP BY 1, 2, 3`,
  `INSERT INTO rule_versions (id, rule_id, log_type, dedup_period_minutes, threshold, create_alert, tags, reports)
     VALUES ('v1', 'R', 'OpenAI.Audit', 60, 1, false, '[]', '{}')`,
  // A signal of s1's e1 and a rule error of s2's e1, both with their event's seq (as a page stores them). The
  // error is counted by the trigger of migration 15; the events are counted above, as the store counts them.
  ...[
    ["s1", "false"],
    ["s2", "true"],
  ].map(
    ([source, isError]) => `INSERT INTO rule_matches (source_id, event_id, event_seq, rule_id, event_time, is_error,
       dedup_string, title, severity, created_at_ms, rule_version, correlation_pending)
     VALUES ('${source}', 'e1', (SELECT seq FROM events WHERE source_id = '${source}' AND id = 'e1'), 'R', ${T0},
       ${isError}, 'd', 't', 'INFO', 0, 'v1', true)`,
  ),
];

/** What the store must read and write after the upgrade of those rows. */
export async function assertSourceNumbersUpgrade(store: Store): Promise<void> {
  const ids = async (sourceId: string, text?: string) =>
    (await store.searchEvents({ sourceId, text })).map((e) => `${e.sourceId}/${e.id}`);
  assert.deepEqual(await ids("s1"), ["s1/e2", "s1/e1"]);
  assert.deepEqual(await ids("s2"), ["s2/e1"]);
  assert.equal(await store.countEvents({ sourceId: "s1" }), 2);
  assert.equal(await store.countEvents({ sourceId: "s2" }), 1);
  // Queued for the text index before the upgrade: found before and after the indexer runs.
  assert.deepEqual(await ids("s2", "beta-one"), ["s2/e1"]);
  await store.indexPendingText();
  assert.deepEqual(await ids("s1", "alpha"), ["s1/e2", "s1/e1"]);
  assert.deepEqual(await ids("s1", "beta-one"), []);

  const window = { sinceSecs: T0, untilSecs: T0 + 1 };
  const matches = await store.listMatches({ ...window, sourceId: "s2" });
  assert.deepEqual(
    matches.map((m) => [m.sourceId, m.eventId, m.isError]),
    [["s2", "e1", true]],
  );
  // Rules are named by number since (migration 32 on both databases): the matches keep their rule.
  assert.deepEqual(
    (await store.listMatches({ ...window, ruleIds: ["R"] })).map((m) => [m.sourceId, m.ruleId]),
    [
      ["s1", "R"],
      ["s2", "R"],
    ],
  );
  assert.deepEqual(await store.listMatches({ ...window, ruleIds: ["other"] }), []);
  assert.deepEqual(
    (await store.listCorrelationPending("s1", { afterSeq: 0, limit: 10 })).map((p) => p.match.sourceId),
    ["s1"],
  );
  assert.deepEqual(
    await store.queryEvents("s2", "SELECT source_id, id FROM events", { maxRows: 10, timeoutMs: 10_000 }),
    [{ source_id: "s2", id: "e1" }],
  );

  // Written after the upgrade: a new event is given a seq past the deleted one and counted; a re-read is not.
  const page = await store.applyPage({
    sourceId: "s2",
    events: [eventRow("e1", T0 + 3), eventRow("e4", T0 + 4, { raw: '{"id":"e4","note":"beta-four"}' })],
    quarantined: [],
    unknownTypes: [],
  });
  assert.deepEqual(page.insertedIds, ["e4"]);
  assert.equal(await store.countEvents({ sourceId: "s2" }), 2);

  // Removing s1 leaves s2's events, matches and counters alone.
  await store.removeSource("s1");
  assert.deepEqual(await ids("s2"), ["s2/e4", "s2/e1"]);
  // s1's number, remembered above, matches nothing now; nor does a source that never was.
  assert.deepEqual(await ids("s1"), []);
  assert.deepEqual(await ids("no-such-source"), []);
  // A cursor naming the removed source goes on from its event: with s1's number remembered, exactly after it
  // (s2's tie of the same second and id came first); without it, from before the tie, which may come again.
  // Nothing after it is skipped.
  const next = (await store.searchEvents({ after: AFTER_REMOVED_SOURCE }))
    .map((e) => `${e.sourceId}/${e.id}`)
    .join(" ");
  assert.ok(["s2/e1", "s2/e4 s2/e1"].includes(next), next);
  assert.equal(await store.countEvents(), 2);
  assert.equal((await store.listMatches(window)).length, 1);
  assert.deepEqual(await store.sourceCounts(), [{ sourceId: "s2", events: 2, quarantined: 0, ruleErrors: 1 }]);
}
