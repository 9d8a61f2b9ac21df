import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NOISY_DEDUP } from "../../alerts/limiter.ts";
import { applyMatches } from "../../alerts/windows.ts";
import type { RuleMatch } from "../../core/detection.ts";
import { createDetectionEngine } from "./engine.ts";
import type { LoadedRule } from "./loaded-rule.ts";
import { batchEvent, tsRule } from "./test-helpers.ts";

async function run(rules: LoadedRule[], events = [batchEvent("api_key.created")]): Promise<RuleMatch[]> {
  return (await createDetectionEngine({ rules }).evaluate(events, [])).matches;
}
async function one(spec: Parameters<typeof tsRule>[0]): Promise<RuleMatch> {
  const matches = await run([tsRule(spec)]);
  assert.equal(matches.length, 1);
  return matches[0]!;
}
const yes = () => true;

describe("defaults and fallbacks", () => {
  it("title: title() → displayName → id", async () => {
    assert.equal((await one({ rule: yes, title: () => "T" })).title, "T");
    assert.equal((await one({ rule: yes, displayName: "Display" })).title, "Display");
    assert.equal((await one({ rule: yes })).title, "Test.Rule");
    // a raising or non-string title() falls back to the default title
    const bad = await one({
      rule: yes,
      displayName: "Display",
      title: () => {
        throw new Error("x");
      },
    });
    assert.equal(bad.title, "Display");
    assert.equal(bad.isError, false);
  });

  it("dedup: dedup() → title() output → defaultDedupString:<id>", async () => {
    assert.equal((await one({ rule: yes, dedup: () => "D", title: () => "T" })).dedupString, "D");
    assert.equal((await one({ rule: yes, title: () => "T" })).dedupString, "T");
    assert.equal((await one({ rule: yes, displayName: "Display" })).dedupString, "defaultDedupString:Test.Rule");
    assert.equal((await one({ rule: yes, dedup: () => "", title: () => "T" })).dedupString, "T");
    const raising = await one({
      rule: yes,
      dedup: () => {
        throw new Error("x");
      },
    });
    assert.equal(raising.dedupString, "defaultDedupString:Test.Rule");
  });

  it("dedup: a rule's string in Vigil's own namespace is escaped, so it never joins the rule's noisy alert", async () => {
    // Dedup strings are often event fields: an attacker who names themselves "vigil:noisy-rule" must not land in
    // (or open) the alert the limiter keeps for the rule's folded matches, nor escape the rule's budget.
    assert.equal((await one({ rule: yes, dedup: () => NOISY_DEDUP })).dedupString, `rule:${NOISY_DEDUP}`);
    assert.equal((await one({ rule: yes, title: () => "vigil:x" })).dedupString, "rule:vigil:x");
    assert.equal((await one({ rule: yes, dedup: () => "Vigil:x" })).dedupString, "Vigil:x", "the prefix is exact");
    assert.equal((await one({ rule: yes, dedup: () => "a vigil:x" })).dedupString, "a vigil:x");
    const long = (await one({ rule: yes, dedup: () => `vigil:${"x".repeat(2000)}` })).dedupString;
    assert.equal(long.length, 1000, "escaped, then cut to the limit");
    assert.ok(long.startsWith("rule:vigil:"));
  });

  it("severity: upper-cased; DEFAULT, invalid and raising mean the configured severity", async () => {
    assert.equal((await one({ rule: yes, dynamicSeverity: () => "high" })).severity, "HIGH");
    assert.equal((await one({ rule: yes, dynamicSeverity: () => "DEFAULT" })).severity, "MEDIUM");
    assert.equal((await one({ rule: yes, dynamicSeverity: () => "urgent" })).severity, "MEDIUM");
    assert.equal((await one({ rule: yes, severity: "Critical" })).severity, "CRITICAL");
    const noSeverity = await one({ rule: yes, severity: undefined });
    assert.equal(noSeverity.severity, "INFO", "the engine's defaultSeverity");
  });

  it("dedup period 60, threshold 1, createAlert true by default; metadata carried over", async () => {
    const m = await one({ rule: yes });
    assert.equal(m.dedupPeriodMinutes, 60);
    assert.equal(m.threshold, 1);
    assert.equal(m.createAlert, true);
    assert.equal(m.alertContext, null);
    assert.equal(m.destinations, null);
    const custom = await one({
      rule: yes,
      dedupPeriodMinutes: 15,
      threshold: 5,
      createAlert: false,
      tags: ["b", "a"],
      reports: { "MITRE ATT&CK": ["TA0006:T1110", "TA0001:T1078"] },
    });
    assert.deepEqual(
      [custom.dedupPeriodMinutes, custom.threshold, custom.createAlert, custom.tags],
      [15, 5, false, ["a", "b"]],
    );
    assert.deepEqual(custom.reports, { "MITRE ATT&CK": ["TA0001:T1078", "TA0006:T1110"] });
  });

  it("description/reference/runbook: function → metadata; a raise gives an empty string", async () => {
    const m = await one({
      rule: yes,
      description: "static",
      runbook: "rb",
      dynamicReference: () => "dyn",
      dynamicRunbook: () => {
        throw new Error("x");
      },
    });
    assert.deepEqual([m.description, m.reference, m.runbook], ["static", "dyn", ""]);
  });

  it("the match carries event identity, log type and event time", async () => {
    const ev = batchEvent("api_key.created", { effectiveAt: 1722461446 });
    const [m] = await run([tsRule({ rule: yes })], [ev]);
    assert.equal(m!.eventId, ev.eventId);
    assert.equal(m!.sourceId, "src-1");
    assert.equal(m!.logType, "OpenAI.Audit");
    assert.equal(m!.eventTimeSecs, 1722461446);
  });
});

