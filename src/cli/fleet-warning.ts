// `vigil poll --once` and `vigil backfill` take no lease (src/fleet/): run on a PostgreSQL database that live
// `vigil start` workers share, they read the API beside the worker that holds each source or backfill slice.
// The data stays right (events are inserted by id, once), but the customer's rate limit pays for every request
// twice, so the operator is told before the run, on stderr (stdout keeps the command's own output).

import type { WorkerRecord } from "../core/fleet.ts";
import type { Runtime } from "../pipeline/runtime.ts";

/** What the run repeats, per command. */
const DUPLICATED: Record<"poll" | "backfill", string> = {
  poll: "This `vigil poll --once` is not leased: it polls beside them, so the worker that holds each source makes the same API requests again.",
  backfill:
    "This `vigil backfill` is not leased: the live workers also take this job's slices by lease, and this run reads every slice without one, so the same history is requested twice.",
};

export function fleetWarning(command: "poll" | "backfill", live: WorkerRecord[]): string | null {
  if (live.length === 0) return null;
  const names = live.map((w) => `${w.id} on ${w.host}`).join(", ");
  const count = live.length === 1 ? "1 live worker shares" : `${live.length} live workers share`;
  return (
    `Warning: ${count} this database (${names}). ${DUPLICATED[command]} ` +
    "Events are still stored once. `vigil start` already polls every source and runs pending backfills; " +
    "stop the workers first if this run must be the only reader.\n"
  );
}

/** Writes the warning to stderr when the store is PostgreSQL and `vigil start` workers are live on it. */
export async function warnIfFleetIsLive(
  runtime: Pick<Runtime, "env" | "store">,
  command: "poll" | "backfill",
): Promise<void> {
  // On SQLite no worker registers (fleet/coordinator.ts fleetFor): nothing to warn about.
  if (runtime.env.databaseUrl === undefined) return;
  const live = (await runtime.store.listWorkers()).filter((w) => w.live);
  const warning = fleetWarning(command, live);
  if (warning) process.stderr.write(warning);
}
