import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sourceSettings } from "../../test/storage-contract.ts";
import type { AlertRecord } from "../core/alert.ts";
import type { PollStatus, SourceRecord } from "../core/source.ts";
import { openSqliteStore } from "../storage/sqlite/sqlite-store.ts";
import {
  AUTH_FAILURE_RULE_ID,
  checkSourceHealth,
  decideHealth,
  NEW_EVENT_TYPE_RULE_ID,
  NO_DATA_RULE_ID,
  POLL_FAILING_RULE_ID,
  QUARANTINE_QUIET_MS,
  QUARANTINE_RULE_ID,
  readSourceHealth,
  sourceHealth,
} from "./health.ts";

const CREATED = 1_000_000;
const DAY = 86_400_000;

function source(overrides: Partial<SourceRecord> = {}): SourceRecord {
  return {
    ...sourceSettings("acme"),
    id: "src-1",
    createdAtMs: CREATED,
    noDataAlertEnabled: true,
    noDataAlertSecs: 86_400,
    pollFailureAlertSecs: 3600,
    postureIntervalSecs: 3600,
    ...overrides,
  };
}

function status(overrides: Partial<PollStatus> = {}): PollStatus {
  return {
    sourceId: "src-1",
    lastPollStartedMs: null,
    lastPollFinishedMs: null,
    lastSuccessMs: null,
    lastError: null,
    lastErrorCode: null,
    lastEventStoredMs: null,
    consecutiveFailures: 0,
    ...overrides,
  };
}

function openAlert(id: string, createdAtMs: number): AlertRecord {
  return { id, createdAtMs } as AlertRecord;
}

const none = { noData: null, authFailure: null };

describe("decideHealth: no events processed", () => {
  it("raises exactly at the threshold, counting from the source's creation when no event was stored", () => {
    assert.deepEqual(decideHealth({ source: source(), status: status(), nowMs: CREATED + DAY - 1, open: none }), []);
    const [raise] = decideHealth({ source: source(), status: status(), nowMs: CREATED + DAY, open: none });
    assert.equal(raise?.kind, "raise");
    assert.ok(raise?.kind === "raise");
    assert.equal(raise.match.ruleId, NO_DATA_RULE_ID);
    assert.equal(raise.match.severity, "CRITICAL");
    assert.equal(raise.match.eventId, `system:${NO_DATA_RULE_ID}:src-1:${CREATED}`);
  });

  it("counts from the last stored event and honours a custom threshold", () => {
    const s = source({ noDataAlertSecs: 900 });
    const st = status({ lastEventStoredMs: 5_000_000 });
    assert.deepEqual(decideHealth({ source: s, status: st, nowMs: 5_000_000 + 899_999, open: none }), []);
    const [raise] = decideHealth({ source: s, status: st, nowMs: 5_000_000 + 900_000, open: none });
    assert.ok(raise?.kind === "raise");
    assert.equal(raise.match.eventId, `system:${NO_DATA_RULE_ID}:src-1:5000000`);
  });

  it("does nothing when disabled (or the source is disabled), and raises nothing twice", () => {
    const late = CREATED + 10 * DAY;
    assert.deepEqual(
      decideHealth({ source: source({ noDataAlertEnabled: false }), status: status(), nowMs: late, open: none }),
      [],
    );
    assert.deepEqual(
      decideHealth({ source: source({ enabled: false }), status: status(), nowMs: late, open: none }),
      [],
    );
    assert.deepEqual(
      decideHealth({
        source: source(),
        status: status(),
        nowMs: late,
        open: { noData: openAlert("a1", late - 1), authFailure: null },
      }),
      [],
    );
  });

  it("resolves the open alert when events flow again, or when the alarm is turned off", () => {
    const open = { noData: openAlert("a1", CREATED + DAY), authFailure: null };
    const flowing = status({ lastEventStoredMs: CREATED + DAY + 5 });
    assert.deepEqual(decideHealth({ source: source(), status: flowing, nowMs: CREATED + DAY + 10, open }), [
      { kind: "resolve", check: "no_data", alertId: "a1" },
    ]);
    assert.deepEqual(
      decideHealth({ source: source({ noDataAlertEnabled: false }), status: status(), nowMs: CREATED + 2 * DAY, open }),
      [{ kind: "resolve", check: "no_data", alertId: "a1" }],
    );
  });
});

