import type { Command } from "commander";
import {
  MAX_NO_DATA_ALARM_MINUTES,
  MAX_POLL_FAILURE_ALERT_SECS,
  MIN_NO_DATA_ALARM_MINUTES,
  MIN_POLL_FAILURE_ALERT_SECS,
  MIN_POLL_INTERVAL_SECS,
  SOURCE_DEFAULTS,
  SourceSettingsSchema,
  sourceDurations,
} from "../../config/source-defaults.ts";
import { UsageError } from "../../core/errors.ts";
import { assertOutboundUrl } from "../../core/outbound.ts";
import { healthInput, sourceHealth } from "../../pipeline/health.ts";
import { postureHealth } from "../../pipeline/posture.ts";
import {
  clientFor,
  requireSource,
  resolveBaseUrl,
  retireDemoSource,
  sealSourceKey,
  sourceClient,
  sourceKeyEndpoint,
} from "../../pipeline/runtime.ts";
import type { EncryptedSecret, SourceSettings } from "../../storage/ports.ts";
import { printJsonLine, withRuntime } from "../context.ts";
import { readApiKey } from "../read-secret.ts";

interface AddOptions {
  name: string;
  baseUrl?: string;
  apiKeyEnv: string;
  pollInterval: string;
  overlapSecs: string;
  backfillDays: string;
  includeTenantEvents?: boolean;
  verify: boolean;
  /**
   * `--no-data-alert-hours N`: commander reads any `--no-` option as a negation, so the value lands here
   * (a string when given, `true` otherwise).
   */
  dataAlertHours?: string | boolean;
  /** false with `--no-no-data-alert`. */
  noDataAlert: boolean;
  /** `--no-data-alarm-minutes N` (the issue's no_data_alarm_minutes), read like dataAlertHours. */
  dataAlarmMinutes?: string | boolean;
  /** false with `--no-no-data-alarm`. */
  noDataAlarm: boolean;
  pollFailureAlertSecs?: string;
}

const MINUTES_HELP = `a whole number of minutes from ${MIN_NO_DATA_ALARM_MINUTES} to ${MAX_NO_DATA_ALARM_MINUTES} (30 days)`;

/** `--no-data-alarm-minutes N` in seconds, validated (15…43200 minutes, whole minutes). */
export function noDataAlarmSecs(minutes: string): number {
  const n = Number(minutes);
  if (!Number.isInteger(n) || n < MIN_NO_DATA_ALARM_MINUTES || n > MAX_NO_DATA_ALARM_MINUTES) {
    throw new UsageError(`Invalid --no-data-alarm-minutes ${JSON.stringify(minutes)}: use ${MINUTES_HELP}.`);
  }
  return n * 60;
}

/** 0 turns inventory snapshots off; else 300 s to 7 days (the bounds of SourceSettingsSchema). */
function postureIntervalSecs(secs: string): number {
  const n = Number(secs);
  if (!Number.isInteger(n) || (n !== 0 && (n < 300 || n > 7 * 86_400))) {
    throw new UsageError(
      `Invalid --posture-interval ${JSON.stringify(secs)}: use 0 (off) or whole seconds from 300 to 604800.`,
    );
  }
  return n;
}

function pollFailureSecs(secs: string): number {
  const n = Number(secs);
  if (!Number.isInteger(n) || n < MIN_POLL_FAILURE_ALERT_SECS || n > MAX_POLL_FAILURE_ALERT_SECS) {
    throw new UsageError(
      `Invalid --poll-failure-alert-secs ${JSON.stringify(secs)}: use whole seconds from ${MIN_POLL_FAILURE_ALERT_SECS} to ${MAX_POLL_FAILURE_ALERT_SECS}.`,
    );
  }
  return n;
}

function pollIntervalSecs(secs: string): number {
  const n = Number(secs);
  if (!Number.isInteger(n) || n < MIN_POLL_INTERVAL_SECS || n > 86_400) {
    throw new UsageError(
      `Invalid --poll-interval ${JSON.stringify(secs)}: use whole seconds from ${MIN_POLL_INTERVAL_SECS} to 86400.`,
    );
  }
  return n;
}

/** `--base-url`: an http(s) URL (the outbound policy is applied when the client is made). */
function baseUrlSetting(url: string): string {
  const parsed = SourceSettingsSchema.shape.baseUrl.safeParse(url);
  if (!parsed.success || parsed.data === null) {
    throw new UsageError(`Invalid --base-url ${JSON.stringify(url)}: use an https:// URL.`);
  }
  return parsed.data;
}

