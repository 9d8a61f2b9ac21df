// One page holding good records and every kind of poison record: the good ones become events, each poison one a
// quarantine row with its reason, and every text field of the result is something both stores can hold.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sourceSettings } from "../../test/helpers.ts";
import { POISON_KINDS, type PoisonKind, poisonRecord, quarantinedId } from "../../test/poison.ts";
import type { RawAuditLog } from "../core/audit-log.ts";
import { loadOpenAIAuditLogType } from "../schema/index.ts";
import { createSimulatedOrg } from "../simulator/index.ts";
import { openSqliteStore } from "../storage/sqlite/sqlite-store.ts";
import { type PageRecordsContext, pageRecords } from "./page-records.ts";
import { storePage } from "./page-writer.ts";

const normalizer = loadOpenAIAuditLogType();
const ctx: PageRecordsContext = { sourceId: "s1", sourceLabel: "test", parseTimeMs: 1_763_640_000_000, normalizer };
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function goodRecords(count: number): RawAuditLog[] {
  return createSimulatedOrg({ seed: 5, history: { days: 1, eventsPerDay: count, endSecs: 1_763_640_000 } }).allEvents();
}

/** Text either store holds in a text column: no NUL, no lone surrogate. */
function assertStorableText(text: string | null, what: string): void {
  if (text === null) return;
  assert.ok(!text.includes("\u0000"), `${what} has no NUL`);
  assert.ok(!LONE.test(text), `${what} has no lone surrogate`);
}

describe("pageRecords with poison records", () => {
  const kinds = Object.keys(POISON_KINDS) as PoisonKind[];
  const good = goodRecords(20);
  const template = good[0]!;
  const poison = kinds.map((kind, i) => ({ kind, id: `audit_log-poison${String(i).padStart(4, "0")}` }));
  // Poison records between the good ones, not at one end.
  const items: unknown[] = [];
  for (let i = 0; i < Math.max(good.length, poison.length); i++) {
    if (good[i]) items.push(good[i]);
    const p = poison[i];
    if (p) items.push(poisonRecord(p.kind, template, p.id));
  }

  it("stores every good record and quarantines each poison one under its code, without throwing", () => {
    const out = pageRecords(items, ctx);
    assert.deepEqual(
      out.events.map((e) => e.id),
      good.map((g) => g.id),
    );
    assert.equal(out.quarantined.length, poison.length);
    const byId = new Map(out.quarantined.map((q) => [q.eventId, q]));
    for (const { kind, id } of poison) {
      const q = byId.get(quarantinedId(kind, id));
      assert.ok(q, `${kind} is quarantined under its id`);
      assert.equal(q.issues[0]!.code, POISON_KINDS[kind], kind);
      assert.ok(q.reason.startsWith(`${q.issues[0]!.path}: `), kind);
    }
  });

  it("gives quarantine rows and events whose every text field both stores hold", () => {
    const out = pageRecords(items, ctx);
    for (const q of out.quarantined) {
      assertStorableText(q.eventId, "eventId");
      assertStorableText(q.reason, "reason");
      for (const issue of q.issues) {
        assertStorableText(issue.path, "issue path");
        assertStorableText(issue.message, "issue message");
      }
      assertStorableText(q.raw, "raw");
      assert.ok(q.raw.length <= 1024 * 1024 * 6, "raw is bounded");
      assert.doesNotThrow(() => JSON.parse(q.raw));
    }
    for (const e of out.events) {
      for (const [key, value] of Object.entries(e)) if (typeof value === "string") assertStorableText(value, key);
    }
  });

  it("keeps a record with a NUL whole (escaped) and a too-deep or too-large one as a marked preview", () => {
    const out = pageRecords(items, ctx);
    const byId = new Map(out.quarantined.map((q) => [q.eventId, q]));
    const nul = byId.get("audit_log-poison0000")!;
    assert.deepEqual(JSON.parse(nul.raw), poisonRecord("nul_in_email", template, "audit_log-poison0000"));
    assert.equal(nul.issues.length, 1, "no preview note: the record is whole");
    for (const kind of ["deep_10k", "string_10mb"] as const) {
      const id = poison.find((p) => p.kind === kind)!.id;
      const q = byId.get(id)!;
      assert.equal(q.issues.at(-1)!.code, "raw_preview", kind);
      assert.ok(q.raw.length < 100_000, `${kind} raw is a preview (${q.raw.length} characters)`);
      assert.equal((JSON.parse(q.raw) as { id: string }).id, id);
    }
  });

  it("quarantines a record whose normalized form, not its raw form, holds a NUL", () => {
    const record = good[1]!;
    const out = pageRecords([record], {
      ...ctx,
      normalizer: { normalize: () => ({ ok: true, record: { embedded: { parsed: "a\u0000b" } } }) },
    });
    assert.equal(out.events.length, 0);
    assert.equal(out.normalized.length, 0, "nothing reaches detection");
    assert.equal(out.quarantined[0]!.issues[0]!.path, "$.embedded.parsed");
    assert.match(out.quarantined[0]!.reason, /After normalization: .*NUL/);
    assert.deepEqual(JSON.parse(out.quarantined[0]!.raw), record);
  });

  it("lets the SQLite store apply the page: good events stored, poison rows quarantined", async () => {
    const store = await openSqliteStore({ memory: true });
    try {
      const source = await store.createSource(sourceSettings(), { ciphertext: "test-not-encrypted" });
      const { normalized: _, ...records } = pageRecords(items, { ...ctx, sourceId: source.id });
      const result = await store.applyPage({ sourceId: source.id, ...records });
      assert.equal(result.insertedIds.length, good.length);
      assert.equal(result.quarantined, poison.length);
      assert.equal((await store.listQuarantine({ sourceId: source.id, limit: 100 })).length, poison.length);
    } finally {
      await store.close();
    }
  });
});

describe("pageRecords with a record twice", () => {
  const [a, b] = goodRecords(2) as [RawAuditLog, RawAuditLog];

  it("keeps the first copy of an id the page holds twice, for the store and for the rules", () => {
    const second = { ...a, effective_at: a.effective_at + 60 };
    const out = pageRecords([a, b, second], ctx);
    assert.deepEqual(
      out.events.map((e) => e.id),
      [a.id, b.id],
    );
    assert.deepEqual(
      out.normalized.map((n) => n.eventId),
      [a.id, b.id],
    );
    assert.equal(out.events[0]!.effectiveAtSecs, a.effective_at, "the first copy");
  });

  it("stores a good copy that follows a quarantined one", () => {
    const broken = { ...a, effective_at: "yesterday" };
    const out = pageRecords([broken, a], ctx);
    assert.equal(out.quarantined.length, 1);
    assert.deepEqual(
      out.events.map((e) => e.id),
      [a.id],
    );
  });

  it("gives the rules each event of a page once, however often the page holds it", async () => {
    const store = await openSqliteStore({ memory: true });
    try {
      const source = await store.createSource(sourceSettings(), { ciphertext: "test-not-encrypted" });
      const seen: string[] = [];
      const detector = {
        async detect(_source: unknown, events: Array<{ eventId: string }>) {
          seen.push(...events.map((e) => e.eventId));
          return { matches: [], stateOps: [] };
        },
      };
      const deps = { store, source, clock: { nowMs: () => 1_763_640_000_000 }, normalizer, detector };
      const result = await storePage(deps, [a, a, b, a], {});
      assert.deepEqual(result.insertedIds, [a.id, b.id]);
      assert.deepEqual(seen, [a.id, b.id]);
    } finally {
      await store.close();
    }
  });
});