describe("decideHealth: authentication failures", () => {
  const failing = status({
    lastSuccessMs: 2_000_000,
    lastErrorCode: "openai_auth_invalid_key",
    consecutiveFailures: 1,
    lastEventStoredMs: 2_000_000,
  });

  it("raises on an openai_auth_* poll failure, not on other failures", () => {
    const [raise] = decideHealth({ source: source(), status: failing, nowMs: 2_100_000, open: none });
    assert.ok(raise?.kind === "raise");
    assert.equal(raise.match.ruleId, AUTH_FAILURE_RULE_ID);
    assert.equal(raise.match.eventId, `system:${AUTH_FAILURE_RULE_ID}:src-1:2000000`);
    const network = status({ ...failing, lastErrorCode: "network_error" });
    assert.deepEqual(decideHealth({ source: source(), status: network, nowMs: 2_100_000, open: none }), []);
  });

  it("resolves on the next successful poll only", () => {
    const open = { noData: null, authFailure: openAlert("a2", 2_100_000) };
    assert.deepEqual(decideHealth({ source: source(), status: failing, nowMs: 2_200_000, open }), []);
    const stillNoSuccess = status({ ...failing, lastErrorCode: "network_error" });
    assert.deepEqual(decideHealth({ source: source(), status: stillNoSuccess, nowMs: 2_200_000, open }), []);
    const ok = status({ lastSuccessMs: 2_300_000, lastEventStoredMs: 2_000_000 });
    assert.deepEqual(decideHealth({ source: source(), status: ok, nowMs: 2_300_000, open }), [
      { kind: "resolve", check: "auth_failure", alertId: "a2" },
    ]);
  });
});

describe("decideHealth: polls failing", () => {
  const HOUR = 3_600_000;
  const failing = status({
    lastSuccessMs: 2_000_000,
    lastErrorCode: "openai_server_error",
    lastError: "HTTP 503",
    consecutiveFailures: 3,
    lastEventStoredMs: 2_000_000,
  });
  // The no-data alarm is off so that only this check speaks.
  const s = source({ noDataAlertEnabled: false });

  it("raises exactly at the threshold since the last success, not for auth failures or after a success", () => {
    assert.deepEqual(decideHealth({ source: s, status: failing, nowMs: 2_000_000 + HOUR - 1, open: none }), []);
    const [raise] = decideHealth({ source: s, status: failing, nowMs: 2_000_000 + HOUR, open: none });
    assert.ok(raise?.kind === "raise");
    assert.equal(raise.check, "poll_failing");
    assert.equal(raise.match.ruleId, POLL_FAILING_RULE_ID);
    assert.equal(raise.match.severity, "CRITICAL");
    assert.equal(raise.match.eventId, `system:${POLL_FAILING_RULE_ID}:src-1:2000000`);
    const auth = status({ ...failing, lastErrorCode: "openai_auth_invalid_key" });
    assert.ok(
      decideHealth({ source: s, status: auth, nowMs: 2_000_000 + 2 * HOUR, open: none }).every(
        (a) => a.check !== "poll_failing",
      ),
    );
    const ok = status({ lastSuccessMs: 2_000_000 + HOUR - 10, lastEventStoredMs: 2_000_000 });
    assert.deepEqual(decideHealth({ source: s, status: ok, nowMs: 2_000_000 + 2 * HOUR, open: none }), []);
  });

  it("counts from the source's creation when no poll ever succeeded, and honours the per-source setting", () => {
    const never = status({ ...failing, lastSuccessMs: null });
    const short = source({ noDataAlertEnabled: false, pollFailureAlertSecs: 600 });
    assert.deepEqual(decideHealth({ source: short, status: never, nowMs: CREATED + 599_999, open: none }), []);
    const [raise] = decideHealth({ source: short, status: never, nowMs: CREATED + 600_000, open: none });
    assert.ok(raise?.kind === "raise");
    assert.equal(raise.match.eventId, `system:${POLL_FAILING_RULE_ID}:src-1:${CREATED}`);
  });

  it("raises nothing twice and resolves on the next successful poll", () => {
    const open = { ...none, pollFailing: openAlert("p1", 2_000_000 + HOUR) };
    assert.deepEqual(decideHealth({ source: s, status: failing, nowMs: 2_000_000 + 5 * HOUR, open }), []);
    const ok = status({ lastSuccessMs: 2_000_000 + 6 * HOUR, lastEventStoredMs: 2_000_000 });
    assert.deepEqual(decideHealth({ source: s, status: ok, nowMs: 2_000_000 + 6 * HOUR, open }), [
      { kind: "resolve", check: "poll_failing", alertId: "p1" },
    ]);
  });
});

