// Runs the simulator in its own process for benchmarks, so its memory does not count against the
// process being measured. Prints one JSON line {baseUrl, adminKey, events} once it listens.

import { startSimulator } from "../src/simulator/index.ts";

const [days, perDay, pageDelayMs, endSecs] = process.argv.slice(2).map(Number);
const sim = await startSimulator({
  seed: 99,
  history: { days: days ?? 90, eventsPerDay: perDay ?? 2300, endSecs: endSecs ?? Math.floor(Date.now() / 1000) },
  tenantShare: 0,
  pageDelayMs: pageDelayMs ?? 0,
});
process.stdout.write(
  `${JSON.stringify({ baseUrl: sim.baseUrl, adminKey: sim.adminKey, events: sim.org.allEvents().length })}\n`,
);
process.on("SIGTERM", () => void sim.close().then(() => process.exit(0)));
