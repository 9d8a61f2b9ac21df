// The tables of Vigil's database as Kysely sees them: one definition for SQLite and PostgreSQL (each dialect's
// migrations create them; see ../sqlite/migrations.ts and ../postgres/migrations.ts).
//
// Types are what a query returns on either engine: flags are 0/1 in SQLite and booleans in PostgreSQL, so they
// are written as 0/1 (PostgreSQL accepts that for boolean) and read through `flag()`.

import type { ColumnType } from "kysely";

export type Generated<T> =
  T extends ColumnType<infer S, infer I, infer U> ? ColumnType<S, I | undefined, U> : ColumnType<T, T | undefined, T>;

/** A boolean column: INTEGER 0/1 in SQLite, boolean in PostgreSQL. */
export type Flag = ColumnType<number | boolean, number, number>;

/** Reads a Flag column. */
export function flag(value: number | boolean): boolean {
  return value === true || value === 1;
}

export interface AlertCountsTable {
  alerts: number;
  severity: string;
  source_id: string;
  status: string;
}

export interface AlertActivityTable {
  alert_id: string;
  assignee: string | null;
  at_ms: number;
  body: string | null;
  by: string | null;
  id: Generated<number>;
  kind: "assigned" | "comment";
}

export interface AlertsTable {
  /** Packed JSON (./packed-json.ts); JSON text in rows written before. */
  alert_context: string | Uint8Array | null;
  assignee: Generated<string | null>;
  created_at_ms: number;
  dedup_string: string;
  description: string | null;
  destinations: string | null;
  from_history: Generated<Flag>;
  id: string;
  is_error: Flag;
  match_count: number;
  pack_id: string | null;
  reference: string | null;
  rule_id: string;
  runbook: string | null;
  severity: string;
  source_id: string;
  status: string;
  title: string;
  updated_at_ms: number;
  window_end_secs: number;
  window_start_secs: number;
}

export interface AlertStatusChangesTable {
  alert_id: string;
  at_ms: number;
  changed_by: string | null;
  from_status: string | null;
  id: Generated<number>;
  to_status: string;
}

export interface AlertWindowsTable {
  alert_created: Flag;
  dedup_string: string;
  end_secs: number;
  /**
   * The representative match as JSON (without its rule version's fields, which it names): windows stored before
   * migration 27. Newer windows name the stored match instead (`first_match_seq`); exactly one of the two is set.
   */
  first_match: string | null;
  /** The representative match: its rule_matches.seq (stored in the same transaction as the window). */
  first_match_seq: number | null;
  id: string;
  is_error: Flag;
  match_count: number;
  on_grid: Generated<Flag>;
  rule_id: string;
  source_id: string;
  start_secs: number;
  threshold: number;
  unique_values: string;
  valueless_count: Generated<number>;
}

export interface ApiTokensTable {
  created_at_ms: number;
  expires_at_ms: Generated<number>;
  id: string;
  last_used_at_ms: number | null;
  name: string;
  token_hash: string;
}

export interface BackfillJobsTable {
  created_at_ms: number;
  done: Generated<Flag>;
  id: Generated<number>;
  since_secs: number;
  source_id: string;
  stream: string;
  until_secs: number;
}

export interface BackfillSlicesTable {
  cursor: string | null;
  done: Generated<Flag>;
  end_secs: number;
  events_read: Generated<number>;
  job_id: number;
  slice_index: number;
  start_secs: number;
  upper_bound_secs: number;
}

export interface DeliveriesTable {
  attempts: Generated<number>;
  created_at_ms: number;
  delivered_at_ms: number | null;
  destination_id: string;
  destination_name: string;
  /** When it was given up (status failed), by the attempt that gave it up; null before migration 39. */
  failed_at_ms: Generated<number | null>;
  id: string;
  last_error: string | null;
  lease_token: string | null;
  lease_until_ms: number | null;
  next_attempt_at_ms: number;
  outbox_id: number;
  /** Where its retry window starts (a dead letter sent again); null: at its creation. */
  retry_from_ms: Generated<number | null>;
  status: string;
  /** Claims in a row whose sender recorded no outcome. */
  unrecorded_claims: Generated<number>;
}

export interface DeliveryAttemptsTable {
  at_ms: number;
  attempt: number;
  delivery_id: string;
  duration_ms: number;
  error: string | null;
  id: Generated<number>;
  outcome: string;
  status_code: number | null;
}

export interface DestinationsTable {
  config_ciphertext: string;
  created_at_ms: number;
  failing_alert_id: Generated<string | null>;
  failing_dead: Generated<Flag>;
  failing_delivery_id: Generated<string | null>;
  failing_error: Generated<string | null>;
  failing_latest_ms: Generated<number | null>;
  failing_since_ms: Generated<number | null>;
  id: string;
  last_delivered_at_ms: Generated<number | null>;
  log_types: Generated<string>;
  managed_by: string | null;
  min_severity: string;
  name: string;
  type: string;
  updated_at_ms: number;
}

