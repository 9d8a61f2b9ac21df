// Defaults and bounds of a source's settings, in one place for the CLI, the API and the poller.

import { z } from "zod";

export const SOURCE_DEFAULTS = {
  /** The seed: "Panther queries the Audit Logs API every one minute." */
  pollIntervalSecs: 60,
  /**
   * Re-read this much before the checkpoint on every poll: events a minute or two late (the API's own
   * write delay) are stored on the next poll. Later ones are the re-reads' job (docs/ingest.md).
   */
  overlapSecs: 120,
  /**
   * The late-event sweep re-reads the last 25 hours, hourly: an event visible up to 24 hours late is stored
   * within the hour after it became visible (24 h of lateness + the hour it may wait for the sweep).
   */
  sweepWindowSecs: 25 * 3600,
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

/**
 * The source `vigil start` creates in demo mode, polling the built-in simulator that runs only inside that
 * process. It is removed once a real source exists (pipeline/runtime.ts retireDemoSource).
 */
export const DEMO_SOURCE_NAME = "Demo (simulated OpenAI organization)";

/**
 * The recent re-read, between the overlap and the sweep: every 5 minutes of the clock (the first poll of each
 * 5-minute slot), a poll reads the last 70 minutes, so an event visible up to 1 hour late is stored and
 * detected within 5 minutes of becoming visible (1 h of lateness + the 5 minutes it may wait + a poll
 * interval's margin). Not a per-source setting: it costs about one request per 5 minutes at up to ~2,000
 * events an hour (docs/ingest.md has the figures); a source's sweep window caps it (0 turns both off).
 */
export const RECENT_REREAD = { windowSecs: 70 * 60, intervalSecs: 300 } as const;

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

/**
 * A duration in the largest unit that states it exactly: 86400 → "24 h", 900 → "15 min", 90 → "90 s".
 * Hours rather than days: thresholds are entered in hours or minutes (`--no-data-alert-hours`,
 * `--no-data-alarm-minutes`, the console's hours), so they read back the way they were typed.
 */
export function formatDuration(secs: number): string {
  if (secs > 0 && secs % 3600 === 0) return `${secs / 3600} h`;
  if (secs > 0 && secs % 60 === 0) return `${secs / 60} min`;
  return `${secs} s`;
}

/** A source's time settings as people read them, for the API (`durations`) and the CLI; null: turned off. */
export function sourceDurations(source: {
  pollIntervalSecs: number;
  noDataAlertEnabled: boolean;
  noDataAlertSecs: number;
  pollFailureAlertSecs: number;
  postureIntervalSecs: number;
}): { pollInterval: string; noDataAlert: string | null; pollFailureAlert: string; postureInterval: string | null } {
  return {
    pollInterval: formatDuration(source.pollIntervalSecs),
    noDataAlert: source.noDataAlertEnabled ? formatDuration(source.noDataAlertSecs) : null,
    pollFailureAlert: formatDuration(source.pollFailureAlertSecs),
    postureInterval: source.postureIntervalSecs > 0 ? formatDuration(source.postureIntervalSecs) : null,
  };
}
