import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { rawEvent } from "../../packs/openai/_controls.ts";
import { fakeClock, storeWithSource } from "../../test/helpers.ts";
import type { SourceRecord } from "../core/source.ts";
import { loadOpenAIAuditLogType } from "../schema/index.ts";
import type { Store } from "../storage/ports.ts";
import { type Detection, openDetection } from "./detection.ts";
import type { RecordNormalizer } from "./page-records.ts";
import { storePage } from "./page-writer.ts";
import { replayQuarantine } from "./quarantine-replay.ts";

const normalizer = loadOpenAIAuditLogType();
const clock = fakeClock(Date.UTC(2026, 10, 20, 16, 0, 0));

/** The schema before a fix: it refuses the IP allowlist's events (as an API change of their shape would). */
const olderSchema: RecordNormalizer = {
  normalize(raw, ctx) {
    const type = (raw as { type?: unknown }).type;
    if (typeof type === "string" && type.startsWith("ip_allowlist.")) {
      return { ok: false, issues: [{ code: "wrong_type", path: "ip_allowlist", message: "not the shape expected" }] };
    }
    return normalizer.normalize(raw, ctx);
  },
};

const deleted = (id: string, at?: number) =>
  rawEvent("ip_allowlist.deleted", { id: "ipal_1", name: "Office" }, at === undefined ? { id } : { id, at });

