// Destinations, the outbox and deliveries (with their attempt logs), written once for SQLite and PostgreSQL.
//
// Several workers (processes sharing one PostgreSQL) route and send at the same time. What keeps them apart:
// - a claim picks its rows through `dialect.skipLocked` (PostgreSQL: FOR UPDATE SKIP LOCKED), so two claims
//   never lease the same delivery and neither waits for the other's rows;
// - routing marks the outbox entry routed before fanning it out, with an UPDATE that only matches an unrouted
//   entry: a second worker routing the same entry waits on that row and then matches nothing, so the
//   deliveries are created once;
// - recording an attempt moves the delivery on only where the lease token still matches, so a worker whose
//   lease expired (and was claimed again) cannot overwrite the new holder's result.
// On SQLite each write transaction holds the whole database, which serializes all of this anyway.
//
// Every write goes through `dialect.write`, single statements too: on SQLite that is what takes turns with
// the other connections of this process (see ../sqlite/dialect.ts).
//
// Destination configs are stored as the ciphertext they are given and read back only by getDestinationConfig.

import { randomUUID } from "node:crypto";
import { type ExpressionBuilder, type Selectable, sql, type Updateable } from "kysely";
import { OPEN_ALERT_STATUSES, type Severity } from "../../core/detection.ts";
import { NotFoundError, VigilError } from "../../core/errors.ts";
import { redactSecrets } from "../../core/redact.ts";
import type {
  DeadLetter,
  DeliveryAttemptRecord,
  DeliveryAttemptWrite,
  DeliveryRecord,
  DeliveryStatus,
  DestinationRecord,
  OutboxKind,
  Store,
} from "../ports.ts";
import {
  type Database,
  type DeliveriesTable,
  type DeliveryAttemptsTable,
  type DestinationsTable,
  flag,
} from "./database.ts";
import type { Db, StoreContext } from "./dialect.ts";

export type DeliveryOps = Pick<
  Store,
  | "createDestination"
  | "listDestinations"
  | "getDestination"
  | "getDestinationConfig"
  | "updateDestination"
  | "removeDestination"
  | "listUnroutedOutbox"
  | "routeOutboxEntry"
  | "claimDeliveries"
  | "recordDeliveryAttempt"
  | "retryDeadDeliveries"
  | "countDeadDeliveries"
  | "endDeliveryEpisode"
  | "listDeliveries"
  | "listDeliveriesByStatus"
  | "listDeadDeliveries"
>;

