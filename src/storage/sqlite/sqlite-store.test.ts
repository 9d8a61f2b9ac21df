import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { assertAssigneeCleanup, ROWS_BEFORE_ASSIGNEE_CLEANUP } from "../../../test/assignee-upgrade.ts";
import { assertDeliveryHealthUpgrade, ROWS_BEFORE_DELIVERY_HEALTH } from "../../../test/delivery-health-upgrade.ts";
import { assertEmailFoldUpgrade, ROWS_BEFORE_EMAIL_FOLD } from "../../../test/email-fold-upgrade.ts";
import {
  AFTER_REMOVED_SOURCE,
  assertSourceNumbersUpgrade,
  ROWS_BEFORE_SOURCE_NUMBERS,
} from "../../../test/source-numbers-upgrade.ts";
import { eventRow, ruleMatch, runStorageContract, sourceSettings } from "../../../test/storage-contract.ts";
import { runAccessContract } from "../../../test/storage-contract-access.ts";
import { runAlertOrderContract } from "../../../test/storage-contract-alert-order.ts";
import { runCountersContract } from "../../../test/storage-contract-counters.ts";
import { runFleetContract } from "../../../test/storage-contract-fleet.ts";
import { runLimiterContract } from "../../../test/storage-contract-limiter.ts";
import { postureObject, postureWrite, runPostureContract } from "../../../test/storage-contract-posture.ts";
import { runRuleStateSharingContract } from "../../../test/storage-contract-rule-state.ts";
import { runSearchContract } from "../../../test/storage-contract-search.ts";
import { runSuppressionContract, suppressedCorrelationMatch } from "../../../test/storage-contract-suppressions.ts";
import { runTriageContract } from "../../../test/storage-contract-triage.ts";
import { VigilError } from "../../core/errors.ts";
import { ruleVersionRow } from "../store/detection-rows.ts";
import { TEXT_CANDIDATE_CAP } from "../store/dialect.ts";
import { eventSearch } from "../store/event-search.ts";
import { SqliteStoreDialect } from "./dialect.ts";
import { MIGRATIONS, runMigrations } from "./migrations.ts";
import { openSqliteStore, type SqliteStore } from "./sqlite-store.ts";
import { textCandidateCount } from "./text-search.ts";

