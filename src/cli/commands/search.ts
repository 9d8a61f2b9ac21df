import type { Command } from "commander";
import { systemClock, unixSeconds } from "../../core/clock.ts";
import type { StoredEvent } from "../../core/event.ts";
import { requireSource } from "../../pipeline/runtime.ts";
import type { EventQuery } from "../../storage/ports.ts";
import { withRuntime } from "../context.ts";
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
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function line(event: StoredEvent): string {
  const at = new Date(event.effectiveAtSecs * 1000).toISOString().replace(".000Z", "Z");
  const actor = event.actorEmail ?? event.actorId ?? "-";
  return [at, event.type, actor, event.ip ?? "-", event.projectId ?? "-", event.id].join("\t");
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
    .addHelpText("after", "\nExample:\n  vigil search --type api_key.created --since 7d --json\n")
    .action(async (options: SearchOptions) => {
      await withRuntime(async (runtime) => {
        const now = unixSeconds(systemClock);
        const query: EventQuery = { limit: parsePositiveInt(options.limit, "--limit", 1, 10_000) };
        if (options.source) query.sourceId = (await requireSource(runtime, options.source)).id;
        if (options.type) query.types = options.type;
        if (options.actor) query.actorEmail = options.actor;
        if (options.ip) query.ip = options.ip;
        if (options.project) query.projectId = options.project;
        if (options.since) query.sinceSecs = parseTimeArg(options.since, now, "--since");
        if (options.until) query.untilSecs = parseTimeArg(options.until, now, "--until");
        if (options.text) query.text = options.text;
        const events = await runtime.store.searchEvents(query);
        for (const event of events) {
          process.stdout.write(options.json ? `${event.raw}\n` : `${line(event)}\n`);
        }
        if (!options.json) process.stderr.write(`${events.length} event(s).\n`);
      });
    });
}