describe("limits", () => {
  it("title, dedup, description are truncated to exactly 1000 characters with '... (truncated)'", async () => {
    const exact = "a".repeat(1000);
    assert.equal((await one({ rule: yes, title: () => exact })).title, exact, "1000 is kept");
    const m = await one({ rule: yes, title: () => "b".repeat(1001), dedup: () => "c".repeat(5000) });
    assert.equal(m.title.length, 1000);
    assert.equal(m.title, `${"b".repeat(985)}... (truncated)`);
    assert.equal(m.dedupString, `${"c".repeat(985)}... (truncated)`);
    const d = await one({ rule: yes, dynamicDescription: () => "d".repeat(1001) });
    assert.equal(d.description?.length, 1000);
  });

  it("never cuts inside a surrogate pair, and writes text no store holds as escapes", async () => {
    // An emoji across the cut: a lone half would be read back from the database as U+FFFD, another dedup string.
    const m = await one({ rule: yes, dedup: () => `${"a".repeat(984)}😀${"z".repeat(100)}` });
    assert.equal(m.dedupString, `${"a".repeat(984)}... (truncated)`);
    const odd = await one({ rule: yes, dedup: () => "nul\u0000 lone\ud800 pair😀" });
    assert.equal(odd.dedupString, "nul\\u0000 lone\\ud800 pair😀");
  });

  it("alert context over 204800 characters of (Python) JSON is replaced by an _error object", async () => {
    // {"k": "<s>"} is 9 characters plus the string in Python's json.dumps
    const fits = await one({ rule: yes, alertContext: () => ({ k: "x".repeat(204800 - 9) }) });
    assert.equal((fits.alertContext as { k: string }).k.length, 204791);
    const over = await one({ rule: yes, alertContext: () => ({ k: "x".repeat(204800 - 8) }) });
    assert.deepEqual(over.alertContext, {
      _error: "alert_context size is [204801] characters, bigger than maximum of [204800] characters",
    });
    const raising = await one({
      rule: yes,
      alertContext: () => {
        throw new TypeError("boom");
      },
    });
    assert.deepEqual(raising.alertContext, { _error: "TypeError('boom')" });
  });

  it("destinations: [] and SKIP suppress, null is default routing, at most 10, duplicates dropped", async () => {
    assert.deepEqual((await one({ rule: yes, destinations: () => [] })).destinations, []);
    assert.deepEqual((await one({ rule: yes, destinations: () => ["a", "SKIP"] })).destinations, []);
    assert.equal((await one({ rule: yes, destinations: () => null })).destinations, null);
    const many = Array.from({ length: 15 }, (_, i) => `d${i}`);
    assert.deepEqual((await one({ rule: yes, destinations: () => ["a", "a", ...many] })).destinations, [
      "a",
      ...many.slice(0, 9),
    ]);
  });
});

