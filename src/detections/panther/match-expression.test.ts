import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CorrelationRuleSpec, correlationFires, parseCorrelationRule } from "./correlation.ts";
import { compileMatch, MatchExpressionError } from "./match-expression.ts";

const ev = {
  action: "repo.archived",
  Actor: { Name: "Ann", ip: "8.8.8.8", private_ip: "10.1.2.3" },
  n: 5,
  m: 7,
  tags: ["Prod", "pci"],
  items: [
    { kind: "a", size: 1 },
    { kind: "b", size: 9 },
  ],
  empty: "",
  nothing: null,
};
const m = (expr: unknown) => compileMatch(expr)(ev);

describe("Simple Detection match expressions", () => {
  it("key specifiers: Key, DeepKey (list index) and KeyPath (wildcards), case-insensitive like PantherEvent", () => {
    assert.equal(m({ Key: "action", Condition: "Equals", Value: "repo.archived" }), true);
    assert.equal(m({ DeepKey: ["actor", "name"], Condition: "Equals", Value: "Ann" }), true);
    assert.equal(m({ DeepKey: ["items", 1, "kind"], Condition: "Equals", Value: "b" }), true);
    assert.equal(m({ KeyPath: "items[*].kind", Condition: "Equals", Value: "b" }), true);
    assert.equal(m({ KeyPath: "items[0].kind", Condition: "Equals", Value: "b" }), false);
  });

  it("string, number, list and existence conditions; negative ones hold for an absent key", () => {
    assert.equal(m({ KeyPath: "action", Condition: "StartsWith", Value: "repo." }), true);
    assert.equal(m({ KeyPath: "action", Condition: "IEndsWith", Value: "ARCHIVED" }), true);
    assert.equal(m({ KeyPath: "action", Condition: "DoesNotContain", Value: "archived" }), false);
    assert.equal(m({ KeyPath: "tags", Condition: "IContains", Value: "PCI" }), true);
    assert.equal(m({ KeyPath: "n", Condition: "IsGreaterThanOrEqual", Value: 5 }), true);
    assert.equal(m({ KeyPath: "n", Condition: "IsLessThan", Value: 5 }), false);
    assert.equal(m({ KeyPath: "action", Condition: "IsIn", Values: ["a", "repo.archived"] }), true);
    assert.equal(m({ KeyPath: "action", Condition: "IsNotIn", Values: ["repo.archived"] }), false);
    assert.equal(m({ KeyPath: "missing", Condition: "DoesNotEqual", Value: "x" }), true);
    assert.equal(m({ KeyPath: "missing", Condition: "Equals", Value: "x" }), false);
    assert.equal(m({ KeyPath: "nothing", Condition: "Exists" }), true);
    assert.equal(m({ KeyPath: "nothing", Condition: "IsNull" }), true);
    assert.equal(m({ KeyPath: "missing", Condition: "DoesNotExist" }), true);
    assert.equal(m({ KeyPath: "empty", Condition: "IsNullOrEmpty" }), true);
    assert.equal(m({ KeyPath: "action", Condition: "IsNotNullOrEmpty" }), true);
  });

  it("IP conditions", () => {
    assert.equal(m({ KeyPath: "actor.ip", Condition: "IsIPAddressPublic" }), true);
    assert.equal(m({ KeyPath: "actor.private_ip", Condition: "IsIPAddressPrivate" }), true);
    assert.equal(m({ KeyPath: "actor.private_ip", Condition: "IsIPAddressInCIDR", Value: "10.0.0.0/8" }), true);
    assert.equal(m({ KeyPath: "actor.ip", Condition: "IsIPAddressInCIDR", Value: "10.0.0.0/8" }), false);
    assert.equal(m({ KeyPath: "action", Condition: "IsIPv4Address" }), false);
  });

  it("combinators, list comprehension, multi-key and absolute forms", () => {
    const t = { KeyPath: "n", Condition: "Equals", Value: 5 };
    const f = { KeyPath: "n", Condition: "Equals", Value: 6 };
    assert.equal(m([t, f]), false); // a list is an implicit All
    assert.equal(m({ Any: [t, f] }), true);
    assert.equal(m({ OnlyOne: [t, t] }), false);
    assert.equal(m({ None: [f] }), true);
    const big = [{ KeyPath: "size", Condition: "IsGreaterThan", Value: 5 }];
    assert.equal(m({ KeyPath: "items", Condition: "AnyElement", Expressions: big }), true);
    assert.equal(m({ KeyPath: "items", Condition: "AllElements", Expressions: big }), false);
    assert.equal(m({ KeyPath: "items", Condition: "OnlyOneElement", Expressions: big }), true);
    assert.equal(m({ KeyPath: "items", Condition: "NoElement", Expressions: big }), false);
    assert.equal(m({ Condition: "IsLessThan", Values: [{ KeyPath: "n" }, { KeyPath: "m" }] }), true);
    assert.equal(m({ Condition: "AlwaysFalse" }), false);
  });

  it("unknown conditions, Enrichment and InlineFilter restrictions fail at load time", () => {
    assert.throws(() => compileMatch({ KeyPath: "a", Condition: "Has", Value: 1 }), /condition Has is not implemented/);
    assert.throws(
      () => compileMatch({ Enrichment: { Table: "t" }, Condition: "Equals", Value: 1 }),
      MatchExpressionError,
    );
    assert.throws(() => compileMatch([{ Key: "a", Condition: "Exists" }], "InlineFilters", true), /KeyPath only/);
    assert.throws(() => compileMatch({ None: [] }, "InlineFilters", true), /only All and Any/);
  });
});

const seq = (detection: Record<string, unknown>): CorrelationRuleSpec =>
  parseCorrelationRule(
    { AnalysisType: "correlation_rule", RuleID: "C", Enabled: true, Severity: "High", Detection: [detection] },
    "/c.yml",
  );

describe("correlation rule tests", () => {
  it("Sequence: members in order, each within its transition's time frame, matched on the transition's field", () => {
    const spec = seq({
      Sequence: [
        { ID: "fail", RuleID: "A", MinMatchCount: 2 },
        { ID: "ok", RuleID: "B" },
      ],
      Transitions: [{ ID: "t", From: "fail", To: "ok", WithinTimeFrameMinutes: 10, Match: [{ On: "p_any_emails" }] }],
      LookbackWindowMinutes: 60,
    });
    const out = (fails: number[], oks: number[], okUser = "u") => ({
      fail: { p_any_emails: { u: fails } },
      ok: { p_any_emails: { [okUser]: oks } },
    });
    assert.equal(correlationFires(spec, out([0, 5], [8])), true);
    assert.equal(correlationFires(spec, out([0, 5], [3])), false, "the success came before the second failure");
    assert.equal(correlationFires(spec, out([0, 5], [30])), false, "outside the transition's 10 minutes");
    assert.equal(correlationFires(spec, out([0], [3])), false, "one failure, two needed");
    assert.equal(correlationFires(spec, out([0, 5], [8], "other")), false, "a different user");
  });

  it("Group: an Absence member must have no match in the window", () => {
    const spec = seq({
      Group: [
        { ID: "a", RuleID: "A" },
        { ID: "b", RuleID: "B", Absence: true },
      ],
      LookbackWindowMinutes: 15,
    });
    assert.equal(correlationFires(spec, { a: { f: { x: [0] } } }), true);
    assert.equal(correlationFires(spec, { a: { f: { x: [0] } }, b: { f: { x: [5] } } }), false);
  });
});
