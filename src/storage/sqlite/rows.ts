// Row shapes as SQLite returns them (snake_case, booleans as 0/1) and their mapping to the port's records.

import type { BackfillJob, BackfillSlice, SourceRecord, StreamName } from "../ports.ts";

export interface SourceRow {
  id: string;
  name: string;
  kind: string;
  base_url: string | null;
  poll_interval_secs: number;
  overlap_secs: number;
  sweep_window_secs: number;
  sweep_interval_secs: number;
  include_tenant_events: number;
  backfill_days: number;
  enabled: number;
  encrypted_secret: string;
  created_at_ms: number;
  no_data_alert_enabled: number;
  no_data_alert_secs: number;
  poll_failure_alert_secs: number;
  posture_interval_secs: number;
}

export interface BackfillJobRow {
  id: number;
  source_id: string;
  stream: StreamName;
  since_secs: number;
  until_secs: number;
  created_at_ms: number;
  done: number;
}

export interface BackfillSliceRow {
  job_id: number;
  slice_index: number;
  start_secs: number;
  end_secs: number;
  upper_bound_secs: number;
  cursor: string | null;
  done: number;
  events_read: number;
}

export function toSourceRecord(row: SourceRow): SourceRecord {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as SourceRecord["kind"],
    baseUrl: row.base_url,
    pollIntervalSecs: row.poll_interval_secs,
    overlapSecs: row.overlap_secs,
    sweepWindowSecs: row.sweep_window_secs,
    sweepIntervalSecs: row.sweep_interval_secs,
    includeTenantEvents: row.include_tenant_events === 1,
    backfillDays: row.backfill_days,
    enabled: row.enabled === 1,
    noDataAlertEnabled: row.no_data_alert_enabled === 1,
    noDataAlertSecs: row.no_data_alert_secs,
    pollFailureAlertSecs: row.poll_failure_alert_secs,
    postureIntervalSecs: row.posture_interval_secs,
    createdAtMs: row.created_at_ms,
  };
}

export function toBackfillJob(row: BackfillJobRow): BackfillJob {
  return {
    id: row.id,
    sourceId: row.source_id,
    stream: row.stream,
    sinceSecs: row.since_secs,
    untilSecs: row.until_secs,
    createdAtMs: row.created_at_ms,
    done: row.done === 1,
  };
}

export function toBackfillSlice(row: BackfillSliceRow): BackfillSlice {
  return {
    jobId: row.job_id,
    sliceIndex: row.slice_index,
    startSecs: row.start_secs,
    endSecs: row.end_secs,
    upperBoundSecs: row.upper_bound_secs,
    cursor: row.cursor,
    done: row.done === 1,
    eventsRead: row.events_read,
  };
}