export function deliveryOps(ctx: StoreContext): DeliveryOps {
  const { dialect, clock } = ctx;

  return {
    createDestination: (d) => {
      const nowMs = clock.nowMs();
      const row: Selectable<DestinationsTable> = {
        id: randomUUID(),
        name: d.name,
        type: d.type,
        min_severity: d.minSeverity,
        log_types: JSON.stringify(d.logTypes),
        config_ciphertext: d.config.ciphertext,
        managed_by: d.managedBy ?? null,
        ...NOT_FAILING,
        last_delivered_at_ms: null,
        created_at_ms: nowMs,
        updated_at_ms: nowMs,
      };
      return dialect.write(async (trx) => {
        try {
          await trx
            .insertInto("destinations")
            .values({ ...row, failing_dead: 0 })
            .execute();
        } catch (err) {
          // The unique index on the name decides (the id is a fresh UUID), so two workers adding the same
          // name at once cannot both win.
          if (dialect.violatedConstraint(err) === "unique") {
            throw new VigilError("conflict", `A destination named "${d.name}" already exists; choose another name.`);
          }
          throw err;
        }
        return toDestinationRecord(row);
      });
    },

    listDestinations: () =>
      dialect.run(async (db) => {
        const rows = await db.selectFrom("destinations").selectAll().orderBy("name").execute();
        return rows.map(toDestinationRecord);
      }),

    getDestination: (idOrName) =>
      dialect.run(async (db) => {
        // By id first: a name that happens to equal another destination's id must not shadow it.
        const row = await db
          .selectFrom("destinations")
          .selectAll()
          .where((eb) => eb.or([eb("id", "=", idOrName), eb("name", "=", idOrName)]))
          .orderBy((eb) => eb.case().when("id", "=", idOrName).then(0).else(1).end())
          .limit(1)
          .executeTakeFirst();
        return row === undefined ? null : toDestinationRecord(row);
      }),

    getDestinationConfig: (id) =>
      dialect.run(async (db) => {
        const row = await db
          .selectFrom("destinations")
          .select("config_ciphertext")
          .where("id", "=", id)
          .executeTakeFirst();
        return row === undefined ? null : { ciphertext: row.config_ciphertext };
      }),

    updateDestination: (id, changes) => {
      const set: Updateable<DestinationsTable> = { updated_at_ms: clock.nowMs() };
      if (changes.type !== undefined) set.type = changes.type;
      if (changes.minSeverity !== undefined) set.min_severity = changes.minSeverity;
      if (changes.logTypes !== undefined) set.log_types = JSON.stringify(changes.logTypes);
      if (changes.config !== undefined) set.config_ciphertext = changes.config.ciphertext;
      // null is an owner too ("not the config file"): only an absent managedBy leaves it as it is.
      if (changes.managedBy !== undefined) set.managed_by = changes.managedBy;
      return dialect.write(async (trx) => {
        const row = await trx
          .updateTable("destinations")
          .set(set)
          .where("id", "=", id)
          .returningAll()
          .executeTakeFirst();
        if (row === undefined) throw new NotFoundError(`No destination with id ${id}.`);
        return toDestinationRecord(row);
      });
    },

    removeDestination: (id) =>
      dialect.write(async (trx) => {
        const { numDeletedRows } = await trx.deleteFrom("destinations").where("id", "=", id).executeTakeFirst();
        if (numDeletedRows === 0n) throw new NotFoundError(`No destination with id ${id}.`);
      }),

    listUnroutedOutbox: (limit, afterId = 0) =>
      dialect.run(async (db) => {
        const rows = await db
          .selectFrom("outbox")
          .select(["id", "alert_id", "kind", "from_history", "created_at_ms"])
          .where("routed_at_ms", "is", null)
          .where("id", ">", afterId)
          .orderBy("id")
          .limit(limit)
          .execute();
        return rows.map((r) => ({
          id: r.id,
          alertId: r.alert_id,
          kind: r.kind as OutboxKind,
          fromHistory: r.from_history === null ? null : flag(r.from_history),
          createdAtMs: r.created_at_ms,
        }));
      }),

    routeOutboxEntry: (outboxId, destinations, nowMs) =>
      dialect.write(async (trx) => {
        // Marking first takes the row: a concurrent router of the same entry waits for this transaction,
        // then finds the entry routed and matches nothing.
        const marked = await trx
          .updateTable("outbox")
          .set({ routed_at_ms: nowMs })
          .where("id", "=", outboxId)
          .where("routed_at_ms", "is", null)
          .returning(["alert_id", "kind"])
          .executeTakeFirst();
        if (marked === undefined) {
          const exists = await trx.selectFrom("outbox").select("id").where("id", "=", outboxId).executeTakeFirst();
          if (exists === undefined) throw new NotFoundError(`No outbox entry with id ${outboxId}.`);
          return; // routed already
        }
        // A resolve goes where its alert's creation went (sent, or still on its way), and only there, whatever
        // routing says now: a late match may have lowered the alert's severity, or a destination's minimum changed
        // since; and a destination added since, or whose creation was given up, never heard of the alert (a
        // PagerDuty resolve of an incident it never opened, a Slack "resolved" out of nowhere). A dead creation of
        // an ended alert is not sent again (./delivery.ts, dead letters); if the alert reopens, it goes again, and
        // the next resolve follows it. A destination removed since gets nothing.
        const targets =
          marked.kind !== "resolved"
            ? destinations
            : await trx
                .selectFrom("outbox as created")
                .innerJoin("deliveries as d", "d.outbox_id", "created.id")
                .innerJoin("destinations", "destinations.id", "d.destination_id")
                .select(["destinations.id as id", "destinations.name as name"])
                .where("created.alert_id", "=", marked.alert_id)
                .where("created.kind", "=", "created")
                .where("d.status", "in", ["pending", "sent"])
                .execute();
        const distinct = new Map(targets.map((d) => [d.id, d]));
        if (distinct.size === 0) return;
        await trx
          .insertInto("deliveries")
          .values(
            [...distinct.values()].map((d) => ({
              id: randomUUID(),
              outbox_id: outboxId,
              destination_id: d.id,
              destination_name: d.name,
              status: "pending",
              next_attempt_at_ms: nowMs,
              created_at_ms: nowMs,
            })),
          )
          .onConflict((oc) => oc.columns(["outbox_id", "destination_id"]).doNothing())
          .execute();
      }),

    claimDeliveries: ({ nowMs, leaseMs, limit, skipDestinations = [] }) =>
      dialect.write(async (trx) => {
        const due = await dialect
          .skipLocked(
            trx
              .selectFrom("deliveries")
              .select("id")
              .where("status", "=", "pending")
              .$if(skipDestinations.length > 0, (q) => q.where("destination_id", "not in", [...skipDestinations]))
              .where("next_attempt_at_ms", "<=", nowMs)
              // Leases on the database's clock, as the fleet's are: a worker whose clock runs ahead must not take
              // a delivery another is still sending (nor one whose clock is behind hold it long after it died).
              .where((eb) => eb.or([eb("lease_until_ms", "is", null), eb("lease_until_ms", "<=", dialect.clockMs)]))
              // One alert's notifications reach a destination in the order they were enqueued: one waits while
              // an earlier one to the same destination is pending (in backoff, or claimed and being sent).
              // Else a created notification retried after a 429 would arrive after its resolve, and PagerDuty
              // would keep the incident open for good.
              .where((eb) => eb.not(eb.exists(siblingDeliveries(eb, "<").where("sibling.status", "=", "pending"))))
              .orderBy("next_attempt_at_ms")
              .orderBy("id")
              .limit(limit),
          )
          .execute();
        if (due.length === 0) return [];
        // A fresh token per delivery; counting the attempt at the claim means a sender that keeps crashing
        // still runs out of attempts.
        const tokens = new Map<string, string>();
        for (const { id } of due) {
          const token = randomUUID();
          tokens.set(id, token);
          await trx
            .updateTable("deliveries")
            .set((eb) => ({
              lease_until_ms: sql<number>`${dialect.clockMs} + ${leaseMs}`,
              lease_token: token,
              attempts: eb("attempts", "+", 1),
              // A token still here is an earlier claim's whose sender never recorded an outcome.
              unrecorded_claims: eb
                .case()
                .when("lease_token", "is not", null)
                .then(eb("unrecorded_claims", "+", 1))
                .else(eb.ref("unrecorded_claims"))
                .end(),
            }))
            .where("id", "=", id)
            .execute();
        }
        const rows = await selectDeliveries(trx)
          .where("deliveries.id", "in", [...tokens.keys()])
          .orderBy("deliveries.next_attempt_at_ms")
          .orderBy("deliveries.id")
          .execute();
        return rows.map((row) => ({ ...toDeliveryRecord(row), leaseToken: tokens.get(row.id) as string }));
      }),

    recordDeliveryAttempt: (a) =>
      dialect.write(async (trx) => {
        const error = a.error === undefined ? null : redactSecrets(a.error);
        const status: DeliveryStatus = a.outcome === "sent" ? "sent" : a.outcome === "retry" ? "pending" : "failed";
        // Only while this token holds the lease; the UPDATE also locks the row (PostgreSQL), so a claim skips
        // it until this transaction ends.
        const finished = await trx
          .updateTable("deliveries")
          .set({
            status,
            ...(a.outcome === "retry" ? { next_attempt_at_ms: a.nextAttemptAtMs ?? a.atMs } : {}),
            lease_until_ms: null,
            lease_token: null,
            unrecorded_claims: 0,
            last_error: a.outcome === "sent" ? null : error,
            delivered_at_ms: a.outcome === "sent" ? a.atMs : null,
            failed_at_ms: a.outcome === "failed" ? a.atMs : null,
          })
          .where("id", "=", a.deliveryId)
          .where("lease_token", "=", a.leaseToken)
          .returning(["attempts", "destination_id", "outbox_id"])
          .executeTakeFirst();
        // A stale holder's attempt is still logged, numbered as the delivery now stands.
        const current =
          finished ??
          (await trx
            .selectFrom("deliveries")
            .select(["attempts", "destination_id", "outbox_id"])
            .where("id", "=", a.deliveryId)
            .executeTakeFirst());
        if (current === undefined) throw new NotFoundError(`No delivery with id ${a.deliveryId}.`);
        if (a.concernsDestination !== false) {
          await recordHealth(trx, { ...current, id: a.deliveryId }, a, error);
        }
        await trx
          .insertInto("delivery_attempts")
          .values({
            delivery_id: a.deliveryId,
            attempt: current.attempts,
            at_ms: a.atMs,
            outcome: a.outcome,
            status_code: a.statusCode ?? null,
            error,
            duration_ms: a.durationMs,
          })
          .execute();
        return finished !== undefined;
      }),

    retryDeadDeliveries: (filter, nowMs) =>
      dialect.write(async (trx) => {
        let dead = trx
          .updateTable("deliveries")
          .set({
            status: "pending",
            next_attempt_at_ms: nowMs,
            retry_from_ms: nowMs,
            lease_until_ms: null,
            lease_token: null,
            unrecorded_claims: 0,
          })
          .where(requeueable);
        if (filter.destinationId !== undefined) dead = dead.where("destination_id", "=", filter.destinationId);
        if (filter.alertId !== undefined) {
          const alertId = filter.alertId;
          dead = dead.where("outbox_id", "in", (eb) =>
            eb.selectFrom("outbox").select("outbox.id").where("outbox.alert_id", "=", alertId),
          );
        }
        const { numUpdatedRows } = await dead.executeTakeFirst();
        return Number(numUpdatedRows);
      }),

    endDeliveryEpisode: (destinationId, sinceMs) =>
      dialect.write(async (trx) => {
        // A failure recorded meanwhile moves failing_latest_ms: PostgreSQL re-checks the row it waited for, and
        // the episode, no longer recovered, is left.
        const { numUpdatedRows } = await trx
          .updateTable("destinations")
          .set(NOT_FAILING)
          .where("id", "=", destinationId)
          .where("failing_since_ms", "=", sinceMs)
          .where("failing_dead", "=", 1)
          .whereRef("last_delivered_at_ms", ">=", "failing_latest_ms")
          .where(noOtherFailing(destinationId, null))
          .executeTakeFirst();
        return numUpdatedRows > 0n;
      }),

    countDeadDeliveries: () =>
      dialect.run(async (db) => {
        const rows = await db
          .selectFrom("deliveries")
          .select((eb) => ["destination_id", eb.fn.countAll<number | string | bigint>().as("n")])
          .where(requeueable)
          .groupBy("destination_id")
          .execute();
        return new Map(rows.map((r) => [r.destination_id, Number(r.n)]));
      }),

    listDeliveries: (alertId) =>
      dialect.run(async (db) => {
        const rows = await selectDeliveries(db)
          .where("o.alert_id", "=", alertId)
          .orderBy("deliveries.created_at_ms")
          .orderBy("o.id")
          .orderBy("deliveries.destination_name")
          .execute();
        const attempts = await db
          .selectFrom("delivery_attempts as a")
          .innerJoin("deliveries as d", "d.id", "a.delivery_id")
          .innerJoin("outbox as o", "o.id", "d.outbox_id")
          .selectAll("a")
          .where("o.alert_id", "=", alertId)
          .orderBy("a.id")
          .execute();
        return rows.map((row) => ({
          ...toDeliveryRecord(row),
          log: attempts.filter((a) => a.delivery_id === row.id).map(toAttemptRecord),
        }));
      }),

    listDeliveriesByStatus: (status, limit = 100) =>
      dialect.run(async (db) => (await newestDeliveries(db, status, limit).execute()).map(toDeliveryRecord)),

    listDeadDeliveries: (destinationId, limit = 100) =>
      dialect.run(async (db) => {
        const rows = await newestDeliveries(db, "failed", limit)
          .where("deliveries.destination_id", "=", destinationId)
          // The same predicate as retryDeadDeliveries, so the list says what Send again would do.
          .select((eb) => eb.case().when(requeueable(eb)).then(1).else(0).end().as("send_again"))
          // Recorded by the attempt that gave it up; for one given up before migration 39, its last attempt.
          .select((eb) =>
            eb.fn
              .coalesce(
                "deliveries.failed_at_ms",
                eb
                  .selectFrom("delivery_attempts")
                  .select((a) => a.fn.max("delivery_attempts.at_ms").as("at"))
                  .whereRef("delivery_attempts.delivery_id", "=", "deliveries.id"),
                "deliveries.created_at_ms",
              )
              .as("gave_up_at_ms"),
          )
          .execute();
        return rows.map(
          (row): DeadLetter => ({
            ...toDeliveryRecord(row),
            sendAgain: Number(row.send_again) === 1,
            gaveUpAtMs: Number(row.gave_up_at_ms),
          }),
        );
      }),
  };
}