export interface DetectionSettingsTable {
  enabled: Flag;
  id: string;
  kind: string;
  source_id: string | null;
}

export interface EventCountsTable {
  day_secs: number;
  events: number;
  source_id: string;
  type: string;
}

export interface EventsTable {
  /** Assigned by the database (never reused): what the text index keys on. */
  seq: Generated<number>;
  actor_email: string | null;
  actor_id: string | null;
  actor_type: string | null;
  effective_at: number;
  id: string;
  ingested_at_ms: number;
  ip: string | null;
  project_id: string | null;
  raw: string;
  /** The source's number (source_numbers, migration 30). */
  source_num: number;
  type: string;
}

/** Events stored but not yet in the text index (store/text-index.ts). */
export interface EventTextPendingTable {
  seq: number;
}

export interface OutboxTable {
  alert_id: string;
  created_at_ms: number;
  /** Whether the alert was raised from history when the entry was written; null in entries written before. */
  from_history: ColumnType<number | boolean | null, number | null | undefined, never>;
  id: Generated<number>;
  kind: string;
  routed_at_ms: number | null;
}

export interface PollStatusTable {
  consecutive_failures: Generated<number>;
  last_error: string | null;
  last_error_code: string | null;
  last_event_stored_ms: number | null;
  last_poll_finished_ms: number | null;
  last_poll_started_ms: number | null;
  last_success_ms: number | null;
  source_id: string;
}

export interface PostureManifestsTable {
  hash: string;
  manifest: string;
  source_id: string;
}

export interface PostureObjectsTable {
  first_seen_ms: number;
  hash: string;
  json: string;
  kind: string;
  object_id: string;
  /** When the object left the newest snapshot; null while it is in it (migration 24). */
  released_ms: Generated<number | null>;
  source_id: string;
}

export interface PostureSnapshotsTable {
  change_count: number | null;
  changes: string | null;
  duration_ms: number;
  endpoints: string;
  finding_count: number;
  findings: string;
  id: Generated<number>;
  manifest_hash: string;
  new_object_count: number;
  object_count: number;
  /** The snapshot this one was compared with, 0 for none (migration 34). */
  previous_id: Generated<number>;
  requests: number;
  source_id: string;
  taken_at_ms: number;
}

export interface QuarantineTable {
  event_id: string | null;
  id: Generated<number>;
  issues: string;
  last_seen_ms: number;
  raw: string;
  raw_sha256: string;
  reason: string;
  received_at_ms: number;
  sightings: Generated<number>;
  source_id: string;
}

export interface RuleNumbersTable {
  num: Generated<number>;
  rule_id: string;
}

export interface RuleMatchesTable {
  /** Packed JSON (./packed-json.ts); JSON text in rows written before. */
  alert_context: string | Uint8Array | null;
  alert_id: string | null;
  correlation_pending: Generated<Flag>;
  created_at_ms: number;
  dedup_string: string;
  error_message: string | null;
  error_type: string | null;
  /** The event's id; empty when `event_seq` names the stored event, whose row holds it (./detection-rows.ts). */
  event_id: string;
  /** The matched event's events.seq when the event is stored with the match (a page's matches); else NULL. */
  event_seq: number | null;
  event_time: number;
  is_error: Flag;
  /** The rule's number (rule_numbers, ./rule-numbers.ts). */
  rule_num: number;
  /** The rule_versions row holding what the rule says the same way for every match (migration 21). */
  rule_version: string;
  seq: Generated<number>;
  severity: string;
  /** The source's number (source_numbers, migration 30). */
  source_num: number;
  title: string;
  unique_value: string | null;
  window_id: string | null;
}

/** The last slot each scheduled query completed per source (migration 41). */
export interface ScheduledQuerySlotsTable {
  source_id: string;
  query: string;
  slot_secs: number;
}

/** What a rule version says the same way for every match: stored once, not with each match. */
export interface RuleVersionsTable {
  id: string;
  rule_id: string;
  create_alert: Flag;
  dedup_period_minutes: number;
  description: string | null;
  destinations: string | null;
  log_type: string;
  pack_id: string | null;
  reference: string | null;
  reports: string;
  runbook: string | null;
  tags: string;
  threshold: number;
}

export interface RuleStateTable {
  counter: Generated<number>;
  expires_at_secs: number | null;
  key: string;
  members: Generated<string>;
  rule_id: string;
  source_id: string;
  value: string | null;
}

/**
 * The version of each source's rule state, moved (by a random step) by every transaction that changes the state
 * (migration 31): a process holding the state at a version knows it is current (./rule-state-cache.ts). No row:
 * version 0.
 */
export interface RuleStateVersionsTable {
  source_id: string;
  version: number;
}

