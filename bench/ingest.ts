// Ingest: simulated events through the whole poll path (HTTP page → validate → normalize → detect → one
// transaction per page) against the same events inserted raw (pre-built rows, the same store, the same page size).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../src/core/clock.ts";
import type { EventRow } from "../src/core/event.ts";
import { silentLogger } from "../src/logging/logger.ts";
import { openDetection } from "../src/pipeline/detection.ts";
import { pageRecords } from "../src/pipeline/page-records.ts";
import { SourcePoller } from "../src/pipeline/poller.ts";
import { loadOpenAIAuditLogType } from "../src/schema/index.ts";
import { OpenAIAuditLogClient } from "../src/sources/openai/client.ts";
import type { Store } from "../src/storage/ports.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import { sourceSettings } from "../test/helpers.ts";
import { withSimulator } from "./child.ts";

const normalizer = loadOpenAIAuditLogType();

export interface IngestFigures {
  events: number;
  /** Poll → normalize → store. */
  pollEventsPerSec: number;
  /** The same with the built-in detection packs run on every page and their matches applied. */
  detectEventsPerSec: number;
  rawEventsPerSec: number;
  ratio: number;
  detectRatio: number;
}

async function freshStore(dir: string, name: string): Promise<Store> {
  return openSqliteStore({ path: join(dir, `${name}.db`) });
}

export async function benchIngest(totalEvents = 200_000): Promise<IngestFigures> {
  const now = Math.floor(Date.now() / 1000);
  const days = 10;
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-ingest-"));
  try {
    return await withSimulator(
      { days, perDay: Math.ceil(totalEvents / days), pageDelayMs: 0, endSecs: now },
      async (sim) => {
        const client = new OpenAIAuditLogClient({ baseUrl: sim.baseUrl, apiKey: sim.adminKey });

        // Poll → store: one window over the whole history, as a source catching up would read it; once
        // with normalization only (the ingest path) and once with the built-in detection packs as well.
        const pollOnce = async (name: string, withDetection: boolean): Promise<{ events: number; secs: number }> => {
          const store = await freshStore(dir, name);
          const source = await store.createSource(
            sourceSettings({ name: "bench", overlapSecs: 0, sweepWindowSecs: 0 }),
            { ciphertext: "unused" },
          );
          await store.createBackfillJob(
            {
              sourceId: source.id,
              stream: "main",
              sinceSecs: 0,
              untilSecs: 1,
              initialCheckpointSecs: now - days * 86_400 - 1,
            },
            [],
          );
          const detection = withDetection
            ? await openDetection({ store, rulesDirs: [], nowSecs: () => Math.floor(Date.now() / 1000) })
            : undefined;
          const poller = new SourcePoller({
            store,
            reader: client,
            source,
            clock: systemClock,
            logger: silentLogger,
            normalizer,
            ...(detection ? { detector: detection.detector } : {}),
          });
          const t0 = performance.now();
          const report = await poller.pollOnce();
          const secs = (performance.now() - t0) / 1000;
          await detection?.close();
          await store.close();
          return { events: report.streams[0]!.inserted, secs };
        };
        const ingest = await pollOnce("poll", false);
        const detect = await pollOnce("poll-detect", true);
        const events = ingest.events;

        // Raw: the same events, rows built beforehand, inserted page by page into a fresh store.
        const pages: EventRow[][] = [];
        for await (const page of client.pages({
          effective_at: { gte: now - days * 86_400 - 1, lte: now },
          limit: 100,
        })) {
          pages.push(pageRecords(page.data, { sourceId: "x", sourceLabel: "x", parseTimeMs: 0, normalizer }).events);
        }
        const rawStore = await freshStore(dir, "raw");
        const rawSource = await rawStore.createSource(sourceSettings({ name: "bench" }), { ciphertext: "unused" });
        const t1 = performance.now();
        for (const rows of pages)
          await rawStore.applyPage({ sourceId: rawSource.id, events: rows, quarantined: [], unknownTypes: [] });
        const rawSecs = (performance.now() - t1) / 1000;
        await rawStore.close();

        const pollEventsPerSec = events / ingest.secs;
        const detectEventsPerSec = detect.events / detect.secs;
        const rawEventsPerSec = events / rawSecs;
        return {
          events,
          pollEventsPerSec,
          detectEventsPerSec,
          rawEventsPerSec,
          ratio: pollEventsPerSec / rawEventsPerSec,
          detectRatio: detectEventsPerSec / rawEventsPerSec,
        };
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
