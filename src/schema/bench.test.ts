import assert from "node:assert/strict";
import { it } from "node:test";
import { benchNormalize } from "./bench.ts";

it("benchNormalize measures both rates and their ratio", () => {
  const records = Array.from({ length: 50 }, (_, i) =>
    JSON.stringify({
      id: `a${i}`,
      type: "login.failed",
      effective_at: 1720804090 + i,
      actor: { type: "session", session: { ip_address: "10.0.0.1" } },
    }),
  );
  const r = benchNormalize(records, { minDurationMs: 20, rounds: 1 });
  assert.ok(r.jsonParsePerSec > 0 && r.normalizePerSec > 0);
  assert.ok(Math.abs(r.ratio - r.normalizePerSec / r.jsonParsePerSec) < 1e-9);
  // Normalizing includes the parse, so it cannot be meaningfully faster than parsing alone.
  assert.ok(r.ratio < 1.5);
  assert.throws(() => benchNormalize([]), /at least one record/);
});
