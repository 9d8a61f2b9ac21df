// `vigil alerts …`: list alerts, show one with its matched events and history, and work them.
//
//   vigil alerts list [--json] [--status OPEN] [--severity HIGH] [--rule ID] [--source NAME|ID] [--assignee USER |
//                     --unassigned] [--since 7d] [--until TIME] [--sort newest|oldest|severity|updated]
//                     [--offset N] [--limit N]
//   vigil alerts show ID [--json]
//   vigil alerts ack ID... | vigil alerts resolve ID... | vigil alerts reopen ID...
//   vigil alerts status ID ACKNOWLEDGED
//   vigil alerts assign ID USER | vigil alerts unassign ID
//   vigil alerts comment ID TEXT
//
// Every change is recorded with who made it (`cli:<os user>`) and when; `show` prints the history.

import { userInfo } from "node:os";
import type { Command } from "commander";
import type { AlertActivity, AlertRecord } from "../../core/alert.ts";
import { unixSeconds } from "../../core/clock.ts";
import {
  ALERT_STATUS_FILTERS,
  ALERT_STATUSES,
  type AlertStatus,
  type AlertStatusFilter,
  isSeverity,
  OPEN_ALERT_STATUSES,
  parseAlertStatusFilter,
  SEVERITIES,
} from "../../core/detection.ts";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import { requireSource } from "../../pipeline/runtime.ts";
import { ALERT_SORTS, type AlertQuery } from "../../storage/ports.ts";
import { withRuntime } from "../context.ts";
import { terminalJson, terminalLine } from "../terminal-text.ts";
import { isoTime as iso, parsePositiveInt, parseTimeArg } from "../time-arg.ts";

const STATUSES: readonly AlertStatus[] = ALERT_STATUSES;

/** Who runs the CLI, for the status history: `cli:<os user>`. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:${process.env.USER ?? "unknown"}`;
  }
}

/** Case-insensitive: `triaged` is as good as `TRIAGED`. */
export function parseStatus(value: string): AlertStatus {
  const upper = value.toUpperCase();
  const status = STATUSES.find((s) => s === upper);
  if (status === undefined) throw new UsageError(`Unknown status "${value}"; use one of ${STATUSES.join(", ")}.`);
  return status;
}

/** A list's status filter: a status, or UNRESOLVED (any open one), in any case. */
function parseStatusFilter(value: string): AlertStatusFilter {
  const status = parseAlertStatusFilter(value);
  if (status === undefined)
    throw new UsageError(`Unknown status "${value}"; use one of ${ALERT_STATUS_FILTERS.join(", ")}.`);
  return status;
}

export function parseSeverityArg(value: string): AlertQuery["severity"] {
  const upper = value.toUpperCase();
  if (!isSeverity(upper)) throw new UsageError(`Unknown severity "${value}"; use one of ${SEVERITIES.join(", ")}.`);
  return upper;
}

/** One tab-separated line per alert: created, severity, status, matches, rule, title, id. */
export function alertLine(a: AlertRecord): string {
  const status = a.fromHistory ? `${a.status} (history)` : a.status;
  return terminalLine(
    [iso(a.createdAtMs), a.severity, status, String(a.matchCount), a.ruleId, a.title, a.id].join("\t"),
  );
}

interface AlertListOptions {
  status?: string;
  severity?: string;
  rule?: string;
  source?: string;
  assignee?: string;
  unassigned?: boolean;
  since?: string;
  until?: string;
  sort: string;
  offset: string;
  limit: string;
  history?: boolean;
  live?: boolean;
  json?: boolean;
}

/** One line of an alert's history: when, who, what. */
export function activityLine(a: AlertActivity): string {
  const what =
    a.kind === "status"
      ? `${a.from ?? "-"} -> ${a.to}`
      : a.kind === "assigned"
        ? a.assignee === null
          ? "unassigned"
          : `assigned to ${a.assignee}`
        : `comment: ${a.body.replace(/\s+/g, " ")}`;
  return terminalLine(`  ${iso(a.atMs)}\t${a.by ?? "-"}\t${what}`);
}

/** "Showing 51–100 of 1,001 alert(s)." */
function showing(offset: number, shown: number, total: number): string {
  const n = (x: number) => x.toLocaleString("en-US");
  if (shown === 0) return `Showing 0 of ${n(total)} alert(s).`;
  return `Showing ${n(offset + 1)}–${n(offset + shown)} of ${n(total)} alert(s).`;
}

