import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCorrelationRule } from "../panther/correlation.ts";
import { type CorrelationInput, findCompletions, lookAheadSecs } from "./semantics.ts";

const rule = (detection: Record<string, unknown>) =>
  parseCorrelationRule(
    { AnalysisType: "correlation_rule", RuleID: "C", Enabled: true, Severity: "High", Detection: [detection] },
    "/c.yml",
  );

/** An input at `min` minutes whose `email` field holds `emails`. */
const at = (memberId: string, min: number, emails: string | string[] = "u", id = `${memberId}${min}`) => {
  const list = Array.isArray(emails) ? emails : [emails];
  return { memberId, timeSecs: min * 60, id, values: (f: string) => (f === "email" ? list : []) } as CorrelationInput;
};

const anchors = (spec: ReturnType<typeof rule>, inputs: CorrelationInput[]) =>
  findCompletions(spec, inputs).map((c) => `${c.anchor.id}:${Object.values(c.key).join(",")}`);

const bruteGroup = rule({
  Group: [
    { ID: "fail", RuleID: "A", MinMatchCount: 3 },
    { ID: "ok", RuleID: "B" },
  ],
  MatchCriteria: {
    user: [
      { GroupID: "fail", Match: "email" },
      { GroupID: "ok", Match: "email" },
    ],
  },
  LookbackWindowMinutes: 30,
});

const bruteSequence = rule({
  Sequence: [
    { ID: "fail", RuleID: "A", MinMatchCount: 3 },
    { ID: "ok", RuleID: "B" },
  ],
  Transitions: [{ From: "fail", To: "ok", WithinTimeFrameMinutes: 10, Match: [{ On: "email" }] }],
  LookbackWindowMinutes: 30,
});