describe("rule errors", () => {
  it("rule() must return a strict boolean: anything else is a rule error", async () => {
    for (const value of [1, "yes", null, undefined]) {
      const m = await one({ rule: () => value as unknown as boolean });
      assert.equal(m.isError, true);
      assert.equal(m.errorType, "FunctionReturnTypeError");
    }
    assert.deepEqual(await run([tsRule({ rule: () => false })]), []);
  });

  it("an exception in rule() is an error match: dedup = exception name, title = repr, default severity", async () => {
    const m = await one({
      rule: (e) => (e.get("nope") as unknown as { x: number }).x > 1,
      dynamicSeverity: () => "CRITICAL",
      title: () => "never",
    });
    assert.equal(m.isError, true);
    assert.equal(m.errorType, "TypeError");
    assert.equal(m.dedupString, "TypeError");
    assert.equal(m.title, `TypeError("Cannot read properties of null (reading 'x')")`);
    assert.equal(m.severity, "MEDIUM");
    assert.ok(m.errorMessage);
  });

  it("an error alerts at once, even from a signal rule held to a threshold (only matches are)", async () => {
    const signal = { createAlert: false, threshold: 999_999 };
    const events = [batchEvent("api_key.created"), batchEvent("api_key.deleted")];
    const matches = await run(
      [
        tsRule({
          ...signal,
          rule: (e) => {
            if (e.get("type") === "api_key.deleted") throw new TypeError("t");
            return true;
          },
        }),
      ],
      events,
    );
    const error = matches.find((m) => m.isError);
    const match = matches.find((m) => !m.isError);
    assert.deepEqual([error?.createAlert, error?.threshold], [true, 1]);
    assert.deepEqual([match?.createAlert, match?.threshold], [false, 999_999]);
    const outcome = applyMatches([], matches);
    assert.equal(outcome.alertCreations.length, 1);
    assert.equal(outcome.alertCreations[0]?.first.isError, true);
  });

  it("errors group by exception name, apart from matches; other rules and events are unaffected", async () => {
    const events = [batchEvent("api_key.created"), batchEvent("api_key.deleted")];
    const rules = [
      tsRule({
        id: "Throws",
        rule: (e) => {
          if (e.get("type") === "api_key.created") throw new RangeError("r");
          throw new TypeError("t");
        },
      }),
      tsRule({ id: "Fine", rule: yes, title: () => "ok" }),
    ];
    const matches = await run(rules, events);
    const errs = matches.filter((m) => m.isError);
    assert.deepEqual(
      errs.map((m) => [m.ruleId, m.dedupString]),
      [
        ["Throws", "RangeError"],
        ["Throws", "TypeError"],
      ],
    );
    assert.deepEqual(
      matches.filter((m) => !m.isError).map((m) => [m.ruleId, m.title]),
      [
        ["Fine", "ok"],
        ["Fine", "ok"],
      ],
    );
  });
});

describe("which rules run", () => {
  it("only rules whose logTypes include the event's p_log_type", async () => {
    assert.deepEqual(await run([tsRule({ rule: yes, logTypes: ["Other.Log"] })]), []);
  });

  it("per-source and global overrides of rules and packs", async () => {
    const rules = [tsRule({ id: "R1", rule: yes }, "P"), tsRule({ id: "R2", rule: yes, enabled: false })];
    const packs = [{ id: "P", displayName: null, description: null, enabled: true, dir: "/p", file: "/p/pack.yml" }];
    const events = [batchEvent("api_key.created", { sourceId: "a" }), batchEvent("api_key.created", { sourceId: "b" })];
    const fired = async (settings: Parameters<ReturnType<typeof createDetectionEngine>["setSettings"]>[0]) => {
      const engine = createDetectionEngine({ rules: { rules, packs, settings: [] } });
      engine.setSettings(settings);
      const { matches } = await engine.evaluate(events, []);
      return matches.map((m) => `${m.ruleId}@${m.sourceId}`);
    };
    assert.deepEqual(await fired([]), ["R1@a", "R1@b"], "R2 is disabled in its metadata");
    assert.deepEqual(await fired([{ kind: "rule", id: "R2", sourceId: "b", enabled: true }]), ["R1@a", "R1@b", "R2@b"]);
    assert.deepEqual(await fired([{ kind: "pack", id: "P", sourceId: null, enabled: false }]), []);
    assert.deepEqual(
      await fired([
        { kind: "pack", id: "P", sourceId: null, enabled: false },
        { kind: "pack", id: "P", sourceId: "a", enabled: true },
      ]),
      ["R1@a"],
      "per-source beats global",
    );
    assert.deepEqual(
      await fired([
        { kind: "pack", id: "P", sourceId: "a", enabled: false },
        { kind: "rule", id: "R1", sourceId: null, enabled: true },
      ]),
      ["R1@a", "R1@b"],
      "a rule override beats a pack override",
    );
    const disabledPack = [{ ...packs[0]!, enabled: false }];
    const engine = createDetectionEngine({ rules: { rules, packs: disabledPack, settings: [] } });
    assert.deepEqual((await engine.evaluate(events, [])).matches, [], "a pack disabled in pack.yml");
  });
});

