import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RuleMatch } from "../core/detection.ts";
import {
  CORRELATION_LOG_TYPE,
  type CorrelationRule,
  correlationKey,
  evaluateCorrelation,
  OPENAI_BRUTE_FORCE_THEN_SUCCESS,
} from "./correlation.ts";

const T0 = 1_700_000_000;

function m(ruleId: string, eventId: string, t: number, overrides: Partial<RuleMatch> = {}): RuleMatch {
  return {
    ruleId,
    packId: null,
    sourceId: "src",
    eventId,
    logType: "OpenAI.Audit",
    eventTimeSecs: t,
    isError: false,
    errorType: null,
    errorMessage: null,
    dedupString: "alice@example.com",
    title: "t",
    severity: "LOW",
    alertContext: null,
    description: null,
    reference: null,
    runbook: null,
    destinations: null,
    uniqueValue: null,
    dedupPeriodMinutes: 60,
    threshold: 1,
    createAlert: true,
    tags: [],
    reports: {},
    ...overrides,
  };
}

const failed = (n: number, t: number, o: Partial<RuleMatch> = {}) =>
  Array.from({ length: n }, (_, i) => m("OpenAI.Login.Failed", `f${i}`, t + i, o));

describe("evaluateCorrelation: brute force then success (Sequence)", () => {
  const rule = OPENAI_BRUTE_FORCE_THEN_SUCCESS;

  it("does not add up failures of separate logins that each succeeded (a user mistyping three times)", () => {
    const episodes = [
      ...failed(2, T0, { eventId: "a" }).map((f, i) => ({ ...f, eventId: `a${i}` })),
      m("OpenAI.Login.Success", "s1", T0 + 30),
      ...failed(2, T0 + 300).map((f, i) => ({ ...f, eventId: `b${i}` })),
      m("OpenAI.Login.Success", "s2", T0 + 330),
      ...failed(2, T0 + 600).map((f, i) => ({ ...f, eventId: `c${i}` })),
      m("OpenAI.Login.Success", "s3", T0 + 630),
    ];
    assert.deepEqual(evaluateCorrelation(rule, episodes, T0 + 700), []);
    // The same six failures with no success between them, then a success: a brute force.
    const attack = [
      ...episodes.filter((x) => x.ruleId === "OpenAI.Login.Failed"),
      m("OpenAI.Login.Success", "s9", T0 + 640),
    ];
    assert.equal(evaluateCorrelation(rule, attack, T0 + 700).length, 1);
  });

  it("counts again after an interrupting success: five more failures then a success fire", () => {
    const matches = [
      ...failed(3, T0).map((f, i) => ({ ...f, eventId: `a${i}` })),
      m("OpenAI.Login.Success", "s1", T0 + 10),
      ...failed(5, T0 + 20).map((f, i) => ({ ...f, eventId: `b${i}` })),
      m("OpenAI.Login.Success", "s2", T0 + 60),
    ];
    const out = evaluateCorrelation(rule, matches, T0 + 120);
    assert.equal(out.length, 1);
    assert.deepEqual(out[0]?.alertContext?.matchedEventIds, ["b0", "b1", "b2", "b3", "b4", "s2"]);
  });

  it("fires on 5 failures then a success for the same actor within 30 minutes", () => {
    const out = evaluateCorrelation(rule, [...failed(5, T0), m("OpenAI.Login.Success", "s1", T0 + 60)], T0 + 120);
    assert.equal(out.length, 1);
    const c = out[0]!;
    assert.equal(c.ruleId, rule.id);
    assert.equal(c.eventId, "s1");
    assert.equal(c.logType, CORRELATION_LOG_TYPE);
    assert.equal(c.dedupString, "alice@example.com");
    assert.equal(c.severity, "HIGH");
    assert.equal(c.title, "Brute force then successful login for alice@example.com");
    assert.equal((c.alertContext?.matchedEventIds as string[] | undefined)?.length, 6);
  });

  it("does not fire on 4 failures, on a success before the failures, or outside the lookback", () => {
    assert.deepEqual(
      evaluateCorrelation(rule, [...failed(4, T0), m("OpenAI.Login.Success", "s1", T0 + 60)], T0 + 120),
      [],
    );
    assert.deepEqual(
      evaluateCorrelation(rule, [m("OpenAI.Login.Success", "s1", T0 - 1), ...failed(5, T0)], T0 + 120),
      [],
    );
    assert.deepEqual(
      evaluateCorrelation(rule, [...failed(5, T0), m("OpenAI.Login.Success", "s1", T0 + 60)], T0 + 1800 + 1),
      [],
    );
  });

  it("keeps actors apart, by correlationKey when given", () => {
    const bob = { dedupString: "bob@example.com" };
    assert.deepEqual(
      evaluateCorrelation(rule, [...failed(5, T0), m("OpenAI.Login.Success", "s1", T0 + 60, bob)], T0 + 120),
      [],
    );
    const keyed = { dedupString: "203.0.113.7", alertContext: { correlationKey: "carol@example.com" } };
    const out = evaluateCorrelation(
      rule,
      [...failed(5, T0, keyed), m("OpenAI.Login.Success", "s1", T0 + 60, keyed)],
      T0 + 120,
    );
    assert.equal(out[0]?.dedupString, "carol@example.com");
    assert.equal(correlationKey(m("x", "e", T0, keyed)), "carol@example.com");
  });

  it("is deterministic: the same input yields the same match (which the store then skips)", () => {
    const input = [...failed(6, T0), m("OpenAI.Login.Success", "s1", T0 + 60)];
    assert.deepEqual(evaluateCorrelation(rule, input, T0 + 120), evaluateCorrelation(rule, input, T0 + 300));
  });

  it("ignores rule errors", () => {
    const errors = failed(5, T0, { isError: true });
    assert.deepEqual(evaluateCorrelation(rule, [...errors, m("OpenAI.Login.Success", "s1", T0 + 60)], T0 + 120), []);
  });
});

describe("evaluateCorrelation: Group", () => {
  const rule: CorrelationRule = {
    id: "Group.Rule",
    displayName: "Group",
    severity: "MEDIUM",
    detection: { kind: "group", members: [{ ruleId: "A", minMatches: 2 }, { ruleId: "B" }] },
    lookbackMinutes: 15,
  };

  it("fires when every member matched, in any order, with its minimum count", () => {
    const out = evaluateCorrelation(rule, [m("B", "b1", T0), m("A", "a1", T0 + 1), m("A", "a2", T0 + 2)], T0 + 10);
    assert.equal(out.length, 1);
    assert.equal(out[0]?.eventId, "a2");
    assert.equal(out[0]?.title, "Group: alice@example.com");
    assert.equal(out[0]?.dedupPeriodMinutes, 15);
  });

  it("does not fire when a member is missing or below its minimum, or across sources", () => {
    assert.deepEqual(evaluateCorrelation(rule, [m("B", "b1", T0), m("A", "a1", T0 + 1)], T0 + 10), []);
    assert.deepEqual(evaluateCorrelation(rule, [m("A", "a1", T0), m("A", "a2", T0 + 1)], T0 + 10), []);
    assert.deepEqual(
      evaluateCorrelation(
        rule,
        [m("B", "b1", T0, { sourceId: "other" }), m("A", "a1", T0 + 1), m("A", "a2", T0 + 2)],
        T0 + 10,
      ),
      [],
    );
  });
});
