import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { systemClock, unixSeconds } from "../../core/clock.ts";
import { UsageError } from "../../core/errors.ts";
import type { StreamName } from "../../core/source.ts";
import { type BackfillProgress, planSlices, runBackfillJob, sliceCountFor } from "../../pipeline/backfill.ts";
import { runCorrelations } from "../../pipeline/detection.ts";
import { requireSource, sourceClient } from "../../pipeline/runtime.ts";
import type { BackfillJob } from "../../storage/ports.ts";
import { withRuntime } from "../context.ts";
import { warnIfFleetIsLive } from "../fleet-warning.ts";
import { withStopSignal } from "../stop-signal.ts";
import { parsePositiveInt, parseTimeArg } from "../time-arg.ts";

interface BackfillOptions {
  source: string;
  since: string;
  until?: string;
  concurrency: string;
  tenant?: boolean;
}

function progressBar(): { update(p: BackfillProgress): void; stop(): void } {
  const started = Date.now();
  const bar = new SingleBar({
    format: "backfill |{bar}| {percentage}% | {events} events | {rate} ev/s | ETA {eta_formatted} | slices {slices}",
    stream: process.stderr,
    etaBuffer: 50,
    hideCursor: true,
  });
  let begun = false;
  return {
    update(p) {
      const seconds = Math.max(0.001, (Date.now() - started) / 1000);
      const payload = {
        events: p.eventsRead,
        rate: Math.round(p.eventsRead / seconds),
        slices: `${p.slicesDone}/${p.slicesTotal}`,
      };
      if (!begun) {
        bar.start(Math.max(1, p.secsTotal), p.secsDone, payload);
        begun = true;
      } else bar.update(p.secsDone, payload);
    },
    stop() {
      if (begun) bar.stop();
    },
  };
}

export function register(program: Command): void {
  program
    .command("backfill")
    .description("Fetch a source's history in parallel time slices; a killed backfill resumes where it stopped.")
    .requiredOption("--source <name>", "source name")
    .requiredOption("--since <time>", "start: a date, Unix seconds or a duration ago (e.g. 30d)")
    .option("--until <time>", "end (default: now)")
    .option("--concurrency <n>", "slices fetched in parallel", "4")
    .option("--tenant", "backfill the tenant-scoped events (tenant_only=true) instead")
    .addHelpText("after", "\nExample:\n  vigil backfill --source 'My OpenAI Audit Logs' --since 90d --concurrency 4\n")
    .action(async (options: BackfillOptions) => {
      const concurrency = parsePositiveInt(options.concurrency, "--concurrency", 1, 32);
      await withRuntime(async (runtime) => {
        const source = await requireSource(runtime, options.source);
        const now = unixSeconds(systemClock);
        const since = parseTimeArg(options.since, now, "--since");
        const until = options.until ? parseTimeArg(options.until, now, "--until") : now;
        if (since >= until) throw new UsageError("--since must be before --until.");
        await warnIfFleetIsLive(runtime, "backfill");
        const stream: StreamName = options.tenant ? "tenant" : "main";
        // A killed backfill resumes: an unfinished job of this source and stream is picked up, not duplicated.
        const pending = (await runtime.store.listBackfillJobs({ sourceId: source.id, pendingOnly: true })).filter(
          (j) => j.stream === stream,
        );
        let job: BackfillJob;
        if (pending[0]) {
          job = pending[0];
          process.stderr.write(
            `Resuming backfill job ${job.id} (${new Date(job.sinceSecs * 1000).toISOString()} to ${new Date(job.untilSecs * 1000).toISOString()}).\n`,
          );
        } else {
          job = await runtime.store.createBackfillJob(
            { sourceId: source.id, stream, sinceSecs: since, untilSecs: until },
            planSlices(since, until, sliceCountFor(since, until, concurrency)),
          );
        }
        const reader = await sourceClient(runtime, source);
        const detection = await runtime.detection();
        const { detector } = detection;
        const bar = progressBar();
        try {
          const result = await withStopSignal((signal) =>
            runBackfillJob(
              {
                store: runtime.store,
                reader,
                source,
                clock: runtime.clock,
                concurrency,
                onProgress: (p) => bar.update(p),
                normalizer: runtime.normalizer,
                detector,
              },
              job,
              signal,
            ),
          );
          bar.stop();
          // The history's matches correlate now (on event time) rather than at the next poll; a kill before this
          // leaves them pending for that poll or the next backfill run.
          const correlation = await runCorrelations(runtime.store, source, unixSeconds(runtime.clock), detection);
          process.stdout.write(
            `Backfill job ${job.id} done: ${result.eventsRead} events read, ${result.inserted} new` +
              `${correlation.createdAlertIds.length > 0 ? `, ${correlation.createdAlertIds.length} correlation alert(s)` : ""}.\n`,
          );
        } catch (err) {
          bar.stop();
          throw err;
        }
      });
    });
}