describe("decideHealth: quarantined records", () => {
  const s = source({ noDataAlertEnabled: false });
  const st = status({ lastSuccessMs: 5_000_000 });

  it("raises while a record was quarantined within the quiet period, once", () => {
    assert.deepEqual(
      decideHealth({ source: s, status: st, nowMs: 5_000_000, open: none, lastQuarantinedMs: null }),
      [],
    );
    const [raise] = decideHealth({ source: s, status: st, nowMs: 5_000_000, open: none, lastQuarantinedMs: 4_000_000 });
    assert.ok(raise?.kind === "raise");
    assert.equal(raise.check, "quarantine");
    assert.equal(raise.match.ruleId, QUARANTINE_RULE_ID);
    assert.equal(raise.match.eventId, `system:${QUARANTINE_RULE_ID}:src-1:4000000`);
    const open = { ...none, quarantine: openAlert("q1", 5_000_000) };
    assert.deepEqual(decideHealth({ source: s, status: st, nowMs: 5_000_001, open, lastQuarantinedMs: 5_000_001 }), []);
  });

  it("resolves exactly after the quiet period without a new record", () => {
    const open = { ...none, quarantine: openAlert("q1", 4_000_000) };
    const last = 4_000_000;
    assert.deepEqual(
      decideHealth({ source: s, status: st, nowMs: last + QUARANTINE_QUIET_MS - 1, open, lastQuarantinedMs: last }),
      [],
    );
    assert.deepEqual(
      decideHealth({ source: s, status: st, nowMs: last + QUARANTINE_QUIET_MS, open, lastQuarantinedMs: last }),
      [{ kind: "resolve", check: "quarantine", alertId: "q1" }],
    );
    // A record older than the quiet period raises nothing.
    assert.deepEqual(
      decideHealth({ source: s, status: st, nowMs: last + QUARANTINE_QUIET_MS, open: none, lastQuarantinedMs: last }),
      [],
    );
  });
});

describe("decideHealth: new event types", () => {
  it("raises one alert per type not alerted yet, keyed by (source, type)", () => {
    const actions = decideHealth({
      source: source({ noDataAlertEnabled: false }),
      status: status({ lastSuccessMs: 1 }),
      nowMs: 9_000_000,
      open: none,
      unknownTypes: [
        { type: "widget.created", firstSeenMs: 8_000_000 },
        { type: "widget.deleted", firstSeenMs: 8_500_000 },
      ],
      alertedTypes: new Set(["widget.created"]),
    });
    assert.equal(actions.length, 1);
    const [raise] = actions;
    assert.ok(raise?.kind === "raise");
    assert.equal(raise.check, "new_event_type");
    assert.equal(raise.match.ruleId, NEW_EVENT_TYPE_RULE_ID);
    assert.equal(raise.match.eventId, `system:${NEW_EVENT_TYPE_RULE_ID}:src-1:widget.deleted`);
    assert.deepEqual(raise.match.alertContext?.event_type, "widget.deleted");
    assert.equal(raise.match.severity, "LOW", "a rule to write, not an incident");
  });
});

