// `npm run bench`: prints figures and ratios against baselines measured in the same run.
// Options: --quick (smaller data sets, for a smoke run), --only NAME (normalize | rules | ingest | backfill | signal |
// rereads | posture | search | server | fleet). search and server fill a store of 1,000,000 events first (minutes),
// and fleet runs worker processes for several poll intervals (about 10 minutes; --quick about 2), so they run only
// when asked for by name.

import { benchTsRules } from "../src/detections/bench.ts";
import { benchPythonRules } from "../src/detections/python/bench.ts";
import { benchNormalize } from "../src/schema/bench.ts";
import { createSimulatedOrg } from "../src/simulator/index.ts";
import { benchBackfill } from "./backfill.ts";
import { benchFleet, formatFleetFigures } from "./fleet.ts";
import { benchIngest, formatIngestFigures } from "./ingest.ts";
import { benchPosture } from "./posture.ts";
import { REREAD_SETTINGS, requestsPerDay } from "./rereads.ts";
import { benchSearch, formatSearchFigures } from "./search.ts";
import { benchServerLoad, formatServerLoadFigures } from "./server-load.ts";
import { benchSignal } from "./signal.ts";

const quick = process.argv.includes("--quick");
const onlyIndex = process.argv.indexOf("--only");
const only = onlyIndex > 0 ? process.argv[onlyIndex + 1] : undefined;
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

function section(title: string): void {
  process.stdout.write(`\n== ${title}\n`);
}

if (!only || only === "normalize") {
  section("Normalize: JSON.parse + normalize to OpenAI.Audit vs JSON.parse alone, one core (target ≥ 25%)");
  const org = createSimulatedOrg({ seed: 7, history: { days: 3, eventsPerDay: 3000, endSecs: 1_795_000_000 } });
  const lines = org.allEvents().map((e) => JSON.stringify(e));
  const r = benchNormalize(lines);
  const avgBytes = lines.reduce((n, l) => n + l.length, 0) / lines.length;
  process.stdout.write(
    `records ${fmt(lines.length)} (avg ${fmt(avgBytes)} bytes) | normalize ${fmt(r.normalizePerSec)} rec/s | JSON.parse ${fmt(r.jsonParsePerSec)} rec/s | ratio ${fmt(r.ratio * 100, 1)}%\n`,
  );
}

if (!only || only === "rules") {
  section("Rules: 10 rules, evaluations per second (targets: TypeScript ≥ 1,000,000/s on one core, Python ≥ 50,000/s)");
  const ts = benchTsRules();
  const py1 = await benchPythonRules({ size: 1 });
  const py2 = await benchPythonRules({ size: 2 });
  process.stdout.write(
    `TypeScript ${fmt(ts.evalsPerSec)}/s (one core) | Python ${fmt(py1.evalsPerSec)}/s (one worker) | Python ${fmt(py2.evalsPerSec)}/s (two workers) | TS/Python ${fmt(ts.evalsPerSec / py1.evalsPerSec, 1)}×\n`,
  );
}

if (!only || only === "ingest") {
  section(
    "Ingest: a new source's backfill end to end vs the engine alone writing the same rows (targets: ≥ 30% of bare, storage ≤ 3× the raw record)",
  );
  const n = quick ? 20_000 : 100_000;
  process.stdout.write(`${formatIngestFigures(await benchIngest(n, "sqlite"))}\n`);
  process.stdout.write(`${formatIngestFigures(await benchIngest(n, "postgres"))}\n`);
}

if (!only || only === "backfill") {
  section("Backfill: 90 days, +100 ms per page, concurrency 4 vs 1 (target ≥ 3×, peak RSS < 300 MB)");
  for (const engine of ["sqlite", "postgres"] as const) {
    const r = await benchBackfill(quick ? 20_000 : 200_000, 100, engine);
    process.stdout.write(
      `${r.engine} | events ${fmt(r.events)} | sequential ${fmt(r.sequentialSecs, 1)} s | parallel ${fmt(r.parallelSecs, 1)} s | speedup ${fmt(r.speedup, 2)}× | peak RSS parallel ${fmt(r.parallelPeakRssMb)} MB, sequential ${fmt(r.sequentialPeakRssMb)} MB\n`,
    );
  }
}

