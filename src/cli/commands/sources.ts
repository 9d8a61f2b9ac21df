// `vigil sources add|list|update|test|remove|quarantine|replay-quarantine`: flags in, the source use cases
// (usecases/sources.ts) do the rest. The flags' bounds and defaults are the schema's (core/source.ts), shown in each
// flag's own unit.

import type { Command } from "commander";
import { UsageError } from "../../core/errors.ts";
import {
  type BoundedSetting,
  SOURCE_DEFAULTS,
  SOURCE_SETTING_BOUNDS,
  SourceSettingChangesSchema,
  type SourceSettingsInput,
  sourceDurations,
} from "../../core/source.ts";
import { healthInput, sourceHealth } from "../../pipeline/health.ts";
import { postureHealth } from "../../pipeline/posture.ts";
import type { QuarantineReplay } from "../../pipeline/quarantine-replay.ts";
import { requireSource, resolveBaseUrl } from "../../pipeline/runtime.ts";
import { addSource, removeSource, replaySourceQuarantine, testSource, updateSource } from "../../usecases/sources.ts";
import { printJsonLine, withRuntime } from "../context.ts";
import { readApiKey } from "../read-secret.ts";
import { terminalText } from "../terminal-text.ts";
import { isoTime, parsePositiveInt } from "../time-arg.ts";

/** A flag that sets a bounded setting, in its own unit (`scale` setting units per flag unit). */
interface SettingFlag {
  flag: string;
  field: BoundedSetting;
  unit: string;
  scale: number;
  /** Fractions of the unit are accepted (rounded to whole setting units). */
  fractional?: boolean;
}

const FLAGS = {
  pollInterval: { flag: "--poll-interval", field: "pollIntervalSecs", unit: "seconds", scale: 1 },
  overlapSecs: { flag: "--overlap-secs", field: "overlapSecs", unit: "seconds", scale: 1 },
  sweepWindowSecs: { flag: "--sweep-window-secs", field: "sweepWindowSecs", unit: "seconds", scale: 1 },
  sweepIntervalSecs: { flag: "--sweep-interval-secs", field: "sweepIntervalSecs", unit: "seconds", scale: 1 },
  backfillDays: { flag: "--backfill-days", field: "backfillDays", unit: "days", scale: 1 },
  noDataAlarmMinutes: { flag: "--no-data-alarm-minutes", field: "noDataAlertSecs", unit: "minutes", scale: 60 },
  noDataAlertHours: {
    flag: "--no-data-alert-hours",
    field: "noDataAlertSecs",
    unit: "hours",
    scale: 3600,
    fractional: true,
  },
  pollFailureAlertSecs: {
    flag: "--poll-failure-alert-secs",
    field: "pollFailureAlertSecs",
    unit: "seconds",
    scale: 1,
  },
  postureInterval: { flag: "--posture-interval", field: "postureIntervalSecs", unit: "seconds", scale: 1 },
} as const satisfies Record<string, SettingFlag>;

/** The flag's bounds in its unit, e.g. "a whole number of minutes from 15 to 43200". */
function range(spec: SettingFlag): string {
  const b = SOURCE_SETTING_BOUNDS[spec.field];
  const text = `${spec.fractional ? "a number" : "a whole number"} of ${spec.unit} from ${b.min / spec.scale} to ${b.max / spec.scale}`;
  return "off" in b ? `${b.off} (off) or ${text}` : text;
}

/** The flag's help: what it does, its bounds and its default, all from the schema. */
function help(spec: SettingFlag, what: string, withDefault = true): string {
  const byDefault = withDefault ? `, default ${SOURCE_DEFAULTS[spec.field] / spec.scale}` : "";
  return `${what} (${range(spec)}${byDefault})`;
}

/** The flag's value in the setting's unit, validated by the schema; a usage error names the flag and its bounds. */
function settingFlag(spec: SettingFlag, raw: string): number {
  const n = Number(raw);
  const value = spec.fractional ? Math.round(n * spec.scale) : n * spec.scale;
  const valid =
    raw.trim() !== "" &&
    (spec.fractional ? Number.isFinite(n) : Number.isInteger(n)) &&
    SourceSettingChangesSchema.shape[spec.field].safeParse(value).success;
  if (!valid) throw new UsageError(`Invalid ${spec.flag} ${JSON.stringify(raw)}: use ${range(spec)}.`);
  return value;
}