/**
 * The deliveries to a delivery's destination of its alert's other notifications, enqueued before ("<") or after
 * (">") its own: the order in which an alert's notifications reach a destination is kept over these.
 */
function siblingDeliveries(eb: ExpressionBuilder<Database, "deliveries">, enqueued: "<" | ">") {
  return eb
    .selectFrom("outbox as mine")
    .innerJoin("outbox as other", (join) =>
      join.onRef("other.alert_id", "=", "mine.alert_id").onRef("other.id", enqueued, "mine.id"),
    )
    .innerJoin("deliveries as sibling", "sibling.outbox_id", "other.id")
    .select("sibling.id")
    .whereRef("mine.id", "=", "deliveries.outbox_id")
    .whereRef("sibling.destination_id", "=", "deliveries.destination_id");
}

/**
 * A dead letter that sending again would deliver, and in order: its destination exists; no later notification of
 * its alert to that destination is sent or on its way (the receiver would get them out of order: a "created" after
 * its "resolved" reopens the incident for good; later ones dead too are sent again with it, one after the other,
 * as claimDeliveries hands an alert's notifications out); and a "created" only while its alert is open (announcing
 * an alert that ended since would open an incident nothing resolves).
 */
function requeueable(eb: ExpressionBuilder<Database, "deliveries">) {
  return eb.and([
    eb("deliveries.status", "=", "failed"),
    eb("deliveries.destination_id", "in", eb.selectFrom("destinations").select("destinations.id")),
    eb.not(eb.exists(siblingDeliveries(eb, ">").where("sibling.status", "!=", "failed"))),
    eb.exists(
      eb
        .selectFrom("outbox as entry")
        .innerJoin("alerts as alert", "alert.id", "entry.alert_id")
        .select("entry.id")
        .whereRef("entry.id", "=", "deliveries.outbox_id")
        .where((inner) =>
          inner.or([inner("entry.kind", "=", "resolved"), inner("alert.status", "in", OPEN_ALERT_STATUSES)]),
        ),
    ),
  ]);
}

