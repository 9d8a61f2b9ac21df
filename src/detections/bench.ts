// Throughput of TypeScript rules: 10 simple rules over ~10k normalized OpenAI events, on one core.
// `node --import tsx -e "import('./src/detections/bench.ts').then(m => console.log(m.benchTsRules()))"`

import { performance } from "node:perf_hooks";
import { defineRule } from "./define-rule.ts";
import { type BatchEvent, createDetectionEngine } from "./engine/engine.ts";
import { fromDefinition } from "./engine/loaded-rule.ts";
import { normalized, rawRecord } from "./engine/test-helpers.ts";

const TYPES = ["api_key.created", "api_key.deleted", "login.succeeded", "login.failed", "project.created"];

function benchRules() {
  return TYPES.flatMap((type, i) => [
    defineRule({
      id: `Bench.Type.${i}`,
      logTypes: ["OpenAI.Audit"],
      severity: "LOW",
      rule: (e) => e.get("type") === type,
      title: (e) => `${type} by ${e.deep_get("actor", "user", "email", { default: "unknown" })}`,
    }),
    defineRule({
      id: `Bench.Actor.${i}`,
      logTypes: ["OpenAI.Audit"],
      severity: "MEDIUM",
      rule: (e) => e.get("type") === type && e.deep_get("actor", "session", "ip_address") === "203.0.113.9",
    }),
  ]).map((d) => fromDefinition(d, "bench", null));
}

/** Runs the batch `rounds` times after a warm-up; returns rule evaluations per second. */
export function benchTsRules(options: { events?: number; rounds?: number } = {}): {
  evalsPerSec: number;
  rules: number;
  events: number;
} {
  const n = options.events ?? 10_000;
  const rounds = options.rounds ?? 3;
  const rules = benchRules();
  const batch: BatchEvent[] = [];
  for (let i = 0; i < n; i++) {
    const record = normalized(rawRecord(TYPES[i % TYPES.length]!, { actor: i % 2 ? "session" : "userKey" }));
    batch.push({ sourceId: "bench", eventId: String(record.id), record });
  }
  const engine = createDetectionEngine({ rules });
  // evaluate() is async only for Python rules; with TS rules alone its work is synchronous
  void engine.evaluate(batch.slice(0, 1000), []);
  const start = performance.now();
  for (let r = 0; r < rounds; r++) void engine.evaluate(batch, []);
  const secs = (performance.now() - start) / 1000;
  return { evalsPerSec: Math.round((n * rules.length * rounds) / secs), rules: rules.length, events: n };
}
