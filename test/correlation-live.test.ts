// Correlation rules live, on event time, with the built-in packs (the OpenAI pack's brute-force-then-success):
// pages written through the real page writer (normalize → detect → one transaction), then correlation runs.
// Late and backfilled matches correlate with what was stored before them, a crash between the page commit and
// the correlation loses nothing, and re-runs never raise a second alert.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { raw, session } from "../packs/openai/_auth.ts";
import type { SourceRecord } from "../src/core/source.ts";
import { memberRuleIds } from "../src/detections/correlation/live.ts";
import { loadRules } from "../src/detections/engine/load.ts";
import { runRuleTests } from "../src/detections/test-runner.ts";
import { type Detection, openDetection, runCorrelations } from "../src/pipeline/detection.ts";
import { storePage } from "../src/pipeline/page-writer.ts";
import { loadOpenAIAuditLogType } from "../src/schema/index.ts";
import type { Store } from "../src/storage/ports.ts";
import { fakeClock, storeWithSource } from "./helpers.ts";

const NOW_MS = Date.UTC(2026, 10, 20, 15, 0, 0);
const NOW = NOW_MS / 1000;
const RULE = "OpenAI.BruteForce.Login.Success";
const normalizer = loadOpenAIAuditLogType();
const FAILED = { error_code: "invalid_credentials", error_message: "Invalid username or password" };

let n = 0;
/** A login record of `email` at `at` (Unix seconds). */
function login(kind: "failed" | "succeeded", email: string, at: number): Record<string, unknown> {
  const r = raw(`login.${kind}`, session(email, { ip: "95.24.1.7" }), kind === "failed" ? FAILED : undefined, { at });
  r.id = `audit_log-corr${String(++n).padStart(8, "0")}`;
  return r;
}

/** Five failures one minute apart from `t`, then (optionally) the success two minutes after the last. */
function attack(email: string, t: number): { failures: Record<string, unknown>[]; success: Record<string, unknown> } {
  return {
    failures: Array.from({ length: 5 }, (_, i) => login("failed", email, t + i * 60)),
    success: login("succeeded", email, t + 6 * 60),
  };
}

