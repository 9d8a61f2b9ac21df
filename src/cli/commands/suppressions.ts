// `vigil suppressions …`: mute "matches like this" of one rule (counted, not alerted), list them with what
// they absorbed, and remove them. Every change records who made it (`cli:<os user>`).
//
//   vigil suppressions list [--all] [--rule ID] [--json]
//   vigil suppressions add (--rule ID | --from-alert ID) --actor-email X [--ip X ...] --reason TEXT [--for 7d | --until DATE]
//   vigil suppressions remove ID

import type { Command } from "commander";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import type { SuppressionConditions, SuppressionRecord } from "../../core/suppression.ts";
import { loadRules, refuseBlindingSuppression, requireRuleToSuppress } from "../../detections/engine/load.ts";
import { BUILTIN_PACKS_DIR } from "../../detections/packs.ts";
import { printJsonLine, withRuntime } from "../context.ts";
import { isoTime as iso, parseTimeArg } from "../time-arg.ts";
import { cliActor } from "./alerts.ts";

function state(s: SuppressionRecord, nowMs: number): string {
  if (s.removedAtMs !== null) return `removed ${iso(s.removedAtMs)} by ${s.removedBy}`;
  if (s.expiresAtMs !== null && s.expiresAtMs <= nowMs) return `expired ${iso(s.expiresAtMs)}`;
  return s.expiresAtMs === null ? "active, until removed" : `active until ${iso(s.expiresAtMs)}`;
}

/** One tab-separated line: id, rule, conditions, matches absorbed, last absorbed, state, made by/when, reason. */
function suppressionLine(s: SuppressionRecord, nowMs: number): string {
  const conditions = Object.entries(s.conditions)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  return [
    s.id,
    s.ruleId,
    conditions,
    `${s.matchCount} suppressed`,
    s.lastMatchAtMs === null ? "never" : `last ${iso(s.lastMatchAtMs)}`,
    state(s, nowMs),
    `by ${s.createdBy} ${iso(s.createdAtMs)}`,
    JSON.stringify(s.reason),
  ].join("\t");
}

interface AddOptions {
  rule?: string;
  fromAlert?: string;
  actorEmail?: string;
  actorId?: string;
  ip?: string;
  project?: string;
  dedup?: string;
  reason: string;
  for?: string;
  until?: string;
  json?: boolean;
}

function expiryMs(options: AddOptions, nowMs: number): number | null {
  if (options.for !== undefined && options.until !== undefined)
    throw new UsageError("Give --for or --until, not both.");
  const nowSecs = Math.floor(nowMs / 1000);
  if (options.for !== undefined) {
    if (!/^\d+\s*[smhdw]$/i.test(options.for.trim())) {
      throw new UsageError(`--for ${JSON.stringify(options.for)} is not a duration (e.g. 12h, 7d, 2w).`);
    }
    return nowMs + (nowSecs - parseTimeArg(options.for, nowSecs, "--for")) * 1000;
  }
  if (options.until !== undefined) return parseTimeArg(options.until, nowSecs, "--until") * 1000;
  return null;
}

export function register(program: Command): void {
  const cmd = program
    .command("suppressions")
    .description("Mute known-benign matches of a rule without editing it: counted, not alerted.");

  cmd
    .command("list")
    .description("Suppressions with the matches they absorbed (newest first).")
    .option("--all", "include removed suppressions")
    .option("--rule <id>", "only this rule's")
    .option("--json", "one JSON object per line")
    .action(async (options: { all?: boolean; rule?: string; json?: boolean }) => {
      await withRuntime(async (runtime) => {
        const list = await runtime.store.listSuppressions({
          includeRemoved: options.all === true,
          ...(options.rule !== undefined ? { ruleId: options.rule } : {}),
        });
        const nowMs = runtime.clock.nowMs();
        for (const s of list) {
          if (options.json) printJsonLine(s);
          else process.stdout.write(`${suppressionLine(s, nowMs)}\n`);
        }
        if (list.length === 0 && !options.json) process.stderr.write("No suppressions.\n");
      });
    });

  cmd
    .command("add")
    .description("Suppress a rule's matches whose event has these values (every given field must match).")
    .option("--rule <id>", "the rule")
    .option("--from-alert <id>", "the rule of this alert")
    .option("--actor-email <email>", "the event's actor email")
    .option("--actor-id <id>", "the event's actor id")
    .option("--ip <address>", "the event's IP address")
    .option("--project <id>", "the event's project id")
    .option("--dedup <key>", "the match's alert grouping key (as an alert shows it)")
    .requiredOption("--reason <text>", "why these matches are benign (kept with the suppression)")
    .option("--for <duration>", "expire after this long (e.g. 24h, 7d); default: until removed")
    .option("--until <date>", "expire at this date")
    .option("--json", "print the suppression as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  vigil suppressions add --rule OpenAI.Login.PasswordSpray --actor-email bot@example.com --for 7d --reason 'CI login probe'\n",
    )
    .action(async (options: AddOptions) => {
      await withRuntime(async (runtime) => {
        let ruleId = options.rule;
        if (options.fromAlert !== undefined) {
          const alert = await runtime.store.getAlert(options.fromAlert);
          if (alert === null) throw new NotFoundError(`There is no alert ${options.fromAlert}.`);
          if (ruleId !== undefined && ruleId !== alert.ruleId) {
            throw new UsageError(`Alert ${alert.id} is of rule ${alert.ruleId}, not ${ruleId}.`);
          }
          ruleId = alert.ruleId;
        }
        if (ruleId === undefined) throw new UsageError("Name the rule: --rule ID or --from-alert ID.");
        const rules = await loadRules({ packs: [BUILTIN_PACKS_DIR], dirs: runtime.env.rulesDirs, tolerant: true });
        // An alert's rule existed when it alerted; whether it is loaded now, a correlation's input is never muted.
        if (options.fromAlert === undefined) requireRuleToSuppress(rules, ruleId, "`vigil rules list`");
        else refuseBlindingSuppression(rules, ruleId);
        const conditions: SuppressionConditions = {
          ...(options.actorEmail !== undefined ? { actorEmail: options.actorEmail } : {}),
          ...(options.actorId !== undefined ? { actorId: options.actorId } : {}),
          ...(options.ip !== undefined ? { ip: options.ip } : {}),
          ...(options.project !== undefined ? { projectId: options.project } : {}),
          ...(options.dedup !== undefined ? { dedup: options.dedup } : {}),
        };
        const s = await runtime.store.createSuppression({
          ruleId,
          conditions,
          reason: options.reason,
          createdBy: cliActor(),
          expiresAtMs: expiryMs(options, runtime.clock.nowMs()),
        });
        if (options.json) printJsonLine(s);
        else process.stdout.write(`Added suppression ${s.id}: ${suppressionLine(s, runtime.clock.nowMs())}\n`);
      });
    });

  cmd
    .command("remove")
    .description("End a suppression (kept, with who removed it and when; `list --all` shows it).")
    .argument("<id>", "the suppression id")
    .action(async (id: string) => {
      await withRuntime(async (runtime) => {
        const s = await runtime.store.removeSuppression(id, cliActor(), runtime.clock.nowMs());
        process.stdout.write(`Removed suppression ${s.id} (${s.matchCount} matches suppressed).\n`);
      });
    });
}