const T0 = 1_700_000_000;
const scratch = mkdtempSync(join(tmpdir(), "vigil-sqlite-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

let fileCounter = 0;
function freshPath(): string {
  fileCounter += 1;
  return join(scratch, `store-${fileCounter}.db`);
}

/** A new database file with the migrations before the one named (`name` starts its name): as an older Vigil left it. */
function databaseBefore(path: string, name: string): Database.Database {
  const version = MIGRATIONS.find((m) => m.name.startsWith(name))?.version ?? 0;
  assert.ok(version > 0, `no migration named ${name}`);
  const db = new Database(path);
  runMigrations(
    db,
    Date.now(),
    MIGRATIONS.filter((m) => m.version < version),
  );
  return db;
}

/** Source s1 ("old"), written as the schema of every migration so far holds it. */
function insertOldSource(db: Database.Database): void {
  db.prepare(
    `INSERT INTO sources (id, name, kind, poll_interval_secs, overlap_secs, sweep_window_secs,
       sweep_interval_secs, include_tenant_events, backfill_days, enabled, encrypted_secret, created_at_ms)
     VALUES ('s1', 'old', 'openai', 60, 300, 86400, 3600, 0, 0, 1, 'x', 0)`,
  ).run();
}

runStorageContract("sqlite file", () => openSqliteStore({ path: freshPath() }));
runStorageContract("sqlite memory", () => openSqliteStore({ memory: true }));
runAccessContract("sqlite", () => openSqliteStore({ path: freshPath() }));
runCountersContract("sqlite file", () => openSqliteStore({ path: freshPath() }));
runCountersContract("sqlite memory", () => openSqliteStore({ memory: true }));
runLimiterContract("sqlite", (alertLimitPerHour) => openSqliteStore({ path: freshPath(), alertLimitPerHour }));
runSuppressionContract("sqlite", (clock) => openSqliteStore({ path: freshPath(), clock }));
runSearchContract("sqlite", () => openSqliteStore({ path: freshPath() }));
runPostureContract("sqlite", () => openSqliteStore({ path: freshPath() }));
runFleetContract("sqlite", () => openSqliteStore({ path: freshPath() }));
runTriageContract("sqlite", () => openSqliteStore({ path: freshPath() }));
runAlertOrderContract("sqlite", () => openSqliteStore({ path: freshPath() }), { scenarios: 12, deliveries: 8 });
runRuleStateSharingContract("sqlite", async () => {
  const path = freshPath();
  return [await openSqliteStore({ path }), await openSqliteStore({ path })];
});

async function withStore<T>(
  fn: (store: SqliteStore, path: string) => Promise<T>,
  path = freshPath(),
  options: { writerThread?: boolean } = {},
): Promise<T> {
  const store = await openSqliteStore({ path, ...options });
  try {
    return await fn(store, path);
  } finally {
    await store.close();
  }
}

async function assertVigilError(promise: Promise<unknown>, code: string): Promise<VigilError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof VigilError, `expected a VigilError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  // One sentence for the user: no stack frames, no SQL.
  assert.ok(!caught.message.includes("\n    at "), caught.message);
  return caught;
}

describe("SqliteStore: posture objects stored before migration 24", () => {
  it("are released at the newest snapshot's time by the next prune, and deleted once no kept snapshot holds them", async () => {
    const path = freshPath();
    const store = await openSqliteStore({ path });
    try {
      const source = await store.createSource(sourceSettings("upgraded"), { ciphertext: "v1:x" });
      const a = postureObject("user", { id: "user-a", role: "owner" });
      const b = postureObject("user", { id: "user-b", role: "reader" });
      const save = (at: number, objects: Array<typeof a>) =>
        store.savePostureSnapshot({ ...postureWrite(source.id, at, objects), changes: [] });
      await save(1_000, [a, b]);
      await save(2_000, [a]); // b leaves
      // As an upgraded database has it: b left before released_ms existed.
      const raw = new Database(path);
      raw.prepare("UPDATE posture_objects SET released_ms = NULL").run();
      raw.close();
      // The first prune after the upgrade releases b at the newest snapshot's time (2_000), so it is kept while
      // the newest snapshots are within the full horizon...
      const kept = await store.prunePostureSnapshots(source.id, { fullSinceMs: 1_500, historySinceMs: 0 });
      assert.equal(kept.objectsDeleted, 0);
      assert.equal((await store.getPostureObjects(source.id, [b.hash])).size, 1);
      // ...and deleted once two newer snapshots without it are the ones kept whole.
      await save(3_000, [a]);
      await save(4_000, [a]);
      const pruned = await store.prunePostureSnapshots(source.id, { fullSinceMs: 3_500, historySinceMs: 0 });
      assert.equal(pruned.objectsDeleted, 1);
      assert.equal((await store.getPostureObjects(source.id, [b.hash])).size, 0);
      assert.equal((await store.getPostureObjects(source.id, [a.hash])).size, 1, "a is still held");
    } finally {
      await store.close();
    }
  });
});

describe("SqliteStore", () => {
  it("runs in WAL mode with full fsync, foreign keys and a busy timeout", async () => {
    await withStore(async (store) => {
      const db = store.connection;
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(db.pragma("synchronous", { simple: true }), 2); // FULL
      assert.equal(db.pragma("foreign_keys", { simple: true }), 1);
      assert.ok((db.pragma("busy_timeout", { simple: true }) as number) >= 1_000);
    });
  });

  it("lets a second connection to the same file see committed data", async () => {
    await withStore(async (store, path) => {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      await store.applyPage({
        sourceId: source.id,
        events: [eventRow("e1", T0)],
        quarantined: [],
        unknownTypes: [],
        streamUpdate: { stream: "main", checkpointSecs: T0 },
      });
      const other = await openSqliteStore({ path });
      try {
        assert.deepEqual(await other.listEventIds(source.id), ["e1"]);
        assert.equal((await other.getStreamState(source.id, "main")).checkpointSecs, T0);
        // And the other way round.
        await other.applyPage({ sourceId: source.id, events: [eventRow("e2", T0)], quarantined: [], unknownTypes: [] });
        assert.equal(await store.countEvents({ sourceId: source.id }), 2);
      } finally {
        await other.close();
      }
      const raw = new Database(path, { readonly: true });
      try {
        assert.equal(raw.prepare("SELECT count(*) FROM events").pluck().get(), 2);
      } finally {
        raw.close();
      }
    });
  });

  it("lets two connections in one process write at once without waiting out the busy timeout", async () => {
    const path = freshPath();
    // A short timeout, so that a connection blocking the thread on the other's write lock fails the test.
    const [a, b] = await Promise.all([
      openSqliteStore({ path, busyTimeoutMs: 200 }),
      openSqliteStore({ path, busyTimeoutMs: 200 }),
    ]);
    try {
      const targets = Array.from({ length: 10 }, (_, i) => ({ id: `d${i}`, name: `dest ${i}` }));
      const source = await a.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      await a.applyPage({
        sourceId: source.id,
        events: [eventRow("e1", T0)],
        quarantined: [],
        unknownTypes: [],
        matches: [ruleMatch(source.id, "e1", T0)],
      });
      const [entry] = await b.listUnroutedOutbox(10);
      assert.ok(entry);
      await Promise.all([a.routeOutboxEntry(entry.id, targets, 0), b.routeOutboxEntry(entry.id, targets, 0)]);
      const claims = await Promise.all(
        [a, b, a, b, a, b].map((store) => store.claimDeliveries({ nowMs: 0, leaseMs: 1000, limit: 2 })),
      );
      const ids = claims.flat().map((d) => d.id);
      assert.equal(ids.length, 10);
      assert.equal(new Set(ids).size, 10);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("keeps data across close and reopen", async () => {
    const path = freshPath();
    const id = await withStore(async (store) => {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      await store.applyPage({ sourceId: source.id, events: [eventRow("e1", T0)], quarantined: [], unknownTypes: [] });
      return source.id;
    }, path);
    await withStore(async (store) => {
      assert.deepEqual(await store.listEventIds(id), ["e1"]);
    }, path);
  });

  it("writes nothing of a page when a row fails mid-page, checkpoint included", async () => {
    await withStore(async (store) => {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      // The third event breaks a NOT NULL constraint after two rows were already inserted.
      const broken = { ...eventRow("e3", T0), raw: null as unknown as string };
      const error = await assertVigilError(
        store.applyPage({
          sourceId: source.id,
          events: [eventRow("e1", T0), eventRow("e2", T0), broken, eventRow("e4", T0)],
          quarantined: [{ eventId: null, reason: "bad", issues: [], raw: "{}" }],
          unknownTypes: ["new.type"],
          streamUpdate: { stream: "main", checkpointSecs: T0 + 10, lastSweepSecs: T0 },
        }),
        "storage_error",
      );
      assert.match(error.message, /NOT NULL/);
      assert.deepEqual(await store.listEventIds(source.id), []);
      assert.deepEqual(await store.listQuarantine(), []);
      assert.deepEqual(await store.listUnknownTypes(), []);
      const state = await store.getStreamState(source.id, "main");
      assert.equal(state.checkpointSecs, null);
      assert.equal(state.lastSweepSecs, null);
      assert.equal((await store.getPollStatus(source.id)).lastEventStoredMs, null);
      assert.equal(store.connection.inTransaction, false);
    });
  });

  it("reports a database locked by another process as storage_busy, then recovers", async () => {
    const path = freshPath();
    await withStore(async (setup) => {
      await setup.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
    }, path);
    const store = await openSqliteStore({ path, busyTimeoutMs: 50 });
    const holder = new Database(path);
    try {
      const source = await store.getSource("acme");
      assert.ok(source);
      holder.exec("BEGIN IMMEDIATE");
      const write = { sourceId: source.id, events: [eventRow("e1", T0)], quarantined: [], unknownTypes: [] };
      const error = await assertVigilError(store.applyPage(write), "storage_busy");
      assert.equal(error.retryable, true);
      assert.match(error.message, /locked/);
      // Reads still work beside a writer in WAL mode.
      assert.equal(await store.countEvents(), 0);
      holder.exec("ROLLBACK");
      assert.deepEqual((await store.applyPage(write)).insertedIds, ["e1"]);
    } finally {
      holder.close();
      await store.close();
    }
  });

  it("reports a full disk as storage_full and keeps nothing of the page", async () => {
    // The page cap below is a setting of the connection it is set on: here the store's own, which writes the
    // page when there is no writer thread (writer-thread.test.ts checks that errors cross the thread intact).
    await withStore(
      async (store) => {
        const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
        // Capping the page count makes SQLite answer exactly as on a full disk (SQLITE_FULL).
        const pages = store.connection.pragma("page_count", { simple: true }) as number;
        store.connection.pragma(`max_page_count = ${pages}`);
        const big = Array.from({ length: 200 }, (_, i) => eventRow(`e${i}`, T0, { raw: "x".repeat(2_000) }));
        const error = await assertVigilError(
          store.applyPage({
            sourceId: source.id,
            events: big,
            quarantined: [],
            unknownTypes: [],
            streamUpdate: { stream: "main", checkpointSecs: T0 },
          }),
          "storage_full",
        );
        assert.match(error.message, /full/);
        store.connection.pragma("max_page_count = 1073741823");
        assert.equal(await store.countEvents(), 0);
        assert.equal((await store.getStreamState(source.id, "main")).checkpointSecs, null);
      },
      freshPath(),
      { writerThread: false },
    );
  });

  it("answers text of one or two characters from the index, in the same snapshot as the queue", async () => {
    await withStore(async (store) => {
      const dialect = new SqliteStoreDialect(store.connection, "test");
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "x" });
      const raws = [{ note: "qzebra" }, { n: 1, tail: "fizz-qz" }, { other: "nothing" }];
      await store.applyPage({
        sourceId: source.id,
        events: raws.map((raw, i) => eventRow(`e${i}`, T0 + i, { raw: JSON.stringify(raw) })),
        quarantined: [],
        unknownTypes: [],
      });
      // The plan is taken while the events are queued; they are indexed before the search runs.
      const plan = await dialect.textPlan("qz", "page");
      assert.equal(plan, "index");
      await store.indexPendingText();
      const compiled = eventSearch(dialect.db, dialect, { text: "qz" }, plan).compile();
      const ids = store.connection
        .prepare(compiled.sql)
        .all(...compiled.parameters)
        .map((r) => (r as { id: string }).id)
        .sort();
      assert.deepEqual(ids, ["e0", "e1"]);
      // The index itself answers: its candidates are the records that hold the text, the last value's end too.
      const candidates = (text: string) => {
        const count = textCandidateCount(text);
        assert.ok(count !== null, text);
        const compiled = count.compile(dialect.db);
        return (store.connection.prepare(compiled.sql).get(...compiled.parameters) as { n: number }).n;
      };
      assert.equal(candidates("qz"), 2);
      assert.equal(candidates("z-"), 1);
      assert.equal(candidates("~^"), 0);
    });
  });

  it("indexes every record again after migration 29, finding short text at a record's end", async () => {
    const path = freshPath();
    const db = databaseBefore(path, "the text index answers text of one or two characters");
    insertOldSource(db);
    // Indexed as before the migration: values one per line, nothing after the last.
    for (let i = 0; i < 3; i++) {
      const raw = JSON.stringify({ v: `val-${i}`, end: "zq" });
      const { lastInsertRowid } = db
        .prepare(
          "INSERT INTO events (source_id, id, type, effective_at, raw, ingested_at_ms) VALUES ('s1', ?, 't', ?, ?, 0)",
        )
        .run(`e${i}`, T0 + i, raw);
      db.prepare("INSERT INTO event_text (rowid, body) VALUES (?, ?)").run(lastInsertRowid, `val-${i}\nzq`);
    }
    db.prepare("DELETE FROM event_text_pending").run();
    db.close();
    await withStore(async (store) => {
      const pending = () => store.connection.prepare("SELECT count(*) FROM event_text_pending").pluck().get();
      assert.equal(pending(), 3);
      assert.equal((await store.searchEvents({ text: "zq" })).length, 3);
      await store.indexPendingText();
      assert.equal(pending(), 0);
      assert.equal((await store.searchEvents({ text: "zq" })).length, 3);
      assert.equal((await store.searchEvents({ text: "q" })).length, 3);
      assert.equal(await store.countEvents({ text: "l-1" }), 1);
    }, path);
  });

  it("chains the snapshots stored before migration 34, each to the one before it, and refuses a second successor", async () => {
    const path = freshPath();
    const db = databaseBefore(path, "posture snapshots name the snapshot they were compared with");
    insertOldSource(db);
    db.exec("INSERT INTO source_numbers (source_id) VALUES ('s1')");
    const snapshot =
      db.prepare(`INSERT INTO posture_snapshots (source_id, taken_at_ms, duration_ms, requests, endpoints,
      manifest_hash, changes, findings, object_count, new_object_count, change_count, finding_count)
      VALUES ('s1', ?, 1, 1, '[]', 'h', NULL, '[]', 0, 0, NULL, 0)`);
    // Stored out of id order: the chain follows their times.
    const ids = [3_000, 1_000, 2_000].map((t) => Number(snapshot.run(t).lastInsertRowid));
    db.close();
    await withStore(async (store) => {
      const chain = store.connection
        .prepare("SELECT id, previous_id FROM posture_snapshots ORDER BY taken_at_ms")
        .all() as Array<{ id: number; previous_id: number }>;
      assert.deepEqual(chain, [
        { id: ids[1], previous_id: 0 },
        { id: ids[2], previous_id: ids[1] },
        { id: ids[0], previous_id: ids[2] },
      ]);
      await assert.rejects(
        store.savePostureSnapshot({ ...postureWrite("s1", 4_000, []), previousId: ids[2]! }),
        /posture_snapshot_conflict|stored after the one this run compared with/,
      );
      const next = await store.savePostureSnapshot(postureWrite("s1", 4_000, []));
      assert.ok(next.id > ids[0]!);
    }, path);
  });

  it("names each event's and match's source by number after migration 30, keeping their seqs", async () => {
    const path = freshPath();
    const db = databaseBefore(path, "events and matches name their source by number");
    for (const statement of ROWS_BEFORE_SOURCE_NUMBERS) db.exec(statement);
    const seqs = db.prepare("SELECT id, seq FROM events ORDER BY seq").all();
    db.close();
    await withStore(async (store) => {
      // The text index keys on seq: the rebuilt table keeps each event's.
      assert.deepEqual(store.connection.prepare("SELECT id, seq FROM events ORDER BY seq").all(), seqs);
      await assertSourceNumbersUpgrade(store);
      const e4 = store.connection.prepare("SELECT seq FROM events WHERE id = 'e4'").pluck().get() as number;
      assert.ok(e4 > 4, "the seq of the event deleted before the upgrade (4) is not given again");
    }, path);
    // A store that never knew the removed source's number goes on from before the cursor's tie: it may repeat
    // the tie, never skip what follows.
    await withStore(async (store) => {
      assert.deepEqual(
        (await store.searchEvents({ after: AFTER_REMOVED_SOURCE })).map((e) => `${e.sourceId}/${e.id}`),
        ["s2/e4", "s2/e1"],
      );
    }, path);
  });

  it("reports a database that cannot be opened clearly", async () => {
    await assertVigilError(openSqliteStore({ path: join(scratch, "no-such-dir", "vigil.db") }), "storage_open_failed");
  });

  it("answers common and rare text alike from the index, the queue of events not yet indexed, or a scan", async () => {
    await withStore(async (store) => {
      const dialect = new SqliteStoreDialect(store.connection, "test");
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "x" });
      const total = TEXT_CANDIDATE_CAP + 500;
      const events = Array.from({ length: total }, (_, i) =>
        eventRow(`e${i}`, T0 + i, {
          raw: JSON.stringify({ id: `e${i}`, actor: "common@example.com", note: i % 997 === 0 ? "rare-thing" : "" }),
        }),
      );
      const half = Math.floor(total / 2);
      await store.applyPage({ sourceId: source.id, events: events.slice(0, half), quarantined: [], unknownTypes: [] });
      await store.indexPendingText();
      // The second half stored as a page stores it, but with the indexer not yet run: queued, not indexed.
      const insert = store.connection.prepare(
        `INSERT INTO events (source_num, id, type, effective_at, raw, ingested_at_ms)
           VALUES ((SELECT num FROM source_numbers WHERE source_id = ?), ?, ?, ?, ?, 0)`,
      );
      store.connection.transaction(() => {
        for (const e of events.slice(half)) {
          const { lastInsertRowid } = insert.run(source.id, e.id, e.type, e.effectiveAtSecs, e.raw);
          store.connection.prepare("INSERT INTO event_text_pending (seq) VALUES (?)").run(lastInsertRowid);
        }
      })();
      const pending = () => store.connection.prepare("SELECT count(*) FROM event_text_pending").pluck().get();
      assert.equal(pending(), total - half);
      for (const [text, expected] of [
        ["common@example", 100],
        ["rare-thing", 3],
        ["absent-thing", 0],
      ] as const) {
        const viaStore = (await store.searchEvents({ text })).map((e) => e.id);
        assert.equal(viaStore.length, expected, text);
        for (const plan of ["index", "scan"] as const) {
          const compiled = eventSearch(dialect.db, dialect, { text }, plan).compile();
          const ids = store.connection
            .prepare(compiled.sql)
            .all(...compiled.parameters)
            .map((r) => (r as { id: string }).id);
          assert.deepEqual(ids, viaStore, `${text} (${plan})`);
        }
      }
      assert.equal(await store.countEvents({ text: "common@example" }), total);
      // Once everything is indexed the answers do not change.
      await store.indexPendingText();
      assert.equal(pending(), 0);
      assert.equal((await store.searchEvents({ text: "rare-thing" })).length, 3);
      assert.equal(await store.countEvents({ text: "common@example" }), total);
    });
  });

  describe("migrations", () => {
    it("records each migration once and does nothing when up to date", async () => {
      await withStore(async (store, path) => {
        const versions = () =>
          store.connection.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all();
        const expected = MIGRATIONS.map((m) => m.version);
        assert.deepEqual(versions(), expected);
        await store.migrate();
        const second = await openSqliteStore({ path });
        await second.close();
        assert.deepEqual(versions(), expected);
      });
    });

    it("says which migration runs on a database with data, opens an up-to-date one beside a writer, and names a migration kept waiting", async () => {
      const said: string[] = [];
      const onMigration = (m: { version: number; name: string }) => said.push(`${m.version} ${m.name}`);
      // A new database: set up in a moment, nothing said.
      const path = freshPath();
      await (await openSqliteStore({ path, onMigration })).close();
      assert.deepEqual(said, []);
      // One an older Vigil left: each migration it lacks is announced before it runs.
      const older = freshPath();
      databaseBefore(older, "alerts of users deleted before").close();
      await (await openSqliteStore({ path: older, onMigration })).close();
      assert.deepEqual(
        said,
        MIGRATIONS.filter((m) => m.version >= 42).map((m) => `${m.version} ${m.name}`),
      );

      // Up to date: opening takes no write lock, so another process's long write does not hold it up.
      const holder = new Database(path);
      try {
        holder.exec("BEGIN IMMEDIATE");
        await (await openSqliteStore({ path, busyTimeoutMs: 50 })).close();
        holder.exec("ROLLBACK");
        // Behind: the migration waits for the lock, and its failure says what it waited for.
        const behind = freshPath();
        databaseBefore(behind, "the rest of a poll window").close();
        const other = new Database(behind);
        try {
          // In WAL mode, as Vigil keeps it: a reader of the file is not what waits.
          other.pragma("journal_mode = WAL");
          other.exec("BEGIN IMMEDIATE");
          const error = await assertVigilError(openSqliteStore({ path: behind, busyTimeoutMs: 50 }), "storage_busy");
          assert.match(
            error.message,
            /needs upgrading \(migration 43: the rest of a poll window.*another Vigil is upgrading it/,
          );
          other.exec("ROLLBACK");
        } finally {
          other.close();
        }
      } finally {
        holder.close();
      }
    });

    it("announces nothing when another process did the upgrade while this one waited for it", async () => {
      const path = freshPath();
      databaseBefore(path, "alerts of users deleted before").close();
      // Another process takes the write lock and applies the missing migrations under it, a second later.
      const migrationsModule = fileURLToPath(new URL("./migrations.ts", import.meta.url));
      const script = `
        import Database from "better-sqlite3";
        import { runMigrations } from ${JSON.stringify(migrationsModule)};
        const db = new Database(${JSON.stringify(path)});
        db.pragma("journal_mode = WAL");
        db.exec("BEGIN IMMEDIATE");
        process.stdout.write("locked\\n");
        setTimeout(() => { runMigrations(db, Date.now()); db.exec("COMMIT"); db.close(); }, 1000);
      `;
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
      const said: number[] = [];
      const store = await openSqliteStore({ path, busyTimeoutMs: 20_000, onMigration: (m) => said.push(m.version) });
      try {
        assert.deepEqual(said, [], "the other process ran them");
        assert.equal(
          store.connection.prepare("SELECT max(version) FROM schema_migrations").pluck().get(),
          MIGRATIONS.at(-1)?.version,
        );
      } finally {
        await store.close();
        await new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve(null)));
      }
    });

    it("lets two processes migrate a new file at the same time", async () => {
      const path = freshPath();
      const stores = await Promise.all([openSqliteStore({ path }), openSqliteStore({ path })]);
      for (const store of stores) await store.close();
      await withStore(async (store) => {
        assert.equal(
          store.connection.prepare("SELECT count(*) FROM schema_migrations").pluck().get(),
          MIGRATIONS.length,
        );
      }, path);
    });

    it("indexes the events stored before the text index existed", async () => {
      const path = freshPath();
      // A database as an older Vigil left it: every migration up to 8, then events.
      const db = new Database(path);
      runMigrations(
        db,
        Date.now(),
        MIGRATIONS.filter((m) => m.version <= 8),
      );
      insertOldSource(db);
      const insert = db.prepare(
        `INSERT INTO events (source_id, id, type, effective_at, raw, ingested_at_ms) VALUES ('s1', ?, 't', ?, ?, 0)`,
      );
      insert.run("e1", T0, JSON.stringify({ note: "written before version 9" }));
      insert.run("e2", T0 + 1, JSON.stringify({ note: "something else" }));
      db.close();
      await withStore(async (store) => {
        assert.deepEqual(
          (await store.searchEvents({ text: "before version" })).map((e) => e.id),
          ["e1"],
        );
        await store.indexPendingText();
        assert.equal(store.connection.prepare("SELECT count(*) FROM event_text_pending").pluck().get(), 0);
        assert.deepEqual(
          (await store.searchEvents({ text: "before version" })).map((e) => e.id),
          ["e1"],
        );
      }, path);
    });

    it("keeps feeding the alert windows stored before the event-time grid (finding 7)", async () => {
      const path = freshPath();
      // A database as Vigil left it before version 12: windows anchored at their first match (T0, which is
      // 800 s into its hour), one with its alert, one counting unique() values below its threshold.
      const db = new Database(path);
      runMigrations(
        db,
        Date.now(),
        MIGRATIONS.filter((m) => m.version <= 10),
      );
      insertOldSource(db);
      const window = db.prepare(
        `INSERT INTO alert_windows (id, source_id, rule_id, dedup_string, is_error, start_secs, end_secs, match_count,
           unique_values, threshold, counts_unique, alert_created, first_match)
         VALUES (?, 's1', ?, 'alice@example.com', 0, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const old = ruleMatch("s1", "old", T0);
      window.run("legacy-count", old.ruleId, T0, T0 + 3600, 1, "[]", 1, 0, 1, JSON.stringify(old));
      window.run("legacy-unique", "Unique.Rule", T0, T0 + 3600, 2, '["ip-a"]', 3, 1, 0, JSON.stringify(old));
      db.prepare(
        `INSERT INTO alerts (id, rule_id, pack_id, source_id, dedup_string, is_error, title, severity, status,
           window_start_secs, window_end_secs, match_count, created_at_ms, updated_at_ms)
         VALUES ('legacy-count', ?, 'openai', 's1', 'alice@example.com', 0, ?, 'MEDIUM', 'OPEN', ?, ?, 1, 0, 0)`,
      ).run(old.ruleId, old.title, T0, T0 + 3600);
      db.close();
      await withStore(async (store) => {
        const counts = store.connection
          .prepare("SELECT id, on_grid, valueless_count FROM alert_windows ORDER BY id")
          .all() as Array<{ id: string; on_grid: number; valueless_count: number }>;
        assert.deepEqual(
          counts.map((r) => [r.id, r.on_grid, r.valueless_count]),
          [
            ["legacy-count", 0, 1],
            ["legacy-unique", 0, 0],
          ],
        );
        const H0 = T0 - (T0 % 3600);
        const result = await store.applyPage({
          sourceId: "s1",
          events: [eventRow("inside", T0 + 3000), eventRow("after", T0 + 3600)],
          quarantined: [],
          unknownTypes: [],
          matches: [
            ruleMatch("s1", "inside", T0 + 3000),
            ruleMatch("s1", "after", T0 + 3600),
            ruleMatch("s1", "inside", T0 + 3000, { ruleId: "Unique.Rule", threshold: 3, uniqueValue: "ip-b" }),
          ],
        });
        // Inside the open window: it joins it. After its end: a window on the grid, and a new alert.
        assert.equal((await store.getAlert("legacy-count"))?.matchCount, 2);
        assert.equal(result.createdAlertIds.length, 1);
        const fresh = await store.getAlert(result.createdAlertIds[0]!);
        assert.deepEqual([fresh?.windowStartSecs, fresh?.windowEndSecs], [H0 + 3600, H0 + 7200]);
        // The unique window kept its values: two distinct of three, still no alert.
        const unique = store.connection
          .prepare("SELECT match_count, unique_values, alert_created FROM alert_windows WHERE id = 'legacy-unique'")
          .get();
        assert.deepEqual(unique, { match_count: 3, unique_values: '["ip-a","ip-b"]', alert_created: 0 });
      }, path);
    });

    it("keeps reading windows that hold a copy of their representative match, and names the match once it changes", async () => {
      const path = freshPath();
      // A database as Vigil left it before version 27: a window holding its first match as JSON, naming its
      // rule version (below its threshold of 5: no alert yet).
      const db = databaseBefore(path, "alert windows name their representative match");
      insertOldSource(db);
      const old = ruleMatch("s1", "old", T0, { threshold: 5 });
      const version = ruleVersionRow(old);
      db.prepare(
        `INSERT INTO rule_versions (id, rule_id, pack_id, log_type, description, reference, runbook, destinations,
           dedup_period_minutes, threshold, create_alert, tags, reports)
         VALUES (@id, @rule_id, @pack_id, @log_type, @description, @reference, @runbook, @destinations,
           @dedup_period_minutes, @threshold, @create_alert, @tags, @reports)`,
      ).run(version);
      const { packId, logType, description, reference, runbook, destinations, tags, reports, ...copied } = old;
      const { dedupPeriodMinutes, threshold, createAlert, ...rest } = copied;
      db.prepare(
        `INSERT INTO alert_windows (id, source_id, rule_id, dedup_string, is_error, start_secs, end_secs, match_count,
           unique_values, threshold, alert_created, on_grid, valueless_count, first_match)
         VALUES ('copy', 's1', ?, 'alice@example.com', 0, ?, ?, 1, '[]', 5, 0, 0, 1, ?)`,
      ).run(old.ruleId, T0 - 1000, T0 + 2600, JSON.stringify({ ...rest, ruleVersion: version.id }));
      db.close();
      await withStore(async (store) => {
        const row = () =>
          store.connection
            .prepare("SELECT match_count, first_match IS NULL AS named, first_match_seq FROM alert_windows")
            .get() as { match_count: number; named: number; first_match_seq: number | null };
        const write = (id: string, t: number) =>
          store.applyPage({
            sourceId: "s1",
            events: [eventRow(id, t)],
            quarantined: [],
            unknownTypes: [],
            matches: [ruleMatch("s1", id, t, { threshold: 5 })],
          });
        // A later match joins the window (read from its copy), which keeps its representative and its copy.
        await write("later", T0 + 100);
        assert.deepEqual(row(), { match_count: 2, named: 0, first_match_seq: null });
        // An earlier one replaces the representative: the window now names its stored row.
        await write("earlier", T0 - 500);
        const seq = store.connection
          .prepare("SELECT m.seq FROM rule_matches m JOIN events e ON e.seq = m.event_seq WHERE e.id = 'earlier'")
          .pluck()
          .get();
        assert.deepEqual(row(), { match_count: 3, named: 1, first_match_seq: seq });
        // Read back through that row: the alert the fifth match raises takes the representative's fields.
        await write("fourth", T0 + 200);
        const raised = await write("fifth", T0 + 300);
        assert.equal(raised.createdAlertIds.length, 1);
        const alert = await store.getAlert(raised.createdAlertIds[0]!);
        assert.equal(alert?.title, "Failed login earlier");
        assert.deepEqual(alert?.alertContext, { eventId: "earlier" });
        assert.equal(alert?.description, old.description);
      }, path);
    });

    // Security (issue 16, finding 6b): tokens made before expiries existed get 90 days from the migration.
    it("gives API tokens made before expiries existed 90 days from the migration", async () => {
      const path = freshPath();
      const db = databaseBefore(path, "api tokens: expiry");
      db.prepare("INSERT INTO api_tokens (id, name, token_hash, created_at_ms) VALUES ('t1', 'old', 'h', 0)").run();
      db.close();
      const before = Date.now();
      await withStore(async (store) => {
        const [token] = await store.listApiTokens();
        const ninetyDays = 90 * 86_400_000;
        assert.ok(token !== undefined);
        assert.ok(token.expiresAtMs >= before - 1000 + ninetyDays && token.expiresAtMs <= Date.now() + ninetyDays);
      }, path);
    });

    it("counts, when it adds the counters, what was stored before they existed", async () => {
      const path = freshPath();
      // A database as an older Vigil left it: every migration up to 14, then rows of every counted kind.
      const db = new Database(path);
      runMigrations(
        db,
        Date.now(),
        MIGRATIONS.filter((m) => m.version <= 14),
      );
      db.exec(
        `INSERT INTO sources (id, name, kind, poll_interval_secs, overlap_secs, sweep_window_secs,
           sweep_interval_secs, include_tenant_events, backfill_days, enabled, encrypted_secret, created_at_ms)
         VALUES ('s1', 'old', 'openai', 60, 300, 86400, 3600, 0, 0, 1, 'x', 0);
         INSERT INTO events (source_id, id, type, effective_at, raw, ingested_at_ms) VALUES
           ('s1', 'e1', 'a', 172800, '{}', 0), ('s1', 'e2', 'a', 172801, '{}', 0), ('s1', 'e3', 'b', 259200, '{}', 0);
         INSERT INTO quarantine (source_id, reason, issues, raw, raw_sha256, received_at_ms, last_seen_ms)
           VALUES ('s1', 'bad', '[]', '{', 'h1', 0, 0);
         INSERT INTO rule_matches (source_id, event_id, rule_id, log_type, event_time, is_error, dedup_string, title,
           severity, dedup_period_minutes, threshold, create_alert, tags, reports, created_at_ms)
           VALUES ('s1', 'e1', 'R', 'OpenAI.Audit', 172800, 1, 'd', 't', 'HIGH', 60, 1, 1, '[]', '{}', 0),
                  ('s1', 'e2', 'R', 'OpenAI.Audit', 172801, 0, 'd', 't', 'HIGH', 60, 1, 1, '[]', '{}', 0);
         INSERT INTO alerts (id, rule_id, source_id, dedup_string, is_error, title, severity, status,
           window_start_secs, window_end_secs, match_count, created_at_ms, updated_at_ms) VALUES
           ('a1', 'R', 's1', 'd', 0, 't', 'HIGH', 'OPEN', 0, 1, 1, 0, 0),
           ('a2', 'R', 's1', 'e', 0, 't', 'HIGH', 'OPEN', 0, 1, 1, 0, 0),
           ('a3', 'R', 's1', 'f', 0, 't', 'LOW', 'RESOLVED', 0, 1, 1, 0, 0);`,
      );
      db.close();
      await withStore(async (store) => {
        assert.deepEqual(await store.sourceCounts(), [{ sourceId: "s1", events: 3, quarantined: 1, ruleErrors: 1 }]);
        assert.deepEqual(await store.eventHistogram({ sinceSecs: 0, bucketSecs: 86_400 }), [
          { bucketStartSecs: 172_800, type: "a", count: 2 },
          { bucketStartSecs: 259_200, type: "b", count: 1 },
        ]);
        assert.deepEqual(await store.alertCounts(), [
          { sourceId: "s1", status: "OPEN", severity: "HIGH", count: 2 },
          { sourceId: "s1", status: "RESOLVED", severity: "LOW", count: 1 },
        ]);
        // And the triggers carry on from there.
        await store.applyPage({ sourceId: "s1", events: [eventRow("e4", 172_900)], quarantined: [], unknownTypes: [] });
        assert.equal(await store.countEvents({ sourceId: "s1" }), 4);
      }, path);
    });

    it("marks the matches of the last hour pending for correlation at the upgrade, and older ones not", async () => {
      const path = freshPath();
      const db = databaseBefore(path, "correlation on event time");
      db.prepare(
        `INSERT INTO sources (id, name, kind, poll_interval_secs, overlap_secs, sweep_window_secs, sweep_interval_secs,
           include_tenant_events, backfill_days, enabled, encrypted_secret, created_at_ms)
         VALUES ('s1', 'acme', 'openai', 60, 60, 60, 60, 1, 1, 1, 'x', 0)`,
      ).run();
      const insert = db.prepare(
        `INSERT INTO rule_matches (source_id, event_id, rule_id, log_type, event_time, is_error, dedup_string, title,
           severity, dedup_period_minutes, threshold, create_alert, tags, reports, created_at_ms)
         VALUES ('s1', ?, 'R', 'OpenAI.Audit', 1, 0, 'd', 't', 'INFO', 60, 1, 0, '[]', '{}', ?)`,
      );
      insert.run("old", Date.now() - 2 * 3_600_000);
      insert.run("recent", Date.now() - 60_000);
      db.close();
      await withStore(async (store) => {
        const pending = await store.listCorrelationPending("s1", { afterSeq: 0, limit: 10 });
        assert.deepEqual(
          pending.map((p) => p.match.eventId),
          ["recent"],
        );
      }, path);
    });

    it("keeps the matches stored before migration 25 on their event-id key, and keys a page's matches by seq", async () => {
      const path = freshPath();
      const db = new Database(path);
      runMigrations(
        db,
        Date.now(),
        MIGRATIONS.filter((m) => m.version <= 24),
      );
      db.exec(
        `INSERT INTO sources (id, name, kind, poll_interval_secs, overlap_secs, sweep_window_secs, sweep_interval_secs,
           include_tenant_events, backfill_days, enabled, encrypted_secret, created_at_ms)
         VALUES ('s1', 'acme', 'openai', 60, 60, 60, 60, 1, 1, 1, 'x', 0);
         INSERT INTO rule_versions (id, rule_id, log_type, dedup_period_minutes, threshold, create_alert, tags, reports)
           VALUES ('v1', 'R', 'OpenAI.Audit', 60, 1, 0, '[]', '{}');
         INSERT INTO rule_matches (source_id, event_id, rule_id, event_time, is_error, dedup_string, title, severity,
           created_at_ms, rule_version, correlation_pending)
           VALUES ('s1', 'old', 'R', 1, 0, 'd', 't', 'INFO', 0, 'v1', 1), ('s1', 'gone', 'R', 2, 0, 'd', 't', 'INFO', 0, 'v1', 1);
         DELETE FROM rule_matches WHERE event_id = 'gone';`,
      );
      db.close();
      await withStore(async (store) => {
        const window = { sourceId: "s1", sinceSecs: 0, untilSecs: 100 };
        const [old] = await store.listMatches(window);
        assert.equal(old?.eventId, "old");
        // The old key still holds: the same match applied again is skipped.
        await store.applyDerivedMatches("s1", [old!]);
        assert.equal((await store.listMatches(window)).length, 1);
        await store.applyPage({
          sourceId: "s1",
          events: [eventRow("e1", 5)],
          quarantined: [],
          unknownTypes: [],
          matches: [{ ...old!, eventId: "e1", eventTimeSecs: 5 }],
        });
        // The page's match names its event by seq alone (its id is the event row's); the old one by id.
        const rows = store.connection
          .prepare(
            `SELECT m.event_id, m.seq, m.event_seq, e.id AS stored_id FROM rule_matches m
               LEFT JOIN events e ON e.seq = m.event_seq ORDER BY m.seq`,
          )
          .all() as Array<{ event_id: string; seq: number; event_seq: number | null; stored_id: string | null }>;
        assert.deepEqual(
          rows.map((r) => [r.event_id, r.event_seq === null ? null : r.stored_id]),
          [
            ["old", null],
            ["", "e1"],
          ],
        );
        assert.ok(rows[1]!.seq > 2, "a match seq freed before the rebuild is not given again");
        assert.deepEqual(
          (await store.listMatches(window)).map((m) => m.eventId),
          ["old", "e1"],
        );
      }, path);
    });

    it("migration 37 finds each destination's health in its attempt log", async () => {
      const path = freshPath();
      const db = databaseBefore(path, "destinations keep their delivery health");
      db.pragma("foreign_keys = OFF");
      for (const statement of ROWS_BEFORE_DELIVERY_HEALTH) db.exec(statement);
      db.close();
      await withStore(assertDeliveryHealthUpgrade, path);
    });

    it("migration 42 unassigns the alerts of users deleted before it", async () => {
      const path = freshPath();
      const db = databaseBefore(path, "alerts of users deleted before are unassigned");
      for (const statement of ROWS_BEFORE_ASSIGNEE_CLEANUP) db.exec(statement);
      db.close();
      await withStore(assertAssigneeCleanup, path);
    });

    it("migration 40 folds the actor emails stored before it, so that any case finds them", async () => {
      const path = freshPath();
      const db = databaseBefore(path, "actor emails are stored in lower case");
      for (const statement of ROWS_BEFORE_EMAIL_FOLD) db.exec(statement);
      db.close();
      await withStore(assertEmailFoldUpgrade, path);
    });

    it("migration 38 keeps the matches suppressed before it, each standing for any key of its anchor", async () => {
      const path = freshPath();
      const db = databaseBefore(path, "a correlation's completions are one per anchor and key");
      db.exec(`INSERT INTO sources (id, name, kind, poll_interval_secs, overlap_secs, sweep_window_secs,
          sweep_interval_secs, include_tenant_events, backfill_days, enabled, encrypted_secret, created_at_ms)
        VALUES ('s', 'prod', 'openai', 60, 120, 86400, 3600, 0, 7, 1, 'x', 0);
        INSERT INTO suppressions (id, rule_id, conditions, reason, created_by, created_at_ms)
        VALUES ('sup', 'Corr.Rule', '{"dedup":"alice@example.com"}', 'known', 'user:alice', 0);
        INSERT INTO suppressed_matches (source_id, rule_id, event_id, is_error, suppression_id, at_ms)
        VALUES ('s', 'Corr.Rule', 'corr-1', 0, 'sup', 5)`);
      db.close();
      await withStore(async (store) => {
        assert.deepEqual(store.connection.prepare("SELECT * FROM suppressed_matches").all(), [
          {
            source_id: "s",
            rule_id: "Corr.Rule",
            event_id: "corr-1",
            dedup_string: "",
            is_error: 0,
            suppression_id: "sup",
            at_ms: 5,
          },
        ]);
      }, path);
      // Such a row absorbs its anchor's match whatever its key, as it did before: once the suppression ends, the
      // match applied again is still not alerted.
      await withStore(async (store) => {
        const { source, suppression, derived } = await suppressedCorrelationMatch(store);
        store.connection.prepare("UPDATE suppressed_matches SET dedup_string = ''").run();
        await store.removeSuppression(suppression.id, "user:alice", Date.now());
        assert.deepEqual((await store.applyDerivedMatches(source.id, [derived])).createdAlertIds, []);
      });
    });

    it("refuses a database written by a newer Vigil", async () => {
      const path = freshPath();
      await withStore(async (store) => {
        store.connection.prepare("INSERT INTO schema_migrations VALUES (999, 'future', 0)").run();
      }, path);
      const error = await assertVigilError(openSqliteStore({ path }), "storage_schema_too_new");
      assert.match(error.message, /upgrade Vigil/);
    });
  });

  it("loses no committed page and keeps no partial page when the process is killed", async () => {
    // A child writes pages of 50 events, each also moving the checkpoint to its page number, and says
    // so after each commit; we SIGKILL it mid-stream and check the file holds whole pages only.
    const path = freshPath();
    const storeModule = fileURLToPath(new URL("./sqlite-store.ts", import.meta.url));
    const script = `
      import { openSqliteStore } from ${JSON.stringify(storeModule)};
      const store = await openSqliteStore({ path: ${JSON.stringify(path)} });
      const source = await store.createSource({ name: "crash", kind: "openai", baseUrl: null, pollIntervalSecs: 60,
        overlapSecs: 60, sweepWindowSecs: 60, sweepIntervalSecs: 60, includeTenantEvents: false, backfillDays: 1,
        enabled: true }, { ciphertext: "v1:x" });
      for (let n = 1; ; n++) {
        const events = Array.from({ length: 50 }, (_, i) => ({ id: "p" + n + "-" + i, type: "login.succeeded",
          effectiveAtSecs: n, actorType: null, actorId: null, actorEmail: null, ip: null, projectId: null,
          raw: JSON.stringify({ n, i, pad: "x".repeat(500) }), normalized: null }));
        await store.applyPage({ sourceId: source.id, events, quarantined: [], unknownTypes: [],
          streamUpdate: { stream: "main", checkpointSecs: n } });
        process.stdout.write("committed " + n + "\\n");
      }
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const lastAcknowledged = await new Promise<number>((resolve, reject) => {
      let last = 0;
      let buffer = "";
      child.stdout.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        for (const match of buffer.matchAll(/committed (\d+)\n/g)) last = Number(match[1]);
        buffer = buffer.slice(buffer.lastIndexOf("\n") + 1);
        if (last >= 20) child.kill("SIGKILL");
      });
      child.on("exit", (_code, signal) => {
        if (signal === "SIGKILL") resolve(last);
        else reject(new Error(`the writer exited on its own: ${stderr}`));
      });
    });
    assert.ok(lastAcknowledged >= 20);

    await withStore(async (store) => {
      const source = await store.getSource("crash");
      assert.ok(source);
      const checkpoint = (await store.getStreamState(source.id, "main")).checkpointSecs;
      assert.ok(
        checkpoint !== null && checkpoint >= lastAcknowledged,
        `checkpoint ${checkpoint} < ${lastAcknowledged}`,
      );
      const count = await store.countEvents({ sourceId: source.id });
      assert.equal(count, checkpoint * 50, "every page up to the checkpoint is whole, and nothing beyond it exists");
      assert.equal(store.connection.pragma("integrity_check", { simple: true }), "ok");
    }, path);
  });
});
