// Migration 40 on both engines: actor emails stored before it, in the case the API wrote them, are folded
// (core/event.ts, foldEmail) so that the search filter finds them in any case.

import assert from "node:assert/strict";
import type { Store } from "../src/storage/ports.ts";

/** A source and three events as an older Vigil stored them: one address in capitals, one non-ASCII, one none. */
export const ROWS_BEFORE_EMAIL_FOLD = [
  `INSERT INTO sources (id, name, kind, poll_interval_secs, overlap_secs, sweep_window_secs, sweep_interval_secs,
     include_tenant_events, backfill_days, enabled, encrypted_secret, created_at_ms)
     VALUES ('s1', 'old', 'openai', 60, 300, 86400, 3600, false, 0, true, 'x', 0)`,
  "INSERT INTO source_numbers (source_id) VALUES ('s1')",
  `INSERT INTO events (source_num, id, type, effective_at, actor_email, raw, ingested_at_ms)
     VALUES ((SELECT num FROM source_numbers), 'e1', 'login.succeeded', 1, 'Joan@Acme.COM', '{"id":"e1"}', 0),
            ((SELECT num FROM source_numbers), 'e2', 'login.succeeded', 2, 'ÉVA@Acme.com', '{"id":"e2"}', 0),
            ((SELECT num FROM source_numbers), 'e3', 'login.succeeded', 3, NULL, '{"id":"e3"}', 0)`,
];

export async function assertEmailFoldUpgrade(store: Store): Promise<void> {
  const stored = Object.fromEntries((await store.searchEvents({})).map((e) => [e.id, e.actorEmail]));
  // ASCII letters only, as foldEmail does: the stores' lower() leaves É as it is.
  assert.deepEqual(stored, { e1: "joan@acme.com", e2: "Éva@acme.com", e3: null });
  for (const typed of ["joan@acme.com", "JOAN@acme.com", "Joan@Acme.COM"]) {
    assert.deepEqual(
      (await store.searchEvents({ actorEmail: typed })).map((e) => e.id),
      ["e1"],
    );
  }
  assert.deepEqual(
    (await store.searchEvents({ actorEmail: "Éva@ACME.com" })).map((e) => e.id),
    ["e2"],
  );
}
