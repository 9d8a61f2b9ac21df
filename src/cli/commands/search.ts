import type { Command } from "commander";
import { systemClock, unixSeconds } from "../../core/clock.ts";
import { UsageError } from "../../core/errors.ts";
import type { StoredEvent } from "../../core/event.ts";
import { requireSource } from "../../pipeline/runtime.ts";
import type { EventQuery } from "../../storage/ports.ts";
import {
  CSV_COLUMNS,
  csvLine,
  csvRow,
  EXPORT_FORMATS,
  EXPORT_MAX_ROWS,
  type ExportFormat,
  exportPages,
  jsonLine,
} from "../../usecases/event-export.ts";
import { withRuntime } from "../context.ts";
import { terminalJsonText, terminalLine } from "../terminal-text.ts";
import { parsePositiveInt, parseTimeArg } from "../time-arg.ts";

interface SearchOptions {
  source?: string;
  type?: string[];
  actor?: string;
  ip?: string;
  project?: string;
  since?: string;
  until?: string;
  text?: string;
  limit: string;
  json?: boolean;
  format?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function line(event: StoredEvent): string {
  const at = new Date(event.effectiveAtSecs * 1000).toISOString().replace(".000Z", "Z");
  const actor = event.actorEmail ?? event.actorId ?? "-";
  return terminalLine([at, event.type, actor, event.ip ?? "-", event.projectId ?? "-", event.id].join("\t"));
}

export function register(program: Command): void {
  program
    .command("search")
    .description("Search stored events, newest first.")
    .option("--source <name>", "only this source")
    .option("--type <type>", "event type (repeatable)", collect)
    .option("--actor <email>", "actor email")
    .option("--ip <address>", "actor IP address")
    .option("--project <id>", "project id")
    .option("--since <time>", "from this time: a date, Unix seconds or a duration ago (24h, 7d)")
    .option("--until <time>", "up to this time")
    .option("--text <text>", "case-insensitive text anywhere in the event")
    .option("--limit <n>", "at most this many events", "100")
    .option("--json", "one stored event per line (the raw record, as the API returned it)")
    .option(
      "--format <format>",
      `export: jsonl (the API's event documents) or csv (time, type, actor, ip, project, source, id); --limit up to ${EXPORT_MAX_ROWS.toLocaleString("en-US")}`,
    )
    .addHelpText(
      "after",
      "\nExamples:\n  vigil search --type api_key.created --since 7d --json\n  vigil search --since 30d --limit 100000 --format csv > events.csv\n",
    )
    .action(async (options: SearchOptions) => {
      await withRuntime(async (runtime) => {
        const now = unixSeconds(systemClock);
        const format = exportFormat(options);
        const maxLimit = format === undefined ? 10_000 : EXPORT_MAX_ROWS;
        const limit = parsePositiveInt(options.limit, "--limit", 1, maxLimit);
        const query: EventQuery = {};
        if (options.source) query.sourceId = (await requireSource(runtime, options.source)).id;
        if (options.type) query.types = options.type;
        if (options.actor) query.actorEmail = options.actor;
        if (options.ip) query.ip = options.ip;
        if (options.project) query.projectId = options.project;
        if (options.since) query.sinceSecs = parseTimeArg(options.since, now, "--since");
        if (options.until) query.untilSecs = parseTimeArg(options.until, now, "--until");
        if (options.text) query.text = options.text;
        if (format !== undefined) {
          await writeExport(exportPages(runtime.store, query, limit), format);
          return;
        }
        const events = await runtime.store.searchEvents({ ...query, limit });
        for (const event of events) {
          process.stdout.write(options.json ? `${terminalJsonText(event.raw)}\n` : `${line(event)}\n`);
        }
        if (!options.json) process.stderr.write(`${events.length} event(s).\n`);
      });
    });
}

function exportFormat(options: SearchOptions): ExportFormat | undefined {
  if (options.format === undefined) return undefined;
  if (options.json) throw new UsageError("Give --json or --format, not both.");
  if (!(EXPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new UsageError(`--format is ${EXPORT_FORMATS.join(" or ")}, not ${JSON.stringify(options.format)}.`);
  }
  return options.format as ExportFormat;
}

/** Page by page, each written before the next is read (waiting for stdout to drain when a pipe is slow). */
async function writeExport(pages: AsyncGenerator<StoredEvent[]>, format: ExportFormat): Promise<void> {
  const write = (text: string) =>
    process.stdout.write(text) ? Promise.resolve() : new Promise<void>((r) => process.stdout.once("drain", r));
  if (format === "csv") await write(csvRow(CSV_COLUMNS));
  for await (const page of pages) await write(page.map(format === "csv" ? csvLine : jsonLine).join(""));
}
