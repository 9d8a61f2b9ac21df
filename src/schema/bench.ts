// Micro-benchmark of normalization throughput on one core: JSON.parse + normalize against JSON.parse
// of the same bytes alone. The ratio says how much of the parse speed the normalizer keeps (target
// ≥ 0.25). Each side runs after a warm-up, for at least `minDurationMs`, and the best of `rounds`
// rounds is kept so that a GC pause or a noisy neighbour does not decide the result.

import { loadOpenAIAuditLogType } from "./openai/log-type.ts";
import type { LogType, NormalizeContext } from "./types.ts";

export interface BenchResult {
  normalizePerSec: number;
  jsonParsePerSec: number;
  ratio: number;
}

export interface BenchOptions {
  logType?: LogType;
  minDurationMs?: number;
  rounds?: number;
}

// Written by the loops so the JIT cannot drop the work as dead code.
let sink = 0;

function recordsPerSec(records: string[], minDurationMs: number, step: (line: string) => void): number {
  let done = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (const line of records) step(line);
    done += records.length;
    elapsed = performance.now() - start;
  } while (elapsed < minDurationMs);
  return (done * 1000) / elapsed;
}

export function benchNormalize(records: string[], options: BenchOptions = {}): BenchResult {
  if (records.length === 0) throw new Error("benchNormalize needs at least one record");
  const logType = options.logType ?? loadOpenAIAuditLogType();
  const minDurationMs = options.minDurationMs ?? 300;
  const rounds = options.rounds ?? 3;
  const ctx: NormalizeContext = { sourceId: "bench", sourceLabel: "bench", parseTimeMs: Date.now() };
  const parseOnly = (line: string) => {
    const value = JSON.parse(line) as { id?: unknown };
    if (value.id !== undefined) sink++;
  };
  const parseAndNormalize = (line: string) => {
    const result = logType.normalize(JSON.parse(line), ctx);
    if (result.ok) sink++;
  };
  // Warm-up: let both paths reach optimized code before measuring.
  recordsPerSec(records, Math.min(200, minDurationMs), parseOnly);
  recordsPerSec(records, Math.min(200, minDurationMs), parseAndNormalize);
  let jsonParsePerSec = 0;
  let normalizePerSec = 0;
  for (let r = 0; r < rounds; r++) {
    jsonParsePerSec = Math.max(jsonParsePerSec, recordsPerSec(records, minDurationMs, parseOnly));
    normalizePerSec = Math.max(normalizePerSec, recordsPerSec(records, minDurationMs, parseAndNormalize));
  }
  if (sink < 0) console.log(sink);
  return { normalizePerSec, jsonParsePerSec, ratio: normalizePerSec / jsonParsePerSec };
}
