// Sends alert notifications from the outbox to destinations, at least once.
//
// The store enqueues an outbox entry in the transaction that creates (or resolves) an alert. This worker:
//   1. routes each new entry (routeAlert: the rule's destinations() > overrides > severity) into one
//      delivery per destination, in one transaction (idempotent, so a crash mid-routing is harmless);
//   2. claims due deliveries under a lease (counting the attempt), so concurrent workers and processes
//      never send the same delivery at once, and a crashed worker's deliveries are claimed again once its
//      lease expires;
//   3. sends with a timeout, and records the attempt: sent, retry at a backoff time, or failed (dead letter)
//      once its retry window (a day by default) is over or the error is permanent.
// A kill between send and record re-sends after the lease: at most a duplicate, which receivers drop by
// the delivery id (stable across retries). Nothing here loops on a retry; it only computes when next.
// Each attempt also records the destination's health; the destination's `Vigil.System.DeliveryFailed` alert is
// derived from it after every pass that sent something, and every half minute (delivery-health.ts). A dead
// letter is sent again by `vigil destinations retry` (store.retryDeadDeliveries). Deliveries are independent:
// `run` keeps up to `batchSize` sends in flight, at most half of them to one destination, and claims the next as
// soon as one ends, so a destination that hangs holds its own share of the slots and never the others' sends.
// (`runOnce`, for `vigil poll --once` and tests, waits for its whole batch.)

import type { AlertRecord } from "../core/alert.ts";
import type { Clock } from "../core/clock.ts";
import type { ClaimedDelivery, DestinationRecord, OutboxEntry } from "../core/destination.ts";
import { ConfigurationError, errorMessage, NotFoundError, VigilError } from "../core/errors.ts";
import type { OutboundPolicy } from "../core/outbound.ts";
import { formatDuration } from "../core/source.ts";
import {
  type AlertNotification,
  assertDestinationEndpoint,
  createDestination,
  type DeliveryResult,
  type Destination,
  type DestinationEnv,
  type DestinationType,
  routeAlert,
} from "../destinations/index.ts";
import type { Logger } from "../logging/logger.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import type { Store } from "../storage/ports.ts";
import { DEFAULT_FAILING_AFTER_MS, reconcileDeliveryHealth } from "./delivery-health.ts";

/**
 * How long a delivery is retried (from its creation, or from when its dead letter was sent again): an outage of
 * the receiver shorter than this loses nothing, and the DeliveryFailed alert tells of it long before.
 */
export const DEFAULT_RETRY_FOR_MS = 24 * 3_600_000;
/**
 * Claims in a row whose sender recorded no outcome after which a delivery is given up: the backstop against a send
 * that stops the worker every time (a crash mid-send records nothing, so the retry window never ends it). High
 * enough that restarts and kills that happen to land mid-send (a rolling deploy, the kill -9 test) never reach it:
 * at the default claim of 2½ minutes, a send that crashes the worker every time is given up after ~50 minutes.
 */
export const MAX_UNRECORDED_CLAIMS = 20;
export const DEFAULT_BASE_DELAY_MS = 5_000;
/** The longest wait between two attempts: a receiver back from an outage gets its backlog within this. */
export const DEFAULT_MAX_DELAY_MS = 10 * 60_000;
/** The delivery-failed alert is re-derived at least this often (its "failing for 5 minutes" is a matter of time). */
const HEALTH_EVERY_MS = 30_000;
/** ... and after sends, at most this often. */
const HEALTH_GAP_MS = 1_000;
export const DEFAULT_SEND_TIMEOUT_MS = 60_000;
/** System alerts (source health) go to every destination, like Panther's System Errors. */
export const SYSTEM_RULE_PREFIX = "Vigil.System.";

/** Outbox windows one routing pass may look through when entries at the head of the queue cannot be routed. */
const ROUTE_WINDOWS = 10;

/** The shortest retry delay: full jitter can draw ~0, and a retry due at once would let one drain pass burn every attempt. */
export const MIN_RETRY_DELAY_MS = 1_000;

/**
 * Delay before attempt `attempt + 1`, after `attempt` failed attempts: exponential backoff with full jitter
 * (uniform in [0, min(max, base · 2^(attempt-1))]), so that many deliveries failing together do not retry
 * in lockstep; at least `minMs`, and never shorter than what the service asked for (Retry-After).
 */