describe("sourceHealth: the one health state", () => {
  const s = source();
  const input = { source: s, status: status({ lastEventStoredMs: CREATED }), nowMs: CREATED + 1000, open: none };
  const state = (i: Parameters<typeof sourceHealth>[0]) => sourceHealth(i).state;

  it("is ok while polls succeed and events flow, and before the first poll", () => {
    assert.deepEqual(sourceHealth(input), { state: "ok", reason: "Not polled yet." });
    const polled = status({ lastEventStoredMs: CREATED, lastSuccessMs: CREATED + 500 });
    assert.deepEqual(sourceHealth({ ...input, status: polled }), {
      state: "ok",
      reason: "Last successful poll at 1970-01-01T00:16:40Z.",
    });
  });

  it("is disabled for a source turned off, whatever else holds", () => {
    const off = source({ enabled: false });
    assert.equal(state({ ...input, source: off }), "disabled");
    assert.equal(
      state({ ...input, source: off, nowMs: CREATED + 2 * DAY, open: { ...none, noData: openAlert("a", CREATED) } }),
      "disabled",
    );
  });

  it("is warning on a failed last poll, recent quarantined records, or stalled polls", () => {
    assert.equal(
      state({ ...input, status: status({ lastEventStoredMs: CREATED, consecutiveFailures: 1 }) }),
      "warning",
    );
    assert.equal(state({ ...input, lastQuarantinedMs: CREATED + 500 }), "warning");
    // pollIntervalSecs 60: stalled after 3 intervals and a minute without a successful poll.
    const polled = status({ lastEventStoredMs: CREATED, lastSuccessMs: CREATED });
    assert.equal(state({ ...input, status: polled, nowMs: CREATED + 240_000 }), "ok");
    const stalled = sourceHealth({ ...input, status: polled, nowMs: CREATED + 240_001 });
    assert.equal(stalled.state, "warning");
    assert.match(stalled.reason, /No successful poll since .* \(it polls every 1 min\)/);
  });

  it("is no_data past the threshold, and while a no-data alert is open (what the API once called OK)", () => {
    const silent = sourceHealth({ ...input, nowMs: CREATED + DAY });
    assert.equal(silent.state, "no_data");
    assert.match(silent.reason, /the no-data alarm is at 24 h/);
    // An open alert counts until events flow again; then it resolves and the state is ok.
    const open = { ...none, noData: openAlert("a", CREATED + DAY) };
    const fresh = status({ lastEventStoredMs: CREATED, lastSuccessMs: CREATED + DAY });
    assert.equal(
      state({ ...input, status: status({ lastEventStoredMs: null }), nowMs: CREATED + DAY, open }),
      "no_data",
    );
    assert.equal(
      state({ ...input, status: { ...fresh, lastEventStoredMs: CREATED + DAY }, nowMs: CREATED + DAY, open }),
      "ok",
    );
  });

  it("is failing on an authentication error or polls failing past the threshold, before no_data", () => {
    const auth = status({
      lastEventStoredMs: CREATED,
      consecutiveFailures: 1,
      lastErrorCode: "openai_auth_invalid_key",
    });
    assert.equal(state({ ...input, status: auth }), "failing");
    assert.equal(state({ ...input, status: auth, nowMs: CREATED + DAY }), "failing");
    const net = status({ lastEventStoredMs: CREATED, consecutiveFailures: 9, lastError: "HTTP 503" });
    const failing = sourceHealth({ ...input, status: net, nowMs: CREATED + 3_600_000 });
    assert.equal(failing.state, "failing");
    assert.match(failing.reason, /9 in a row\): HTTP 503/);
    assert.equal(state({ ...input, status: net, nowMs: CREATED + 3_599_999 }), "warning");
  });
});

