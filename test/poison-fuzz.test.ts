// Issue 16, finding 3, as a seeded fuzz test: thousands of records, good events mixed with every kind of poison
// record (NUL in indexed columns, values and keys, lone surrogates, 10,000-level nesting, 10 MB strings, records
// over 1 MiB, bytes that are not UTF-8, raw NUL bytes in the body), served by the simulator over HTTP and polled
// by the real client, poller, detection engine and store, on SQLite and on PostgreSQL. Every good event must be
// stored exactly once, every poison record quarantined with its reason, every poll must succeed, and the
// checkpoint must advance. The seed is fixed: a failure replays exactly.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RawAuditLog } from "../src/core/audit-log.ts";
import { isTenantScoped } from "../src/core/event-types.ts";
import { silentLogger } from "../src/logging/logger.ts";
import { openDetection } from "../src/pipeline/detection.ts";
import { SourcePoller } from "../src/pipeline/poller.ts";
import { loadOpenAIAuditLogType } from "../src/schema/index.ts";
import { createSimulatedOrg, startSimulator } from "../src/simulator/index.ts";
import { Rng } from "../src/simulator/prng.ts";
import { OpenAIAuditLogClient } from "../src/sources/openai/client.ts";
import type { Store } from "../src/storage/ports.ts";
import { openPostgresStore } from "../src/storage/postgres/postgres-store.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import { fakeClock, sourceSettings } from "./helpers.ts";
import { findPgBinDir, type PgCluster, startPgCluster } from "./pg-cluster.ts";
import { DEEP_JSON, DEEP_MARKER, POISON_KINDS, type PoisonKind, poisonRecord, quarantinedId } from "./poison.ts";

const SEED = 160_003;
const ROUNDS = 3;
const RECORDS_PER_ROUND = 1000;
const POISON_SHARE = 0.15;
/** Kinds that make a page megabytes long: a few of them prove the point, more only cost time. */
const HEAVY: ReadonlySet<PoisonKind> = new Set(["string_10mb", "over_1mib_of_fields"]);
const HEAVY_PER_ROUND = 1;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

// Good records whose body text the test's fetch rewrites: bytes that are not UTF-8 (stored with U+FFFD), and a
// raw NUL byte left unescaped in a string (read as an escaped one, then quarantined like any NUL).
const BAD_UTF8_MARKER = "@@vigil-test-bad-utf8@@";
const BAD_UTF8 = Buffer.from([0x80, 0xc3, 0x28, 0xff]);
const RAW_NUL_MARKER = "@@vigil-test-raw-nul@@";

const normalizer = loadOpenAIAuditLogType();

/** The page body the API would have sent: markers become 10,000 levels, non-UTF-8 bytes and raw NUL bytes. */
function rewriteBody(body: Buffer): Buffer {
  const swaps: Array<[Buffer, Buffer]> = [
    [Buffer.from(JSON.stringify(DEEP_MARKER)), Buffer.from(DEEP_JSON)],
    [Buffer.from(BAD_UTF8_MARKER), BAD_UTF8],
    [Buffer.from(RAW_NUL_MARKER), Buffer.from([0])],
  ];
  let out = body;
  for (const [from, to] of swaps) {
    const parts: Buffer[] = [];
    let start = 0;
    for (let at = out.indexOf(from, start); at !== -1; at = out.indexOf(from, start)) {
      parts.push(out.subarray(start, at), to);
      start = at + from.length;
    }
    if (parts.length > 0) out = Buffer.concat([...parts, out.subarray(start)]);
  }
  return out;
}

const rewritingFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const body = rewriteBody(Buffer.from(await response.arrayBuffer()));
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
};

interface Expected {
  good: Map<string, RawAuditLog>;
  /** Quarantine event id → the issue code it must carry. */
  poison: Map<string, string>;
}

/** One round's records, drawn from the seeded stream: good clones of simulated events, and poison. */
function generateRound(
  rng: Rng,
  templates: readonly RawAuditLog[],
  round: number,
  nowSecs: number,
  expected: Expected,
) {
  const records: Array<Record<string, unknown>> = [];
  const kinds = Object.keys(POISON_KINDS) as PoisonKind[];
  let heavy = 0;
  for (let i = 0; i < RECORDS_PER_ROUND; i++) {
    const id = `audit_log-fuzz${round}x${String(i).padStart(5, "0")}${rng.alnum(6)}`;
    const template = rng.pick(templates);
    // Inside the poll window: after the previous poll's checkpoint, before now.
    const at = nowSecs - rng.int(1, 500);
    if (rng.chance(POISON_SHARE)) {
      let kind = rng.pick(kinds);
      if (HEAVY.has(kind) && heavy++ >= HEAVY_PER_ROUND) kind = "nul_in_email";
      const rec = { ...poisonRecord(kind, template, id, { deep: "marker" }), effective_at: at };
      records.push(rec);
      expected.poison.set(quarantinedId(kind, id), POISON_KINDS[kind]);
    } else if (rng.chance(0.02)) {
      records.push({ ...template, id, effective_at: at, note: `raw ${RAW_NUL_MARKER} byte` });
      expected.poison.set(id, "nul_character");
    } else {
      const good: RawAuditLog = { ...template, id, effective_at: at };
      // Some good records carry bytes that are not UTF-8: they are stored, with U+FFFD in their place.
      if (rng.chance(0.03)) {
        records.push({ ...good, note: `before ${BAD_UTF8_MARKER} after` });
        good.note = `before ${new TextDecoder().decode(BAD_UTF8)} after`;
      } else records.push(good);
      expected.good.set(id, good);
    }
  }
  return records;
}

