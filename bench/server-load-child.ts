// The server of bench/server-load.ts in its own process (so its RSS and event loop are its own): opens the
// runtime on the given data dir, listens on a free port and prints {"url": ...}.
// On SIGTERM it writes its event loop's delay (perf_hooks, 10 ms resolution) to LOOP_FILE: how long the
// loop itself was held, apart from what the network and the other processes add to a request's time.
// node --import tsx bench/server-load-child.ts DATA_DIR LOOP_FILE

import { writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { readEnv } from "../src/config/env.ts";
import { createLogger } from "../src/logging/logger.ts";
import { openRuntime } from "../src/pipeline/runtime.ts";
import { startServer } from "../src/server/server.ts";

const runtime = await openRuntime(readEnv({ VIGIL_DATA_DIR: process.argv[2]! }), createLogger({ level: "silent" }));
const server = await startServer(runtime, { host: "127.0.0.1", port: 0, consoleDir: null });
const loop = monitorEventLoopDelay({ resolution: 10 });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.once("SIGUSR2", () => loop.enable());
process.once("SIGTERM", async () => {
  loop.disable();
  const ms = (ns: number) => ns / 1e6;
  writeFileSync(
    process.argv[3]!,
    JSON.stringify({ p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) }),
  );
  await server.close();
  await runtime.close();
  process.exit(0);
});
