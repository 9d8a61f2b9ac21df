// Defaults and bounds of a source's settings, in one place for the CLI, the API and the poller.

import { z } from "zod";

export const SOURCE_DEFAULTS = {
  /** The seed: "Panther queries the Audit Logs API every one minute." */
  pollIntervalSecs: 60,
  /** Re-read this much before the checkpoint on every poll: late events land inside it. */
  overlapSecs: 600,
  /** The late-event sweep re-reads the last 24 hours, hourly. */
  sweepWindowSecs: 24 * 3600,
  sweepIntervalSecs: 3600,
  backfillDays: 7,
  /** The seed: "Trigger an alert when no events are processed", default YES, 24 hours. */
  noDataAlertEnabled: true,
  noDataAlertSecs: 24 * 3600,
  /** Polls failing (network, 5xx) for an hour since the last success raise a system alert. */
  pollFailureAlertSecs: 3600,
  /** Inventory snapshots of the organization (src/posture), hourly; 0 turns them off. */
  postureIntervalSecs: 3600,
} as const;

/** The name for the no-data threshold: no_data_alarm_minutes, 15…43200, default 1440. */
export const DEFAULT_NO_DATA_ALARM_MINUTES = SOURCE_DEFAULTS.noDataAlertSecs / 60;
export const MIN_NO_DATA_ALARM_MINUTES = 15;
export const MAX_NO_DATA_ALARM_MINUTES = 43_200;

/** Bounds of poll_failure_alert_secs: from 5 minutes to 7 days. */
export const MIN_POLL_FAILURE_ALERT_SECS = 300;
export const MAX_POLL_FAILURE_ALERT_SECS = 7 * 86_400;

/** Panther's SOURCE_NO_DATA bounds: minutesThreshold 15…43200. */
export const MIN_NO_DATA_ALERT_SECS = 15 * 60;
export const MAX_NO_DATA_ALERT_SECS = 43_200 * 60;

export const MIN_POLL_INTERVAL_SECS = 5;

export const SourceSettingsSchema = z.object({
  name: z
    .string()
    .min(1, "a source needs a name")
    .max(100)
    .regex(/^[\w .:@-]+$/, "use letters, digits, spaces and . _ - : @"),
  kind: z.literal("openai"),
  // Only http(s): the outbound policy (core/outbound.ts) then decides https-only and allowed hosts at use.
  baseUrl: z.url({ protocol: /^https?$/ }).nullable(),
  pollIntervalSecs: z.number().int().min(MIN_POLL_INTERVAL_SECS).max(86_400),
  overlapSecs: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400),
  sweepWindowSecs: z
    .number()
    .int()
    .min(0)
    .max(90 * 86_400),
  sweepIntervalSecs: z.number().int().min(60),
  includeTenantEvents: z.boolean(),
  backfillDays: z.number().int().min(0).max(365),
  enabled: z.boolean(),
  noDataAlertEnabled: z.boolean().optional(),
  noDataAlertSecs: z.number().int().min(MIN_NO_DATA_ALERT_SECS).max(MAX_NO_DATA_ALERT_SECS).optional(),
  pollFailureAlertSecs: z.number().int().min(MIN_POLL_FAILURE_ALERT_SECS).max(MAX_POLL_FAILURE_ALERT_SECS).optional(),
  /** 0 turns inventory snapshots off; otherwise at least 5 minutes apart (each costs a request per project). */
  postureIntervalSecs: z
    .number()
    .int()
    .refine((n) => n === 0 || (n >= 300 && n <= 7 * 86_400), "must be 0 (off) or 300 to 604800 seconds")
    .optional(),
});