async function fuzz(store: Store): Promise<void> {
  const clock = fakeClock(T0);
  const templates = createSimulatedOrg({ seed: SEED, history: { days: 2, eventsPerDay: 300, endSecs: T0 / 1000 } })
    .allEvents()
    .filter((e) => !isTenantScoped(e.type));
  const sim = await startSimulator({ clock, seed: SEED });
  const detection = await openDetection({ store, rulesDirs: [], nowSecs: () => clock.nowMs() / 1000 });
  try {
    const source = await store.createSource(sourceSettings({ backfillDays: 1 }), { ciphertext: "test-not-encrypted" });
    // A checkpoint already set (no history backfill), so that the poll itself reads every record.
    await store.createBackfillJob(
      { sourceId: source.id, stream: "main", sinceSecs: 0, untilSecs: 1, initialCheckpointSecs: T0 / 1000 - 600 },
      [],
    );
    const client = new OpenAIAuditLogClient({
      baseUrl: sim.baseUrl,
      apiKey: sim.adminKey,
      fetch: rewritingFetch,
      timeoutMs: 20_000,
      maxAttempts: 1,
    });
    const poller = new SourcePoller({
      store,
      reader: client,
      source,
      clock,
      logger: silentLogger,
      normalizer,
      detector: detection.detector,
    });
    const rng = new Rng(SEED, "poison-fuzz");
    const expected: Expected = { good: new Map(), poison: new Map() };
    for (let round = 0; round < ROUNDS; round++) {
      const nowSecs = clock.nowMs() / 1000;
      const goodBefore = expected.good.size;
      const poisonBefore = expected.poison.size;
      sim.org.addEvents(generateRound(rng, templates, round, nowSecs, expected) as RawAuditLog[], {
        visibleAtSecs: nowSecs - 1,
      });
      // maxAttempts 1: a page refused once fails the poll here, instead of being retried into a timeout.
      const report = (await poller.pollOnce()).streams[0]!;
      assert.equal(report.inserted, expected.good.size - goodBefore, `round ${round}: this round's good events`);
      assert.equal(report.quarantined, expected.poison.size - poisonBefore, `round ${round}: this round's poison`);
      assert.equal(
        (await store.getStreamState(source.id, "main")).checkpointSecs,
        nowSecs,
        `round ${round}: the checkpoint advanced`,
      );
      assert.equal((await store.getPollStatus(source.id)).consecutiveFailures, 0, `round ${round}: the poll succeeded`);
      clock.advance(600_000);
    }
    assert.ok(expected.poison.size > 300 && expected.good.size > 2000, "thousands of records, hundreds of them poison");
    const kindsSeen = new Set(expected.poison.values());
    assert.deepEqual([...kindsSeen].sort(), [...new Set(Object.values(POISON_KINDS))].sort(), "every kind of poison");

    // Every good event stored exactly once, as served (non-UTF-8 bytes as U+FFFD).
    const stored = await store.searchEvents({ sourceId: source.id, limit: 10_000 });
    assert.equal(stored.length, expected.good.size);
    assert.deepEqual(stored.map((e) => e.id).sort(), [...expected.good.keys()].sort());
    for (const event of stored) assert.deepEqual(JSON.parse(event.raw), expected.good.get(event.id), event.id);

    // Every poison record quarantined once, with the reason of its kind.
    const quarantined = await store.listQuarantine({ sourceId: source.id, limit: 10_000 });
    assert.equal(quarantined.length, expected.poison.size);
    for (const q of quarantined) {
      const code = expected.poison.get(q.eventId ?? "");
      assert.ok(code, `an expected poison record: ${q.eventId}`);
      assert.equal(q.issues[0]!.code, code, `${q.eventId}: ${q.reason}`);
      assert.ok(q.reason.length > 0);
      assert.doesNotThrow(() => JSON.parse(q.raw));
    }

    // One more poll re-reads the last window: nothing stored or quarantined twice, and it succeeds too.
    await poller.pollOnce();
    assert.equal(await store.countEvents({ sourceId: source.id }), expected.good.size);
    assert.equal((await store.listQuarantine({ sourceId: source.id, limit: 10_000 })).length, expected.poison.size);
    assert.equal((await store.getPollStatus(source.id)).consecutiveFailures, 0);
  } finally {
    await detection.close();
    await sim.close();
  }
}

describe("poison records never block a page (seeded fuzz)", () => {
  it("on SQLite", async () => {
    const store = await openSqliteStore({ memory: true });
    try {
      await fuzz(store);
    } finally {
      await store.close();
    }
  });

  describe("on PostgreSQL", () => {
    // Skipped only when the server binaries are absent; a cluster that fails to start fails the test.
    let skip: string | false = false;
    try {
      findPgBinDir();
    } catch {
      skip = "initdb not found: PostgreSQL tests need the server binaries";
    }
    let cluster: PgCluster | undefined;
    before(async () => {
      if (!skip) cluster = await startPgCluster();
    });
    after(async () => cluster?.stop());

    it("stores the good, quarantines the poison", { skip }, async () => {
      const store = await openPostgresStore({ connectionString: cluster!.connectionString, schema: "poison_fuzz" });
      try {
        await fuzz(store);
      } finally {
        await store.close();
      }
    });
  });
});
