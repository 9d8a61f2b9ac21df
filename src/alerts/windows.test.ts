import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng, randomDelivery, scenarioEvents } from "../../test/alert-order-scenarios.ts";
import type { RuleMatch } from "../core/detection.ts";
import { keyOfMatch } from "../storage/store/detection-rows.ts";
import {
  type AlertWindow,
  applyMatches,
  gridStartSecs,
  keysToLoad,
  periodSecs,
  windowId,
  windowKeyString,
} from "./windows.ts";

const T0 = 1_700_000_000;
/** The hour that holds T0 (T0 itself is 800 s into it): where T0's 60-minute grid window starts. */
const H0 = 1_699_999_200;

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

/**
 * The saved windows a store loads for `matches` (store/detections.ts loadWindows): the grid windows keysToLoad
 * names by id, and the pre-grid windows of the matches' keys that overlap their span.
 */
function loadedFor(saved: Iterable<AlertWindow>, matches: readonly RuleMatch[]): AlertWindow[] {
  const wanted = keysToLoad(matches);
  const ids = new Set(wanted.flatMap((k) => k.gridIds));
  return [...saved].filter(
    (w) =>
      ids.has(w.id) ||
      (!w.onGrid &&
        wanted.some(
          (k) => windowKeyString(k.key) === windowKeyString(w) && w.startSecs <= k.maxSecs && w.endSecs > k.minSecs,
        )),
  );
}

/**
 * Applies batches one after another, carrying the saved windows and loading what a store would, and skipping
 * matches seen before like a store's unique index does.
 */
function run(batches: RuleMatch[][], initial: AlertWindow[] = []) {
  const saved = new Map<string, AlertWindow>(initial.map((w) => [w.id, w]));
  const seen = new Set<string>();
  const outcomes = batches.map((batch) => {
    const fresh = batch.filter((m) => !seen.has(keyOfMatch(m)) && seen.add(keyOfMatch(m)));
    const outcome = applyMatches(loadedFor(saved.values(), fresh), fresh);
    for (const w of outcome.windowUpserts) saved.set(w.id, w);
    return outcome;
  });
  return { saved: [...saved.values()], outcomes };
}