describe("findCompletions", () => {
  it("Group: anchors on each match that completes the members within the lookback, whatever the order", () => {
    const inputs = [at("fail", 0), at("fail", 1), at("fail", 2), at("ok", 5)];
    assert.deepEqual(anchors(bruteGroup, inputs), ["ok5:u"]);
    // Order of arrival does not matter; a Group does not order its members: success first, then failures.
    assert.deepEqual(anchors(bruteGroup, [...inputs].reverse()), ["ok5:u"]);
    assert.deepEqual(anchors(bruteGroup, [at("ok", 0), at("fail", 1), at("fail", 2), at("fail", 3)]), ["fail3:u"]);
    // Too few failures, or the success beyond the lookback of the failures.
    assert.deepEqual(anchors(bruteGroup, [at("fail", 0), at("fail", 1), at("ok", 5)]), []);
    assert.deepEqual(anchors(bruteGroup, [at("fail", 0), at("fail", 1), at("fail", 2), at("ok", 32)]), []);
  });

  it("Group: the contributing matches are those of the window, oldest first, anchor last", () => {
    const [c] = findCompletions(bruteGroup, [at("fail", 0), at("fail", 1), at("fail", 4), at("ok", 3)]);
    assert.deepEqual(
      c?.contributing.map((i) => i.id),
      ["fail0", "fail1", "ok3", "fail4"],
      "anchored on the third failure (the success came before it)",
    );
    assert.equal(c?.anchor.id, "fail4");
  });

  it("MatchCriteria: one completion per shared value; a list field matches by intersection", () => {
    const inputs = [
      at("fail", 0, ["u", "v"]),
      at("fail", 1, ["u", "v"]),
      at("fail", 2, "u"),
      at("fail", 3, "v"),
      at("ok", 4, ["w", "u"]),
      at("ok", 5, "v"),
    ];
    assert.deepEqual(anchors(bruteGroup, inputs), ["ok4:u", "ok5:v"]);
    assert.deepEqual(anchors(bruteGroup, [at("fail", 0), at("fail", 1), at("fail", 2), at("ok", 4, "x")]), []);
  });

  it("Sequence: in order, within the transition's time frame and the lookback", () => {
    const fails = [at("fail", 0), at("fail", 1), at("fail", 2)];
    assert.deepEqual(anchors(bruteSequence, [...fails, at("ok", 5)]), ["ok5:u"]);
    assert.deepEqual(
      anchors(bruteSequence, [at("ok", 0), ...fails.map((f) => ({ ...f, timeSecs: f.timeSecs + 60 }))]),
      [],
    );
    assert.deepEqual(anchors(bruteSequence, [...fails, at("ok", 13)]), [], "more than 10 minutes after the third");
    // The chain restarts from later failures: 0, 20, 21, 22 then a success at 25 completes on 20..22.
    assert.deepEqual(
      anchors(bruteSequence, [at("fail", 0), at("fail", 20), at("fail", 21), at("fail", 22), at("ok", 25)]),
      ["ok25:u"],
    );
  });

  it("MaxMatchCount bounds a member's matches in the window (Group) or its time frame (Sequence)", () => {
    const group = rule({
      Group: [
        { ID: "a", RuleID: "A", MinMatchCount: 2, MaxMatchCount: 3 },
        { ID: "b", RuleID: "B" },
      ],
      LookbackWindowMinutes: 10,
    });
    assert.deepEqual(anchors(group, [at("a", 0), at("a", 1), at("b", 2)]), ["b2:"]);
    assert.deepEqual(anchors(group, [at("a", 0), at("a", 1), at("a", 2), at("a", 3), at("b", 4)]), [], "four A");
    // Once the first A leaves the window, three remain.
    assert.deepEqual(anchors(group, [at("a", 0), at("a", 1), at("a", 2), at("a", 3), at("b", 10.5)]), ["b10.5:"]);
    const seq = rule({
      Sequence: [
        { ID: "a", RuleID: "A" },
        { ID: "b", RuleID: "B", MaxMatchCount: 1 },
      ],
      Transitions: [{ From: "a", To: "b", WithinTimeFrameMinutes: 5 }],
      LookbackWindowMinutes: 10,
    });
    assert.equal(lookAheadSecs(seq), 300);
    assert.deepEqual(anchors(seq, [at("a", 0), at("b", 1)]), ["b1:"]);
    assert.deepEqual(anchors(seq, [at("a", 0), at("b", 1), at("b", 4)]), [], "two B within the time frame");
    assert.deepEqual(anchors(seq, [at("a", 0), at("b", 1), at("b", 6)]), ["b1:"], "the second B is after it");
    assert.equal(findCompletions(seq, [at("a", 0), at("b", 1)])[0]?.needsDataUntilSecs, 300);
  });

  it("Consecutive: a match of the next member inside the run breaks it; the next member's max still holds", () => {
    const consecutive = rule({
      Sequence: [
        { ID: "fail", RuleID: "A", MinMatchCount: 3, Consecutive: true },
        { ID: "ok", RuleID: "B" },
      ],
      Transitions: [{ From: "fail", To: "ok", WithinTimeFrameMinutes: 10, Match: [{ On: "email" }] }],
      LookbackWindowMinutes: 30,
    });
    // Two failures, a success, two failures, a success: five failures, never three in a row.
    assert.deepEqual(
      anchors(consecutive, [at("fail", 0), at("fail", 1), at("ok", 2), at("fail", 3), at("fail", 4), at("ok", 5)]),
      [],
    );
    // Three in a row, then only the first success completes (a later one has a success before it).
    assert.deepEqual(anchors(consecutive, [at("fail", 0), at("fail", 1), at("fail", 2), at("ok", 3), at("ok", 4)]), [
      "ok3:u",
    ]);
    assert.deepEqual(anchors(bruteSequence, [at("fail", 0), at("fail", 1), at("ok", 2), at("fail", 3), at("ok", 5)]), [
      "ok5:u",
    ]);
    // One second for the last failure and the success (effective_at has one-second resolution): the success
    // follows, whatever the event ids.
    const sameSecond = [
      { ...at("fail", 0), id: "f-a" },
      { ...at("fail", 1), id: "f-b" },
      { ...at("fail", 2), id: "z-last-failure" },
      { ...at("ok", 2), id: "a-success" },
    ];
    assert.deepEqual(anchors(consecutive, sameSecond), ["a-success:u"]);
    assert.deepEqual(anchors(bruteSequence, sameSecond), ["a-success:u"]);
    const bounded = rule({
      Sequence: [
        { ID: "fail", RuleID: "A", MinMatchCount: 2, Consecutive: true },
        { ID: "ok", RuleID: "B", MaxMatchCount: 1 },
      ],
      LookbackWindowMinutes: 30,
    });
    assert.deepEqual(anchors(bounded, [at("fail", 0), at("fail", 1), at("ok", 2), at("ok", 3)]), []);
  });

  it("Absence looks ahead: a completion needs the data up to the end of the absent member's time frame", () => {
    const group = rule({
      Group: [
        { ID: "a", RuleID: "A" },
        { ID: "b", RuleID: "B", Absence: true },
      ],
      LookbackWindowMinutes: 15,
    });
    assert.equal(lookAheadSecs(group), 900);
    const [c] = findCompletions(group, [at("a", 0)]);
    assert.equal(c?.needsDataUntilSecs, 15 * 60);
    assert.deepEqual(anchors(group, [at("a", 0), at("b", 5)]), []);
    assert.deepEqual(anchors(group, [at("a", 0), at("b", 20)]), ["a0:"]);
    const seq = rule({
      Sequence: [
        { ID: "created", RuleID: "A" },
        { ID: "mfa", RuleID: "B", Absence: true },
      ],
      Transitions: [{ From: "created", To: "mfa", WithinTimeFrameMinutes: 60 }],
      LookbackWindowMinutes: 60,
    });
    assert.equal(findCompletions(seq, [at("created", 0)])[0]?.needsDataUntilSecs, 3600);
    assert.deepEqual(anchors(seq, [at("created", 0), at("mfa", 30)]), []);
    assert.deepEqual(anchors(seq, [at("created", 0), at("mfa", 61)]), ["created0:"]);
    assert.equal(lookAheadSecs(bruteSequence), 0);
  });

  it("a completion depends only on its own window: evaluated over a slice around the anchor, the same", () => {
    // Random failures and successes of three users over a day.
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const inputs = Array.from({ length: 400 }, (_, i) =>
      at(rnd() < 0.8 ? "fail" : "ok", Math.floor(rnd() * 1440), ["u", "v", "w"][i % 3]!, `e${i}`),
    );
    for (const spec of [bruteGroup, bruteSequence]) {
      const all = findCompletions(spec, inputs);
      assert.ok(all.length > 5, "the data has completions");
      for (const c of all) {
        const slice = inputs.filter((i) => i.timeSecs >= c.anchor.timeSecs - 1800 && i.timeSecs <= c.anchor.timeSecs);
        const again = findCompletions(spec, slice).filter((x) => x.anchor === c.anchor);
        assert.equal(again.length, 1, `${spec.kind} anchor ${c.anchor.id} found again in its slice`);
      }
      // Arrival order never matters.
      assert.deepEqual(
        findCompletions(spec, [...inputs].reverse()).map((c) => c.anchor.id),
        all.map((c) => c.anchor.id),
      );
    }
  });
});

