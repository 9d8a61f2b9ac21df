// `vigil alerts …`: list alerts, show one with its matched events, and change an alert's status.
//
//   vigil alerts list [--json] [--status OPEN] [--severity HIGH] [--rule ID] [--source NAME|ID] [--limit N]
//   vigil alerts show ID [--json]
//   vigil alerts ack ID | vigil alerts resolve ID
//   vigil alerts status ID ACKNOWLEDGED
//
// Every change is recorded with who made it (`cli:<os user>`) and when; `show` prints the history.

import { userInfo } from "node:os";
import type { Command } from "commander";
import type { AlertRecord } from "../../core/alert.ts";
import { ALERT_STATUSES, type AlertStatus, isSeverity, SEVERITIES } from "../../core/detection.ts";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import { requireSource } from "../../pipeline/runtime.ts";
import type { AlertQuery } from "../../storage/ports.ts";
import { withRuntime } from "../context.ts";
import { parsePositiveInt } from "../time-arg.ts";

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

export function parseSeverityArg(value: string): AlertQuery["severity"] {
  const upper = value.toUpperCase();
  if (!isSeverity(upper)) throw new UsageError(`Unknown severity "${value}"; use one of ${SEVERITIES.join(", ")}.`);
  return upper;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** One tab-separated line per alert: created, severity, status, matches, rule, title, id. */
export function alertLine(a: AlertRecord): string {
  const status = a.fromHistory ? `${a.status} (history)` : a.status;
  return [iso(a.createdAtMs), a.severity, status, String(a.matchCount), a.ruleId, a.title, a.id].join("\t");
}

interface AlertListOptions {
  status?: string;
  severity?: string;
  rule?: string;
  source?: string;
  limit: string;
  history?: boolean;
  live?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  const alerts = program.command("alerts").description("List and triage alerts.");

  alerts
    .command("list")
    .description("List alerts, newest first.")
    .option("--status <status>", `only alerts with this status (${STATUSES.join(", ")})`)
    .option("--severity <severity>", "only alerts of this severity")
    .option("--rule <id>", "only alerts of this rule")
    .option("--source <name|id>", "only alerts of this source (its name or id)")
    .option("--limit <n>", "at most this many alerts", "100")
    .option("--history", "only alerts raised from history (a backfill)")
    .option("--live", "only alerts raised by live polling")
    .option("--json", "one alert per line, as JSON")
    .action(async (options: AlertListOptions) => {
      const query: AlertQuery = { limit: parsePositiveInt(options.limit, "--limit", 1, 10_000) };
      if (options.status) query.status = parseStatus(options.status);
      if (options.severity) query.severity = parseSeverityArg(options.severity);
      if (options.rule) query.ruleId = options.rule;
      if (options.history && options.live) throw new UsageError("Use either --history or --live, not both.");
      if (options.history || options.live) query.fromHistory = options.history === true;
      await withRuntime(async (runtime) => {
        if (options.source !== undefined) query.sourceId = (await requireSource(runtime, options.source)).id;
        const list = await runtime.store.listAlerts(query);
        for (const a of list) process.stdout.write(options.json ? `${JSON.stringify(a)}\n` : `${alertLine(a)}\n`);
        if (!options.json) process.stderr.write(`${list.length} alert(s).\n`);
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
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ alert, matches, deliveries, statusChanges })}\n`);
          return;
        }
        const lines = [
          `${alert.title}`,
          `id:        ${alert.id}`,
          `rule:      ${alert.ruleId}${alert.isError ? " (rule error)" : ""}`,
          `severity:  ${alert.severity}`,
          `status:    ${alert.status}`,
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
        process.stdout.write(`${lines.join("\n")}\n`);
      });
    });

  const setStatus = async (id: string, status: AlertStatus): Promise<void> => {
    await withRuntime(async (runtime) => {
      const updated = await runtime.store.setAlertStatus(id, status, runtime.clock.nowMs(), cliActor());
      process.stdout.write(`${updated.id}\t${updated.status}\n`);
    });
  };

  alerts
    .command("ack <id>")
    .description("Acknowledge an alert (someone is on it); the change is recorded with who and when.")
    .action(async (id: string) => setStatus(id, "ACKNOWLEDGED"));

  alerts
    .command("resolve <id>")
    .description("Resolve an alert; destinations get a resolve notification (PagerDuty resolve).")
    .action(async (id: string) => setStatus(id, "RESOLVED"));

  alerts
    .command("status <id> <status>")
    .description(
      `Set an alert's status (${STATUSES.join(", ")}); the change is recorded. TRIAGED is the older word for ` +
        "ACKNOWLEDGED; CLOSED ends an alert without a resolve notification.",
    )
    .action(async (id: string, statusArg: string) => setStatus(id, parseStatus(statusArg)));
}