describe("correlation rules live, on event time", () => {
  let store: Store;
  let source: SourceRecord;
  let detection: Detection;
  const clock = fakeClock(NOW_MS);

  beforeEach(async () => {
    ({ store, source } = await storeWithSource());
    detection = await openDetection({ store, rulesDirs: [], nowSecs: () => NOW });
  });
  afterEach(async () => {
    await detection.close();
    await store.close();
  });

  const write = (items: Record<string, unknown>[]) =>
    storePage({ store, source, clock, normalizer, detector: detection.detector }, items, {});
  const correlate = (s: Store = store) => runCorrelations(s, source, NOW, detection);
  const alertsOf = async () => (await store.listAlerts({ limit: 1000 })).filter((a) => a.ruleId === RULE);

  it("the pack's rule is loaded from packs/openai and enabled", async () => {
    const rules = await detection.correlationRulesFor(source.id);
    const rule = rules.find((r) => r.ruleId === RULE);
    assert.ok(rule, `loaded: ${rules.map((r) => r.ruleId).join(", ")}`);
    assert.equal(rule.packId, "OpenAI");
    assert.match(rule.specPath, /packs\/openai\/auth\/brute-force-then-success\.yml$/);
  });

  it("history three days old (a backfill) raises one HIGH alert at the attack's time", async () => {
    const t = NOW - 3 * 86_400;
    const { failures, success } = attack("dana.lee@acme-robotics.com", t);
    await write([...failures, success]);
    const run = await correlate();
    assert.equal(run.createdAlertIds.length, 1);
    const [alert] = await alertsOf();
    assert.equal(alert?.severity, "HIGH");
    assert.equal(alert?.dedupString, "dana.lee@acme-robotics.com");
    assert.equal(alert?.windowStartSecs !== undefined && alert.windowStartSecs <= t + 360, true);
    const matches = await store.getAlertMatches(alert!.id);
    assert.deepEqual(
      matches.map((m) => m.match.eventId),
      [success.id],
      "anchored on the success",
    );
    // A derived match names its event by id (it stored no event): the alert still shows the event itself.
    assert.equal(matches[0]?.event?.id, success.id);
    assert.equal((matches[0]?.match.alertContext?.matchedEventIds as string[] | undefined)?.length, 6);
  });

  it("backfill order (newest page first): the success stored before its failures still correlates", async () => {
    const { failures, success } = attack("dana.lee@acme-robotics.com", NOW - 86_400);
    await write([success]);
    assert.equal((await correlate()).createdAlertIds.length, 0);
    await write(failures);
    assert.equal((await correlate()).createdAlertIds.length, 1);
    assert.equal((await alertsOf()).length, 1);
  });

  it("late data: the failures stored first, the success arriving hours later by a sweep", async () => {
    const { failures, success } = attack("sam.ortiz@acme-robotics.com", NOW - 5 * 3600);
    await write(failures);
    assert.equal((await correlate()).createdAlertIds.length, 0, "no success yet");
    await write([login("succeeded", "other@acme-robotics.com", NOW - 5 * 3600 + 400)]);
    assert.equal((await correlate()).createdAlertIds.length, 0, "another user's success");
    await write([success]);
    assert.equal((await correlate()).createdAlertIds.length, 1);
  });

  it("does not fire on four failures, on a success before the failures, or beyond 30 minutes", async () => {
    const t = NOW - 86_400;
    await write([
      ...attack("a@acme-robotics.com", t).failures.slice(1),
      login("succeeded", "a@acme-robotics.com", t + 400),
    ]);
    const early = attack("b@acme-robotics.com", t);
    await write([login("succeeded", "b@acme-robotics.com", t - 60), ...early.failures]);
    await write([...attack("c@acme-robotics.com", t).failures, login("succeeded", "c@acme-robotics.com", t + 31 * 60)]);
    assert.equal((await correlate()).createdAlertIds.length, 0);
    assert.deepEqual(await alertsOf(), []);
  });

  it("only the matches of the enabled correlation rules' members wait for correlation", async () => {
    const members = new Set((await detection.correlationRulesFor(source.id)).flatMap((r) => memberRuleIds(r)));
    const t = NOW - 3 * 86_400;
    const { failures, success } = attack("dana.lee@acme-robotics.com", t);
    // A key creation matches rules that no correlation rule takes as member.
    const created = raw("api_key.created", session("dana.lee@acme-robotics.com", { ip: "95.24.1.7" }), undefined, {
      at: t + 30,
    });
    await write([...failures, success, created]);
    const stored = await store.listMatches({ sourceId: source.id, sinceSecs: 0, untilSecs: NOW });
    const pending = await store.listCorrelationPending(source.id, { afterSeq: 0, limit: 1000 });
    assert.ok(
      stored.some((m) => !members.has(m.ruleId)),
      `a non-member match is stored: ${stored.map((m) => m.ruleId).join(", ")}`,
    );
    assert.deepEqual(
      pending.map((p) => p.match.ruleId).sort(),
      stored
        .filter((m) => members.has(m.ruleId))
        .map((m) => m.ruleId)
        .sort(),
    );
    assert.ok(pending.length > 0);
    // The correlation completes on the pending members alone.
    assert.equal((await correlate()).createdAlertIds.length, 1);
    assert.equal((await correlate()).examined, 0);
  });

  it("a crash between the page commit and the correlation loses nothing, and re-runs raise no second alert", async () => {
    const { failures, success } = attack("dana.lee@acme-robotics.com", NOW - 2 * 86_400);
    await write([...failures, success]);
    // The correlation run dies before it applies what it found (the process is killed, the database is gone).
    const dying = new Proxy(store, {
      get(target, prop) {
        if (prop === "applyDerivedMatches") return async () => Promise.reject(new Error("killed"));
        const v = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    await assert.rejects(correlate(dying), /killed/);
    assert.deepEqual(await alertsOf(), []);
    // It dies after applying but before clearing the pending matches.
    const halfway = new Proxy(store, {
      get(target, prop) {
        if (prop === "clearCorrelationPending") return async () => Promise.reject(new Error("killed"));
        const v = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    await assert.rejects(correlate(halfway), /killed/);
    assert.equal((await alertsOf()).length, 1, "applied once");
    // The next run (after a restart) sees the same pending matches and finds nothing new.
    const next = await correlate();
    assert.equal(next.examined > 0, true, "the matches were still pending");
    assert.deepEqual(next.createdAlertIds, []);
    const again = await correlate();
    assert.equal(again.examined, 0, "nothing pending any more");
    const [alert] = await alertsOf();
    assert.equal(alert?.matchCount, 1, "one derived match, however often it ran");
    // The same pages re-read (overlap, sweep) store nothing new and raise nothing.
    await write([...failures, success]);
    assert.deepEqual((await correlate()).createdAlertIds, []);
    assert.equal((await alertsOf()).length, 1);
  });

  it("a second success after the first is not another brute force; an attack a day later raises another", async () => {
    const t = NOW - 3 * 86_400;
    const { failures, success } = attack("dana.lee@acme-robotics.com", t);
    await write([...failures, success]);
    await correlate();
    // The failures were consecutive up to the first success only (the rule's `Consecutive`): the user's next
    // login is just a login.
    await write([login("succeeded", "dana.lee@acme-robotics.com", t + 8 * 60)]);
    assert.deepEqual((await correlate()).createdAlertIds, []);
    const [alert] = await alertsOf();
    assert.equal(alert?.matchCount, 1);
    const later = attack("dana.lee@acme-robotics.com", t + 86_400);
    await write([...later.failures, later.success]);
    assert.equal((await correlate()).createdAlertIds.length, 1);
    assert.equal((await alertsOf()).length, 2);
  });

  it("a disabled correlation rule does not correlate", async () => {
    await store.setDetectionSetting({ kind: "rule", id: RULE, sourceId: null, enabled: false });
    const { failures, success } = attack("dana.lee@acme-robotics.com", NOW - 3600);
    await write([...failures, success]);
    assert.deepEqual((await correlate()).createdAlertIds, []);
    assert.deepEqual(await alertsOf(), []);
  });

  it("a user's TypeScript correlation rule (a rule directory) runs live beside the pack's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-user-corr-"));
    try {
      writeFileSync(
        join(dir, "three-failures.ts"),
        `import { defineCorrelation } from "vigil/rules";
export default defineCorrelation({
  id: "Team.ThreeFailuresThenSuccess",
  severity: "MEDIUM",
  group: [
    { id: "fail", ruleId: "OpenAI.Login.Failed", minMatches: 3 },
    { id: "ok", ruleId: "OpenAI.Login.Success" },
  ],
  matchCriteria: { user: { fail: "actor.session.user.email", ok: "actor.session.user.email" } },
  lookbackMinutes: 10,
});
`,
      );
      const own = await openDetection({ store, rulesDirs: [dir], nowSecs: () => NOW });
      try {
        const t = NOW - 7 * 86_400;
        const email = "Mixed.Case@acme-robotics.com";
        await storePage(
          { store, source, clock, normalizer, detector: own.detector },
          [...[0, 60, 120].map((d) => login("failed", email, t + d)), login("succeeded", email, t + 300)],
          {},
        );
        const run = await runCorrelations(store, source, NOW, own);
        const rules = (await store.listAlerts({ limit: 100 })).map((a) => `${a.ruleId} ${a.severity} ${a.dedupString}`);
        assert.deepEqual(rules, [`Team.ThreeFailuresThenSuccess MEDIUM ${email}`], "three failures are not five");
        assert.equal(run.createdAlertIds.length, 1);
      } finally {
        await own.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const SAMPLE = "/work/shared/reference/panther-analysis-sample/correlation_rules";
  it("Panther's own OpenAI.BruteForce.Login.Success.Group loads unmodified, passes its tests, and runs live", {
    skip: existsSync(SAMPLE) ? false : `no Panther sample at ${SAMPLE}`,
  }, async () => {
    const set = await loadRules({ packs: [], dirs: [SAMPLE] });
    const rule = set.correlationRules?.find((c) => c.ruleId === "OpenAI.BruteForce.Login.Success.Group");
    assert.ok(rule);
    assert.equal(rule.kind, "Group");
    assert.equal(rule.enabled, false, "disabled upstream");
    const report = await runRuleTests(set);
    assert.equal(report.failed, 0, JSON.stringify(report.failures));
    assert.equal(report.passed, 5);
    // Live beside the pack: enabled by an override (the file stays as Panther ships it).
    const withSample = await openDetection({ store, rulesDirs: [SAMPLE], nowSecs: () => NOW });
    try {
      await store.setDetectionSetting({
        kind: "rule",
        id: "OpenAI.BruteForce.Login.Success.Group",
        sourceId: null,
        enabled: true,
      });
      const { failures, success } = attack("dana.lee@acme-robotics.com", NOW - 2 * 86_400);
      await storePage({ store, source, clock, normalizer, detector: withSample.detector }, [success, ...failures], {});
      await runCorrelations(store, source, NOW, withSample);
      const fired = (await store.listAlerts({ limit: 100 })).map((a) => `${a.ruleId} ${a.severity} ${a.dedupString}`);
      assert.deepEqual(fired.sort(), [
        "OpenAI.BruteForce.Login.Success HIGH dana.lee@acme-robotics.com",
        "OpenAI.BruteForce.Login.Success.Group HIGH dana.lee@acme-robotics.com",
      ]);
    } finally {
      await withSample.close();
    }
  });

  it("an Absence waits for the stored events to pass its time frame (polls and backfill), then fires once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-absence-"));
    try {
      writeFileSync(
        join(dir, "failed-never-succeeded.ts"),
        `import { defineCorrelation } from "vigil/rules";
export default defineCorrelation({
  id: "Team.FailedNeverSucceeded",
  severity: "LOW",
  sequence: [
    { id: "fail", ruleId: "OpenAI.Login.Failed" },
    { id: "ok", ruleId: "OpenAI.Login.Success", absence: true },
  ],
  transitions: [{ from: "fail", to: "ok", withinMinutes: 10, on: "p_any_emails" }],
  lookbackMinutes: 10,
});
`,
      );
      const own = await openDetection({ store, rulesDirs: [dir], nowSecs: () => NOW });
      const ingest = (items: Record<string, unknown>[]) =>
        storePage({ store, source, clock, normalizer, detector: own.detector }, items, {});
      const team = async () =>
        (await store.listAlerts({ limit: 100 })).filter((a) => a.ruleId === "Team.FailedNeverSucceeded");
      // How far the polls have stored every event: the stream's checkpoint.
      const polledThrough = (checkpointSecs: number) =>
        store.applyPage({
          sourceId: source.id,
          events: [],
          quarantined: [],
          unknownTypes: [],
          streamUpdate: { stream: "main", checkpointSecs },
        });
      try {
        await ingest([login("failed", "gone@acme-robotics.com", NOW - 300)]);
        await ingest([login("failed", "back@acme-robotics.com", NOW - 300)]);
        await polledThrough(NOW);
        const early = await runCorrelations(store, source, NOW, own);
        assert.deepEqual(early.createdAlertIds, []);
        assert.equal(early.deferred, 2, "both wait: their 10 minutes have not passed");
        // The success of one user arrives. The wall clock passes the time frame, but the polls have not stored
        // its events yet (the API is down, say): nothing is decided.
        await ingest([login("succeeded", "back@acme-robotics.com", NOW + 60)]);
        const stalled = await runCorrelations(store, source, NOW + 301, own);
        assert.deepEqual([stalled.createdAlertIds, stalled.deferred], [[], 3], "the success waits with them");
        // Polled past it, but a backfill of the time frame still runs (its slices come in any order): still waits.
        // A backfill of older history, which the frame is not in, holds nothing back.
        await store.createBackfillJob(
          { sourceId: source.id, stream: "main", sinceSecs: NOW - 90 * 86_400, untilSecs: NOW - 86_400 },
          [{ startSecs: NOW - 90 * 86_400, endSecs: NOW - 86_400 }],
        );
        const job = await store.createBackfillJob(
          { sourceId: source.id, stream: "main", sinceSecs: NOW - 3600, untilSecs: NOW + 400 },
          [{ startSecs: NOW - 3600, endSecs: NOW + 400 }],
        );
        await polledThrough(NOW + 400);
        const backfilling = await runCorrelations(store, source, NOW + 401, own);
        assert.deepEqual([backfilling.createdAlertIds, backfilling.deferred], [[], 3]);
        await store.applyPage({
          sourceId: source.id,
          events: [],
          quarantined: [],
          unknownTypes: [],
          sliceProgress: { jobId: job.id, sliceIndex: 0, upperBoundSecs: NOW - 3600, done: true, eventsRead: 0 },
        });
        assert.equal(await store.completeBackfillJobIfDone(job.id), true);
        const later = await runCorrelations(store, source, NOW + 401, own);
        assert.equal(later.createdAlertIds.length, 1);
        assert.deepEqual(
          (await team()).map((a) => a.dedupString),
          ["gone@acme-robotics.com"],
        );
        assert.equal(later.deferred, 0);
        assert.deepEqual((await runCorrelations(store, source, NOW + 3600, own)).createdAlertIds, []);
        assert.equal((await team()).length, 1);
      } finally {
        await own.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
