// A source (an OpenAI organization polled for its audit log): its settings, with every default and bound in
// one zod schema that the CLI, the HTTP API (and through it the console) and the stores all apply, and the
// state the poller keeps for it.

import { z } from "zod";
import { UsageError } from "./errors.ts";

/** A numeric setting's bounds and default, in the setting's own unit (the API serves these to the console). */
export interface SettingBounds {
  min: number;
  max: number;
  default: number;
  unit: "seconds" | "days";
  /** A value outside [min, max] that is accepted and turns the feature off. */
  off?: number;
}

const DAY = 86_400;

export const SOURCE_SETTING_BOUNDS = {
  /** The seed: "Panther queries the Audit Logs API every one minute." Below 5 s the API's rate limits bite. */
  pollIntervalSecs: { min: 5, max: DAY, default: 60, unit: "seconds" },
  /**
   * Re-read this much before the checkpoint on every poll: events a minute or two late (the API's own write
   * delay) are stored on the next poll. Later ones are the re-reads' job (docs/ingest.md).
   */
  overlapSecs: { min: 0, max: 7 * DAY, default: 120, unit: "seconds" },
  /**
   * The late-event sweep re-reads the last 25 hours, hourly: an event visible up to 24 hours late is stored
   * within the hour after it became visible (24 h of lateness + the hour it may wait for the sweep). 0 turns
   * the sweep (and the recent re-read it caps) off.
   */
  sweepWindowSecs: { min: 0, max: 90 * DAY, default: 25 * 3600, unit: "seconds" },
  /** At most as far apart as the longest window, so that a sweep can still cover the time since the last. */
  sweepIntervalSecs: { min: 60, max: 90 * DAY, default: 3600, unit: "seconds" },
  backfillDays: { min: 0, max: 365, default: 7, unit: "days" },
  /** The seed: "Trigger an alert when no events are processed", 24 hours; Panther's bounds, 15 min to 30 days. */
  noDataAlertSecs: { min: 15 * 60, max: 43_200 * 60, default: DAY, unit: "seconds" },
  /** Polls failing (network, 5xx) for this long since the last success raise a system alert: 5 min to 7 days. */
  pollFailureAlertSecs: { min: 300, max: 7 * DAY, default: 3600, unit: "seconds" },
  /**
   * Inventory snapshots of the organization (src/posture), hourly; 0 turns them off, else at least 5 minutes
   * apart (each costs a request per project).
   */
  postureIntervalSecs: { min: 300, max: 7 * DAY, default: 3600, unit: "seconds", off: 0 },
} as const satisfies Record<string, SettingBounds>;

export type BoundedSetting = keyof typeof SOURCE_SETTING_BOUNDS;

/** A whole number within the setting's bounds (or its "off" value), with messages that name the limit. */
function bounded(field: BoundedSetting) {
  const b: SettingBounds = SOURCE_SETTING_BOUNDS[field];
  const whole = z.number().int({ error: `must be a whole number of ${b.unit}` });
  if (b.off === undefined) {
    return whole
      .min(b.min, { error: `must be at least ${b.min} ${b.unit}` })
      .max(b.max, { error: `must be at most ${b.max} ${b.unit}` });
  }
  return whole.refine((n) => n === b.off || (n >= b.min && n <= b.max), {
    error: `must be ${b.off} (off) or from ${b.min} to ${b.max} ${b.unit}`,
  });
}

/**
 * Whether a base URL has a query or a fragment (even an empty one): requests add their own query to it, so a source
 * with one could never poll; and a query is where a key gets pasted, so neither is echoed in a refusal.
 */
