// The delivery side of the SQLite store: destinations, the outbox, deliveries and their attempt logs.
// Methods that write must run inside the store's write (BEGIN IMMEDIATE) transaction: SQLite has one
// writer at a time, so a claim (select due rows, then lease them) cannot interleave with another claim.

import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import type { Severity } from "../../core/detection.ts";
import { NotFoundError, VigilError } from "../../core/errors.ts";
import { redactSecrets } from "../../core/redact.ts";
import type {
  ClaimedDelivery,
  DeliveryAttemptRecord,
  DeliveryAttemptWrite,
  DeliveryRecord,
  DeliveryStatus,
  DestinationRecord,
  DestinationUpdate,
  EncryptedSecret,
  NewDestination,
  OutboxEntry,
  OutboxKind,
} from "../ports.ts";

export interface DestinationRow {
  id: string;
  name: string;
  type: string;
  min_severity: string;
  log_types: string;
  config_ciphertext: string;
  managed_by: string | null;
  created_at_ms: number;
  updated_at_ms: number;
}

export interface DeliveryRow {
  id: string;
  outbox_id: number;
  alert_id: string;
  kind: OutboxKind;
  destination_id: string;
  destination_name: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at_ms: number;
  lease_until_ms: number | null;
  lease_token: string | null;
  last_error: string | null;
  delivered_at_ms: number | null;
  created_at_ms: number;
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  at_ms: number;
  outcome: DeliveryAttemptRecord["outcome"];
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export const DELIVERY_SELECT = `SELECT d.*, o.alert_id, o.kind FROM deliveries d JOIN outbox o ON o.id = d.outbox_id`;

export function toDestinationRecord(row: DestinationRow): DestinationRecord {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    minSeverity: row.min_severity as Severity,
    logTypes: JSON.parse(row.log_types) as string[],
    managedBy: row.managed_by === "config" ? "config" : null,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  };
}

export function toDeliveryRecord(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    outboxId: row.outbox_id,
    alertId: row.alert_id,
    kind: row.kind,
    destinationId: row.destination_id,
    destinationName: row.destination_name,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAtMs: row.next_attempt_at_ms,
    leaseUntilMs: row.lease_until_ms,
    lastError: row.last_error,
    deliveredAtMs: row.delivered_at_ms,
    createdAtMs: row.created_at_ms,
  };
}

export function toAttemptRecord(row: AttemptRow): DeliveryAttemptRecord {
  return {
    deliveryId: row.delivery_id,
    attempt: row.attempt,
    atMs: row.at_ms,
    outcome: row.outcome,
    statusCode: row.status_code,
    error: row.error,
    durationMs: row.duration_ms,
  };
}

