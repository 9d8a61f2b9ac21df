// Migration 42 on both engines: alerts left assigned to users deleted before it are unassigned, so that a new user
// of the same name does not inherit them.

import assert from "node:assert/strict";
import type { Store } from "../src/storage/ports.ts";

const alert = (id: string, assignee: string) =>
  `('${id}', 'R', 's1', '', false, 't', 'LOW', 'OPEN', 0, 60, 1, 0, 0, '${assignee}')`;

/** A user "kept", an alert assigned to them, and one assigned to "gone", a user deleted by an older Vigil. */
export const ROWS_BEFORE_ASSIGNEE_CLEANUP = [
  `INSERT INTO sources (id, name, kind, poll_interval_secs, overlap_secs, sweep_window_secs, sweep_interval_secs,
     include_tenant_events, backfill_days, enabled, encrypted_secret, created_at_ms)
     VALUES ('s1', 'old', 'openai', 60, 300, 86400, 3600, false, 0, true, 'x', 0)`,
  "INSERT INTO users (id, username, password_hash, created_at_ms) VALUES ('u1', 'kept', 'h', 0)",
  `INSERT INTO alerts (id, rule_id, source_id, dedup_string, is_error, title, severity, status, window_start_secs,
     window_end_secs, match_count, created_at_ms, updated_at_ms, assignee)
     VALUES ${alert("a-kept", "kept")}, ${alert("a-gone", "gone")}`,
];

export async function assertAssigneeCleanup(store: Store): Promise<void> {
  assert.equal((await store.getAlert("a-kept"))?.assignee, "kept");
  assert.equal((await store.getAlert("a-gone"))?.assignee, null);
}