/** The columns of a destination's failing episode, cleared. */
const NOT_FAILING = {
  failing_since_ms: null,
  failing_latest_ms: null,
  failing_delivery_id: null,
  failing_alert_id: null,
  failing_error: null,
  failing_dead: 0,
} as const;

/** No other delivery to the destination is still failing (pending after a failed attempt). */
function noOtherFailing(destinationId: string, exceptDeliveryId: string | null) {
  return (eb: ExpressionBuilder<Database, "destinations">) =>
    eb.not(
      eb.exists(
        eb
          .selectFrom("deliveries as failing")
          .select("failing.id")
          .where("failing.destination_id", "=", destinationId)
          .where("failing.status", "=", "pending")
          .where("failing.last_error", "is not", null)
          .$if(exceptDeliveryId !== null, (q) => q.where("failing.id", "!=", exceptDeliveryId as string)),
      ),
    );
}

/**
 * The later of a time column (null: none yet) and `ms`: the latest by time, not by commit, since two workers'
 * attempts may commit in either order. (SQLite's max() and PostgreSQL's greatest() differ on null; this does not.)
 */
function laterOf(
  eb: ExpressionBuilder<Database, "destinations">,
  column: "last_delivered_at_ms" | "failing_latest_ms",
  ms: number,
) {
  return eb
    .case()
    .when(eb.or([eb(column, "is", null), eb(column, "<", ms)]))
    .then(eb.val(ms))
    .else(eb.ref(column))
    .end();
}