function noDataSecsFrom(options: AddOptions): number {
  if (typeof options.dataAlarmMinutes === "string") return noDataAlarmSecs(options.dataAlarmMinutes);
  if (typeof options.dataAlertHours === "string") return Math.round(Number(options.dataAlertHours) * 3600);
  return SOURCE_DEFAULTS.noDataAlertSecs;
}

function settingsFrom(options: AddOptions): SourceSettings {
  const parsed = SourceSettingsSchema.safeParse({
    name: options.name,
    kind: "openai",
    baseUrl: options.baseUrl ?? null,
    pollIntervalSecs: Number(options.pollInterval),
    overlapSecs: Number(options.overlapSecs),
    sweepWindowSecs: SOURCE_DEFAULTS.sweepWindowSecs,
    sweepIntervalSecs: SOURCE_DEFAULTS.sweepIntervalSecs,
    includeTenantEvents: options.includeTenantEvents === true,
    backfillDays: Number(options.backfillDays),
    enabled: true,
    noDataAlertEnabled: options.noDataAlert !== false && options.noDataAlarm !== false,
    noDataAlertSecs: noDataSecsFrom(options),
    pollFailureAlertSecs:
      options.pollFailureAlertSecs === undefined
        ? SOURCE_DEFAULTS.pollFailureAlertSecs
        : pollFailureSecs(options.pollFailureAlertSecs),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? "setting");
    if (field === "noDataAlertSecs") {
      throw new UsageError("Invalid --no-data-alert-hours: use a number of hours from 0.25 (15 minutes) to 720.");
    }
    throw new UsageError(`Invalid ${field}: ${issue?.message}.`);
  }
  return parsed.data;
}

interface UpdateOptions {
  pollInterval?: string;
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

