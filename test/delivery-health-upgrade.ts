// Migration 37 on both engines: the destinations' delivery health, as found in an older Vigil's attempt log.

import assert from "node:assert/strict";
import type { Store } from "../src/storage/ports.ts";

/** The log as an older Vigil left it; run with foreign keys off (no alerts needed). */
export const ROWS_BEFORE_DELIVERY_HEALTH = [
  `INSERT INTO destinations (id, name, type, min_severity, config_ciphertext, created_at_ms, updated_at_ms)
     VALUES ('dead', 'dead', 'webhook', 'INFO', 'x', 0, 0), ('back', 'back', 'webhook', 'INFO', 'x', 0, 0),
            ('retrying', 'retrying', 'webhook', 'INFO', 'x', 0, 0), ('new', 'new', 'webhook', 'INFO', 'x', 0, 0)`,
  "INSERT INTO outbox (alert_id, kind, created_at_ms, routed_at_ms) VALUES ('a1', 'created', 0, 0)",
  `INSERT INTO deliveries (id, outbox_id, destination_id, destination_name, status, attempts, next_attempt_at_ms,
     created_at_ms)
     VALUES ('x-dead', 1, 'dead', 'dead', 'failed', 2, 0, 0), ('x-back', 1, 'back', 'back', 'sent', 2, 0, 0),
            ('x-retrying', 1, 'retrying', 'retrying', 'pending', 1, 0, 0)`,
  `INSERT INTO delivery_attempts (delivery_id, attempt, at_ms, outcome, error, duration_ms)
     VALUES ('x-dead', 1, 10, 'retry', 'HTTP 500', 1), ('x-dead', 2, 20, 'failed', 'HTTP 400', 1),
            ('x-back', 1, 10, 'failed', 'HTTP 500', 1), ('x-back', 2, 30, 'sent', NULL, 1),
            ('x-retrying', 1, 40, 'retry', 'timed out', 1)`,
];

/** A destination whose latest attempt failed is failing since that attempt; the others are healthy. */
export async function assertDeliveryHealthUpgrade(store: Store): Promise<void> {
  const health = Object.fromEntries((await store.listDestinations()).map((d) => [d.name, d.failing]));
  assert.deepEqual(health, {
    back: null,
    // A give-up before the upgrade was announced (or not) by the older Vigil: carried as failing, not as a new one.
    dead: {
      sinceMs: 20,
      latestMs: 20,
      deliveryId: "x-dead",
      alertId: "a1",
      error: "HTTP 400",
      dead: false,
      recovered: false,
    },
    new: null,
    retrying: {
      sinceMs: 40,
      latestMs: 40,
      deliveryId: "x-retrying",
      alertId: "a1",
      error: "timed out",
      dead: false,
      recovered: false,
    },
  });
  // A delivery's retry window starts at its creation until its dead letter is sent again.
  const [pending] = await store.listDeliveriesByStatus("pending");
  assert.equal(pending?.retryFromMs, pending?.createdAtMs);
  assert.equal(pending?.unrecordedClaims, 0);
}
