// Throughput benchmark: 10 simple Python rules over a set of OpenAI-shaped events via run_batch on the pool.

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PythonWorkerPool } from "./pool.ts";

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "bench");
const TYPES = ["api_key.created", "user.added", "project.deleted", "login.succeeded", "project.created"];

function makeEvents(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `audit_log-${i}`,
    type: TYPES[i % TYPES.length],
    effective_at: 1720804090 + i,
    actor: {
      type: "session",
      user: { id: `user-${i % 7}`, email: `user${i % 7}@example.com` },
      session: { user: { id: `user-${i % 7}`, email: `user${i % 7}@example.com` }, ip_address: "1.2.3.4" },
    },
  }));
}

export async function benchPythonRules(
  options: { batchSize?: number; batches?: number; size?: number } = {},
): Promise<{ evalsPerSec: number }> {
  const batchSize = options.batchSize ?? 1000;
  const batches = options.batches ?? 40;
  const pool = new PythonWorkerPool({ size: options.size ?? 2 });
  await pool.start();
  try {
    const ruleIds = Array.from({ length: 10 }, (_, i) => `Bench.Rule${i}`);
    for (const [i, id] of ruleIds.entries()) {
      const loaded = await pool.loadRule(id, join(BENCH_DIR, `rule_${i}.py`));
      if (!loaded.ok) throw new Error(`bench rule ${id} failed to load: ${loaded.error.message}`);
    }
    const events = makeEvents(batchSize);
    await pool.runBatch(ruleIds, events.slice(0, 50)); // warm-up
    const started = process.hrtime.bigint();
    const replies = await Promise.all(Array.from({ length: batches }, () => pool.runBatch(ruleIds, events)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    for (const r of replies) if (!r.ok) throw new Error(`bench batch failed: ${r.error.message}`);
    return { evalsPerSec: Math.round((batches * batchSize * ruleIds.length) / seconds) };
  } finally {
    await pool.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  benchPythonRules().then((r) => console.log(JSON.stringify(r)));
}
