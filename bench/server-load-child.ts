// The server of bench/server-load.ts in its own process (so its RSS and event loop are its own): opens the
// runtime on the given data dir, listens on a free port and prints {"url": ...}.
// node --import tsx bench/server-load-child.ts DATA_DIR

import { readEnv } from "../src/config/env.ts";
import { createLogger } from "../src/logging/logger.ts";
import { openRuntime } from "../src/pipeline/runtime.ts";
import { startServer } from "../src/server/server.ts";

const runtime = await openRuntime(readEnv({ VIGIL_DATA_DIR: process.argv[2]! }), createLogger({ level: "silent" }));
const server = await startServer(runtime, { host: "127.0.0.1", port: 0, consoleDir: null });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.once("SIGTERM", async () => {
  await server.close();
  await runtime.close();
  process.exit(0);
});
