import type { Command } from "commander";
import { SOURCE_DEFAULTS, SourceSettingsSchema } from "../../config/source-defaults.ts";
import { UsageError } from "../../core/errors.ts";
import { clientFor, requireSource, resolveBaseUrl, sourceClient } from "../../pipeline/runtime.ts";
import type { SourceSettings } from "../../storage/ports.ts";
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
    noDataAlertEnabled: options.noDataAlert !== false,
    noDataAlertSecs:
      typeof options.dataAlertHours === "string"
        ? Math.round(Number(options.dataAlertHours) * 3600)
        : SOURCE_DEFAULTS.noDataAlertSecs,
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
        if (options.verify) {
          const result = await clientFor(runtime, resolveBaseUrl(runtime, settings), apiKey).verify();
          process.stderr.write(`Verified: Vigil can read the audit log (${result.latencyMs} ms).\n`);
        }
        const source = await runtime.store.createSource(settings, runtime.secrets.encrypt(apiKey));
        process.stdout.write(
          `Added source ${source.name} (${source.id}). It starts with a ${source.backfillDays}-day backfill on the next poll.\n`,
        );
      });
    });

  sources
    .command("list")
    .description("List sources with their poll status.")
    .option("--json", "one JSON object per line")
    .action(async (options: { json?: boolean }) => {
      await withRuntime(async (runtime) => {
        for (const source of await runtime.store.listSources()) {
          const status = await runtime.store.getPollStatus(source.id);
          const main = await runtime.store.getStreamState(source.id, "main");
          const events = await runtime.store.countEvents({ sourceId: source.id });
          if (options.json) {
            printJsonLine({ ...source, status, checkpointSecs: main.checkpointSecs, events });
          } else {
            const last = status.lastSuccessMs ? new Date(status.lastSuccessMs).toISOString() : "never";
            const error = status.lastError ? `  last error: ${status.lastError}` : "";
            process.stdout.write(
              `${source.name}\t${resolveBaseUrl(runtime, source)}\tevery ${source.pollIntervalSecs}s\t${events} events\tlast poll ok: ${last}${error}\n`,
            );
          }
        }
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
