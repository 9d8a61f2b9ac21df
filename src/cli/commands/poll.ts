import type { Command } from "commander";
import { UsageError } from "../../core/errors.ts";
import { deliveryWorkerFor, pollAllOnce } from "../../pipeline/runtime.ts";
import { loadConfigDestinations } from "../../usecases/config-destinations.ts";
import { withRuntime } from "../context.ts";
import { warnIfFleetIsLive } from "../fleet-warning.ts";
import { withStopSignal } from "../stop-signal.ts";

export function register(program: Command): void {
  program
    .command("poll")
    .description("Poll sources now. With --once: one complete poll of each source, then exit (non-zero if one failed).")
    .option("--once", "poll once and exit (the only mode; `vigil start` polls continuously)")
    .option("--source <name>", "poll only this source")
    .addHelpText("after", "\nExample:\n  vigil poll --once --source 'My OpenAI Audit Logs'\n")
    .action(async (options: { once?: boolean; source?: string }) => {
      if (!options.once) throw new UsageError("Use `vigil poll --once`, or `vigil start` to poll continuously.");
      await withRuntime(async (runtime) => {
        await warnIfFleetIsLive(runtime, "poll");
        await loadConfigDestinations(runtime);
        const outcomes = await withStopSignal((signal) =>
          pollAllOnce(runtime, { signal, ...(options.source ? { sourceName: options.source } : {}) }),
        );
        if (outcomes.length === 0)
          process.stderr.write("No sources to poll; add one with `vigil sources add openai`.\n");
        let failed = 0;
        for (const o of outcomes) {
          if (o.error) {
            failed++;
            process.stderr.write(`${o.source.name}: failed: ${o.error}\n`);
            continue;
          }
          const streams = o.report?.streams ?? [];
          const inserted = streams.reduce((n, s) => n + s.inserted, 0);
          const read = streams.reduce((n, s) => n + s.eventsRead, 0);
          const quarantined = streams.reduce((n, s) => n + s.quarantined, 0);
          // A new source's history is read by its backfill, beside the poll: its events count too.
          const history = o.backfill ? `; backfill: ${o.backfill.eventsRead} read, ${o.backfill.inserted} new` : "";
          const backfill = `${history}${o.backfillJobs ? `, ${o.backfillJobs} backfill job(s) completed` : ""}`;
          process.stdout.write(
            `${o.source.name}: ${read} events read, ${inserted} new, ${quarantined} quarantined${backfill}.\n`,
          );
        }
        // Alerts this poll created (and earlier ones still due) are delivered before exiting.
        const delivered = await withStopSignal((signal) => deliveryWorkerFor(runtime).drain(signal));
        if (delivered.sent + delivered.retried + delivered.failed > 0) {
          process.stdout.write(
            `Alert deliveries: ${delivered.sent} sent, ${delivered.retried} to retry, ${delivered.failed} failed.\n`,
          );
        }
        if (failed > 0) process.exitCode = 1;
      });
    });
}