/** `--base-url`: an http(s) URL (the outbound policy is applied when the key is sealed). */
function baseUrlFlag(url: string): string {
  const parsed = SourceSettingChangesSchema.shape.baseUrl.safeParse(url);
  if (!parsed.success || parsed.data == null) {
    throw new UsageError(`Invalid --base-url ${JSON.stringify(url)}: use an https:// URL.`);
  }
  return parsed.data;
}

interface AddOptions {
  name: string;
  baseUrl?: string;
  apiKeyEnv: string;
  pollInterval?: string;
  overlapSecs?: string;
  sweepWindowSecs?: string;
  sweepIntervalSecs?: string;
  backfillDays?: string;
  includeTenantEvents?: boolean;
  verify: boolean;
  /**
   * `--no-data-alert-hours N`: commander reads any `--no-` option as a negation, so the value lands here
   * (a string when given, `true` otherwise).
   */
  dataAlertHours?: string | boolean;
  /** false with `--no-no-data-alert`. */
  noDataAlert: boolean;
  /** `--no-data-alarm-minutes N` (the no_data_alarm_minutes), read like dataAlertHours. */
  dataAlarmMinutes?: string | boolean;
  /** false with `--no-no-data-alarm`. */
  noDataAlarm: boolean;
  pollFailureAlertSecs?: string;
}

/** The settings the flags give; the schema's defaults fill in the rest. */
function settingsFrom(options: AddOptions): SourceSettingsInput {
  const settings: SourceSettingsInput = {
    name: options.name,
    includeTenantEvents: options.includeTenantEvents === true,
    noDataAlertEnabled: options.noDataAlert !== false && options.noDataAlarm !== false,
  };
  if (options.baseUrl !== undefined) settings.baseUrl = baseUrlFlag(options.baseUrl);
  if (options.pollInterval !== undefined)
    settings.pollIntervalSecs = settingFlag(FLAGS.pollInterval, options.pollInterval);
  Object.assign(settings, rereadSettings(options));
  if (options.backfillDays !== undefined) settings.backfillDays = settingFlag(FLAGS.backfillDays, options.backfillDays);
  const offGiven = options.noDataAlert === false || options.noDataAlarm === false;
  const thresholds = [options.dataAlarmMinutes, options.dataAlertHours].filter((v) => typeof v === "string");
  // As `sources update` does: two thresholds, or a threshold and "off", are refused, not one of them picked.
  if (thresholds.length > 1)
    throw new UsageError("Use either --no-data-alarm-minutes or --no-data-alert-hours, not both.");
  if (thresholds.length > 0 && offGiven)
    throw new UsageError("Give the no-data alarm a threshold or turn it off (--no-no-data-alarm), not both.");
  if (typeof options.dataAlarmMinutes === "string") {
    settings.noDataAlertSecs = settingFlag(FLAGS.noDataAlarmMinutes, options.dataAlarmMinutes);
  } else if (typeof options.dataAlertHours === "string") {
    settings.noDataAlertSecs = settingFlag(FLAGS.noDataAlertHours, options.dataAlertHours);
  }
  if (options.pollFailureAlertSecs !== undefined) {
    settings.pollFailureAlertSecs = settingFlag(FLAGS.pollFailureAlertSecs, options.pollFailureAlertSecs);
  }
  return settings;
}

/** The re-read settings the flags give (docs/ingest.md, "Late events"). */
function rereadSettings(
  options: Pick<AddOptions, "overlapSecs" | "sweepWindowSecs" | "sweepIntervalSecs">,
): Partial<SourceSettingsInput> {
  const settings: Partial<SourceSettingsInput> = {};
  if (options.overlapSecs !== undefined) settings.overlapSecs = settingFlag(FLAGS.overlapSecs, options.overlapSecs);
  if (options.sweepWindowSecs !== undefined)
    settings.sweepWindowSecs = settingFlag(FLAGS.sweepWindowSecs, options.sweepWindowSecs);
  if (options.sweepIntervalSecs !== undefined)
    settings.sweepIntervalSecs = settingFlag(FLAGS.sweepIntervalSecs, options.sweepIntervalSecs);
  return settings;
}

/** The flags of the re-read settings, for `add` (with their defaults) and `update`. */
function rereadFlags(command: Command, withDefault: boolean): Command {
  return command
    .option(
      "--overlap-secs <secs>",
      help(FLAGS.overlapSecs, "re-read before the checkpoint on every poll", withDefault),
    )
    .option(
      "--sweep-window-secs <secs>",
      help(FLAGS.sweepWindowSecs, "how far back the late-event sweep re-reads; 0 turns re-reads off", withDefault),
    )
    .option(
      "--sweep-interval-secs <secs>",
      help(FLAGS.sweepIntervalSecs, "time between sweeps, shorter than the sweep window", withDefault),
    );
}

