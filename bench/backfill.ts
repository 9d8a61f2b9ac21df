// Backfill of a 90-day history with 100 ms added per page: 4 slices in parallel vs one at a time.
// Each run is its own process, so its peak RSS is its own.

import { benchScript, runTs, withSimulator } from "./child.ts";

export interface BackfillFigures {
  events: number;
  sequentialSecs: number;
  parallelSecs: number;
  speedup: number;
  parallelPeakRssMb: number;
  sequentialPeakRssMb: number;
}

interface RunResult {
  seconds: number;
  eventsRead: number;
  inserted: number;
  peakRssMb: number;
}

export async function benchBackfill(totalEvents = 200_000, pageDelayMs = 100): Promise<BackfillFigures> {
  const now = Math.floor(Date.now() / 1000);
  const days = 90;
  return withSimulator({ days, perDay: Math.ceil(totalEvents / days), pageDelayMs, endSecs: now }, async (sim) => {
    const args = (concurrency: number) => [
      sim.baseUrl,
      sim.adminKey,
      String(now - days * 86_400 - 1),
      String(now + 1),
      String(concurrency),
    ];
    const parallel = await runTs<RunResult>(benchScript("./backfill-worker.ts"), args(4));
    const sequential = await runTs<RunResult>(benchScript("./backfill-worker.ts"), args(1));
    return {
      events: parallel.inserted,
      sequentialSecs: sequential.seconds,
      parallelSecs: parallel.seconds,
      speedup: sequential.seconds / parallel.seconds,
      parallelPeakRssMb: parallel.peakRssMb,
      sequentialPeakRssMb: sequential.peakRssMb,
    };
  });
}