export function register(program: Command): void {
  const alerts = program.command("alerts").description("List and triage alerts.");

  alerts
    .command("list")
    .description("List alerts (newest first unless --sort), a page at a time, with how many match.")
    .option(
      "--status <status>",
      `only alerts with this status (${STATUSES.join(", ")}; UNRESOLVED: any of ${OPEN_ALERT_STATUSES.join(", ")})`,
    )
    .option("--severity <severity>", "only alerts of this severity")
    .option("--rule <id>", "only alerts of this rule")
    .option("--source <name|id>", "only alerts of this source (its name or id)")
    .option("--assignee <user>", "only alerts assigned to this console user")
    .option("--unassigned", "only alerts assigned to nobody")
    .option("--since <time>", "created from this time: a date, Unix seconds or a duration ago (24h, 7d)")
    .option("--until <time>", "created before this time")
    .option("--sort <order>", `${ALERT_SORTS.join(", ")}`, "newest")
    .option("--offset <n>", "skip this many alerts (the next page: --offset 100)", "0")
    .option("--limit <n>", "at most this many alerts", "100")
    .option("--history", "only alerts raised from history (a backfill)")
    .option("--live", "only alerts raised by live polling")
    .option("--json", "one alert per line, as JSON")
    .addHelpText("after", "\nExample:\n  vigil alerts list --status open --assignee alice --since 7d --sort severity\n")
    .action(async (options: AlertListOptions) => {
      const sort = ALERT_SORTS.find((s) => s === options.sort.toLowerCase());
      if (sort === undefined)
        throw new UsageError(`Unknown --sort "${options.sort}"; use one of ${ALERT_SORTS.join(", ")}.`);
      const offset = parsePositiveInt(options.offset, "--offset", 0);
      const query: AlertQuery = { limit: parsePositiveInt(options.limit, "--limit", 1, 10_000), offset, sort };
      if (options.status) query.status = parseStatusFilter(options.status);
      if (options.severity) query.severity = parseSeverityArg(options.severity);
      if (options.rule) query.ruleId = options.rule;
      if (options.history && options.live) throw new UsageError("Use either --history or --live, not both.");
      if (options.history || options.live) query.fromHistory = options.history === true;
      if (options.assignee && options.unassigned)
        throw new UsageError("Use either --assignee or --unassigned, not both.");
      if (options.assignee) query.assignee = options.assignee;
      if (options.unassigned) query.assignee = null;
      await withRuntime(async (runtime) => {
        const nowSecs = unixSeconds(runtime.clock);
        if (options.since) query.sinceMs = parseTimeArg(options.since, nowSecs, "--since") * 1000;
        if (options.until) query.untilMs = parseTimeArg(options.until, nowSecs, "--until") * 1000;
        if (options.source) query.sourceId = (await requireSource(runtime, options.source)).id;
        const [list, total] = await Promise.all([runtime.store.listAlerts(query), runtime.store.countAlerts(query)]);
        for (const a of list) process.stdout.write(options.json ? `${terminalJson(a)}\n` : `${alertLine(a)}\n`);
        if (!options.json) process.stderr.write(`${showing(offset, list.length, total)}\n`);
      });
    });

  alerts
    .command("show <id>")
    .description("Show an alert and the events it matched.")
    .option("--json", "the alert and its matches as one JSON object")
    .action(async (id: string, options: { json?: boolean }) => {
      await withRuntime(async (runtime) => {
        const alert = await runtime.store.getAlert(id);
        if (alert === null) throw new NotFoundError(`No alert with id ${id}.`);
        const matches = await runtime.store.getAlertMatches(id);
        const deliveries = await runtime.store.listDeliveries(id);
        const statusChanges = await runtime.store.listAlertStatusChanges(id);
        const activity = await runtime.store.listAlertActivity(id);
        if (options.json) {
          process.stdout.write(`${terminalJson({ alert, matches, deliveries, statusChanges, activity })}\n`);
          return;
        }
        const lines = [
          `${alert.title}`,
          `id:        ${alert.id}`,
          `rule:      ${alert.ruleId}${alert.isError ? " (rule error)" : ""}`,
          `severity:  ${alert.severity}`,
          `status:    ${alert.status}`,
          `assignee:  ${alert.assignee ?? "-"}`,
          `window:    ${iso(alert.windowStartSecs * 1000)} .. ${iso(alert.windowEndSecs * 1000)}`,
          `matches:   ${alert.matchCount}`,
          `dedup:     ${alert.dedupString}`,
        ];
        if (alert.description) lines.push(`about:     ${alert.description}`);
        if (alert.runbook) lines.push(`runbook:   ${alert.runbook}`);
        if (alert.alertContext) lines.push(`context:   ${JSON.stringify(alert.alertContext)}`);
        lines.push("", "events:");
        for (const { match, event } of matches) {
          const actor = event?.actorEmail ?? event?.actorId ?? "-";
          lines.push(
            `  ${iso(match.eventTimeSecs * 1000)}\t${event?.type ?? match.logType}\t${actor}\t${event?.ip ?? "-"}\t${match.eventId}`,
          );
        }
        lines.push("", "status changes:");
        for (const change of statusChanges) {
          lines.push(`  ${iso(change.atMs)}\t${change.from ?? "-"} -> ${change.to}\t${change.by ?? "-"}`);
        }
        lines.push("", "history:");
        for (const entry of activity) lines.push(activityLine(entry));
        lines.push("", "deliveries:");
        if (deliveries.length === 0) lines.push("  (none yet)");
        for (const d of deliveries) {
          const when = d.status === "sent" && d.deliveredAtMs !== null ? ` at ${iso(d.deliveredAtMs)}` : "";
          const next = d.status === "pending" ? ` next attempt ${iso(d.nextAttemptAtMs)}` : "";
          lines.push(`  ${d.kind}\t${d.destinationName}\t${d.status}${when}${next}\t${d.attempts} attempt(s)\t${d.id}`);
          for (const a of d.log) {
            const status = a.statusCode === null ? "" : ` HTTP ${a.statusCode}`;
            lines.push(
              `    #${a.attempt} ${iso(a.atMs)} ${a.outcome}${status} (${a.durationMs} ms)${a.error ? ` ${a.error}` : ""}`,
            );
          }
        }
        process.stdout.write(`${lines.map(terminalLine).join("\n")}\n`);
      });
    });

  // One id or many: many change in one transaction (all or none).
  const setStatus = async (ids: string[], status: AlertStatus): Promise<void> => {
    await withRuntime(async (runtime) => {
      const updated = await runtime.store.setAlertsStatus(ids, status, runtime.clock.nowMs(), cliActor());
      for (const a of updated) process.stdout.write(`${a.id}\t${a.status}\n`);
    });
  };

  alerts
    .command("ack <ids...>")
    .description("Acknowledge alerts (someone is on it); each change is recorded with who and when.")
    .action(async (ids: string[]) => setStatus(ids, "ACKNOWLEDGED"));

  alerts
    .command("resolve <ids...>")
    .description("Resolve alerts; destinations get a resolve notification (PagerDuty resolve).")
    .action(async (ids: string[]) => setStatus(ids, "RESOLVED"));

  alerts
    .command("reopen <ids...>")
    .description("Reopen alerts (back to OPEN).")
    .action(async (ids: string[]) => setStatus(ids, "OPEN"));

  alerts
    .command("status <id> <status>")
    .description(
      `Set an alert's status (${STATUSES.join(", ")}); the change is recorded. TRIAGED is the older word for ` +
        "ACKNOWLEDGED; CLOSED ends an alert as needing no action (a false positive). An open alert that ends " +
        "either way sends the resolve notification.",
    )
    .action(async (id: string, statusArg: string) => setStatus([id], parseStatus(statusArg)));

  const assign = async (id: string, user: string | null): Promise<void> => {
    await withRuntime(async (runtime) => {
      const updated = await runtime.store.assignAlert(id, user, runtime.clock.nowMs(), cliActor());
      process.stdout.write(`${updated.id}\t${updated.assignee ?? "-"}\n`);
    });
  };

  alerts
    .command("assign <id> <user>")
    .description("Assign an alert to a console user (by username); recorded in its history.")
    .action(async (id: string, user: string) => assign(id, user));

  alerts
    .command("unassign <id>")
    .description("Assign an alert to nobody; recorded in its history.")
    .action(async (id: string) => assign(id, null));

  alerts
    .command("comment <id> <text>")
    .description("Add a comment to an alert's history (quote the text).")
    .action(async (id: string, text: string) => {
      await withRuntime(async (runtime) => {
        const comment = await runtime.store.commentOnAlert(id, text, runtime.clock.nowMs(), cliActor());
        process.stdout.write(`${id}\tcomment added at ${iso(comment.atMs)}\n`);
      });
    });
}