function prepare(db: Database.Database) {
  return {
    destinationById: db.prepare<[string], DestinationRow>("SELECT * FROM destinations WHERE id = ?"),
    destinationByName: db.prepare<[string], DestinationRow>("SELECT * FROM destinations WHERE name = ?"),
    destinations: db.prepare<[], DestinationRow>("SELECT * FROM destinations ORDER BY name"),
    insertDestination: db.prepare(
      `INSERT INTO destinations (id, name, type, min_severity, log_types, config_ciphertext, managed_by,
         created_at_ms, updated_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteDestination: db.prepare("DELETE FROM destinations WHERE id = ?"),
    updateDestination: db.prepare(
      `UPDATE destinations SET type = ?, min_severity = ?, log_types = ?, config_ciphertext = ?, managed_by = ?,
         updated_at_ms = ?
       WHERE id = ?`,
    ),
    unrouted: db.prepare<[number], { id: number; alert_id: string; kind: OutboxKind; created_at_ms: number }>(
      "SELECT id, alert_id, kind, created_at_ms FROM outbox WHERE routed_at_ms IS NULL ORDER BY id LIMIT ?",
    ),
    outboxRouted: db.prepare<[number], number | null>("SELECT routed_at_ms FROM outbox WHERE id = ?").pluck(),
    insertDelivery: db.prepare(
      `INSERT INTO deliveries (id, outbox_id, destination_id, destination_name, status, next_attempt_at_ms, created_at_ms)
       VALUES (?, ?, ?, ?, 'pending', ?, ?)
       ON CONFLICT (outbox_id, destination_id) DO NOTHING`,
    ),
    markRouted: db.prepare("UPDATE outbox SET routed_at_ms = ? WHERE id = ?"),
    due: db.prepare<[number, number, number], { id: string }>(
      `SELECT id FROM deliveries
       WHERE status = 'pending' AND next_attempt_at_ms <= ? AND (lease_until_ms IS NULL OR lease_until_ms <= ?)
       ORDER BY next_attempt_at_ms, id LIMIT ?`,
    ),
    lease: db.prepare(
      "UPDATE deliveries SET lease_until_ms = ?, lease_token = ?, attempts = attempts + 1 WHERE id = ?",
    ),
    deliveryById: db.prepare<[string], DeliveryRow>(`${DELIVERY_SELECT} WHERE d.id = ?`),
    insertAttempt: db.prepare(
      `INSERT INTO delivery_attempts (delivery_id, attempt, at_ms, outcome, status_code, error, duration_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    finish: db.prepare(
      `UPDATE deliveries SET status = @status, next_attempt_at_ms = @next, lease_until_ms = NULL, lease_token = NULL,
         last_error = @error, delivered_at_ms = @deliveredAt
       WHERE id = @id AND lease_token = @token`,
    ),
    deliveriesOfAlert: db.prepare<[string], DeliveryRow>(
      `${DELIVERY_SELECT} WHERE o.alert_id = ? ORDER BY d.created_at_ms, o.id, d.destination_name`,
    ),
    attemptsOf: db.prepare<[string], AttemptRow>("SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY id"),
    deliveriesByStatus: db.prepare<[string, number], DeliveryRow>(
      `${DELIVERY_SELECT} WHERE d.status = ? ORDER BY d.created_at_ms DESC, d.id DESC LIMIT ?`,
    ),
  };
}

type Statements = ReturnType<typeof prepare>;

export class SqliteDelivery {
  readonly #db: Database.Database;
  #statements: Statements | undefined;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  get #s(): Statements {
    this.#statements ??= prepare(this.#db);
    return this.#statements;
  }

  /** Must run inside a write transaction. */
  createDestination(d: NewDestination, nowMs: number): DestinationRecord {
    if (this.#s.destinationByName.get(d.name) !== undefined) {
      throw new VigilError("conflict", `A destination named "${d.name}" already exists; choose another name.`);
    }
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
    this.#s.insertDestination.run(
      row.id,
      row.name,
      row.type,
      row.min_severity,
      row.log_types,
      row.config_ciphertext,
      row.managed_by,
      nowMs,
      nowMs,
    );
    return toDestinationRecord(row);
  }

  listDestinations(): DestinationRecord[] {
    return this.#s.destinations.all().map(toDestinationRecord);
  }

  getDestination(idOrName: string): DestinationRecord | null {
    const row = this.#s.destinationById.get(idOrName) ?? this.#s.destinationByName.get(idOrName);
    return row === undefined ? null : toDestinationRecord(row);
  }

  getDestinationConfig(id: string): EncryptedSecret | null {
    const row = this.#s.destinationById.get(id);
    return row === undefined ? null : { ciphertext: row.config_ciphertext };
  }

  /** Must run inside a write transaction. */
  updateDestination(id: string, changes: DestinationUpdate, nowMs: number): DestinationRecord {
    const current = this.#s.destinationById.get(id);
    if (current === undefined) throw new NotFoundError(`No destination with id ${id}.`);
    const row: DestinationRow = {
      ...current,
      type: changes.type ?? current.type,
      min_severity: changes.minSeverity ?? current.min_severity,
      log_types: changes.logTypes === undefined ? current.log_types : JSON.stringify(changes.logTypes),
      config_ciphertext: changes.config?.ciphertext ?? current.config_ciphertext,
      managed_by: changes.managedBy === undefined ? current.managed_by : changes.managedBy,
      updated_at_ms: nowMs,
    };
    this.#s.updateDestination.run(
      row.type,
      row.min_severity,
      row.log_types,
      row.config_ciphertext,
      row.managed_by,
      nowMs,
      id,
    );
    return toDestinationRecord(row);
  }

  /** Must run inside a write transaction. */
  removeDestination(id: string): void {
    if (this.#s.deleteDestination.run(id).changes === 0) throw new NotFoundError(`No destination with id ${id}.`);
  }

  listUnroutedOutbox(limit: number): OutboxEntry[] {
    return this.#s.unrouted
      .all(limit)
      .map((r) => ({ id: r.id, alertId: r.alert_id, kind: r.kind, createdAtMs: r.created_at_ms }));
  }

  /** Must run inside a write transaction. */
  routeOutboxEntry(outboxId: number, destinations: Array<{ id: string; name: string }>, nowMs: number): void {
    const routed = this.#s.outboxRouted.get(outboxId);
    if (routed === undefined) throw new NotFoundError(`No outbox entry with id ${outboxId}.`);
    if (routed !== null) return;
    for (const d of destinations) this.#s.insertDelivery.run(randomUUID(), outboxId, d.id, d.name, nowMs, nowMs);
    this.#s.markRouted.run(nowMs, outboxId);
  }

  /** Must run inside a write transaction. */
  claimDeliveries(options: { nowMs: number; leaseMs: number; limit: number }): ClaimedDelivery[] {
    const s = this.#s;
    const claimed: ClaimedDelivery[] = [];
    for (const { id } of s.due.all(options.nowMs, options.nowMs, options.limit)) {
      const token = randomUUID();
      s.lease.run(options.nowMs + options.leaseMs, token, id);
      const row = s.deliveryById.get(id);
      if (row !== undefined) claimed.push({ ...toDeliveryRecord(row), leaseToken: token });
    }
    return claimed;
  }

  /** Must run inside a write transaction. */
  recordDeliveryAttempt(a: DeliveryAttemptWrite): boolean {
    const s = this.#s;
    const row = s.deliveryById.get(a.deliveryId);
    if (row === undefined) throw new NotFoundError(`No delivery with id ${a.deliveryId}.`);
    const error = a.error === undefined ? null : redactSecrets(a.error);
    s.insertAttempt.run(a.deliveryId, row.attempts, a.atMs, a.outcome, a.statusCode ?? null, error, a.durationMs);
    const status: DeliveryStatus = a.outcome === "sent" ? "sent" : a.outcome === "retry" ? "pending" : "failed";
    const { changes } = s.finish.run({
      id: a.deliveryId,
      token: a.leaseToken,
      status,
      next: a.outcome === "retry" ? (a.nextAttemptAtMs ?? a.atMs) : row.next_attempt_at_ms,
      error: a.outcome === "sent" ? null : error,
      deliveredAt: a.outcome === "sent" ? a.atMs : null,
    });
    return changes === 1;
  }

  listDeliveries(alertId: string): Array<DeliveryRecord & { log: DeliveryAttemptRecord[] }> {
    return this.#s.deliveriesOfAlert
      .all(alertId)
      .map((row) => ({ ...toDeliveryRecord(row), log: this.#s.attemptsOf.all(row.id).map(toAttemptRecord) }));
  }

  listDeliveriesByStatus(status: DeliveryStatus, limit: number): DeliveryRecord[] {
    return this.#s.deliveriesByStatus.all(status, limit).map(toDeliveryRecord);
  }
}
