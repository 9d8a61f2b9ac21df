import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sourceSettings } from "../../test/storage-contract.ts";
import type { AlertRecord, PollStatus, SourceRecord } from "../storage/ports.ts";
import { openSqliteStore } from "../storage/sqlite/sqlite-store.ts";
import { AUTH_FAILURE_RULE_ID, checkSourceHealth, decideHealth, NO_DATA_RULE_ID } from "./health.ts";

const CREATED = 1_000_000;
const DAY = 86_400_000;

function source(overrides: Partial<SourceRecord> = {}): SourceRecord {
  return {
    ...sourceSettings("acme"),
    id: "src-1",
    createdAtMs: CREATED,
    noDataAlertEnabled: true,
    noDataAlertSecs: 86_400,
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
            normalized: null,
          },
        ],
        quarantined: [],
        unknownTypes: [],
      });
      assert.deepEqual(await checkSourceHealth(store, src, clock.t), [
        { kind: "resolve", check: "no_data", alertId: alert?.id },
      ]);
      assert.equal((await store.getAlert(alert?.id ?? ""))?.status, "RESOLVED");
      assert.deepEqual(
        (await store.listUnroutedOutbox(10)).map((e) => e.kind),
        ["created", "resolved"],
      );
    } finally {
      await store.close();
    }
  });
});