export function backoffDelayMs(
  attempt: number,
  options: { baseMs?: number; maxMs?: number; minMs?: number; retryAfterMs?: number; random?: () => number } = {},
): number {
  const base = options.baseMs ?? DEFAULT_BASE_DELAY_MS;
  const max = options.maxMs ?? DEFAULT_MAX_DELAY_MS;
  const ceiling = Math.min(max, base * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  const jittered = Math.floor((options.random ?? Math.random)() * ceiling);
  return Math.max(jittered, options.minMs ?? MIN_RETRY_DELAY_MS, options.retryAfterMs ?? 0);
}

export interface DeliveryWorkerOptions {
  store: Store;
  secrets: Pick<SecretBox, "decrypt">;
  logger: Logger;
  clock: Clock;
  /** Base of console links (VIGIL_PUBLIC_URL). */
  publicUrl: string | null;
  /** Where secrets may be sent (https only, allowed hosts): checked at every send, so a tightened policy applies. */
  outbound: OutboundPolicy;
  /** How long a retryable failure is retried (default DEFAULT_RETRY_FOR_MS). */
  retryForMs?: number;
  /** Attempts after which a retryable failure is given up even within its window (default: none). */
  maxAttempts?: number;
  /** Failures without a success for this long raise the destination's DeliveryFailed alert (default 5 min). */
  failingAfterMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Floor of every retry delay (default MIN_RETRY_DELAY_MS). */
  minDelayMs?: number;
  /** A send that takes longer is aborted and retried. */
  sendTimeoutMs?: number;
  /** Must exceed sendTimeoutMs: a lease that expires mid-send lets another worker send too. */
  leaseMs?: number;
  batchSize?: number;
  random?: () => number;
  /** Where file destinations may write (VIGIL_EXPORT_DIR); without it they are refused. */
  exportDir?: string;
  /** Builds a destination from its record and decrypted config (tests substitute it). */
  build?: BuildDestination;
}

export type BuildDestination = (record: DestinationRecord, config: Record<string, unknown>) => Destination;

export interface DeliveryPassResult {
  routed: number;
  sent: number;
  retried: number;
  failed: number;
}

/**
 * Builds a destination from its record and stored config. The record's id, name, type and routing fields
 * win over the config: the config file and the CLI store only the type-specific fields.
 */
export function destinationBuilder(env: DestinationEnv | undefined): BuildDestination {
  return (record, config) =>
    createDestination(
      {
        ...config,
        type: record.type,
        id: record.id,
        name: record.name,
        min_severity: record.minSeverity,
        log_types: record.logTypes,
      },
      env,
    );
}

/** Builds a destination from its record and its decrypted config; throws when it cannot (never echoing the config). */
export async function loadDestination(
  store: Store,
  secrets: Pick<SecretBox, "decrypt">,
  record: DestinationRecord,
  outbound: OutboundPolicy,
  build: BuildDestination,
): Promise<Destination> {
  const secret = await store.getDestinationConfig(record.id);
  if (!secret) throw new NotFoundError(`Destination ${record.name} has no stored config; add it again.`);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(secrets.decrypt(secret)) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof VigilError) throw err;
    throw new ConfigurationError("destination_config", `The stored config of ${record.name} is unreadable.`);
  }
  // With the record's type: an email destination's host is checked too (its stored config holds only its own fields).
  assertDestinationEndpoint({ ...config, type: record.type }, outbound, record.name);
  return build(record, config);
}

/** The notification for an alert record (its first match gives the log type, tags, reports and actor). */
export async function buildNotification(
  store: Store,
  alert: AlertRecord,
  kind: AlertNotification["kind"],
  publicUrl: string | null,
): Promise<AlertNotification> {
  const [first] = await store.getAlertMatches(alert.id, 1);
  const source = await store.getSource(alert.sourceId);
  const event = first?.event ?? null;
  return {
    kind,
    alertId: alert.id,
    ruleId: alert.ruleId,
    ruleName: null,
    title: alert.title,
    severity: alert.severity,
    status: alert.status,
    isError: alert.isError,
    sourceId: alert.sourceId,
    sourceName: source?.name ?? alert.sourceId,
    logType: first?.match.logType ?? "OpenAI.Audit",
    createdAtMs: alert.createdAtMs,
    updatedAtMs: alert.updatedAtMs,
    matchCount: alert.matchCount,
    fromHistory: alert.fromHistory,
    alertContext: alert.alertContext,
    description: alert.description,
    reference: alert.reference,
    runbook: alert.runbook,
    tags: first?.match.tags ?? [],
    reports: first?.match.reports ?? {},
    actor:
      event && (event.actorId || event.actorEmail || event.ip)
        ? { type: event.actorType, id: event.actorId, email: event.actorEmail, ip: event.ip }
        : null,
    consoleUrl: publicUrl ? `${publicUrl.replace(/\/+$/, "")}/alerts/${encodeURIComponent(alert.id)}` : null,
  };
}