describe("checkSourceHealth against a store: new checks", () => {
  it("raises quarantine and new-type alerts once, and resolves the quarantine alert after the quiet period", async () => {
    const clock = { t: 10_000_000, nowMs: () => clock.t };
    const store = await openSqliteStore({ memory: true, clock });
    try {
      const src = await store.createSource(sourceSettings("acme", { noDataAlertEnabled: false }), { ciphertext: "x" });
      await store.applyPage({
        sourceId: src.id,
        events: [],
        quarantined: [{ eventId: "bad", reason: "invalid", issues: [], raw: '{"id":"bad"}' }],
        unknownTypes: ["widget.created"],
      });
      const raised = await checkSourceHealth(store, src, clock.t);
      assert.deepEqual(raised.map((a) => a.check).sort(), ["new_event_type", "quarantine"]);
      assert.deepEqual(await checkSourceHealth(store, src, clock.t + 1000), []);
      assert.equal((await store.listAlerts({ ruleId: NEW_EVENT_TYPE_RULE_ID })).length, 1);
      assert.equal((await readSourceHealth(store, src, clock.t + 1000)).state, "warning");

      clock.t += QUARANTINE_QUIET_MS;
      const resolved = await checkSourceHealth(store, src, clock.t);
      assert.deepEqual(
        resolved.map((a) => [a.kind, a.check]),
        [["resolve", "quarantine"]],
      );
      const [q] = await store.listAlerts({ ruleId: QUARANTINE_RULE_ID });
      assert.equal(q?.status, "RESOLVED");
      // The new-type alert stays (informational) and is never raised again.
      assert.deepEqual(await checkSourceHealth(store, src, clock.t + 1), []);
      assert.equal((await store.listAlerts({ ruleId: NEW_EVENT_TYPE_RULE_ID })).length, 1);
    } finally {
      await store.close();
    }
  });

  it("raises the poll-failing alert once after the threshold and resolves it on success", async () => {
    const clock = { t: 10_000_000, nowMs: () => clock.t };
    const store = await openSqliteStore({ memory: true, clock });
    try {
      const src = await store.createSource(
        sourceSettings("acme", { noDataAlertEnabled: false, pollFailureAlertSecs: 600 }),
        { ciphertext: "x" },
      );
      assert.equal(src.pollFailureAlertSecs, 600);
      await store.recordPollResult(src.id, { atMs: clock.t, ok: true });
      await store.recordPollResult(src.id, { atMs: clock.t + 1000, ok: false, error: "HTTP 503", errorCode: "x" });
      assert.deepEqual(await checkSourceHealth(store, src, clock.t + 599_999), []);
      assert.deepEqual(
        (await checkSourceHealth(store, src, clock.t + 600_000)).map((a) => a.check),
        ["poll_failing"],
      );
      assert.deepEqual(await checkSourceHealth(store, src, clock.t + 700_000), []);
      assert.equal((await readSourceHealth(store, src, clock.t + 700_000)).state, "failing");
      clock.t += 800_000;
      await store.recordPollResult(src.id, { atMs: clock.t, ok: true });
      assert.deepEqual(
        (await checkSourceHealth(store, src, clock.t)).map((a) => [a.kind, a.check]),
        [["resolve", "poll_failing"]],
      );
    } finally {
      await store.close();
    }
  });
});

describe("checkSourceHealth against a store", () => {
  it("raises one alert per episode, resolves it when events flow, and enqueues both notifications", async () => {
    const clock = { t: 10_000_000, nowMs: () => clock.t };
    const store = await openSqliteStore({ memory: true, clock });
    try {
      const src = await store.createSource(sourceSettings("acme", { noDataAlertSecs: 900 }), { ciphertext: "x" });
      clock.t += 900_000;
      assert.equal((await checkSourceHealth(store, src, clock.t)).length, 1);
      clock.t += 60_000;
      assert.deepEqual(await checkSourceHealth(store, src, clock.t), []);
      const [alert] = await store.listAlerts({ ruleId: NO_DATA_RULE_ID });
      assert.equal(alert?.status, "OPEN");
      assert.equal(alert?.severity, "CRITICAL");
      // A user closing it by hand does not make it come back within the same episode.
      await store.setAlertStatus(alert?.id ?? "", "CLOSED", clock.t);
      assert.deepEqual(await checkSourceHealth(store, src, clock.t + 1), []);
      assert.equal((await store.listAlerts({ ruleId: NO_DATA_RULE_ID })).length, 1);
      await store.setAlertStatus(alert?.id ?? "", "OPEN", clock.t);

      await store.applyPage({
        sourceId: src.id,
        events: [
          {
            id: "e1",
            type: "login.succeeded",
            effectiveAtSecs: 1,
            actorType: null,
            actorId: null,
            actorEmail: null,
            ip: null,
            projectId: null,
            raw: "{}",
          },
        ],
        quarantined: [],
        unknownTypes: [],
      });
      assert.deepEqual(await checkSourceHealth(store, src, clock.t), [
        { kind: "resolve", check: "no_data", alertId: alert?.id },
      ]);
      assert.equal((await store.getAlert(alert?.id ?? ""))?.status, "RESOLVED");
      // Closed by hand (its pager incident ended too), reopened, then resolved by the check: each end is told.
      assert.deepEqual(
        (await store.listUnroutedOutbox(10)).map((e) => e.kind),
        ["created", "resolved", "resolved"],
      );
    } finally {
      await store.close();
    }
  });
});