describe("parseCorrelationRule refuses what it would not evaluate", () => {
  const members = [
    { ID: "fail", RuleID: "A" },
    { ID: "ok", RuleID: "B" },
  ];
  const refused = (detection: Record<string, unknown>, top: Record<string, unknown> = {}) => {
    try {
      parseCorrelationRule(
        {
          AnalysisType: "correlation_rule",
          RuleID: "C",
          Enabled: true,
          Severity: "High",
          Detection: [detection],
          ...top,
        },
        "/c.yml",
      );
    } catch (err) {
      return (err as Error).message;
    }
    return "loaded";
  };

  it("a misspelt key, at any level, instead of loading with the default", () => {
    assert.match(refused({ Group: members, LookbackWindowMinute: 30 }), /LookbackWindowMinute/);
    assert.match(refused({ Group: [{ ...members[0], MinMatchCont: 5 }, members[1]] }), /MinMatchCont/);
    assert.match(refused({ Group: members }, { DedupPeriodMinute: 5 }), /DedupPeriodMinute/);
    assert.match(
      refused({ Sequence: members, Transitions: [{ From: "fail", To: "ok", WithinTimeFrame: 5 }] }),
      /WithinTimeFrame/,
    );
  });

  it("a transition between members the rule does not have", () => {
    assert.match(
      refused({ Sequence: members, Transitions: [{ From: "fail", To: "OK" }] }),
      /transition names an unknown member OK/,
    );
  });

  it("a Group's own MinMatchCount and a reverse evaluation order, which it does not evaluate", () => {
    assert.match(refused({ Group: members, MinMatchCount: 2 }), /Group's own MinMatchCount is not supported/);
    assert.match(
      refused({ Sequence: members, EventEvaluationOrder: "ReverseChronological" }),
      /ReverseChronological is not supported/,
    );
    assert.equal(refused({ Sequence: members, EventEvaluationOrder: "Chronological" }), "loaded");
  });

  it("loads CreateAlert, OutputIds and Panther's metadata keys", () => {
    const spec = parseCorrelationRule(
      {
        AnalysisType: "correlation_rule",
        RuleID: "C",
        Enabled: true,
        Severity: "High",
        Detection: [{ Group: members, Schedule: { RateMinutes: 60, TimeoutMinutes: 5 } }],
        CreateAlert: false,
        OutputIds: ["pager"],
        Status: "Active",
        SummaryAttributes: ["p_any_emails"],
        OnlyUseBaseRiskScore: true,
      },
      "/c.yml",
    );
    assert.deepEqual([spec.createAlert, spec.outputIds], [false, ["pager"]]);
    assert.deepEqual([rule({ Group: members }).createAlert, rule({ Group: members }).outputIds], [true, null]);
  });
});
