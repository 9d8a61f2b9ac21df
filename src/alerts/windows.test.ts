import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RuleMatch } from "../core/detection.ts";
import { type AlertWindow, applyMatches, keysToLoad, periodSecs, windowId } from "./windows.ts";

const T0 = 1_700_000_000;

function match(eventId: string, eventTimeSecs: number, overrides: Partial<RuleMatch> = {}): RuleMatch {
  return {
    ruleId: "Rule.A",
    packId: null,
    sourceId: "src-1",
    eventId,
    logType: "OpenAI.Audit",
    eventTimeSecs,
    isError: false,
    errorType: null,
    errorMessage: null,
    dedupString: "alice",
    title: `title ${eventId}`,
    severity: "MEDIUM",
    alertContext: { event: eventId },
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

/** Applies batches one after another, carrying the saved windows like a store would. */
function run(batches: RuleMatch[][]) {
  const saved = new Map<string, AlertWindow>();
  const outcomes = batches.map((batch) => {
    const outcome = applyMatches([...saved.values()], batch);
    for (const w of outcome.windowUpserts) saved.set(w.id, w);
    return outcome;
  });
  return { saved: [...saved.values()], outcomes };
}

describe("applyMatches", () => {
  it("creates one alert per window at threshold 1 and attaches later matches of the window", () => {
    const out = applyMatches([], [match("e1", T0), match("e2", T0 + 60), match("e3", T0 + 3599)]);
    assert.equal(out.alertCreations.length, 1);
    const [w] = out.windowUpserts;
    assert.ok(w);
    assert.equal(w.matchCount, 3);
    assert.equal(w.startSecs, T0);
    assert.equal(w.endSecs, T0 + 3600);
    assert.deepEqual(
      out.placements.map((p) => p.alertId),
      [w.id, w.id, w.id],
    );
    assert.deepEqual(out.alertAttachments, []);
  });

  it("starts a new window exactly at start + period (the help-center example)", () => {
    // Period 1h: 10:07 fires; 10:36, 10:42 and 11:06 attach; 11:07 starts a new alert.
    const at = (h: number, m: number) => T0 + h * 3600 + m * 60;
    const out = applyMatches(
      [],
      [
        match("a", at(10, 7)),
        match("b", at(10, 36)),
        match("c", at(10, 42)),
        match("d", at(11, 6)),
        match("e", at(11, 7)),
      ],
    );
    assert.equal(out.alertCreations.length, 2);
    const ids = out.placements.map((p) => p.alertId);
    assert.equal(new Set(ids.slice(0, 4)).size, 1);
    assert.notEqual(ids[4], ids[0]);
    assert.equal(out.alertCreations[1]?.startSecs, at(11, 7));
  });

  it("waits for the threshold and then attaches the earlier matches to the alert", () => {
    const { outcomes } = run([
      [match("e1", T0, { threshold: 3 }), match("e2", T0 + 1, { threshold: 3 })],
      [match("e3", T0 + 2, { threshold: 3 }), match("e4", T0 + 3, { threshold: 3 })],
    ]);
    const [first, second] = outcomes;
    assert.ok(first && second);
    assert.deepEqual(first.alertCreations, []);
    assert.deepEqual(
      first.placements.map((p) => p.alertId),
      [null, null],
    );
    assert.equal(second.alertCreations.length, 1);
    // Final state: the match after the threshold is counted too.
    assert.equal(second.alertCreations[0]?.matchCount, 4);
    // The window's first match (e1, from the previous batch) gives the alert its fields.
    assert.equal(second.alertCreations[0]?.first.eventId, "e1");
    assert.ok(second.placements.every((p) => p.alertId === second.alertCreations[0]?.id));
  });

  it("counts distinct unique() values exactly under a threshold", () => {
    const u = (id: string, t: number, value: string | null) =>
      match(id, t, { threshold: 3, uniqueValue: value, dedupString: "d" });
    const { outcomes } = run([
      [u("e1", T0, "ip1"), u("e2", T0 + 1, "ip1"), u("e3", T0 + 2, "ip2"), u("e4", T0 + 3, "ip2")],
      [u("e5", T0 + 4, "ip1"), u("e6", T0 + 5, null)],
      [u("e7", T0 + 6, "ip3"), u("e8", T0 + 7, "ip4")],
    ]);
    assert.deepEqual(outcomes[0]?.windowUpserts[0]?.uniqueValues, ["ip1", "ip2"]);
    assert.equal(outcomes[0]?.alertCreations.length, 0);
    assert.equal(outcomes[1]?.alertCreations.length, 0);
    assert.equal(outcomes[2]?.alertCreations.length, 1);
    assert.equal(outcomes[2]?.alertCreations[0]?.first.eventId, "e1");
    assert.equal(outcomes[2]?.windowUpserts[0]?.matchCount, 8);
  });

  it("keeps title, severity and context of the first match", () => {
    const out = applyMatches(
      [],
      [match("e1", T0), match("e2", T0 + 5, { title: "other", severity: "CRITICAL", alertContext: { x: 1 } })],
    );
    const w = out.windowUpserts[0];
    assert.equal(w?.first.title, "title e1");
    assert.equal(w?.first.severity, "MEDIUM");
    assert.deepEqual(w?.first.alertContext, { event: "e1" });
  });

  it("groups by rule, dedup string, error flag and source", () => {
    const out = applyMatches(
      [],
      [
        match("e1", T0),
        match("e2", T0, { dedupString: "bob" }),
        match("e3", T0, { ruleId: "Rule.B" }),
        match("e4", T0, { isError: true, errorType: "KeyError" }),
        match("e5", T0, { sourceId: "src-2" }),
        match("e6", T0 + 1),
      ],
    );
    assert.equal(out.alertCreations.length, 5);
    assert.equal(out.placements[5]?.alertId, out.placements[0]?.alertId);
  });

  it("keeps createAlert false matches as signals: no window, no alert", () => {
    const out = applyMatches([], [match("e1", T0, { createAlert: false })]);
    assert.deepEqual(out.windowUpserts, []);
    assert.deepEqual(out.alertCreations, []);
    assert.deepEqual(out.placements, [
      { match: match("e1", T0, { createAlert: false }), windowId: null, alertId: null },
    ]);
    assert.deepEqual(keysToLoad([match("e1", T0, { createAlert: false })]), []);
  });

  it("gives an out-of-order match before every window the window that ends where the later one starts", () => {
    const { saved, outcomes } = run([[match("late", T0 + 1000)], [match("early", T0)], [match("mid", T0 + 1500)]]);
    assert.equal(saved.length, 2);
    const early = saved.find((w) => w.startSecs < T0 + 1000);
    assert.deepEqual([early?.startSecs, early?.endSecs], [T0 + 1000 - 3600, T0 + 1000]);
    assert.equal(outcomes[1]?.placements[0]?.windowId, windowId(saved[0]!, T0 + 1000 - 3600));
    // T0 + 1500 is only in the later window.
    assert.equal(outcomes[2]?.placements[0]?.windowId, windowId(saved[0]!, T0 + 1000));
  });

  it("groups history read newest page first into one window per period, as a forward read does", () => {
    const day = 86_400;
    const hourly = Array.from({ length: 72 }, (_, h) => match(`e${h}`, T0 + h * 3600, { dedupPeriodMinutes: 1440 }));
    // Pages of five matches, newest page first, each page sorted oldest first (what the pipeline does).
    const pages: RuleMatch[][] = [];
    for (let end = hourly.length; end > 0; end -= 5) pages.push(hourly.slice(Math.max(0, end - 5), end));
    const backwards = run(pages).saved.sort((x, y) => x.startSecs - y.startSecs);
    const forwards = run([hourly]).saved;
    assert.equal(forwards.length, 3);
    // Anchored at the newest match instead of the oldest, so three days may span four windows (not 15 pages).
    assert.equal(backwards.length, 4);
    assert.ok(backwards.every((w) => w.endSecs - w.startSecs === day));
    for (let i = 1; i < backwards.length; i++) assert.equal(backwards[i]?.startSecs, backwards[i - 1]?.endSecs);
    assert.equal(
      backwards.reduce((n, w) => n + w.matchCount, 0),
      72,
    );
  });

  it("does not start a tiled window before the end of an earlier window", () => {
    const { saved } = run([[match("a", T0)], [match("c", T0 + 5000)], [match("b", T0 + 4000)]]);
    const b = saved.find((w) => w.startSecs > T0 && w.startSecs < T0 + 5000);
    assert.equal(b?.startSecs, T0 + 3600, "starts where the first window ends, not at T0 + 5000 - 3600");
  });

  it("derives the same ids on replay, and ids that differ by window start", () => {
    const a = applyMatches([], [match("e1", T0), match("e2", T0 + 4000)]);
    const b = applyMatches([], [match("e1", T0), match("e2", T0 + 4000)]);
    assert.deepEqual(
      a.alertCreations.map((w) => w.id),
      b.alertCreations.map((w) => w.id),
    );
    assert.match(a.alertCreations[0]?.id ?? "", /^[0-9a-f]{32}$/);
    assert.notEqual(a.alertCreations[0]?.id, a.alertCreations[1]?.id);
  });

  it("reports attachments to alerts that existed before the batch, and does not modify its input", () => {
    const first = applyMatches([], [match("e1", T0)]);
    const before = structuredClone(first.windowUpserts);
    const second = applyMatches(first.windowUpserts, [match("e2", T0 + 10)]);
    assert.deepEqual(first.windowUpserts, before);
    assert.deepEqual(second.alertCreations, []);
    assert.equal(second.alertAttachments.length, 1);
    assert.equal(second.alertAttachments[0]?.matchCount, 2);
  });

  it("never makes an empty window", () => {
    assert.equal(periodSecs(0), 1);
    const out = applyMatches(
      [],
      [match("e1", T0, { dedupPeriodMinutes: 0 }), match("e2", T0, { dedupPeriodMinutes: 0 })],
    );
    assert.equal(out.windowUpserts.length, 1);
    assert.equal(out.windowUpserts[0]?.matchCount, 2);
  });

  it("lists the keys to load with their event-time span, sorted", () => {
    const keys = keysToLoad([match("e1", T0 + 5, { ruleId: "Z" }), match("e2", T0 + 9), match("e3", T0 + 1)]);
    assert.deepEqual(
      keys.map((k) => [k.key.ruleId, k.minSecs, k.maxSecs]),
      [
        ["Rule.A", T0 + 1, T0 + 9 + 3600],
        ["Z", T0 + 5, T0 + 5 + 3600],
      ],
    );
  });
});