export function hasQueryOrFragment(url: string): boolean {
  return /[?#]/.test(url);
}

const fields = {
  name: z
    .string({ error: "a source needs a name" })
    .min(1, { error: "a source needs a name" })
    .max(100, { error: "must be at most 100 characters" })
    .regex(/^[\w .:@-]+$/, { error: "use letters, digits, spaces and . _ - : @" }),
  kind: z.literal("openai"),
  /**
   * null: the default base URL (OPENAI_BASE_URL or https://api.openai.com/v1). Only http(s) here: the outbound
   * policy (core/outbound.ts) then decides https-only and allowed hosts at use. No query or fragment: requests add
   * their own query to it (the API client refuses one, so a source with one could never poll).
   */
  baseUrl: z
    .url({ protocol: /^https?$/, error: "use an https:// URL" })
    .refine((url) => !hasQueryOrFragment(url), { error: "use the API's base URL alone, without ? or # (no query)" })
    .nullable(),
  pollIntervalSecs: bounded("pollIntervalSecs"),
  overlapSecs: bounded("overlapSecs"),
  sweepWindowSecs: bounded("sweepWindowSecs"),
  sweepIntervalSecs: bounded("sweepIntervalSecs"),
  includeTenantEvents: z.boolean(),
  backfillDays: bounded("backfillDays"),
  enabled: z.boolean(),
  /** Raise a system alert when the source stores no new event for `noDataAlertSecs` (Panther's no-data alert). */
  noDataAlertEnabled: z.boolean(),
  noDataAlertSecs: bounded("noDataAlertSecs"),
  /** Raise a system alert when polls keep failing (network, 5xx, ...) this long since the last success. */
  pollFailureAlertSecs: bounded("pollFailureAlertSecs"),
  postureIntervalSecs: bounded("postureIntervalSecs"),
};

/** Changes to settings: each field optional, validated when given, never defaulted. */
export const SourceSettingChangesSchema = z.object(fields).partial();

const bound = (field: BoundedSetting) => SOURCE_SETTING_BOUNDS[field].default;

/** Every setting of a source; parsing fills in the defaults of the settings not given (all but the name). */
export const SourceSettingsSchema = z.object({
  name: fields.name,
  kind: fields.kind.default("openai"),
  baseUrl: fields.baseUrl.default(null),
  pollIntervalSecs: fields.pollIntervalSecs.default(bound("pollIntervalSecs")),
  overlapSecs: fields.overlapSecs.default(bound("overlapSecs")),
  sweepWindowSecs: fields.sweepWindowSecs.default(bound("sweepWindowSecs")),
  sweepIntervalSecs: fields.sweepIntervalSecs.default(bound("sweepIntervalSecs")),
  includeTenantEvents: fields.includeTenantEvents.default(false),
  backfillDays: fields.backfillDays.default(bound("backfillDays")),
  enabled: fields.enabled.default(true),
  noDataAlertEnabled: fields.noDataAlertEnabled.default(true),
  noDataAlertSecs: fields.noDataAlertSecs.default(bound("noDataAlertSecs")),
  pollFailureAlertSecs: fields.pollFailureAlertSecs.default(bound("pollFailureAlertSecs")),
  postureIntervalSecs: fields.postureIntervalSecs.default(bound("postureIntervalSecs")),
});

/** Every setting of a source, each present. */
export type CompleteSourceSettings = z.output<typeof SourceSettingsSchema>;

/** What is given to add a source: the name, and any setting that differs from its default. */
export type SourceSettingsInput = z.input<typeof SourceSettingsSchema>;

/** Settings added after the first release: the stores still accept them absent (and then apply the default). */
type LaterSetting = "noDataAlertEnabled" | "noDataAlertSecs" | "pollFailureAlertSecs" | "postureIntervalSecs";

/** A source's settings as the store takes them. */
export type SourceSettings = Omit<CompleteSourceSettings, LaterSetting> &
  Partial<Pick<CompleteSourceSettings, LaterSetting>>;

export interface SourceRecord extends CompleteSourceSettings {
  id: string;
  createdAtMs: number;
}

/**
 * Whether an event is history for the source: it happened before the source was added, so its backfill read it.
 * Alerts on history are marked so, and destinations skip them unless they ask for history.
 */
export function isHistoryOf(source: Pick<SourceRecord, "createdAtMs">, eventTimeSecs: number): boolean {
  return eventTimeSecs < Math.floor(source.createdAtMs / 1000);
}

const { name: _name, ...defaults } = SourceSettingsSchema.parse({ name: "defaults" });

/** The default of every setting but the name (what a source added with only a name gets). */
export const SOURCE_DEFAULTS: Readonly<Omit<CompleteSourceSettings, "name">> = Object.freeze(defaults);

/** A setting that is not valid: the message names the setting (`field`) and the limit it broke. */
export class SourceSettingError extends UsageError {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`Invalid ${field}: ${problem}.`);
  }
}

