// Search: the console's typical event queries through `store.searchEvents` on a SQLite store of (by default)
// 1,000,000 events. Rows come from a pool of simulated events (normalized through the page-records path),
// repeated with fresh ids and spread over 90 days, and are written by `applyPage` in batches of 1000.
// Run alone: node --import tsx bench/search.ts [events] [sqlite|postgres]   (or `npm run bench -- --only search`)
// `postgres` runs the same queries on a throwaway PostgreSQL cluster (test/pg-cluster.ts).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EventRow } from "../src/core/event.ts";
import { pageRecords } from "../src/pipeline/page-records.ts";
import { loadOpenAIAuditLogType } from "../src/schema/index.ts";
import { createSimulatedOrg } from "../src/simulator/index.ts";
import type { EventQuery, Store } from "../src/storage/ports.ts";
import { openPostgresStore } from "../src/storage/postgres/postgres-store.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import { sourceSettings } from "../test/helpers.ts";
import { startPgCluster } from "../test/pg-cluster.ts";

export interface SearchTiming {
  name: string;
  /** Median of the runs, milliseconds. */
  medianMs: number;
  maxMs: number;
  results: number;
}

export interface SearchFigures {
  store: StoreKind;
  events: number;
  fillSecs: number;
  /** Indexing what the fill left queued for the text index (it runs in the background during the fill). */
  indexSecs: number;
  timings: SearchTiming[];
}

const BATCH = 1000;
const RUNS = 5;
const DAYS = 90;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function mostCommon(values: (string | null)[]): string {
  const counts = new Map<string, number>();
  for (const v of values) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = "";
  let n = -1;
  for (const [k, c] of counts) {
    if (c > n) {
      best = k;
      n = c;
    }
  }
  return best;
}

export type StoreKind = "sqlite" | "postgres";

async function openStore(kind: StoreKind, dir: string): Promise<{ store: Store; stop: () => Promise<void> }> {
  if (kind === "sqlite") {
    const store = await openSqliteStore({ path: join(dir, "search.db") });
    return { store, stop: () => store.close() };
  }
  const cluster = await startPgCluster();
  const store = await openPostgresStore({ connectionString: cluster.connectionString, schema: "bench" });
  return {
    store,
    stop: async () => {
      await store.close();
      await cluster.stop();
    },
  };
}