/**
 * The destination's health moves with each attempt, in its transaction: what the delivery-failed alert is derived
 * from (pipeline/delivery-health.ts) is never behind the attempts, whoever made them (a stale holder's too: it
 * did reach, or fail to reach, the destination). The first failure after a success begins an episode (since when,
 * from which delivery and alert); later failures bring their time and error, and a give-up marks it dead. A
 * success is kept (last_delivered_at_ms) and ends the episode once no other delivery to the destination is still
 * failing: else a receiver that rejects one notification and takes the rest (the system alert's own among them)
 * would begin and end an episode at every retry. A given-up episode is ended only by endDeliveryEpisode, after its
 * alert is raised: a success right after a give-up must not erase it unannounced. A failure begins an episode even
 * when a success of a later time is recorded already (its attempt ended first and committed after, or a clock ran
 * ahead): times come from the workers' clocks, and skipping such failures would hide a real outage behind a
 * success stamped in the future. The episode then shows as recovered, and ends at the next success.
 */
async function recordHealth(
  trx: Db,
  delivery: { id: string; destination_id: string; outbox_id: number },
  a: DeliveryAttemptWrite,
  error: string | null,
): Promise<void> {
  // Each branch first updates the destination's row, unconditionally: on PostgreSQL that takes the row, so the
  // health writes of two attempts go one after the other, and the next statement reads what the other committed
  // (READ COMMITTED). Else two successes after an outage would each see the other still failing, and neither
  // would end the episode.
  const health = trx.updateTable("destinations").where("id", "=", delivery.destination_id);
  if (a.outcome === "sent") {
    await health.set((eb) => ({ last_delivered_at_ms: laterOf(eb, "last_delivered_at_ms", a.atMs) })).execute();
    await health
      .set(NOT_FAILING)
      .where("failing_since_ms", "is not", null)
      .where("failing_dead", "=", 0)
      .where(noOtherFailing(delivery.destination_id, delivery.id))
      .execute();
    return;
  }
  await health
    .set((eb) => ({
      failing_since_ms: eb.fn.coalesce("failing_since_ms", eb.val(a.atMs)),
      failing_latest_ms: laterOf(eb, "failing_latest_ms", a.atMs),
      failing_delivery_id: eb.fn.coalesce("failing_delivery_id", eb.val(a.deliveryId)),
      failing_alert_id: eb.fn.coalesce(
        "failing_alert_id",
        eb.selectFrom("outbox").select("alert_id").where("id", "=", delivery.outbox_id),
      ),
      failing_error: error,
      ...(a.outcome === "failed" ? { failing_dead: 1 } : {}),
    }))
    .execute();
}

