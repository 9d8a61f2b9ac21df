// Child process of delivery-crash.test.ts: runs the delivery worker on a data dir until it is killed.
// Short leases and timeouts make a killed worker's deliveries claimable again quickly.

import { join } from "node:path";
import { systemClock } from "../src/core/clock.ts";
import { OPEN_POLICY } from "../src/core/outbound.ts";
import { createLogger } from "../src/logging/logger.ts";
import { DeliveryWorker } from "../src/pipeline/delivery-worker.ts";
import { openSecretBox } from "../src/secrets/secret-box.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";

const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: delivery-crash-child.ts DATA_DIR");
const store = await openSqliteStore({ path: join(dataDir, "vigil.db") });
const worker = new DeliveryWorker({
  store,
  secrets: openSecretBox({ dataDir }),
  logger: createLogger({ level: "silent" }),
  clock: systemClock,
  publicUrl: null,
  outbound: OPEN_POLICY,
  sendTimeoutMs: 2_000,
  leaseMs: 1_500,
  baseDelayMs: 50,
  minDelayMs: 50,
  batchSize: 4,
});
process.stdout.write("ready\n");
await worker.run(new AbortController().signal, 20);