export async function benchSearch(totalEvents = 1_000_000, kind: StoreKind = "sqlite"): Promise<SearchFigures> {
  const endSecs = 1_795_000_000;
  const org = createSimulatedOrg({ seed: 17, history: { days: 10, eventsPerDay: 2000, endSecs } });
  const pool = pageRecords(org.allEvents(), {
    sourceId: "bench",
    sourceLabel: "bench",
    parseTimeMs: 0,
    normalizer: loadOpenAIAuditLogType(),
  }).events;
  if (pool.length === 0) throw new Error("the simulator produced no events");

  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-search-"));
  const { store, stop } = await openStore(kind, dir);
  try {
    const source = await store.createSource(sourceSettings({ name: "bench" }), { ciphertext: "unused" });
    const startSecs = endSecs - DAYS * 86_400;
    const step = (DAYS * 86_400) / totalEvents;
    const t0 = performance.now();
    for (let start = 0; start < totalEvents; start += BATCH) {
      const rows: EventRow[] = [];
      for (let i = start; i < Math.min(start + BATCH, totalEvents); i++) {
        const base = pool[i % pool.length]!;
        const id = `audit_log-bench-${i}`;
        rows.push({
          ...base,
          id,
          raw: base.raw.replace(base.id, id),
          effectiveAtSecs: Math.floor(startSecs + i * step),
        });
      }
      await store.applyPage({ sourceId: source.id, events: rows, quarantined: [], unknownTypes: [] });
    }
    const fillSecs = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await store.indexPendingText();
    const indexSecs = (performance.now() - t1) / 1000;

    const email = mostCommon(pool.map((r) => r.actorEmail));
    const ip = mostCommon(pool.map((r) => r.ip));
    const project = mostCommon(pool.map((r) => r.projectId));
    const rareType = [...new Set(pool.map((r) => r.type))].sort(
      (a, b) => pool.filter((r) => r.type === a).length - pool.filter((r) => r.type === b).length,
    )[0]!;
    const dayAgo = endSecs - 86_400;
    const queries: [string, EventQuery][] = [
      ["newest 100", {}],
      ["newest 100 of one source", { sourceId: source.id }],
      ["by type (login.succeeded)", { types: ["login.succeeded"] }],
      [`by rare type (${rareType})`, { types: [rareType] }],
      ["by actor email", { actorEmail: email }],
      ["by IP", { ip }],
      ["by project", { projectId: project }],
      ["time range (one day, 30 days ago)", { sinceSecs: endSecs - 30 * 86_400, untilSecs: endSecs - 29 * 86_400 }],
      ["time range + type (last day)", { sinceSecs: dayAgo, types: ["login.succeeded"] }],
      ["free text (common: an email)", { text: email }],
      ["free text (rare: one event id)", { text: `audit_log-bench-${Math.floor(totalEvents / 2)}` }],
      ["free text (absent)", { text: "no-such-string-anywhere" }],
      // Under three characters the index's vocabulary names the trigrams that begin with the text (SQLite's
      // migration 29), or PostgreSQL's pairs of neighbouring characters say no value holds it (its migration
      // 35); before, an absent short text read every record.
      ["free text (2 characters, absent)", { text: "~^" }],
      ["free text (1 character, absent)", { text: "~" }],
      ["free text (2 characters, common)", { text: "ac" }],
      ["free text (1 character, common)", { text: "e" }],
      ["free text + last day", { text: "api_key", sinceSecs: dayAgo }],
    ];
    const timings: SearchTiming[] = [];
    for (const [name, query] of queries) {
      const times: number[] = [];
      let results = 0;
      for (let r = 0; r < RUNS; r++) {
        const t = performance.now();
        results = (await store.searchEvents({ limit: 100, ...query })).length;
        times.push(performance.now() - t);
      }
      timings.push({ name, medianMs: median(times), maxMs: Math.max(...times), results });
    }
    // The search page also draws the histogram of every match (one row per day and type): it reads all of
    // them, so a common text is slow whatever the plan; these show how slow, and that a short text's histogram
    // is not slower than reading the rows.
    const histograms: [string, EventQuery][] = [
      ["histogram: free text (common: an email)", { text: email }],
      ["histogram: free text (2 characters, absent)", { text: "~^" }],
      ["histogram: free text (1 character, common)", { text: "e" }],
    ];
    for (const [name, query] of histograms) {
      const times: number[] = [];
      let results = 0;
      for (let r = 0; r < RUNS; r++) {
        const t = performance.now();
        results = (await store.searchHistogram(query, 86_400)).length;
        times.push(performance.now() - t);
      }
      timings.push({ name, medianMs: median(times), maxMs: Math.max(...times), results });
    }
    return { store: kind, events: totalEvents, fillSecs, indexSecs, timings };
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatSearchFigures(f: SearchFigures): string {
  const lines = [
    `${f.store} | events ${f.events.toLocaleString("en-US")} | fill ${f.fillSecs.toFixed(1)} s (applyPage, 1000 per page) | text index caught up ${f.indexSecs.toFixed(1)} s after`,
  ];
  for (const t of f.timings) {
    const flag = t.medianMs > 200 ? "  ← over 200 ms" : "";
    lines.push(
      `  ${t.name.padEnd(42)} median ${t.medianMs.toFixed(1).padStart(8)} ms | max ${t.maxMs.toFixed(1).padStart(8)} ms | ${t.results.toLocaleString("en-US")} rows${flag}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 1_000_000);
  const kind = process.argv[3] === "postgres" ? "postgres" : "sqlite";
  process.stdout.write(formatSearchFigures(await benchSearch(n, kind)));
}
