// `vigil workers [--json]`: the `vigil start` processes sharing this database (a fleet, docs/deploy.md), whether
// each is live, stopped or dead, its last heartbeat and what it holds. Read from the store, so it works from any
// machine that reaches the database. The view is usecases/workers.ts's, as in the API and /metrics.

import type { Command } from "commander";
import { describeFleet, type WorkerView } from "../../usecases/workers.ts";
import { printJsonLine, withRuntime } from "../context.ts";

function age(ms: number): string {
  const secs = Math.round(ms / 1000);
  if (secs < 120) return `${secs} s`;
  if (secs < 7200) return `${Math.round(secs / 60)} min`;
  return `${Math.round(secs / 3600)} h`;
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? "" : "s"}`;
}

function workerLine(w: WorkerView): string {
  const held = [
    plural(w.sources.length, "source"),
    plural(w.backfillSlices, "backfill slice"),
    plural(w.clusterJobs, "cluster job"),
    ...(w.otherLeases > 0 ? [plural(w.otherLeases, "other lease")] : []),
  ].join(", ");
  const sources = w.sources.length > 0 ? `\n  sources: ${w.sources.map((s) => s.name).join(", ")}` : "";
  return `${w.id}\t${w.host}\tpid ${w.pid}\t${w.state}\theartbeat ${age(w.heartbeatAgeMs)} ago\t${held}\trebalances ${w.rebalances}${sources}\n`;
}

export function register(program: Command): void {
  program
    .command("workers")
    .description(
      "List the Vigil workers sharing this database (live, stopped or dead), their heartbeats and the sources each polls.",
    )
    .option("--json", "one JSON object per line, one line per worker")
    .action(async (options: { json?: boolean }) => {
      await withRuntime(async (runtime) => {
        const fleet = await describeFleet(runtime);
        if (options.json) {
          // stdout stays JSON lines only; what a person should know goes to stderr.
          if (fleet.note) process.stderr.write(`${fleet.note}\n`);
          for (const w of fleet.workers) printJsonLine(w);
          return;
        }
        const out: string[] = [];
        if (fleet.note) out.push(`${fleet.note}\n`);
        const live = fleet.workers.filter((w) => w.state === "live").length;
        // On SQLite no process registers (the note says why): "no worker" would read as if Vigil were not running.
        if (fleet.workers.length > 0 || fleet.database === "postgresql") {
          out.push(
            fleet.workers.length === 0
              ? "No worker has registered in the last day.\n"
              : `${plural(fleet.workers.length, "worker")} seen in the last day, ${live} live.\n`,
          );
        }
        out.push(...fleet.workers.map(workerLine));
        if (fleet.unassignedSources.length > 0) {
          out.push(`Not held by any live worker: ${fleet.unassignedSources.join(", ")}\n`);
        }
        process.stdout.write(out.join(""));
      });
    });
}