describe("replayQuarantine", () => {
  let store: Store;
  let source: SourceRecord;
  let detection: Detection;

  beforeEach(async () => {
    ({ store, source } = await storeWithSource());
    detection = await openDetection({ store, rulesDirs: [], nowSecs: () => clock.nowMs() / 1000 });
  });
  afterEach(async () => {
    await detection.close();
    await store.close();
  });

  const deps = (n: RecordNormalizer) => ({ store, source, clock, normalizer: n, detector: detection.detector });

  /** After the source was added: a live event. */
  const live = () => Math.floor(Date.now() / 1000) + 5;

  it("stores what the schema accepts now, with detection and live alerts, and leaves the rest in quarantine", async () => {
    const invalid = { ...rawEvent("api_key.created", undefined, { id: "audit_log-noTime" }), effective_at: "soon" };
    const page = await storePage(deps(olderSchema), [deleted("audit_log-del1", live()), invalid], {});
    assert.equal(page.quarantined, 2);
    assert.equal((await store.listAlerts({ limit: 10 })).length, 0);

    // A dry run says what the schema accepts and changes nothing.
    const dry = await replayQuarantine(deps(normalizer), { dryRun: true });
    assert.deepEqual([dry.examined, dry.accepted, dry.stored, dry.stillRefused], [2, 1, 0, 1]);
    assert.equal((await store.listQuarantine({ sourceId: source.id })).length, 2);

    const replay = await replayQuarantine(deps(normalizer));
    assert.deepEqual(
      { ...replay, createdAlertIds: replay.createdAlertIds.length },
      {
        examined: 2,
        accepted: 1,
        stored: 1,
        alreadyStored: 0,
        conflicting: 0,
        stillRefused: 1,
        previewsOnly: 0,
        reasons: [
          {
            reason:
              "effective_at: The record has no usable effective_at (Unix seconds as a non-negative integer are required).",
            records: 1,
          },
        ],
        newEventTypes: [],
        createdAlertIds: 1,
      },
    );
    assert.deepEqual(await store.listEventIds(source.id), ["audit_log-del1"]);
    const quarantined = await store.listQuarantine({ sourceId: source.id });
    assert.deepEqual(
      quarantined.map((q) => q.eventId),
      ["audit_log-noTime"],
    );
    const [alert] = await store.listAlerts({ limit: 10 });
    assert.equal(alert?.severity, "CRITICAL");
    // Missed when it arrived: an alert for now, not history.
    assert.equal(alert?.fromHistory, false);
    assert.equal((await store.sourceCounts()).find((c) => c.sourceId === source.id)?.quarantined, 1);

    // Again: nothing left to store, nothing stored or alerted twice.
    const again = await replayQuarantine(deps(normalizer));
    assert.deepEqual([again.examined, again.stored, again.stillRefused], [1, 0, 1]);
    assert.equal((await store.listAlerts({ limit: 10 })).length, 1);
  });

  it("raises history alerts for events from before the source was added, as its backfill would", async () => {
    await storePage(deps(olderSchema), [deleted("audit_log-old")], {});
    const replay = await replayQuarantine(deps(normalizer));
    assert.equal(replay.stored, 1);
    const [alert] = await store.listAlerts({ limit: 10 });
    assert.equal(alert?.fromHistory, true);
  });

  it("releases a record whose event was stored since with the same text, and keeps one stored with other content", async () => {
    await storePage(deps(olderSchema), [deleted("audit_log-same"), deleted("audit_log-other")], {});
    // Both came again later in a shape the schema took; one of them with other content.
    const changed = rawEvent("ip_allowlist.deleted", { id: "ipal_1", name: "Changed" }, { id: "audit_log-other" });
    await storePage(deps(normalizer), [deleted("audit_log-same"), changed], {});
    const alerts = (await store.listAlerts({ limit: 10 })).length;
    const replay = await replayQuarantine(deps(normalizer));
    assert.deepEqual(
      [replay.accepted, replay.stored, replay.alreadyStored, replay.conflicting, replay.createdAlertIds.length],
      [2, 0, 1, 1, 0],
    );
    // The other content is kept where it is: the quarantine alone has it.
    assert.deepEqual(
      (await store.listQuarantine({ sourceId: source.id })).map((q) => q.eventId),
      ["audit_log-other"],
    );
    assert.equal((await store.listAlerts({ limit: 10 })).length, alerts);
  });

  it("keeps a record still refused when another quarantined copy of its event is accepted", async () => {
    const refused = { ...deleted("audit_log-twice"), effective_at: "soon" };
    await storePage(deps(olderSchema), [refused], {});
    await storePage(deps(olderSchema), [deleted("audit_log-twice", live())], {});
    const replay = await replayQuarantine(deps(normalizer));
    assert.deepEqual([replay.examined, replay.accepted, replay.stored, replay.stillRefused], [2, 1, 1, 1]);
    const left = await store.listQuarantine({ sourceId: source.id });
    assert.deepEqual(
      left.map((q) => JSON.parse(q.raw).effective_at),
      ["soon"],
    );
  });

  it("counts right when two replays run at once: each record stored once, none said to conflict", async () => {
    const records = Array.from({ length: 30 }, (_, i) => deleted(`audit_log-c${String(i).padStart(3, "0")}`, live()));
    await storePage(deps(olderSchema), records, {});
    const [a, b] = await Promise.all([replayQuarantine(deps(normalizer)), replayQuarantine(deps(normalizer))]);
    assert.equal(a.stored + b.stored, 30);
    assert.equal(a.conflicting + b.conflicting, 0);
    assert.equal(a.stored + a.alreadyStored, a.accepted);
    assert.equal(b.stored + b.alreadyStored, b.accepted);
    assert.equal((await store.listQuarantine({ sourceId: source.id })).length, 0);
    assert.equal((await store.listEventIds(source.id)).length, 30);
  });

  it("leaves a record kept only as a preview, which is not the record", async () => {
    const deep: Record<string, unknown> = deleted("audit_log-deep");
    let nest: Record<string, unknown> = deep;
    for (let i = 0; i < 200; i++) nest = nest.x = {} as Record<string, unknown>;
    await storePage(deps(normalizer), [deep], {});
    const [record] = await store.listQuarantine({ sourceId: source.id });
    assert.ok(record?.issues.some((i) => i.code === "raw_preview"));
    const replay = await replayQuarantine(deps(normalizer));
    assert.deepEqual([replay.examined, replay.previewsOnly, replay.stored], [1, 1, 0]);
    assert.equal((await store.listQuarantine({ sourceId: source.id })).length, 1);
  });

  it("walks a quarantine larger than one batch, oldest first", async () => {
    const records = Array.from({ length: 250 }, (_, i) => deleted(`audit_log-b${String(i).padStart(4, "0")}`));
    for (let i = 0; i < records.length; i += 100) await storePage(deps(olderSchema), records.slice(i, i + 100), {});
    const replay = await replayQuarantine(deps(normalizer));
    assert.deepEqual([replay.examined, replay.stored], [250, 250]);
    assert.equal((await store.listEventIds(source.id)).length, 250);
    assert.equal((await store.listQuarantine({ sourceId: source.id })).length, 0);
  });
});