function settingError(error: z.ZodError): SourceSettingError {
  const issue = error.issues[0];
  return new SourceSettingError(String(issue?.path[0] ?? "settings"), issue?.message ?? "not valid");
}

/** Validates settings and fills in the defaults of those absent; throws a SourceSettingError. */
export function parseSourceSettings(input: unknown): CompleteSourceSettings {
  const parsed = SourceSettingsSchema.safeParse(input);
  if (!parsed.success) throw settingError(parsed.error);
  checkSweepSettings(parsed.data);
  return parsed.data;
}

/**
 * Each sweep re-reads the last `sweepWindowSecs`: sweeps as far apart as that, or further, leave time that none of
 * them reads, and a late event there is never stored. Apart by less, an event late by up to the difference is.
 */
export function checkSweepSettings(settings: Pick<CompleteSourceSettings, "sweepWindowSecs" | "sweepIntervalSecs">) {
  const { sweepWindowSecs: window, sweepIntervalSecs: interval } = settings;
  const shortest = SOURCE_SETTING_BOUNDS.sweepIntervalSecs.min;
  if (window > 0 && window <= shortest) {
    throw new SourceSettingError(
      "sweepWindowSecs",
      `must be 0 (late-event re-reads off) or more than ${shortest} seconds, the shortest time between sweeps`,
    );
  }
  if (window > 0 && interval >= window) {
    throw new SourceSettingError(
      "sweepIntervalSecs",
      `must be shorter than sweepWindowSecs (${window} seconds): each sweep re-reads only the last ` +
        "sweepWindowSecs, so sweeps further apart leave time that none of them reads",
    );
  }
}

/** Validates the settings given (a change), adding no default; throws a SourceSettingError. */
export function parseSettingChanges(input: unknown): Partial<CompleteSourceSettings> {
  const parsed = SourceSettingChangesSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw settingError(parsed.error);
}

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
export function sourceDurations(
  source: Pick<
    CompleteSourceSettings,
    "pollIntervalSecs" | "noDataAlertEnabled" | "noDataAlertSecs" | "pollFailureAlertSecs" | "postureIntervalSecs"
  >,
): { pollInterval: string; noDataAlert: string | null; pollFailureAlert: string; postureInterval: string | null } {
  return {
    pollInterval: formatDuration(source.pollIntervalSecs),
    noDataAlert: source.noDataAlertEnabled ? formatDuration(source.noDataAlertSecs) : null,
    pollFailureAlert: formatDuration(source.pollFailureAlertSecs),
    postureInterval: source.postureIntervalSecs > 0 ? formatDuration(source.postureIntervalSecs) : null,
  };
}

/** A poll stream of a source: the normal pass, and the `tenant_only=true` pass with its own checkpoint. */
export type StreamName = "main" | "tenant";

export interface StreamState {
  sourceId: string;
  stream: StreamName;
  /** Every event with effective_at <= checkpoint that the API showed when the window was read is stored. */
  checkpointSecs: number | null;
  /** When the last late-event sweep completed. */
  lastSweepSecs: number | null;
  /** The rest of a window a poll stopped in (after storing some of its pages); null when none is owed. */
  owedWindow: OwedWindow | null;
}

/**
 * A poll window whose first pages are stored but not its last ones (the API failed, or rate-limited the poll, part
 * way): the next poll reads it on from its cursor, to its end, before its own window. Without it a window too long
 * for the API's quota in one poll would be read again from its first page at every poll, and never end.
 */
export interface OwedWindow {
  startSecs: number;
  endSecs: number;
  /** The `after` of its next page; null: read it whole again (its stored events are ignored by id). */
  cursor: string | null;
  /** Whether it is a late-event sweep: its end is then the stream's last sweep once it is read. */
  sweep: boolean;
}

export interface PollStatus {
  sourceId: string;
  lastPollStartedMs: number | null;
  lastPollFinishedMs: number | null;
  lastSuccessMs: number | null;
  lastError: string | null;
  lastErrorCode: string | null;
  /** When the source last stored a new event (for the "no events processed" alarm). */
  lastEventStoredMs: number | null;
  consecutiveFailures: number;
}