describe("rule state", () => {
  it("reads see loaded state plus earlier writes of the batch; writes become ops with event-time expiry", async () => {
    const rule = tsRule({
      id: "Stateful",
      rule: (e, ctx) => {
        const email = String(e.deep_get("actor", "user", "email"));
        const seen = ctx.state.members("ips");
        ctx.state.addToSet("ips", String(e.get("id")), { ttlSecs: 3600 });
        const n = ctx.state.increment(`count:${email}`, 1, { ttlSecs: 60 });
        ctx.state.put("last", String(e.get("id")));
        return seen.length >= 1 && n >= 3;
      },
      title: (_e, ctx) => `count=${ctx.state.counter("count:alice@example.com")} last=${ctx.state.get("last")}`,
    });
    const events = [
      batchEvent("api_key.created", { effectiveAt: 1000, id: "e1" }),
      batchEvent("api_key.created", { effectiveAt: 1010, id: "e2" }),
    ];
    const state = [
      {
        ruleId: "Stateful",
        key: "count:alice@example.com",
        value: null,
        counter: 1,
        members: [],
        expiresAtSecs: 5000,
      },
    ];
    const { matches, stateOps } = await createDetectionEngine({ rules: [rule] }).evaluate(events, state);
    assert.deepEqual(
      matches.map((m) => [m.eventId, m.title]),
      [["e2", "count=3 last=e2"]],
    );
    assert.deepEqual(stateOps.slice(0, 3), [
      { eventId: "e1", op: { kind: "add_to_set", ruleId: "Stateful", key: "ips", member: "e1", expiresAtSecs: 4600 } },
      {
        eventId: "e1",
        op: { kind: "increment", ruleId: "Stateful", key: "count:alice@example.com", by: 1, expiresAtSecs: 1060 },
      },
      { eventId: "e1", op: { kind: "put", ruleId: "Stateful", key: "last", value: "e1", expiresAtSecs: null } },
    ]);
    assert.equal(stateOps.length, 6);
    assert.equal(stateOps[4]!.eventId, "e2");
  });

  it("entries expire by event time, and a rule that throws leaves no state behind", async () => {
    const rule = tsRule({
      id: "S",
      rule: (e, ctx) => {
        ctx.state.put("k", "v");
        if (e.get("id") === "bad") throw new Error("after a write");
        return ctx.state.get("old") !== null;
      },
    });
    const events = [
      batchEvent("api_key.created", { effectiveAt: 100, id: "ok1" }),
      batchEvent("api_key.created", { effectiveAt: 300, id: "bad" }),
    ];
    const loaded = [{ ruleId: "S", key: "old", value: "x", counter: 0, members: [], expiresAtSecs: 200 }];
    const { matches, stateOps } = await createDetectionEngine({ rules: [rule] }).evaluate(events, loaded);
    assert.deepEqual(
      matches.map((m) => [m.eventId, m.isError]),
      [
        ["ok1", false],
        ["bad", true],
      ],
    );
    assert.deepEqual(
      stateOps.map((o) => o.eventId),
      ["ok1"],
    );
  });
});

describe("synchronous TypeScript work", () => {
  it("with TypeScript rules only, evaluate() runs the rules before it first yields (the benchmark relies on it)", () => {
    let calls = 0;
    const engine = createDetectionEngine({
      rules: [
        tsRule({
          rule: () => {
            calls++;
            return false;
          },
        }),
      ],
    });
    void engine.evaluate([batchEvent("api_key.created")], []);
    assert.equal(calls, 1);
  });
});
