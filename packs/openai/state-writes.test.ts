// How often the OpenAI pack's stateful rules write rule state. Each write is a row the page transaction reads
// and upserts, so a rule that rewrites unchanged state on every event costs every page; a backfill reads its
// slices' days side by side, so "the last day written" must never go back.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BatchState } from "../../src/detections/engine/state.ts";
import { makeEvent } from "../../src/detections/event/index.ts";
import { prepareTestLog } from "../../src/detections/test-runner.ts";
import { DAY_SECS, rememberDaily, touchDaily } from "./_auth.ts";
import { rawEvent, sessionOf } from "./_controls.ts";
import newOrigin from "./admin/new-origin.ts";

const DAY = 20_000;
const T = DAY * DAY_SECS;

function stateAt(timeSecs: number, entries: ConstructorParameters<typeof BatchState>[0] = []): BatchState {
  const state = new BatchState(entries);
  state.begin("R", "src", "evt", timeSecs);
  return state;
}

describe("touchDaily and rememberDaily", () => {
  it("write a key once a day, and never an earlier day over a later one", () => {
    const state = stateAt(T + 100);
    assert.equal(touchDaily(state, "k", T + 100, 90 * DAY_SECS), true);
    assert.equal(touchDaily(state, "k", T + 5000, 90 * DAY_SECS), false);
    state.begin("R", "src", "evt2", T - DAY_SECS);
    // An event of the day before, read after (another backfill slice): the key stays at the later day.
    assert.equal(touchDaily(state, "k", T - DAY_SECS, 90 * DAY_SECS), false);
    state.begin("R", "src", "evt3", T + DAY_SECS);
    assert.equal(touchDaily(state, "k", T + DAY_SECS, 90 * DAY_SECS), true);
    assert.deepEqual(
      state.ops.map((o) => (o.op.kind === "put" ? o.op.value : o.op.kind)),
      [String(DAY), String(DAY + 1)],
    );
  });

  it("write over a value that is not a day, and say whether the key was known", () => {
    const state = stateAt(T, [{ ruleId: "R", key: "odd", value: "yes", counter: 0, members: [], expiresAtSecs: null }]);
    assert.equal(rememberDaily(state, "odd", T, DAY_SECS), true);
    assert.equal(rememberDaily(state, "new", T, DAY_SECS), false);
    assert.equal(rememberDaily(state, "new", T, DAY_SECS), true);
    assert.equal(state.ops.length, 2);
  });
});

describe("OpenAI.Admin.NewOrigin state writes", () => {
  const adminAction = (at: number, ip: string, asn: string | null) =>
    makeEvent(
      prepareTestLog(
        rawEvent(
          "project.created",
          { id: "proj_1" },
          { at, actor: sessionOf("admin@acme.test", ip, asn === null ? null : { asn, country: "US" }) },
        ),
      ),
    );
  const run = (state: BatchState, at: number, ip = "198.51.100.20", asn: string | null = "7922") => {
    state.begin(newOrigin.id, "src", `evt-${at}`, at);
    return newOrigin.fns.rule(adminAction(at, ip, asn), state.context);
  };

  it("keeps networks used every day known, even when each day starts with an action without network details", () => {
    const state = stateAt(T);
    run(state, T, "198.51.100.20", "7922");
    run(state, T + 60, "203.0.113.9", "3320");
    // Longer than the 90-day TTL: known networks must be refreshed by their daily use.
    for (let day = 1; day <= 100; day++) {
      const at = T + day * DAY_SECS;
      assert.equal(run(state, at, "198.51.100.20", null), false, `day ${day}, no details`);
      assert.equal(run(state, at + 60, "198.51.100.20", "7922"), false, `day ${day}, 7922`);
      assert.equal(run(state, at + 120, "203.0.113.9", "3320"), false, `day ${day}, 3320`);
    }
  });

  it("records an actor's origins once, refreshes them once a day, and still alerts on a new network", () => {
    const state = stateAt(T);
    assert.equal(run(state, T), false);
    const first = state.ops.length;
    assert.ok(first > 0);
    // The same actor from the same network later that day: nothing changes, nothing is written.
    assert.equal(run(state, T + 600), false);
    assert.equal(state.ops.length, first);
    // The next day the origins' TTL is refreshed, once.
    assert.equal(run(state, T + DAY_SECS), false);
    const refreshed = state.ops.length;
    assert.ok(refreshed > first);
    assert.equal(run(state, T + DAY_SECS + 600), false);
    assert.equal(state.ops.length, refreshed);
    // A new ASN is still new, and is written.
    assert.equal(run(state, T + DAY_SECS + 1200, "203.0.113.9", "64500"), true);
    assert.ok(state.ops.length > refreshed);
  });
});
