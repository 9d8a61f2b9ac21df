// The delivery side of the PostgreSQL store: destinations, the outbox, deliveries and attempt logs. Many
// workers may claim at once: a claim leases rows picked with FOR UPDATE SKIP LOCKED, so two workers never
// get the same delivery, and neither waits for the other's rows.

import { randomUUID } from "node:crypto";
import type pg from "pg";
import { NotFoundError } from "../../core/errors.ts";
import { redactSecrets } from "../../core/redact.ts";
import type {
  ClaimedDelivery,
  DeliveryAttemptRecord,
  DeliveryAttemptWrite,
  DeliveryRecord,
  DeliveryStatus,
  DestinationRecord,
  DestinationUpdate,
  NewDestination,
  OutboxEntry,
  OutboxKind,
} from "../ports.ts";
import {
  type AttemptRow,
  DELIVERY_SELECT,
  type DeliveryRow,
  type DestinationRow,
  toAttemptRecord,
  toDeliveryRecord,
  toDestinationRecord,
} from "../sqlite/delivery.ts";

type Queryable = pg.PoolClient | pg.Pool;

/** Inserts a destination; the caller maps a unique violation on the name to a conflict. */
export async function createDestinationPg(
  client: Queryable,
  d: NewDestination,
  nowMs: number,
): Promise<DestinationRecord> {
  const row: DestinationRow = {
    id: randomUUID(),
    name: d.name,
    type: d.type,
    min_severity: d.minSeverity,
    log_types: JSON.stringify(d.logTypes),
    config_ciphertext: d.config.ciphertext,
    managed_by: d.managedBy ?? null,
    created_at_ms: nowMs,
    updated_at_ms: nowMs,
  };
  await client.query(
    `INSERT INTO destinations (id, name, type, min_severity, log_types, config_ciphertext, managed_by,
       created_at_ms, updated_at_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [row.id, row.name, row.type, row.min_severity, row.log_types, row.config_ciphertext, row.managed_by, nowMs, nowMs],
  );
  return toDestinationRecord(row);
}

export async function listDestinationsPg(client: Queryable): Promise<DestinationRecord[]> {
  const { rows } = await client.query<DestinationRow>("SELECT * FROM destinations ORDER BY name");
  return rows.map(toDestinationRecord);
}

export async function getDestinationRowPg(client: Queryable, idOrName: string): Promise<DestinationRow | null> {
  // By id first: a name that happens to equal another destination's id must not shadow it.
  const { rows } = await client.query<DestinationRow>(
    "SELECT * FROM destinations WHERE id = $1 OR name = $1 ORDER BY (id = $1) DESC LIMIT 1",
    [idOrName],
  );
  return rows[0] ?? null;
}

export async function updateDestinationPg(
  client: Queryable,
  id: string,
  changes: DestinationUpdate,
  nowMs: number,
): Promise<DestinationRecord> {
  const { rows } = await client.query<DestinationRow>(
    `UPDATE destinations SET type = COALESCE($2, type), min_severity = COALESCE($3, min_severity),
       log_types = COALESCE($4, log_types), config_ciphertext = COALESCE($5, config_ciphertext), updated_at_ms = $6,
       managed_by = CASE WHEN $7 THEN $8 ELSE managed_by END
     WHERE id = $1 RETURNING *`,
    [
      id,
      changes.type ?? null,
      changes.minSeverity ?? null,
      changes.logTypes === undefined ? null : JSON.stringify(changes.logTypes),
      changes.config?.ciphertext ?? null,
      nowMs,
      // NULL is a value managed_by can take, so "leave it" is its own flag.
      changes.managedBy !== undefined,
      changes.managedBy ?? null,
    ],
  );
  const row = rows[0];
  if (row === undefined) throw new NotFoundError(`No destination with id ${id}.`);
  return toDestinationRecord(row);
}

export async function removeDestinationPg(client: Queryable, id: string): Promise<void> {
  const { rowCount } = await client.query("DELETE FROM destinations WHERE id = $1", [id]);
  if ((rowCount ?? 0) === 0) throw new NotFoundError(`No destination with id ${id}.`);
}

export async function listUnroutedOutboxPg(client: Queryable, limit: number): Promise<OutboxEntry[]> {
  const { rows } = await client.query<{ id: number; alert_id: string; kind: OutboxKind; created_at_ms: number }>(
    "SELECT id, alert_id, kind, created_at_ms FROM outbox WHERE routed_at_ms IS NULL ORDER BY id LIMIT $1",
    [limit],
  );
  return rows.map((r) => ({ id: r.id, alertId: r.alert_id, kind: r.kind, createdAtMs: r.created_at_ms }));
}

/** Must run in a transaction. */
export async function routeOutboxEntryPg(
  client: pg.PoolClient,
  outboxId: number,
  destinations: Array<{ id: string; name: string }>,
  nowMs: number,
): Promise<void> {
  // FOR UPDATE: two workers routing the same entry queue here, and the second sees it routed.
  const { rows } = await client.query<{ routed_at_ms: number | null }>(
    "SELECT routed_at_ms FROM outbox WHERE id = $1 FOR UPDATE",
    [outboxId],
  );
  const row = rows[0];
  if (row === undefined) throw new NotFoundError(`No outbox entry with id ${outboxId}.`);
  if (row.routed_at_ms !== null) return;
  for (const d of destinations) {
    await client.query(
      `INSERT INTO deliveries (id, outbox_id, destination_id, destination_name, status, next_attempt_at_ms, created_at_ms)
       VALUES ($1, $2, $3, $4, 'pending', $5, $5)
       ON CONFLICT (outbox_id, destination_id) DO NOTHING`,
      [randomUUID(), outboxId, d.id, d.name, nowMs],
    );
  }
  await client.query("UPDATE outbox SET routed_at_ms = $1 WHERE id = $2", [nowMs, outboxId]);
}

/** Must run in a transaction. */
export async function claimDeliveriesPg(
  client: pg.PoolClient,
  options: { nowMs: number; leaseMs: number; limit: number },
): Promise<ClaimedDelivery[]> {
  const { rows: due } = await client.query<{ id: string }>(
    `SELECT id FROM deliveries
     WHERE status = 'pending' AND next_attempt_at_ms <= $1 AND (lease_until_ms IS NULL OR lease_until_ms <= $1)
     ORDER BY next_attempt_at_ms, id LIMIT $2
     FOR UPDATE SKIP LOCKED`,
    [options.nowMs, options.limit],
  );
  const claimed: ClaimedDelivery[] = [];
  for (const { id } of due) {
    const token = randomUUID();
    await client.query(
      "UPDATE deliveries SET lease_until_ms = $1, lease_token = $2, attempts = attempts + 1 WHERE id = $3",
      [options.nowMs + options.leaseMs, token, id],
    );
    const { rows } = await client.query<DeliveryRow>(`${DELIVERY_SELECT} WHERE d.id = $1`, [id]);
    if (rows[0] !== undefined) claimed.push({ ...toDeliveryRecord(rows[0]), leaseToken: token });
  }
  return claimed;
}

/** Must run in a transaction. */
export async function recordDeliveryAttemptPg(client: pg.PoolClient, a: DeliveryAttemptWrite): Promise<boolean> {
  const { rows } = await client.query<DeliveryRow>(`${DELIVERY_SELECT} WHERE d.id = $1 FOR UPDATE OF d`, [
    a.deliveryId,
  ]);
  const row = rows[0];
  if (row === undefined) throw new NotFoundError(`No delivery with id ${a.deliveryId}.`);
  const error = a.error === undefined ? null : redactSecrets(a.error);
  await client.query(
    `INSERT INTO delivery_attempts (delivery_id, attempt, at_ms, outcome, status_code, error, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [a.deliveryId, row.attempts, a.atMs, a.outcome, a.statusCode ?? null, error, a.durationMs],
  );
  if (row.lease_token !== a.leaseToken) return false;
  const status: DeliveryStatus = a.outcome === "sent" ? "sent" : a.outcome === "retry" ? "pending" : "failed";
  await client.query(
    `UPDATE deliveries SET status = $2, next_attempt_at_ms = $3, lease_until_ms = NULL, lease_token = NULL,
       last_error = $4, delivered_at_ms = $5
     WHERE id = $1`,
    [
      a.deliveryId,
      status,
      a.outcome === "retry" ? (a.nextAttemptAtMs ?? a.atMs) : row.next_attempt_at_ms,
      a.outcome === "sent" ? null : error,
      a.outcome === "sent" ? a.atMs : null,
    ],
  );
  return true;
}

export async function listDeliveriesPg(
  client: Queryable,
  alertId: string,
): Promise<Array<DeliveryRecord & { log: DeliveryAttemptRecord[] }>> {
  const { rows } = await client.query<DeliveryRow>(
    `${DELIVERY_SELECT} WHERE o.alert_id = $1 ORDER BY d.created_at_ms, o.id, d.destination_name`,
    [alertId],
  );
  const { rows: attempts } = await client.query<AttemptRow>(
    `SELECT a.* FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN outbox o ON o.id = d.outbox_id
     WHERE o.alert_id = $1 ORDER BY a.id`,
    [alertId],
  );
  return rows.map((row) => ({
    ...toDeliveryRecord(row),
    log: attempts.filter((a) => a.delivery_id === row.id).map(toAttemptRecord),
  }));
}

export async function listDeliveriesByStatusPg(
  client: Queryable,
  status: DeliveryStatus,
  limit: number,
): Promise<DeliveryRecord[]> {
  const { rows } = await client.query<DeliveryRow>(
    `${DELIVERY_SELECT} WHERE d.status = $1 ORDER BY d.created_at_ms DESC, d.id DESC LIMIT $2`,
    [status, limit],
  );
  return rows.map(toDeliveryRecord);
}
