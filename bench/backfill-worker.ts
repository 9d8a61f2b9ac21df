// One backfill run in its own process (so peak RSS is this run's alone), into a fresh SQLite file or, given a
// connection string, a fresh PostgreSQL schema. Prints {seconds, eventsRead, inserted, peakRssMb}.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../src/core/clock.ts";
import { planSlices, runBackfillJob, sliceCountFor } from "../src/pipeline/backfill.ts";
import { loadOpenAIAuditLogType } from "../src/schema/index.ts";
import { OpenAIAuditLogClient } from "../src/sources/openai/client.ts";
import type { Store } from "../src/storage/ports.ts";
import { openPostgresStore } from "../src/storage/postgres/postgres-store.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import { sourceSettings } from "../test/helpers.ts";

const [baseUrl, adminKey, sinceArg, untilArg, concurrencyArg, connectionString] = process.argv.slice(2);
const since = Number(sinceArg);
const until = Number(untilArg);
const concurrency = Number(concurrencyArg);
const dir = mkdtempSync(join(tmpdir(), "vigil-bench-backfill-"));
const store: Store = connectionString
  ? await openPostgresStore({ connectionString, schema: `backfill_c${concurrency}` })
  : await openSqliteStore({ path: join(dir, "vigil.db") });
try {
  const source = await store.createSource(sourceSettings({ name: "bench" }), { ciphertext: "unused" });
  const job = await store.createBackfillJob(
    { sourceId: source.id, stream: "main", sinceSecs: since, untilSecs: until },
    planSlices(since, until, sliceCountFor(since, until, Math.max(4, concurrency))),
  );
  const reader = new OpenAIAuditLogClient({ baseUrl: baseUrl!, apiKey: adminKey! });
  const started = performance.now();
  const progress = await runBackfillJob(
    { store, reader, source, clock: systemClock, concurrency, normalizer: loadOpenAIAuditLogType() },
    job,
  );
  const seconds = (performance.now() - started) / 1000;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    `${JSON.stringify({ seconds, eventsRead: progress.eventsRead, inserted: progress.inserted, peakRssMb })}\n`,
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
