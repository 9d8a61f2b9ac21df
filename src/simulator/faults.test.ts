import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FaultPicker, parseFaultAssignment, resolveFaults } from "./faults.ts";
import { startSimulator } from "./server.ts";
import { getAuditLogs, ManualClock } from "./test-support.ts";
import type { RunningSimulator, SimulatorOptions } from "./types.ts";

const END = 1_800_000_000;

async function withSim(options: SimulatorOptions, fn: (sim: RunningSimulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator({ seed: 31, history: { days: 0.2, eventsPerDay: 500 }, ...options });
  try {
    await fn(sim);
  } finally {
    await sim.close();
  }
}

function errorOf(json: unknown) {
  return (json as { error: { message: string; type: string; param: string | null; code: string | null } }).error;
}

describe("fault configuration", () => {
  it("defaults everything to off and validates values", () => {
    const config = resolveFaults();
    assert.equal(config.rateLimitProbability, 0);
    assert.equal(config.hangProbability, 0);
    assert.throws(() => resolveFaults({ resetProbability: 1.5 }), RangeError);
    assert.throws(() => resolveFaults({ slowMs: -1 }), RangeError);
    assert.throws(() => resolveFaults({ retryAfter: "soon" as never }), RangeError);
    assert.throws(() => resolveFaults({ nonsense: 1 } as never), /Unknown fault/);
  });

  it("parses name=value in camelCase or kebab-case, with or without 'Probability'", () => {
    assert.deepEqual(parseFaultAssignment("rate-limit=0.25"), { rateLimitProbability: 0.25 });
    assert.deepEqual(parseFaultAssignment("hangProbability=0.1"), { hangProbability: 0.1 });
    assert.deepEqual(parseFaultAssignment("retry-after=http-date"), { retryAfter: "http-date" });
    assert.deepEqual(parseFaultAssignment("late-delay-secs=600"), { lateDelaySecs: 600 });
    assert.throws(() => parseFaultAssignment("truncate=2"), RangeError);
    assert.throws(() => parseFaultAssignment("bogus=1"), /Unknown fault/);
    assert.throws(() => parseFaultAssignment("truncate"), /name=value/);
  });

  it("draws the same fault sequence from the same seed", () => {
    const config = resolveFaults({ rateLimitProbability: 0.3, resetProbability: 0.3 });
    const draw = (seed: number) => {
      const picker = new FaultPicker(seed);
      return Array.from({ length: 50 }, () => picker.pick(config) ?? "none");
    };
    assert.deepEqual(draw(4), draw(4));
    assert.notDeepEqual(draw(4), draw(5));
    assert.ok(draw(4).includes("rateLimit") && draw(4).includes("reset") && draw(4).includes("none"));
  });
});

describe("transport faults over HTTP", () => {
  it("429 carries Retry-After in seconds and OpenAI's rate-limit body", async () => {
    await withSim({ faults: { rateLimitProbability: 1, retryAfter: 7 } }, async (sim) => {
      const res = await getAuditLogs(sim);
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), "7");
      assert.equal(errorOf(res.json).code, "rate_limit_exceeded");
      assert.equal(sim.stats().faultsInjected.rateLimit, 1);
    });
  });

  it("429 can carry Retry-After as an HTTP date, from the simulator's clock", async () => {
    const clock = new ManualClock(END);
    await withSim({ clock, faults: { rateLimitProbability: 1, retryAfter: "http-date" } }, async (sim) => {
      const res = await getAuditLogs(sim);
      assert.equal(res.status, 429);
      assert.equal(Date.parse(res.headers.get("retry-after") ?? ""), (END + 2) * 1000);
    });
  });

  it("5xx: a mix of 500, 502 and 503 with server_error bodies", async () => {
    await withSim({ faults: { serverErrorProbability: 1 } }, async (sim) => {
      const statuses = new Set<number>();
      for (let i = 0; i < 30; i++) {
        const res = await getAuditLogs(sim);
        statuses.add(res.status);
        assert.equal(errorOf(res.json).type, "server_error");
      }
      assert.deepEqual([...statuses].sort(), [500, 502, 503]);
    });
  });

  it("truncate: status 200, a complete HTTP message, a JSON body cut in the middle", async () => {
    await withSim({ faults: { truncateProbability: 1 } }, async (sim) => {
      const res = await getAuditLogs(sim, "limit=50");
      assert.equal(res.status, 200);
      assert.ok(res.text.startsWith('{"object":"list","data":['));
      assert.throws(() => JSON.parse(res.text), SyntaxError);
      assert.equal(sim.stats().faultsInjected.truncate, 1);
    });
  });

  it("reset: the socket is destroyed mid-response and the client sees an error", async () => {
    await withSim({ faults: { resetProbability: 1 } }, async (sim) => {
      await assert.rejects(async () => {
        const res = await fetch(`${sim.baseUrl}/organization/audit_logs?limit=100`, {
          headers: { authorization: `Bearer ${sim.adminKey}` },
        });
        await res.text();
      });
      assert.equal(sim.stats().faultsInjected.reset, 1);
    });
  });

  it("slow: delayed by slowMs but complete", async () => {
    await withSim({ faults: { slowProbability: 1, slowMs: 250 } }, async (sim) => {
      const started = Date.now();
      const res = await getAuditLogs(sim, "limit=3");
      assert.ok(Date.now() - started >= 240, "delayed");
      assert.equal(res.status, 200);
      assert.equal((res.json as { data: unknown[] }).data.length, 3);
    });
  });

  it("hang: no answer, so the client's timeout fires", async () => {
    await withSim({ faults: { hangProbability: 1 } }, async (sim) => {
      await assert.rejects(getAuditLogs(sim, "", { signal: AbortSignal.timeout(300) }), { name: "TimeoutError" });
      assert.equal(sim.stats().faultsInjected.hang, 1);
      assert.deepEqual(sim.stats().byStatus, {}, "no response was sent");
    });
  });

  it("close() finishes while a request hangs, and that client then sees its connection end", async () => {
    const sim = await startSimulator({ seed: 32, faults: { hangProbability: 1 } });
    const pending = getAuditLogs(sim).then(
      () => "answered",
      () => "failed",
    );
    while (sim.stats().requests === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const closed = await Promise.race([
      sim.close().then(() => "closed"),
      new Promise((resolve) => setTimeout(() => resolve("stuck"), 3000)),
    ]);
    assert.equal(closed, "closed");
    assert.equal(await pending, "failed");
  });

  it("setFaults replaces the configuration at run time; pageDelayMs delays every response", async () => {
    await withSim({ pageDelayMs: 50 }, async (sim) => {
      const started = Date.now();
      assert.equal((await getAuditLogs(sim)).status, 200);
      assert.ok(Date.now() - started >= 45);
      sim.setFaults({ rateLimitProbability: 1 });
      assert.equal((await getAuditLogs(sim)).status, 429);
      sim.setFaults({});
      assert.equal((await getAuditLogs(sim)).status, 200);
      assert.deepEqual(sim.stats().byStatus, { "200": 2, "429": 1 });
      assert.equal(sim.stats().requests, 3);
    });
  });

  it("data faults set at run time apply to live activity generated afterwards", async () => {
    const clock = new ManualClock(END);
    await withSim({ clock, history: undefined, live: { eventsPerMinute: 30 } }, async (sim) => {
      sim.setFaults({ malformedRecordProbability: 1 });
      clock.advanceSecs(120);
      const res = await getAuditLogs(sim, "limit=100");
      const data = (res.json as { data: Array<Record<string, unknown>> }).data;
      assert.ok(data.length > 10);
      assert.ok(
        data.every(
          (e) =>
            typeof e.id !== "string" ||
            typeof e.type !== "string" ||
            typeof e.effective_at !== "number" ||
            typeof e.actor === "string",
        ),
        "every live record is malformed",
      );
      assert.equal(sim.stats().faultsInjected.malformedRecord, sim.org.allEvents().length);
    });
  });
});