/**
 * A delivery with the alert and kind of its outbox entry. The table keeps its name (no alias): predicates written
 * for the deliveries table, such as `requeueable`, apply to these rows too.
 */
function selectDeliveries(db: Db) {
  return db
    .selectFrom("deliveries")
    .innerJoin("outbox as o", "o.id", "deliveries.outbox_id")
    .selectAll("deliveries")
    .select(["o.alert_id", "o.kind"]);
}

/** The deliveries in `status`, newest first: of an alert's notifications routed in one millisecond, the later one. */
function newestDeliveries(db: Db, status: DeliveryStatus, limit: number) {
  return selectDeliveries(db)
    .where("deliveries.status", "=", status)
    .orderBy("deliveries.created_at_ms", "desc")
    .orderBy("deliveries.outbox_id", "desc")
    .orderBy("deliveries.id", "desc")
    .limit(limit);
}

type DeliveryRow = Selectable<DeliveriesTable> & { alert_id: string; kind: string };

function toDestinationRecord(row: Selectable<DestinationsTable>): DestinationRecord {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    minSeverity: row.min_severity as Severity,
    logTypes: JSON.parse(row.log_types) as string[],
    managedBy: row.managed_by === "config" ? "config" : null,
    failing:
      row.failing_since_ms === null || row.failing_delivery_id === null
        ? null
        : {
            sinceMs: row.failing_since_ms,
            latestMs: row.failing_latest_ms ?? row.failing_since_ms,
            deliveryId: row.failing_delivery_id,
            alertId: row.failing_alert_id ?? "",
            error: row.failing_error,
            dead: flag(row.failing_dead),
            recovered:
              row.last_delivered_at_ms !== null &&
              row.last_delivered_at_ms >= (row.failing_latest_ms ?? row.failing_since_ms),
          },
    lastDeliveredAtMs: row.last_delivered_at_ms,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  };
}

function toDeliveryRecord(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    outboxId: row.outbox_id,
    alertId: row.alert_id,
    kind: row.kind as OutboxKind,
    destinationId: row.destination_id,
    destinationName: row.destination_name,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    nextAttemptAtMs: row.next_attempt_at_ms,
    leaseUntilMs: row.lease_until_ms,
    lastError: row.last_error,
    deliveredAtMs: row.delivered_at_ms,
    createdAtMs: row.created_at_ms,
    retryFromMs: row.retry_from_ms ?? row.created_at_ms,
    unrecordedClaims: row.unrecorded_claims,
  };
}

function toAttemptRecord(row: Selectable<DeliveryAttemptsTable>): DeliveryAttemptRecord {
  return {
    deliveryId: row.delivery_id,
    attempt: row.attempt,
    atMs: row.at_ms,
    outcome: row.outcome as DeliveryAttemptRecord["outcome"],
    statusCode: row.status_code,
    error: row.error,
    durationMs: row.duration_ms,
  };
}