export interface SchemaMigrationsTable {
  applied_at_ms: number;
  name: string;
  version: Generated<number>;
}

export interface SessionsTable {
  created_at_ms: number;
  csrf: string;
  expires_at_ms: number;
  token_hash: string;
  user_id: string;
}

export interface SuppressionsTable {
  conditions: string;
  created_at_ms: number;
  created_by: string;
  expires_at_ms: number | null;
  id: string;
  last_match_at_ms: number | null;
  match_count: Generated<number>;
  reason: string;
  removed_at_ms: number | null;
  removed_by: string | null;
  rule_id: string;
}

export interface SuppressedMatchesTable {
  at_ms: number;
  /** '' in rows from before migration 38: any of its anchor's keys. */
  dedup_string: Generated<string>;
  event_id: string;
  is_error: Flag;
  rule_id: string;
  source_id: string;
  suppression_id: string;
}

export interface LeasesTable {
  acquired_at_ms: number;
  expires_at_ms: number;
  generation: number;
  name: string;
  worker_id: string;
}

export interface LoginThrottleTable {
  blocked_until_ms: number;
  failures: number;
  key: string;
  last_failure_at_ms: number;
}

export interface SavedSearchesTable {
  created_at_ms: number;
  created_by: string;
  id: string;
  name: string;
  query: string;
}

export interface SourceCountersTable {
  quarantined: Generated<number>;
  rule_errors: Generated<number>;
  source_id: string;
}

/**
 * Each source's number, given once and never again: events and rule matches, a row or more per event, name
 * their source by it (4 bytes or less) rather than by the 36-character id (migration 30).
 */
export interface SourceNumbersTable {
  num: Generated<number>;
  source_id: string;
}

export interface SourcesTable {
  backfill_days: number;
  base_url: string | null;
  created_at_ms: number;
  enabled: Flag;
  encrypted_secret: string;
  id: string;
  include_tenant_events: Flag;
  kind: string;
  name: string;
  no_data_alert_enabled: Generated<Flag>;
  no_data_alert_secs: Generated<number>;
  overlap_secs: number;
  poll_failure_alert_secs: Generated<number>;
  poll_interval_secs: number;
  posture_interval_secs: Generated<number>;
  sweep_interval_secs: number;
  sweep_window_secs: number;
}

export interface StreamStateTable {
  checkpoint_secs: number | null;
  last_sweep_secs: number | null;
  /** An OwedWindow as JSON (core/source.ts). */
  owed_window: string | null;
  source_id: string;
  stream: string;
}

export interface UnknownEventTypesTable {
  first_seen_ms: number;
  source_id: string;
  type: string;
}

export interface UsersTable {
  created_at_ms: number;
  id: string;
  password_hash: string;
  role: Generated<string>;
  username: string;
}

export interface WorkersTable {
  heartbeat_at_ms: number;
  host: string;
  id: string;
  incarnation: string;
  lease_ttl_ms: number;
  pid: number;
  rebalances: Generated<number>;
  serving: Flag;
  started_at_ms: number;
  stopped_at_ms: number | null;
  version: string;
}

export interface Database {
  alert_activity: AlertActivityTable;
  alert_counts: AlertCountsTable;
  alert_status_changes: AlertStatusChangesTable;
  alert_windows: AlertWindowsTable;
  alerts: AlertsTable;
  api_tokens: ApiTokensTable;
  backfill_jobs: BackfillJobsTable;
  backfill_slices: BackfillSlicesTable;
  deliveries: DeliveriesTable;
  delivery_attempts: DeliveryAttemptsTable;
  destinations: DestinationsTable;
  detection_settings: DetectionSettingsTable;
  event_counts: EventCountsTable;
  events: EventsTable;
  event_text_pending: EventTextPendingTable;
  leases: LeasesTable;
  login_throttle: LoginThrottleTable;
  outbox: OutboxTable;
  poll_status: PollStatusTable;
  posture_manifests: PostureManifestsTable;
  posture_objects: PostureObjectsTable;
  posture_snapshots: PostureSnapshotsTable;
  quarantine: QuarantineTable;
  rule_matches: RuleMatchesTable;
  rule_numbers: RuleNumbersTable;
  rule_versions: RuleVersionsTable;
  rule_state: RuleStateTable;
  rule_state_versions: RuleStateVersionsTable;
  saved_searches: SavedSearchesTable;
  scheduled_query_slots: ScheduledQuerySlotsTable;
  schema_migrations: SchemaMigrationsTable;
  sessions: SessionsTable;
  source_counters: SourceCountersTable;
  source_numbers: SourceNumbersTable;
  sources: SourcesTable;
  stream_state: StreamStateTable;
  suppressed_matches: SuppressedMatchesTable;
  suppressions: SuppressionsTable;
  unknown_event_types: UnknownEventTypesTable;
  users: UsersTable;
  workers: WorkersTable;
}