  sources
    .command("add")
    .argument("<kind>", "source kind; only `openai` exists")
    .description("Add an OpenAI organization as a source. The admin key is read from an environment variable or stdin.")
    .requiredOption("--name <name>", "a descriptive name, e.g. 'My OpenAI Audit Logs'")
    .option("--base-url <url>", "API base URL (default: OPENAI_BASE_URL or https://api.openai.com/v1)")
    .option("--api-key-env <var>", "environment variable holding the admin key", "OPENAI_ADMIN_KEY")
    .option("--poll-interval <secs>", "seconds between polls (minimum 5)", String(SOURCE_DEFAULTS.pollIntervalSecs))
    .option(
      "--overlap-secs <secs>",
      "seconds re-read before the checkpoint on every poll",
      String(SOURCE_DEFAULTS.overlapSecs),
    )
    .option(
      "--backfill-days <days>",
      "days of history to fetch when the source starts",
      String(SOURCE_DEFAULTS.backfillDays),
    )
    .option("--include-tenant-events", "also poll tenant-scoped events (tenant_only=true)")
    .option(
      "--no-data-alert-hours <hours>",
      "raise a system alert when the source stores no new event for this long (minimum 0.25, default 24)",
    )
    .option("--no-no-data-alert", "never raise the no-data system alert for this source")
    .option(
      "--no-data-alarm-minutes <minutes>",
      `raise a system alert when the source stores no new event for this long (${MIN_NO_DATA_ALARM_MINUTES}-${MAX_NO_DATA_ALARM_MINUTES}, default ${SOURCE_DEFAULTS.noDataAlertSecs / 60})`,
    )
    .option("--no-no-data-alarm", "turn the no-data alarm off for this source")
    .option(
      "--poll-failure-alert-secs <secs>",
      `raise a system alert when polls keep failing this long (default ${SOURCE_DEFAULTS.pollFailureAlertSecs})`,
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
        if (await runtime.store.getSource(settings.name)) {
          throw new UsageError(`A source named ${JSON.stringify(settings.name)} already exists.`);
        }
        const apiKey = await readApiKey(runtime.env.lookup(options.apiKeyEnv), options.apiKeyEnv);
        assertOutboundUrl(resolveBaseUrl(runtime, settings), runtime.env.outbound, "base URL");
        if (options.verify) {
          const result = await clientFor(runtime, resolveBaseUrl(runtime, settings), apiKey).verify();
          process.stderr.write(`Verified: Vigil can read the audit log (${result.latencyMs} ms).\n`);
        }
        const source = await runtime.store.createSource(settings, sealSourceKey(runtime, settings, apiKey));
        process.stdout.write(
          `Added source ${source.name} (${source.id}). It starts with a ${source.backfillDays}-day backfill on the next poll.\n`,
        );
        // Logged as a warning, so the user reads why the demo source is gone.
        await retireDemoSource(runtime);
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

  sources
    .command("update")
    .argument("<name>", "source name")
    .description("Change a source's polling and alarm settings, or enable/disable it.")
    .option("--poll-interval <secs>", `seconds between polls (minimum ${MIN_POLL_INTERVAL_SECS})`)
    .option("--no-data-alarm-minutes <minutes>", `turn the no-data alarm on with this threshold (${MINUTES_HELP})`)
    .option("--no-no-data-alarm", "turn the no-data alarm off")
    .option("--poll-failure-alert-secs <secs>", "raise a system alert when polls keep failing this long")
    .option("--posture-interval <secs>", "seconds between inventory snapshots (docs/posture.md); 0 turns them off")
    .option("--enable", "poll the source")
    .option("--disable", "stop polling the source (its data stays)")
    .option("--base-url <url>", "point the source at another API base URL (needs the admin key again)")
    .option("--new-key", "replace the admin key (read from --api-key-env or standard input)")
    .option("--api-key-env <var>", "environment variable holding the admin key", "OPENAI_ADMIN_KEY")
    .option("--no-verify", "save a new key without checking that it works")
    .action(async (name: string, options: UpdateOptions, command: Command) => {
      const changes: Partial<SourceSettings> = {};
      if (options.pollInterval !== undefined) changes.pollIntervalSecs = pollIntervalSecs(options.pollInterval);
      const offGiven = command.getOptionValueSource("noDataAlarm") === "cli" && options.noDataAlarm === false;
      if (typeof options.dataAlarmMinutes === "string") {
        if (offGiven) throw new UsageError("Use either --no-data-alarm-minutes or --no-no-data-alarm, not both.");
        changes.noDataAlertSecs = noDataAlarmSecs(options.dataAlarmMinutes);
        changes.noDataAlertEnabled = true;
      } else if (offGiven) {
        changes.noDataAlertEnabled = false;
      }
      if (options.pollFailureAlertSecs !== undefined) {
        changes.pollFailureAlertSecs = pollFailureSecs(options.pollFailureAlertSecs);
      }
      if (options.postureInterval !== undefined)
        changes.postureIntervalSecs = postureIntervalSecs(options.postureInterval);
      if (options.enable && options.disable) throw new UsageError("Use either --enable or --disable, not both.");
      if (options.enable) changes.enabled = true;
      if (options.disable) changes.enabled = false;
      if (options.baseUrl !== undefined) changes.baseUrl = baseUrlSetting(options.baseUrl);
      if (Object.keys(changes).length === 0 && !options.newKey) {
        throw new UsageError(
          "Nothing to change: give --poll-interval, --no-data-alarm-minutes, --no-no-data-alarm, --poll-failure-alert-secs, --posture-interval, --enable, --disable, --base-url or --new-key.",
        );
      }
      await withRuntime(async (runtime) => {
        const source = await requireSource(runtime, name);
        const target = { ...source, ...changes };
        // A stored key is sealed to the endpoint it was entered for: another endpoint needs the key again.
        const moved = sourceKeyEndpoint(runtime, target) !== sourceKeyEndpoint(runtime, source);
        let secret: EncryptedSecret | undefined;
        if (moved || options.newKey) {
          const apiKey = await readApiKey(runtime.env.lookup(options.apiKeyEnv), options.apiKeyEnv);
          const client = clientFor(runtime, resolveBaseUrl(runtime, target), apiKey);
          if (options.verify) await client.verify();
          secret = sealSourceKey(runtime, target, apiKey);
        }
        const updated = await runtime.store.updateSource(source.id, changes, secret);
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
        const result = await (await sourceClient(runtime, source)).verify();
        process.stdout.write(`OK: ${source.name} can read the audit log (${result.latencyMs} ms).\n`);
      });
    });

  sources
    .command("remove")
    .argument("<name>", "source name")
    .description("Remove a source and everything stored for it.")
    .action(async (name: string) => {
      await withRuntime(async (runtime) => {
        const source = await requireSource(runtime, name);
        await runtime.store.removeSource(source.id);
        process.stdout.write(`Removed source ${source.name}.\n`);
      });
    });
}
