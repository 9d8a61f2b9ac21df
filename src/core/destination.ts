// Alert destinations and the deliveries made to them, as the store keeps them.

import type { Severity } from "./detection.ts";
import type { EncryptedSecret } from "./secret.ts";

/** A configured alert destination. The type-specific config (URLs, tokens, passwords) is kept encrypted. */
export interface DestinationRecord {
  id: string;
  name: string;
  /** One of DESTINATION_TYPES (src/destinations/types.ts); the store does not interpret it. */
  type: string;
  minSeverity: Severity;
  /** Default routing sends only these log types; empty means all. */
  logTypes: string[];
  /** Who owns it: "config" — the config file (changed and removed only there); null — the console, API or CLI. */
  managedBy: DestinationManager;
  /** Null while its latest delivery attempt succeeded (or none was made). */
  failing: DestinationFailing | null;
  /** When a delivery to it last succeeded; null: none ever did. */
  lastDeliveredAtMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
}

/**
 * Since when deliveries to a destination have been failing: set by the first attempt that fails after one that
 * succeeded, cleared by a success once no delivery to it is still failing (pending after a failed attempt): a
 * receiver that rejects one alert's notification and takes the others is failing until that one is through or
 * given up. An episode with a give-up ends only once its alert is raised (`recovered`). It is what the
 * delivery-failed system alert is derived from.
 */
export interface DestinationFailing {
  sinceMs: number;
  /** The latest failed attempt: failures spanning `latestMs - sinceMs` (Vigil's own downtime is not counted). */
  latestMs: number;
  /** The delivery whose failed attempt began the episode (the system alert's identity), and its alert. */
  deliveryId: string;
  alertId: string;
  /** The latest attempt's error. */
  error: string | null;
  /** Whether a delivery was given up (a dead letter) in this episode, not only retried. */
  dead: boolean;
  /**
   * A delivery succeeded after the latest failure (or in the same millisecond). A given-up episode is not ended by the success itself: its
   * alert is raised first (store.endDeliveryEpisode), so a give-up is never left unannounced.
   */
  recovered: boolean;
}

export type DestinationManager = "config" | null;

export interface NewDestination {
  name: string;
  type: string;
  minSeverity: Severity;
  logTypes: string[];
  config: EncryptedSecret;
  /** Null when absent. */
  managedBy?: DestinationManager;
}

/** Changes to a destination; absent fields are left as they are. */
export interface DestinationUpdate {
  type?: string;
  minSeverity?: Severity;
  logTypes?: string[];
  config?: EncryptedSecret;
  managedBy?: DestinationManager;
}

export type OutboxKind = "created" | "resolved";

/** A notification to send, enqueued in the transaction that created or resolved its alert. */
export interface OutboxEntry {
  id: number;
  alertId: string;
  kind: OutboxKind;
  /**
   * Whether the alert was raised from history when the entry was written, which is how the entry is routed (the
   * alert may have turned live since: its next entry announces that); null in entries stored before this was kept.
   */
  fromHistory: boolean | null;
  createdAtMs: number;
}

export type DeliveryStatus = "pending" | "sent" | "failed";

export interface DeliveryRecord {
  /** Stable across retries: the idempotency key destinations send (X-Vigil-Delivery-Id). */
  id: string;
  outboxId: number;
  alertId: string;
  kind: OutboxKind;
  destinationId: string;
  destinationName: string;
  status: DeliveryStatus;
  /** Attempts made so far. */
  attempts: number;
  nextAttemptAtMs: number;
  leaseUntilMs: number | null;
  lastError: string | null;
  deliveredAtMs: number | null;
  createdAtMs: number;
  /** Its retry window starts here: its creation, or when a dead letter was sent again. */
  retryFromMs: number;
  /** Claims in a row before this one whose sender recorded no outcome (it died or froze mid-send). */
  unrecordedClaims: number;
}

/** A delivery given up, and whether sending a destination's dead letters again would send it (Store.retryDeadDeliveries). */
export interface DeadLetter extends DeliveryRecord {
  sendAgain: boolean;
  /** When it was given up: its last attempt (createdAtMs is when its alert's notification was routed). */
  gaveUpAtMs: number;
}

/** A delivery claimed by one worker until `leaseUntilMs`; the token proves the claim when recording. */
export interface ClaimedDelivery extends DeliveryRecord {
  leaseToken: string;
}

export interface DeliveryAttemptRecord {
  deliveryId: string;
  /** 1-based. */
  attempt: number;
  atMs: number;
  outcome: "sent" | "retry" | "failed";
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}