if (!only || only === "signal") {
  const perDay = quick ? 1_500 : 10_000;
  section(
    `Signal: the simulator's default org, 7 days × ${fmt(perDay)} events/day, no scenario (targets: MEDIUM+ ≤ 1/day, HIGH+ 0); scenario recall at the expected severity (target 29/29)`,
  );
  const r = await benchSignal(perDay);
  process.stdout.write(
    `alerts/day all ${fmt(r.perDay.all, 1)} | MEDIUM+ ${fmt(r.perDay.mediumPlus, 2)} | HIGH+ ${fmt(r.perDay.highPlus, 2)} | scenario recall ${r.recall}/${r.scenarios}${r.missed.length > 0 ? ` (missed: ${r.missed.join(", ")})` : ""}\n`,
  );
}

if (!only || only === "rereads") {
  section(
    "Late-event re-reads: API requests a day, one poll a minute, main stream (target: defaults ≤ 2× plain polling)",
  );
  const volumes = [1_000, 2_000, 5_000, 10_000, 50_000];
  const plain = volumes.map((v) => requestsPerDay(v, REREAD_SETTINGS[0]!));
  for (const setting of REREAD_SETTINGS) {
    const cells = volumes.map((v, i) => {
      const n = requestsPerDay(v, setting);
      return `${fmt(v)}/day: ${fmt(n)} (${fmt(n / plain[i]!, 2)}×)`;
    });
    process.stdout.write(`${setting.name} | ${cells.join(" | ")}\n`);
  }
}

if (!only || only === "posture") {
  section("Posture: inventory snapshot of 500 users, 200 projects, 2,000 keys (first, then unchanged)");
  const scale = quick ? { users: 100, projects: 40, keys: 400 } : { users: 500, projects: 200, keys: 2000 };
  // "identity": without the controls endpoints (data retention, spend alerts, model and tool permissions), the
  // same-run baseline of what they cost.
  for (const [delayMs, endpoints] of [
    [0, "identity"],
    [0, "all"],
    [50, "identity"],
    [50, "all"],
  ] as const) {
    const r = await benchPosture(scale, delayMs, endpoints);
    process.stdout.write(
      `+${delayMs} ms/request, ${endpoints} endpoints | ${fmt(r.users)} users, ${fmt(r.projects)} projects, ${fmt(r.keys)} keys, ${fmt(r.controls)} controls, ${fmt(r.objects)} objects | first: ${fmt(r.firstRequests)} requests, ${fmt(r.firstSecs, 2)} s, ${fmt(r.firstBytes / 1024)} KiB stored | unchanged: ${fmt(r.secondRequests)} requests, ${fmt(r.secondSecs, 2)} s, ${fmt(r.secondBytes)} bytes stored | ${r.findings} findings\n`,
    );
  }
}

if (only === "search") {
  section("Search: the console's typical queries, newest 100, SQLite store (target ≤ 200 ms each)");
  process.stdout.write(formatSearchFigures(await benchSearch(quick ? 100_000 : 1_000_000)));
} else if (!only) {
  section("Search: skipped by default (filling 1,000,000 events takes minutes); run with --only search");
}

if (only === "server") {
  section(
    "Server under load: 20 API clients, one timing /healthz (targets: /healthz p99 < 50 ms, overview p95 < 200 ms, RSS < 500 MB)",
  );
  process.stdout.write(
    formatServerLoadFigures(
      await (quick ? benchServerLoad(100_000, 10_000, 10) : benchServerLoad(1_000_000, 100_000, 20)),
    ),
  );
} else if (!only) {
  section("Server under load: skipped by default (filling 1,000,000 events takes minutes); run with --only server");
}

if (only === "fleet") {
  const options = quick
    ? { sources: 20, intervalSecs: 10, warmupIntervals: 2, measureIntervals: 4, workerCounts: [1, 3] }
    : { sources: 200, intervalSecs: 60, warmupIntervals: 1, measureIntervals: 3, workerCounts: [1, 3] };
  section(
    `Fleet: ${options.sources} sources on the simulator every ${options.intervalSecs} s, 1 worker (baseline) then 3 on one PostgreSQL (goal: API requests per source per interval = the baseline's, 1 poll's worth)`,
  );
  process.stdout.write(`${formatFleetFigures(await benchFleet(options))}\n`);
} else if (!only) {
  section("Fleet: skipped by default (worker processes run for several poll intervals); run with --only fleet");
}