export class DeliveryWorker {
  readonly #o: DeliveryWorkerOptions;
  /** When this worker last derived the delivery-failed alerts (never yet: at its first pass, after a restart too). */
  #healthAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: DeliveryWorkerOptions) {
    this.#o = options;
  }

  get #maxAttempts(): number {
    return this.#o.maxAttempts ?? Number.POSITIVE_INFINITY;
  }

  get #sendTimeoutMs(): number {
    return this.#o.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  }

  /** Builds every configured destination (one that cannot be built stands in as unavailableDestination). */
  async #destinations(): Promise<Destination[]> {
    const out: Destination[] = [];
    for (const record of await this.#o.store.listDestinations()) out.push(await this.#buildOne(record));
    return out;
  }

  async #buildOne(record: DestinationRecord): Promise<Destination> {
    try {
      const build =
        this.#o.build ??
        destinationBuilder(this.#o.exportDir === undefined ? undefined : { exportDir: this.#o.exportDir });
      return await loadDestination(this.#o.store, this.#o.secrets, record, this.#o.outbound, build);
    } catch (err) {
      // The message never contains the config: decrypt and the factory report without values.
      this.#o.logger.error(
        { destination: record.name },
        `Destination ${record.name} is unusable: ${errorMessage(err)}`,
      );
      return unavailableDestination(record, errorMessage(err));
    }
  }

  /** Fans new outbox entries out into deliveries. */
  async route(limit = 100): Promise<number> {
    const { store, logger } = this.#o;
    let destinations: Destination[] | null = null;
    // An entry that cannot be routed (its alert unreadable) holds back only its own alert's later entries, which
    // must follow it in order (a resolve goes where the creation went): every other alert's go on.
    const heldBack = new Set<string>();
    let looked = 0;
    let afterId = 0;
    for (let window = 0; window < ROUTE_WINDOWS; window++) {
      const entries: OutboxEntry[] = await store.listUnroutedOutbox(limit, afterId);
      if (entries.length === 0) break;
      destinations ??= await this.#destinations();
      for (const entry of entries) {
        if (heldBack.has(entry.alertId)) continue;
        try {
          await this.#routeEntry(entry, destinations);
        } catch (err) {
          heldBack.add(entry.alertId);
          logger.warn(
            { alert: entry.alertId, outboxId: entry.id },
            `Routing the ${entry.kind} notification of alert ${entry.alertId} failed (tried again at the next pass): ${errorMessage(err)}`,
          );
        }
      }
      looked += entries.length;
      // Entries held back stay first in the queue: a full window of them would hold every later alert back, so
      // the pass looks past them.
      if (entries.length < limit || heldBack.size === 0) break;
      afterId = entries[entries.length - 1]!.id;
    }
    return looked;
  }

  /** Fans one outbox entry out to the destinations routing names (store.routeOutboxEntry). */
  async #routeEntry(entry: OutboxEntry, destinations: Destination[]): Promise<void> {
    const { store, logger, clock } = this.#o;
    const alert = await store.getAlert(entry.alertId);
    let targets: Destination[] = [];
    if (alert) {
      if (alert.ruleId.startsWith(SYSTEM_RULE_PREFIX)) targets = destinations;
      else {
        const [first] = await store.getAlertMatches(alert.id, 1);
        targets = routeAlert(
          {
            severity: alert.severity,
            logType: first?.match.logType ?? "OpenAI.Audit",
            ruleDestinations: alert.destinations,
            // As the alert was when the entry was written: one raised from history that turned live since is
            // announced to live destinations by its next entry, not by this one too.
            fromHistory: entry.fromHistory ?? alert.fromHistory,
          },
          destinations,
          (ignored) =>
            logger.warn(
              { alert: alert.id, rule: alert.ruleId, ...ignored },
              `Rule ${alert.ruleId} names destinations that do not exist: ${[...ignored.unknown, ...ignored.dropped].join(", ")}`,
            ),
        );
      }
    }
    await store.routeOutboxEntry(
      entry.id,
      targets.map((d) => ({ id: d.id, name: d.name })),
      clock.nowMs(),
    );
  }

  get #capacity(): number {
    return this.#o.batchSize ?? 10;
  }

  #claim(limit: number, skipDestinations: readonly string[] = []): Promise<ClaimedDelivery[]> {
    return this.#o.store.claimDeliveries({
      nowMs: this.#o.clock.nowMs(),
      leaseMs: this.#o.leaseMs ?? this.#sendTimeoutMs * 2 + 30_000,
      limit,
      skipDestinations,
    });
  }

  /** One pass: route, then claim and send one batch of due deliveries concurrently, and wait for them all. */
  async runOnce(signal?: AbortSignal): Promise<DeliveryPassResult> {
    const result: DeliveryPassResult = { routed: await this.route(), sent: 0, retried: 0, failed: 0 };
    const claimed = await this.#claim(this.#capacity);
    const destinations = new Map<string, Destination | null>();
    await Promise.all(
      claimed.map(async (delivery) => {
        const outcome = await this.#deliver(delivery, destinations, signal);
        if (outcome === "sent") result.sent++;
        else if (outcome === "retry") result.retried++;
        else if (outcome === "failed") result.failed++;
      }),
    );
    await this.#deriveHealth(claimed.length > 0);
    return result;
  }

  /** Raises and resolves the delivery-failed alerts from the stored health, after sends and every half minute. */
  async #deriveHealth(sentSomething: boolean): Promise<void> {
    const nowMs = this.#o.clock.nowMs();
    if (!sentSomething && !elapsed(this.#healthAtMs, nowMs, HEALTH_EVERY_MS)) return;
    this.#healthAtMs = nowMs;
    try {
      const changes = await reconcileDeliveryHealth(
        this.#o.store,
        nowMs,
        this.#o.failingAfterMs ?? DEFAULT_FAILING_AFTER_MS,
      );
      for (const id of changes.raised)
        this.#o.logger.error({ alert: id }, "Alert delivery is failing: raised system alert.");
      for (const id of changes.resolved)
        this.#o.logger.info({ alert: id }, "Alert delivery works again: resolved system alert.");
    } catch (err) {
      // Never let the bookkeeping stop deliveries: the health is stored, and the next pass derives it again.
      this.#healthAtMs = Number.NEGATIVE_INFINITY;
      this.#o.logger.warn({}, `Could not update the delivery-failed system alert: ${errorMessage(err)}`);
    }
  }

  /**
   * Runs passes while they route or send something (used by `vigil poll --once`); a delivery that needs a
   * retry is left to a later run. Returns the totals.
   */
  async drain(signal?: AbortSignal, maxPasses = 1000): Promise<DeliveryPassResult> {
    const total: DeliveryPassResult = { routed: 0, sent: 0, retried: 0, failed: 0 };
    for (let i = 0; i < maxPasses && !signal?.aborted; i++) {
      const pass = await this.runOnce(signal);
      total.routed += pass.routed;
      total.sent += pass.sent;
      total.retried += pass.retried;
      total.failed += pass.failed;
      // Go on only while something moves forward: retries are for later passes, not this drain.
      if (pass.routed + pass.sent === 0) break;
    }
    return total;
  }

  /**
   * Runs until the signal aborts (what `vigil start` runs). Sends are not waited for as a batch: up to `batchSize`
   * are in flight, at most half of them to one destination, and each that ends makes room for the next claim at
   * once. So a destination that hangs until the send timeout holds its own share of the slots, never the sends to
   * the others. Idles `idleMs` when nothing is due.
   */
  async run(signal: AbortSignal, idleMs = 1000): Promise<void> {
    const capacity = this.#capacity;
    const perDestination = Math.max(1, Math.ceil(capacity / 2));
    /** Sends in flight, per destination. */
    const sending = new Map<string, number>();
    const inFlight = new Set<Promise<void>>();
    let sentSomething = false;
    /** A send ended since the loop last waited: there is room, so it does not wait. */
    let ended = false;
    let wake: (() => void) | null = null;
    while (!signal.aborted) {
      let claimedAll = false;
      try {
        await this.route();
      } catch (err) {
        // Sending goes on: what is routed already is not held up by an entry that cannot be routed now.
        if (signal.aborted) break;
        this.#o.logger.warn({}, `Routing alert notifications failed: ${errorMessage(err)}`);
      }
      try {
        // At most `perDestination` in flight to any one destination: a claim may hand out all its rows to one,
        // so it claims no more than the fewest free places any destination not yet at its share has left.
        const full = [...sending].filter(([, n]) => n >= perDestination).map(([id]) => id);
        const busiest = Math.max(0, ...[...sending.values()].filter((n) => n < perDestination));
        const room = Math.min(capacity - inFlight.size, perDestination - busiest);
        if (room > 0) {
          const claimed = await this.#claim(room, full);
          claimedAll = claimed.length === room;
          const destinations = new Map<string, Destination | null>();
          for (const delivery of claimed) {
            const id = delivery.destinationId;
            sending.set(id, (sending.get(id) ?? 0) + 1);
            const send: Promise<void> = this.#deliver(delivery, destinations, signal)
              .then(
                () => undefined,
                (err) => this.#o.logger.warn({ delivery: delivery.id }, `Alert delivery failed: ${errorMessage(err)}`),
              )
              .finally(() => {
                const left = (sending.get(id) ?? 1) - 1;
                if (left === 0) sending.delete(id);
                else sending.set(id, left);
                inFlight.delete(send);
                sentSomething = true;
                ended = true;
                wake?.();
              });
            inFlight.add(send);
          }
        }
        // Once a second at most while sends keep ending (a backlog going out): the health is stored, so a second
        // late costs nothing, and a reconcile per send would be four reads each.
        if (!sentSomething || elapsed(this.#healthAtMs, this.#o.clock.nowMs(), HEALTH_GAP_MS)) {
          const derive = sentSomething;
          sentSomething = false;
          await this.#deriveHealth(derive);
        }
      } catch (err) {
        if (signal.aborted) break;
        this.#o.logger.warn({}, `Alert delivery pass failed: ${errorMessage(err)}`);
      }
      // A full claim may have left more due now; else wait for a send to end (room) or for the idle time.
      if ((claimedAll || ended) && inFlight.size < capacity) {
        ended = false;
        continue;
      }
      ended = false;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          wake = null;
          resolve();
        };
        const timer = setTimeout(done, idleMs);
        signal.addEventListener("abort", done, { once: true });
        wake = done;
      });
    }
    // Stopping: the sends in flight were told (the signal) and record their outcome before run returns.
    await Promise.allSettled([...inFlight]);
  }

  async #deliver(
    delivery: ClaimedDelivery,
    cache: Map<string, Destination | null>,
    signal?: AbortSignal,
  ): Promise<"sent" | "retry" | "failed" | "lost"> {
    const { store, clock, logger } = this.#o;
    const record = async (
      outcome: "sent" | "retry" | "failed",
      startedMs: number,
      extra: { statusCode?: number; error?: string; nextAttemptAtMs?: number; concernsDestination?: boolean },
    ): Promise<"sent" | "retry" | "failed" | "lost"> => {
      const atMs = clock.nowMs();
      const kept = await store.recordDeliveryAttempt({
        deliveryId: delivery.id,
        leaseToken: delivery.leaseToken,
        atMs,
        outcome,
        durationMs: Math.max(0, atMs - startedMs),
        ...extra,
      });
      return kept ? outcome : "lost";
    };

    const startedMs = clock.nowMs();
    // A delivery whose sender kept dying mid-send is given up like any other (it is not reaching the destination).
    if (delivery.unrecordedClaims >= MAX_UNRECORDED_CLAIMS) {
      return record("failed", startedMs, {
        error: `Gave up: the worker stopped during each of the last ${delivery.unrecordedClaims} sends.`,
      });
    }
    if (!cache.has(delivery.destinationId)) {
      const rec = await store.getDestination(delivery.destinationId);
      cache.set(delivery.destinationId, rec && rec.id === delivery.destinationId ? await this.#buildOne(rec) : null);
    }
    const destination = cache.get(delivery.destinationId) ?? null;
    if (!destination) return record("failed", startedMs, { error: "The destination was removed." });
    const alert = await store.getAlert(delivery.alertId);
    if (!alert) {
      return record("failed", startedMs, { error: "The alert no longer exists.", concernsDestination: false });
    }

    let result: DeliveryResult;
    try {
      const notification = await buildNotification(store, alert, delivery.kind, this.#o.publicUrl);
      const timeout = AbortSignal.timeout(this.#sendTimeoutMs);
      result = await withDeadline(
        destination.send(notification, delivery.id, signal ? AbortSignal.any([signal, timeout]) : timeout),
        this.#sendTimeoutMs + SEND_GRACE_MS,
      );
    } catch (err) {
      // Destinations never throw for delivery failures; a throw is a bug, and retrying may still help.
      result = { ok: false, retryable: true, error: `The destination failed unexpectedly: ${errorMessage(err)}` };
    }
    const statusCode = result.status === undefined ? {} : { statusCode: result.status };
    if (result.ok) return record("sent", startedMs, statusCode);
    if (signal?.aborted) {
      // Vigil is stopping: the send was cut short by us, not failed by the destination. Due again at once, with
      // the destination's health untouched (the time Vigil is stopped must not count as an outage).
      return record("retry", startedMs, {
        error: "Vigil stopped before the destination answered; sent again at the next start.",
        nextAttemptAtMs: clock.nowMs(),
        concernsDestination: false,
      });
    }

    const retryForMs = this.#o.retryForMs ?? DEFAULT_RETRY_FOR_MS;
    const windowOver = clock.nowMs() - delivery.retryFromMs >= retryForMs;
    const exhausted = delivery.attempts >= this.#maxAttempts || windowOver;
    if (!result.retryable || exhausted) {
      logger.error(
        { delivery: delivery.id, destination: destination.name, alert: delivery.alertId },
        `Delivery of alert ${delivery.alertId} to ${destination.name} failed for good: ${result.error}`,
      );
      const why = !result.retryable
        ? ""
        : windowOver
          ? ` (gave up after retrying for ${formatDuration(Math.round(retryForMs / 1000))}, ${delivery.attempts} attempts)`
          : ` (gave up after ${delivery.attempts} attempts)`;
      return record("failed", startedMs, { ...statusCode, error: `${result.error}${why}` });
    }
    const delay = backoffDelayMs(delivery.attempts, {
      ...(this.#o.baseDelayMs === undefined ? {} : { baseMs: this.#o.baseDelayMs }),
      ...(this.#o.maxDelayMs === undefined ? {} : { maxMs: this.#o.maxDelayMs }),
      ...(this.#o.minDelayMs === undefined ? {} : { minMs: this.#o.minDelayMs }),
      ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
      ...(this.#o.random ? { random: this.#o.random } : {}),
    });
    logger.warn(
      { delivery: delivery.id, destination: destination.name, alert: delivery.alertId },
      `Delivery to ${destination.name} failed (${result.error}); retrying in ${delay} ms.`,
    );
    return record("retry", startedMs, { ...statusCode, error: result.error, nextAttemptAtMs: clock.nowMs() + delay });
  }
}

/** Whether `ms` have passed since `sinceMs`; a wall clock stepped back (NTP) counts as passed, never as waiting. */
function elapsed(sinceMs: number, nowMs: number, ms: number): boolean {
  return nowMs - sinceMs >= ms || nowMs < sinceMs;
}

/** How long past its own timeout a destination's send is waited for before it is taken as timed out. */
const SEND_GRACE_MS = 5_000;

/**
 * The send's result, or a retryable timeout once `ms` pass: a destination that ignores its abort signal (a file
 * on a hung disk) must not hold a sending slot, or the worker's stop, for ever.
 */
async function withDeadline(send: Promise<DeliveryResult>, ms: number): Promise<DeliveryResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<DeliveryResult>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          ok: false,
          retryable: true,
          error: `The destination did not answer within ${formatDuration(Math.round(ms / 1000))}.`,
        }),
      ms,
    );
  });
  try {
    return await Promise.race([send, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A destination this worker cannot build (a config read that failed, a secret key that does not open it, a file
 * destination without VIGIL_EXPORT_DIR here): routed by its record, so its alerts are not lost, and every send
 * fails as retryable, so a passing fault is retried and a lasting one ends in a dead letter and the
 * DeliveryFailed alert. Its config is unread, so whether it wants alerts raised from history is unknown: those
 * are not routed to it (a pager must not page on a backfill).
 */
function unavailableDestination(record: DestinationRecord, reason: string): Destination {
  return {
    id: record.id,
    name: record.name,
    type: record.type as DestinationType,
    minSeverity: record.minSeverity,
    logTypes: record.logTypes,
    includeHistory: false,
    send: async () => ({
      ok: false,
      retryable: true,
      error: `Destination ${record.name} cannot be used by this worker: ${reason}`,
    }),
  };
}