interface UpdateOptions {
  pollInterval?: string;
  overlapSecs?: string;
  sweepWindowSecs?: string;
  sweepIntervalSecs?: string;
  dataAlarmMinutes?: string | boolean;
  noDataAlarm?: boolean;
  pollFailureAlertSecs?: string;
  postureInterval?: string;
  enable?: boolean;
  disable?: boolean;
  baseUrl?: string;
  newKey?: boolean;
  apiKeyEnv: string;
  verify: boolean;
}

export function register(program: Command): void {
  const sources = program.command("sources").description("Manage log sources (OpenAI organizations).");

  const add = sources
    .command("add")
    .argument("<kind>", "source kind; only `openai` exists")
    .description("Add an OpenAI organization as a source. The admin key is read from an environment variable or stdin.")
    .requiredOption("--name <name>", "a descriptive name, e.g. 'My OpenAI Audit Logs'")
    .option("--base-url <url>", "API base URL (default: OPENAI_BASE_URL or https://api.openai.com/v1)")
    .option("--api-key-env <var>", "environment variable holding the admin key", "OPENAI_ADMIN_KEY")
    .option("--poll-interval <secs>", help(FLAGS.pollInterval, "time between polls"));
  rereadFlags(add, true)
    .option("--backfill-days <days>", help(FLAGS.backfillDays, "history to fetch when the source starts"))
    .option("--include-tenant-events", "also poll tenant-scoped events (tenant_only=true)")
    .option(
      "--no-data-alert-hours <hours>",
      help(FLAGS.noDataAlertHours, "raise a system alert when the source stores no new event for this long"),
    )
    .option("--no-no-data-alert", "never raise the no-data system alert for this source")
    .option(
      "--no-data-alarm-minutes <minutes>",
      help(FLAGS.noDataAlarmMinutes, "raise a system alert when the source stores no new event for this long"),
    )
    .option("--no-no-data-alarm", "turn the no-data alarm off for this source")
    .option(
      "--poll-failure-alert-secs <secs>",
      help(FLAGS.pollFailureAlertSecs, "raise a system alert when polls keep failing this long"),
    )
    .option("--no-verify", "save without checking that the key works")
    .addHelpText(
      "after",
      "\nExample:\n  OPENAI_ADMIN_KEY=sk-admin-... vigil sources add openai --name 'My OpenAI Audit Logs' --include-tenant-events\n",
    )
    .action(async (kind: string, options: AddOptions) => {
      if (kind !== "openai")
        throw new UsageError(`Unknown source kind ${JSON.stringify(kind)}; the only kind is openai.`);
      const settings = settingsFrom(options);
      await withRuntime(async (runtime) => {
        const { source, verifiedLatencyMs } = await addSource(runtime, {
          settings,
          // Read only once the settings and the name have passed.
          apiKey: () => readApiKey(runtime.env.lookup(options.apiKeyEnv), options.apiKeyEnv),
          verify: options.verify,
        });
        if (verifiedLatencyMs !== null) {
          process.stderr.write(`Verified: Vigil can read the audit log (${verifiedLatencyMs} ms).\n`);
        }
        process.stdout.write(
          `Added source ${source.name} (${source.id}). It starts with a ${source.backfillDays}-day backfill on the next poll.\n`,
        );
      });
    });

  sources
    .command("list")
    .description("List sources with their poll status and health (ok, warning, no_data, failing, disabled).")
    .option("--json", "one JSON object per line")
    .action(async (options: { json?: boolean }) => {
      await withRuntime(async (runtime) => {
        const nowMs = runtime.clock.nowMs();
        for (const source of await runtime.store.listSources()) {
          const input = await healthInput(runtime.store, source, nowMs);
          const status = input.status;
          const main = await runtime.store.getStreamState(source.id, "main");
          const events = await runtime.store.countEvents({ sourceId: source.id });
          const eventsLast24h = await runtime.store.countEvents({
            sourceId: source.id,
            sinceSecs: Math.floor(nowMs / 1000) - 86_400,
          });
          const [newest] = await runtime.store.searchEvents({ sourceId: source.id, limit: 1 });
          const health = sourceHealth(input);
          const durations = sourceDurations(source);
          const posture = await postureHealth(runtime.store, source);
          if (options.json) {
            printJsonLine({
              ...source,
              noDataAlarmMinutes: source.noDataAlertEnabled ? source.noDataAlertSecs / 60 : null,
              status,
              checkpointSecs: main.checkpointSecs,
              events,
              lastSuccessMs: status.lastSuccessMs,
              lastEventAtSecs: newest?.effectiveAtSecs ?? null,
              eventsLast24h,
              health: health.state,
              healthReason: health.reason,
              durations,
              lastError: status.lastError,
              posture,
            });
          } else {
            const last = status.lastSuccessMs ? new Date(status.lastSuccessMs).toISOString() : "never";
            const error = status.lastError ? `  last error: ${status.lastError}` : "";
            const why = health.state === "ok" ? "" : `\n  ${health.state}: ${health.reason}`;
            const scopes = posture.failedEndpoints.map((e) => `\n  snapshot: ${e.error}`).join("");
            process.stdout.write(
              `${source.name}\t${health.state}\t${resolveBaseUrl(runtime, source)}\tevery ${durations.pollInterval}\tno-data alarm ${durations.noDataAlert ?? "off"}\t${events} events (${eventsLast24h} in 24 h)\tlast poll ok: ${last}${error}${why}${scopes}\n`,
            );
          }
        }
      });
    });

  const update = sources
    .command("update")
    .argument("<name>", "source name")
    .description("Change a source's polling and alarm settings, or enable/disable it.")
    .option("--poll-interval <secs>", help(FLAGS.pollInterval, "time between polls", false));
  rereadFlags(update, false)
    .option(
      "--no-data-alarm-minutes <minutes>",
      help(FLAGS.noDataAlarmMinutes, "turn the no-data alarm on with this threshold", false),
    )
    .option("--no-no-data-alarm", "turn the no-data alarm off")
    .option(
      "--poll-failure-alert-secs <secs>",
      help(FLAGS.pollFailureAlertSecs, "raise a system alert when polls keep failing this long", false),
    )
    .option(
      "--posture-interval <secs>",
      help(FLAGS.postureInterval, "time between inventory snapshots (docs/posture.md)", false),
    )
    .option("--enable", "poll the source")
    .option("--disable", "stop polling the source (its data stays)")
    .option("--base-url <url>", "point the source at another API base URL (needs the admin key again)")
    .option("--new-key", "replace the admin key (read from --api-key-env or standard input)")
    .option("--api-key-env <var>", "environment variable holding the admin key", "OPENAI_ADMIN_KEY")
    .option("--no-verify", "save a new key without checking that it works")
    .action(async (name: string, options: UpdateOptions, command: Command) => {
      const changes: Partial<SourceSettingsInput> = rereadSettings(options);
      if (options.pollInterval !== undefined)
        changes.pollIntervalSecs = settingFlag(FLAGS.pollInterval, options.pollInterval);
      const offGiven = command.getOptionValueSource("noDataAlarm") === "cli" && options.noDataAlarm === false;
      if (typeof options.dataAlarmMinutes === "string") {
        if (offGiven) throw new UsageError("Use either --no-data-alarm-minutes or --no-no-data-alarm, not both.");
        changes.noDataAlertSecs = settingFlag(FLAGS.noDataAlarmMinutes, options.dataAlarmMinutes);
        changes.noDataAlertEnabled = true;
      } else if (offGiven) {
        changes.noDataAlertEnabled = false;
      }
      if (options.pollFailureAlertSecs !== undefined) {
        changes.pollFailureAlertSecs = settingFlag(FLAGS.pollFailureAlertSecs, options.pollFailureAlertSecs);
      }
      if (options.postureInterval !== undefined) {
        changes.postureIntervalSecs = settingFlag(FLAGS.postureInterval, options.postureInterval);
      }
      if (options.enable && options.disable) throw new UsageError("Use either --enable or --disable, not both.");
      if (options.enable) changes.enabled = true;
      if (options.disable) changes.enabled = false;
      if (options.baseUrl !== undefined) changes.baseUrl = baseUrlFlag(options.baseUrl);
      if (Object.keys(changes).length === 0 && !options.newKey) {
        throw new UsageError(
          "Nothing to change: give --poll-interval, --overlap-secs, --sweep-window-secs, --sweep-interval-secs, --no-data-alarm-minutes, --no-no-data-alarm, --poll-failure-alert-secs, --posture-interval, --enable, --disable, --base-url or --new-key.",
        );
      }
      await withRuntime(async (runtime) => {
        const source = await requireSource(runtime, name);
        const readKey = () => readApiKey(runtime.env.lookup(options.apiKeyEnv), options.apiKeyEnv);
        const { source: updated } = await updateSource(runtime, source, {
          changes,
          ...(options.newKey ? { apiKey: await readKey() } : {}),
          // A stored key is sealed to the endpoint it was entered for: another endpoint needs the key again.
          askKey: readKey,
          verify: options.verify,
        });
        const d = sourceDurations(updated);
        process.stdout.write(
          `Updated source ${updated.name}: ${updated.enabled ? "enabled" : "disabled"}, every ${d.pollInterval}, no-data alarm ${d.noDataAlert ?? "off"}, poll-failure alarm ${d.pollFailureAlert}.\n`,
        );
      });
    });

  sources
    .command("test")
    .argument("<name>", "source name")
    .description("Check that the source's key can read the audit log; exit 0 when it can.")
    .action(async (name: string) => {
      await withRuntime(async (runtime) => {
        const source = await requireSource(runtime, name);
        const latencyMs = await testSource(runtime, source);
        process.stdout.write(`OK: ${source.name} can read the audit log (${latencyMs} ms).\n`);
      });
    });

  sources
    .command("quarantine")
    .argument("<name>", "source name")
    .description("List the source's quarantined records, newest first, with why each was refused.")
    .option("--limit <n>", "at most this many records", "20")
    .option("--json", "one JSON object per record, with its issues and raw text")
    .action(async (name: string, options: { limit: string; json?: boolean }) => {
      const limit = parsePositiveInt(options.limit, "--limit", 1, 1000);
      await withRuntime(async (runtime) => {
        const source = await requireSource(runtime, name);
        const records = await runtime.store.listQuarantine({ sourceId: source.id, limit });
        if (records.length === 0) process.stderr.write(`${source.name} has no quarantined records.\n`);
        for (const r of records) {
          if (options.json) printJsonLine(r);
          else {
            const id = r.eventId === null ? "(no id)" : terminalText(r.eventId);
            process.stdout.write(`${isoTime(r.receivedAtMs)}\t${id}\t${terminalText(r.reason)}\n`);
          }
        }
      });
    });

  sources
    .command("replay-quarantine")
    .argument("<name>", "source name")
    .description(
      "Read the source's quarantined records again with the current schema: those it accepts now are stored as " +
        "events, with detection, and leave the quarantine; the others stay. Run after an upgrade that fixed why they were refused.",
    )
    .option("--dry-run", "say what would be stored, and change nothing")
    .action(async (name: string, options: { dryRun?: boolean }) => {
      await withRuntime(async (runtime) => {
        const source = await requireSource(runtime, name);
        const r = await replaySourceQuarantine(runtime, source, { dryRun: options.dryRun === true });
        process.stdout.write(`${source.name}: ${replaySummary(r, options.dryRun === true)}\n`);
        for (const { reason, records } of r.reasons) process.stdout.write(`  ${records} × ${terminalText(reason)}\n`);
      });
    });

  sources
    .command("remove")
    .argument("<name>", "source name")
    .description("Remove a source and everything stored for it.")
    .action(async (name: string) => {
      await withRuntime(async (runtime) => {
        const source = await requireSource(runtime, name);
        await removeSource(runtime, source);
        process.stdout.write(`Removed source ${source.name}.\n`);
      });
    });
}

/** What a replay did (or would do), in one sentence. */
function replaySummary(r: QuarantineReplay, dryRun: boolean): string {
  const parts = [`${r.examined} quarantined record(s) read`, `${r.accepted} accepted by the current schema`];
  if (!dryRun) {
    parts.push(`${r.stored} stored as new events`);
    if (r.alreadyStored > 0) parts.push(`${r.alreadyStored} already stored (released)`);
    if (r.conflicting > 0) parts.push(`${r.conflicting} kept: their event id is stored with other content`);
    parts.push(`${r.createdAlertIds.length} alert(s) raised`);
  }
  parts.push(`${r.stillRefused} still refused`);
  if (r.previewsOnly > 0) parts.push(`${r.previewsOnly} kept only as a preview (cannot be read again)`);
  return `${parts.join("; ")}${dryRun ? " (dry run: nothing changed)" : ""}.`;
}