/** What an alert shows, per alerted window, sorted by id: the property's comparison. */
function alertsOf(saved: AlertWindow[]) {
  return saved
    .filter((w) => w.alertCreated)
    .map((w) => ({
      id: w.id,
      window: [w.ruleId, w.dedupString, w.isError, w.startSecs, w.endSecs, w.matchCount],
      from: [w.first.eventId, w.first.title, w.first.severity, w.first.alertContext],
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

describe("applyMatches", () => {
  it("creates one alert per window at threshold 1 and attaches later matches of the window", () => {
    const out = applyMatches([], [match("e1", T0), match("e2", T0 + 60), match("e3", H0 + 3599)]);
    assert.equal(out.alertCreations.length, 1);
    const [w] = out.windowUpserts;
    assert.ok(w);
    assert.equal(w.matchCount, 3);
    assert.equal(w.startSecs, H0);
    assert.equal(w.endSecs, H0 + 3600);
    assert.equal(w.onGrid, true);
    assert.deepEqual(
      out.placements.map((p) => p.alertId),
      [w.id, w.id, w.id],
    );
    assert.deepEqual(out.alertAttachments, []);
  });

  it("cuts windows on the event-time grid: each period starts at a multiple of itself", () => {
    // Period 1h. Panther's help-center example anchors at the first match (10:07 fires; 10:36, 10:42 and 11:06
    // attach; 11:07 starts a new alert). On the grid, 10:07, 10:36 and 10:42 share [10:00, 11:00), and 11:06
    // and 11:07 share [11:00, 12:00): which match came first does not move a boundary.
    const at = (h: number, m: number, s = 0) => H0 + h * 3600 + m * 60 + s;
    const out = applyMatches(
      [],
      [
        match("a", at(10, 7)),
        match("b", at(10, 36)),
        match("c", at(10, 42)),
        match("d", at(10, 59, 59)),
        match("e", at(11, 0)),
        match("f", at(11, 6)),
        match("g", at(11, 7)),
      ],
    );
    assert.deepEqual(
      out.alertCreations.map((w) => [w.startSecs, w.endSecs, w.matchCount]),
      [
        [at(10, 0), at(11, 0), 4],
        [at(11, 0), at(12, 0), 3],
      ],
    );
    const ids = out.placements.map((p) => p.alertId);
    assert.equal(new Set(ids.slice(0, 4)).size, 1);
    assert.equal(new Set(ids.slice(4)).size, 1);
    assert.notEqual(ids[4], ids[0]);
    assert.equal(gridStartSecs(at(10, 59, 59), 3600), at(10, 0));
    assert.equal(gridStartSecs(-1, 3600), -3600);
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

  it("counts valueless matches apart: they alert only when they alone reach the threshold", () => {
    const u = (id: string, t: number, value: string | null) => match(id, t, { threshold: 3, uniqueValue: value });
    // Two values and two valueless matches: neither count reaches 3, whatever came first.
    const mixed = applyMatches(
      [],
      [u("e1", T0, null), u("e2", T0 + 1, "ip1"), u("e3", T0 + 2, null), u("e4", T0 + 3, "ip2")],
    );
    assert.deepEqual(mixed.alertCreations, []);
    assert.equal(mixed.windowUpserts[0]?.valuelessCount, 2);
    // A rule without unique(): every match is valueless, so the count is the match count.
    const plain = applyMatches([], [u("e1", T0, null), u("e2", T0 + 1, null), u("e3", T0 + 2, null)]);
    assert.equal(plain.alertCreations.length, 1);
  });

  it("takes title, severity and context from the earliest match, whatever the arrival order", () => {
    const e1 = match("e1", T0);
    const e2 = match("e2", T0 + 5, { title: "other", severity: "CRITICAL", alertContext: { x: 1 } });
    for (const order of [
      [e1, e2],
      [e2, e1],
    ]) {
      const w = applyMatches([], order).windowUpserts[0];
      assert.equal(w?.first.title, "title e1");
      assert.equal(w?.first.severity, "MEDIUM");
      assert.deepEqual(w?.first.alertContext, { event: "e1" });
    }
    // Same second: the smaller event id.
    assert.equal(applyMatches([], [match("b", T0), match("a", T0)]).windowUpserts[0]?.first.eventId, "a");
    // Arriving in a later batch, the earlier match replaces the representative of the existing alert.
    const { outcomes } = run([[e2], [e1]]);
    assert.equal(outcomes[0]?.alertCreations[0]?.first.eventId, "e2");
    assert.equal(outcomes[1]?.alertAttachments[0]?.first.eventId, "e1");
    assert.equal(outcomes[1]?.alertAttachments[0]?.matchCount, 2);
    // The stores rewrite the stored representative and the alert's fields only then.
    assert.deepEqual([...(outcomes[1]?.newRepresentative ?? [])], [outcomes[0]?.alertCreations[0]?.id]);
    assert.deepEqual([...(run([[e1], [e2]]).outcomes[1]?.newRepresentative ?? [])], []);
  });

  it("takes the lowest threshold of a window's matches, so a rule version change cannot depend on order", () => {
    const a = match("a", T0, { threshold: 3 });
    const b = match("b", T0 + 1, { threshold: 2 });
    for (const order of [
      [[a], [b]],
      [[b], [a]],
    ]) {
      const { saved } = run(order);
      assert.equal(saved[0]?.threshold, 2);
      assert.equal(saved[0]?.alertCreated, true);
    }
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

  it("places an out-of-order match where an in-order run puts it", () => {
    const late = run([[match("late", T0 + 1000)], [match("early", T0)], [match("mid", T0 + 1500)]]);
    const inOrder = run([[match("early", T0)], [match("late", T0 + 1000)], [match("mid", T0 + 1500)]]);
    assert.deepEqual(alertsOf(late.saved), alertsOf(inOrder.saved));
    assert.equal(late.saved.length, 1);
    assert.equal(late.outcomes[2]?.placements[0]?.windowId, windowId(late.saved[0]!, H0, 3600));
  });

  it("keeps feeding a window stored before the grid with the matches it contains", () => {
    // A window from an older Vigil: anchored at its first match (T0), counting matches, alert made.
    const legacy: AlertWindow = {
      id: "legacy-window",
      sourceId: "src-1",
      ruleId: "Rule.A",
      dedupString: "alice",
      isError: false,
      startSecs: T0,
      endSecs: T0 + 3600,
      onGrid: false,
      matchCount: 2,
      uniqueValues: [],
      valuelessCount: 2,
      threshold: 1,
      alertCreated: true,
      first: match("old", T0),
    };
    // Inside it (also inside the grid hour [H0, H0 + 3600)): joins it. Before it, and after its end: grid.
    const { outcomes, saved } = run(
      [[match("in", T0 + 3599), match("before", T0 - 1), match("after", T0 + 3600)]],
      [legacy],
    );
    const placed = outcomes[0]?.placements.map((p) => p.windowId);
    assert.deepEqual(placed, ["legacy-window", windowId(legacy, H0, 3600), windowId(legacy, H0 + 3600, 3600)]);
    assert.equal(saved.find((w) => w.id === "legacy-window")?.matchCount, 3);
    assert.deepEqual(
      outcomes[0]?.alertAttachments.map((w) => w.id),
      ["legacy-window"],
    );
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
    // A rule whose dedup period changed gets its own windows on the new grid.
    const key = { sourceId: "s", ruleId: "r", dedupString: "d", isError: false };
    assert.notEqual(windowId(key, 0, 3600), windowId(key, 0, 7200));
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

  it("gives the same alerts for the same matches in any order and split, re-reads included (seeded)", () => {
    const rng = new Rng(16_007, "windows.test");
    let alerted = 0;
    for (let scenario = 0; scenario < 40; scenario++) {
      const events = scenarioEvents(rng, "src-1", rng.int(10, 60));
      const all = events.flatMap((e) => e.matches);
      const byTime = [...all].sort((a, b) => a.eventTimeSecs - b.eventTimeSecs || (a.eventId < b.eventId ? -1 : 1));
      const expected = alertsOf(run([byTime]).saved);
      alerted += expected.length;
      for (let delivery = 0; delivery < 8; delivery++) {
        // The slices of a delivery, one after another: the pure function sees one writer.
        const pages = randomDelivery(rng, events).flat();
        const got = alertsOf(run(pages.map((page) => page.flatMap((e) => e.matches))).saved);
        assert.deepEqual(got, expected, `scenario ${scenario}, delivery ${delivery}`);
      }
    }
    // The scenarios are not trivially empty.
    assert.ok(alerted > 200, `only ${alerted} alerts over all scenarios`);
  });

  it("names by id the grid window each match falls in, whatever the key's history and the rule's period", () => {
    // Six weeks of hourly windows of one key, and a rule whose period changed from 60 to 15 minutes.
    const hours = 24 * 42;
    const history = applyMatches(
      [],
      Array.from({ length: hours }, (_, h) => match(`h${h}`, H0 - h * 3600)),
    ).windowUpserts;
    assert.equal(history.length, hours);
    const batch = [
      match("now1", T0),
      match("now2", T0 + 5),
      match("quarter", T0 + 10, { dedupPeriodMinutes: 15 }),
      match("other", T0, { dedupString: "bob" }),
    ];
    const loaded = loadedFor(history, batch);
    // Of the history, only the window of T0's hour: the 15-minute window and bob's are new.
    assert.deepEqual(
      loaded.map((w) => w.startSecs),
      [H0],
    );
    const out = applyMatches(loaded, batch);
    const [alice, bob] = keysToLoad(batch);
    assert.deepEqual(
      new Set(alice?.gridIds),
      new Set(out.placements.filter((p) => p.match.dedupString === "alice").map((p) => p.windowId)),
    );
    assert.deepEqual(bob?.gridIds, [out.placements.find((p) => p.match.eventId === "other")?.windowId]);
    assert.equal(alice?.gridIds.length, 2);
    // The hour's window was the stored one: its alert grows (the stored match and the two new), no second opens.
    assert.deepEqual(
      out.alertAttachments.map((w) => [w.startSecs, w.matchCount]),
      [[H0, 3]],
    );
    assert.deepEqual(
      out.alertCreations.map((w) => [w.dedupString, w.startSecs]),
      [
        ["alice", gridStartSecs(T0 + 10, 900)],
        ["bob", H0],
      ],
    );
  });

  it("lists the keys to load with their event-time span, sorted", () => {
    const keys = keysToLoad([match("e1", T0 + 5, { ruleId: "Z" }), match("e2", T0 + 9), match("e3", T0 + 1)]);
    assert.deepEqual(
      keys.map((k) => [k.key.ruleId, k.minSecs, k.maxSecs]),
      [
        ["Rule.A", T0 + 1, T0 + 9],
        ["Z", T0 + 5, T0 + 5],
      ],
    );
  });
});
