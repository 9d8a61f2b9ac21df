// Backfill of a 90-day history with 100 ms added per page: 4 slices in parallel vs one at a time, on SQLite or
// PostgreSQL (a throwaway cluster). Each run is its own process, so its peak RSS is its own (the database
// server's is not counted).

import { type PgCluster, startPgCluster } from "../test/pg-cluster.ts";
import { benchScript, runTs, withSimulator } from "./child.ts";

export interface BackfillFigures {
  engine: "sqlite" | "postgres";
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

export async function benchBackfill(
  totalEvents = 200_000,
  pageDelayMs = 100,
  engine: "sqlite" | "postgres" = "sqlite",
): Promise<BackfillFigures> {
  const now = Math.floor(Date.now() / 1000);
  const days = 90;
  const cluster: PgCluster | null = engine === "postgres" ? await startPgCluster() : null;
  try {
    return await runBoth(cluster, engine, totalEvents, pageDelayMs, now, days);
  } finally {
    await cluster?.stop();
  }
}

async function runBoth(
  cluster: PgCluster | null,
  engine: "sqlite" | "postgres",
  totalEvents: number,
  pageDelayMs: number,
  now: number,
  days: number,
): Promise<BackfillFigures> {
  return withSimulator({ days, perDay: Math.ceil(totalEvents / days), pageDelayMs, endSecs: now }, async (sim) => {
    const args = (concurrency: number) => [
      sim.baseUrl,
      sim.adminKey,
      String(now - days * 86_400 - 1),
      String(now + 1),
      String(concurrency),
      ...(cluster ? [cluster.connectionString] : []),
    ];
    const parallel = await runTs<RunResult>(benchScript("./backfill-worker.ts"), args(4));
    const sequential = await runTs<RunResult>(benchScript("./backfill-worker.ts"), args(1));
    return {
      engine,
      events: parallel.inserted,
      sequentialSecs: sequential.seconds,
      parallelSecs: parallel.seconds,
      speedup: sequential.seconds / parallel.seconds,
      parallelPeakRssMb: parallel.peakRssMb,
      sequentialPeakRssMb: sequential.peakRssMb,
    };
  });
}
