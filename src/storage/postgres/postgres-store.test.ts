// The PostgreSQL store against a throwaway cluster started here: the shared Store contract (each case in a
// fresh schema), plus what only a shared server can show — several workers (pools) writing at once.
// Without the PostgreSQL binaries this file fails with the install instruction: it never skips silently.

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { CompiledQuery, sql } from "kysely";
import pg from "pg";
import { assertAssigneeCleanup, ROWS_BEFORE_ASSIGNEE_CLEANUP } from "../../../test/assignee-upgrade.ts";
import { assertDeliveryHealthUpgrade, ROWS_BEFORE_DELIVERY_HEALTH } from "../../../test/delivery-health-upgrade.ts";
import { assertEmailFoldUpgrade, ROWS_BEFORE_EMAIL_FOLD } from "../../../test/email-fold-upgrade.ts";
import { type PgCluster, startPgCluster } from "../../../test/pg-cluster.ts";
import { assertSourceNumbersUpgrade, ROWS_BEFORE_SOURCE_NUMBERS } from "../../../test/source-numbers-upgrade.ts";
import { eventRow, ruleMatch, runStorageContract, sourceSettings } from "../../../test/storage-contract.ts";
import { runAccessContract } from "../../../test/storage-contract-access.ts";
import { runAlertOrderContract } from "../../../test/storage-contract-alert-order.ts";
import { runCountersContract } from "../../../test/storage-contract-counters.ts";
import { runFleetContract } from "../../../test/storage-contract-fleet.ts";
import { runLimiterContract } from "../../../test/storage-contract-limiter.ts";
import { runPostureContract } from "../../../test/storage-contract-posture.ts";
import { runRuleStateSharingContract } from "../../../test/storage-contract-rule-state.ts";
import { runSearchContract } from "../../../test/storage-contract-search.ts";
import { runSuppressionContract } from "../../../test/storage-contract-suppressions.ts";
import { runTriageContract } from "../../../test/storage-contract-triage.ts";
import { VigilError } from "../../core/errors.ts";
import { fenceOf, type WorkerIdentity } from "../../core/fleet.ts";
import type { PageWrite, Store } from "../ports.ts";
import { eventSearch } from "../store/event-search.ts";
import { PostgresStoreDialect } from "./dialect.ts";
import { MIGRATIONS, runMigrations } from "./migrations.ts";
import { describeTarget } from "./pg-errors.ts";
import { openPool } from "./pool.ts";
import { openPostgresStore, type PostgresStore, postgresWriterThread } from "./postgres-store.ts";
import { textGrams } from "./text-grams.ts";

const T0 = 1_700_000_000;

const cluster: PgCluster = await startPgCluster();
after(() => cluster.stop());

let schemas = 0;
function freshSchema(): string {
  schemas++;
  return `vigil_t${schemas}`;
}

runRuleStateSharingContract("postgres", async () => {
  const schema = freshSchema();
  const open = () => openPostgresStore({ connectionString: cluster.connectionString, schema });
  return [await open(), await open()];
});
runStorageContract("postgres", () =>
  openPostgresStore({ connectionString: cluster.connectionString, schema: freshSchema() }),
);
runAccessContract("postgres", () =>
  openPostgresStore({ connectionString: cluster.connectionString, schema: freshSchema() }),
);
runCountersContract("postgres", () =>
  openPostgresStore({ connectionString: cluster.connectionString, schema: freshSchema() }),
);
runLimiterContract("postgres", (alertLimitPerHour) =>
  openPostgresStore({ connectionString: cluster.connectionString, schema: freshSchema(), alertLimitPerHour }),
);
runSuppressionContract("postgres", (clock) =>
  openPostgresStore({ connectionString: cluster.connectionString, schema: freshSchema(), clock }),
);
runSearchContract("postgres", () =>
  openPostgresStore({ connectionString: cluster.connectionString, schema: freshSchema() }),
);
runPostureContract("postgres", () =>
  openPostgresStore({ connectionString: cluster.connectionString, schema: freshSchema() }),
);
runFleetContract("postgres", () =>
  openPostgresStore({ connectionString: cluster.connectionString, schema: freshSchema() }),
);
runTriageContract("postgres", () =>
  openPostgresStore({ connectionString: cluster.connectionString, schema: freshSchema() }),
);
runAlertOrderContract(
  "postgres",
  () => openPostgresStore({ connectionString: cluster.connectionString, schema: freshSchema() }),
  { scenarios: 5, deliveries: 6 },
);

async function rawClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: cluster.connectionString });
  await client.connect();
  return client;
}

/**
 * A new schema as an older Vigil left it: every migration before the one named `name`, then `statements` (rows
 * written as that schema holds them). Returns the schema's name.
 */
async function schemaBefore(name: string, statements: readonly string[]): Promise<string> {
  const schema = freshSchema();
  const version = MIGRATIONS.find((m) => m.name === name)?.version;
  assert.ok(version !== undefined, `no migration named ${name}`);
  const client = await rawClient();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`SET search_path TO ${schema}`);
    await runMigrations(
      client as pg.PoolClient,
      schema,
      Date.now(),
      MIGRATIONS.filter((m) => m.version < version),
    );
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
  return schema;
}

/**
 * A free-text search's own statement ("index" plan) on `dialect`: its events, whether it read the indexed values
 * (PostgreSQL's EXPLAIN ANALYZE: the scan of event_text ran at least once), after checking its events are those
 * whose indexed values hold the text, read from every value.
 */
async function searchReading(dialect: PostgresStoreDialect, text: string) {
  const query = eventSearch(dialect.db, dialect, { text }, "index").compile();
  const ids = (await dialect.db.executeQuery<{ id: string }>(query)).rows.map((r) => r.id).sort();
  const explained = await dialect.db.executeQuery<{ "QUERY PLAN": unknown }>(
    CompiledQuery.raw(`EXPLAIN (ANALYZE, FORMAT JSON) ${query.sql}`, [...query.parameters]),
  );
  const loops: number[] = [];
  const walk = (node: Record<string, unknown>): void => {
    if (node["Relation Name"] === "event_text") loops.push(node["Actual Loops"] as number);
    for (const child of (node.Plans as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
  };
  walk((explained.rows[0]!["QUERY PLAN"] as Array<{ Plan: Record<string, unknown> }>)[0]!.Plan);
  assert.equal(loops.length, 1, JSON.stringify(explained.rows));
  const truth = await dialect.db.executeQuery<{ id: string }>(
    CompiledQuery.raw(
      "SELECT e.id FROM events e JOIN event_text t ON t.seq = e.seq WHERE t.body ILIKE $1 ORDER BY e.id",
      [`%${text}%`],
    ),
  );
  assert.deepEqual(ids, truth.rows.map((r) => r.id).sort(), text);
  return { ids, valuesRead: loops[0]! > 0 };
}

/** A dialect of its own on `schema` (migrated already), for the statements the store builds. */
async function dialectOn(schema: string): Promise<PostgresStoreDialect> {
  const pool = openPool({ connectionString: cluster.connectionString, schema, max: 2 });
  const dialect = new PostgresStoreDialect(pool, schema, describeTarget(cluster.connectionString));
  await dialect.migrate(Date.now());
  return dialect;
}

/** Resolves once some other session of the database waits for a lock (seen from `client`), within 10 s. */
async function waitForLockWait(client: pg.Client): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    const { rows } = await client.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
    );
    if (rows[0].n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("no session waited for a lock within 10 s");
}

describe("PostgresStore", () => {
  it("migrates once when many workers start at the same time", async () => {
    const schema = freshSchema();
    const stores = await Promise.all(
      Array.from({ length: 6 }, () => openPostgresStore({ connectionString: cluster.connectionString, schema })),
    );
    try {
      const client = await rawClient();
      try {
        const { rows } = await client.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
        assert.deepEqual(
          rows.map((r) => r.version),
          MIGRATIONS.map((m) => m.version),
        );
      } finally {
        await client.end();
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  // Security (issue 16, finding 6b): tokens made before expiries existed get 90 days from the migration.
  it("gives API tokens made before expiries existed 90 days from the migration", async () => {
    const schema = await schemaBefore("api tokens: expiry", [
      "INSERT INTO api_tokens (id, name, token_hash, created_at_ms) VALUES ('t1', 'old', 'h', 0)",
    ]);
    const before = Date.now();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    try {
      const [token] = await store.listApiTokens();
      const ninetyDays = 90 * 86_400_000;
      assert.ok(token !== undefined);
      assert.ok(token.expiresAtMs >= before - 1000 + ninetyDays && token.expiresAtMs <= Date.now() + ninetyDays);
    } finally {
      await store.close();
    }
  });

  it("ends a destination's failing episode when the successes after an outage are recorded at the same moment", async () => {
    // READ COMMITTED: without the destination's row lock, each success saw the other delivery still failing, and
    // neither ended the episode (the alert stayed open, /api/health not ok, until some later success).
    const schema = freshSchema();
    const clock = { t: 1_000_000, nowMs: () => clock.t };
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema, clock });
    const locker = await rawClient();
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "x" });
      const dest = await store.createDestination({
        name: "hook",
        type: "webhook",
        minSeverity: "INFO",
        logTypes: [],
        config: { ciphertext: "x" },
      });
      await store.applyDerivedMatches(source.id, [
        ruleMatch(source.id, "e1", 1, { dedupString: "one" }),
        ruleMatch(source.id, "e2", 2, { dedupString: "two" }),
      ]);
      for (const e of await store.listUnroutedOutbox(10)) {
        await store.routeOutboxEntry(e.id, [{ id: dest.id, name: dest.name }], clock.t);
      }
      for (const d of await store.claimDeliveries({ nowMs: clock.t, leaseMs: 60_000, limit: 10 })) {
        await store.recordDeliveryAttempt({
          deliveryId: d.id,
          leaseToken: d.leaseToken,
          atMs: clock.t,
          outcome: "retry",
          error: "HTTP 503",
          nextAttemptAtMs: clock.t + 1,
          durationMs: 1,
        });
      }
      assert.notEqual((await store.getDestination(dest.id))?.failing, null);
      clock.t += 1000;
      const claimed = await store.claimDeliveries({ nowMs: clock.t, leaseMs: 60_000, limit: 10 });
      assert.equal(claimed.length, 2);
      // Both transactions are held before their last statement, so that they overlap.
      await locker.query("BEGIN");
      await locker.query(`LOCK TABLE ${schema}.delivery_attempts IN EXCLUSIVE MODE`);
      const recorded = Promise.all(
        claimed.map((d) =>
          store.recordDeliveryAttempt({
            deliveryId: d.id,
            leaseToken: d.leaseToken,
            atMs: clock.t,
            outcome: "sent",
            durationMs: 1,
          }),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await locker.query("COMMIT");
      assert.deepEqual(await recorded, [true, true]);
      assert.equal((await store.getDestination(dest.id))?.failing, null);
    } finally {
      await locker.end();
      await store.close();
    }
  });

  it("migration 37 finds each destination's health in its attempt log", async () => {
    const schema = await schemaBefore("destinations keep their delivery health; a dead letter can be sent again", [
      // Without foreign keys (no alerts needed), for these statements only.
      "SET session_replication_role = replica",
      ...ROWS_BEFORE_DELIVERY_HEALTH,
    ]);
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    try {
      await assertDeliveryHealthUpgrade(store);
    } finally {
      await store.close();
    }
  });

  it("says which migration runs on a schema with data, and nothing while it sets up a new one", async () => {
    const said: string[] = [];
    const onMigration = (m: { version: number; name: string }) => said.push(`${m.version} ${m.name}`);
    await (
      await openPostgresStore({ connectionString: cluster.connectionString, schema: freshSchema(), onMigration })
    ).close();
    assert.deepEqual(said, []);
    // Before 42: an older Vigil's schema.
    const schema = await schemaBefore("alerts of users deleted before are unassigned", []);
    await (await openPostgresStore({ connectionString: cluster.connectionString, schema, onMigration })).close();
    assert.deepEqual(
      said,
      MIGRATIONS.filter((m) => m.version >= 42).map((m) => `${m.version} ${m.name}`),
    );
  });

  it("migration 42 unassigns the alerts of users deleted before it", async () => {
    const schema = await schemaBefore("alerts of users deleted before are unassigned", ROWS_BEFORE_ASSIGNEE_CLEANUP);
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    try {
      await assertAssigneeCleanup(store);
    } finally {
      await store.close();
    }
  });

  it("migration 40 folds the actor emails stored before it, so that any case finds them", async () => {
    const schema = await schemaBefore("actor emails are stored in lower case", ROWS_BEFORE_EMAIL_FOLD);
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    try {
      await assertEmailFoldUpgrade(store);
    } finally {
      await store.close();
    }
  });

  it("names each event's and match's source by number after migration 30", async () => {
    const schema = await schemaBefore("events and matches name their source by number", ROWS_BEFORE_SOURCE_NUMBERS);
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    try {
      await assertSourceNumbersUpgrade(store);
    } finally {
      await store.close();
    }
  });

  it("reads the alert contexts stored as text before migration 32, and packs those written after", async () => {
    const context = { actor_email: "ada@example.com", note: "é ☃" };
    const schema = await schemaBefore("matches name their rule by number; packed alert contexts", [
      ROWS_BEFORE_SOURCE_NUMBERS[0]!,
      "INSERT INTO source_numbers (source_id) VALUES ('s1')",
      `INSERT INTO rule_versions (id, rule_id, log_type, dedup_period_minutes, threshold, create_alert, tags, reports)
         VALUES ('v1', 'R', 'OpenAI.Audit', 60, 1, true, '[]', '{}')`,
      `INSERT INTO rule_matches (source_num, event_id, rule_id, event_time, is_error, dedup_string, title, severity,
         alert_context, alert_id, created_at_ms, rule_version)
       VALUES (1, 'e1', 'R', 1800000000, false, 'd', 't', 'INFO', '${JSON.stringify(context)}', 'a1', 0, 'v1')`,
      `INSERT INTO alerts (id, rule_id, source_id, dedup_string, is_error, title, severity, alert_context, status,
         window_start_secs, window_end_secs, match_count, from_history, created_at_ms, updated_at_ms)
       VALUES ('a1', 'R', 's1', 'd', false, 't', 'INFO', '${JSON.stringify(context)}', 'OPEN', 1800000000,
         1800003600, 1, false, 0, 0)`,
    ]);
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    try {
      const window = { sinceSecs: 1_800_000_000, untilSecs: 1_800_000_001 };
      assert.deepEqual(
        (await store.listMatches({ ...window, sourceId: "s1" })).map((m) => m.alertContext),
        [context],
      );
      assert.deepEqual((await store.getAlert("a1"))?.alertContext, context);
      await store.applyPage({
        sourceId: "s1",
        events: [eventRow("e2", 1_800_000_000)],
        quarantined: [],
        unknownTypes: [],
        matches: [ruleMatch("s1", "e2", 1_800_000_000, { ruleId: "R2", alertContext: context })],
      });
      assert.deepEqual(
        (await store.listMatches({ ...window, sourceId: "s1", ruleIds: ["R2"] })).map((m) => m.alertContext),
        [context],
      );
      const client = await rawClient();
      try {
        const { rows } = await client.query(`SELECT get_byte(m.alert_context, 0) AS format FROM ${schema}.rule_matches m
          JOIN ${schema}.rule_numbers n ON n.num = m.rule_num WHERE n.rule_id = 'R2'`);
        assert.deepEqual(rows, [{ format: 1 }], "written packed (format byte 1)");
      } finally {
        await client.end();
      }
    } finally {
      await store.close();
    }
  });

  it("runs the store's queries with JIT off and idle transactions bounded, on every connection of its pool", async () => {
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema: freshSchema() });
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      // Several at once, so the pool opens several connections.
      const settings = await Promise.all(
        Array.from({ length: 4 }, () =>
          store.queryEvents(
            source.id,
            `SELECT current_setting('jit') AS jit, current_setting('idle_in_transaction_session_timeout') AS idle,
              pg_sleep(0.05)::text AS slept`,
            { maxRows: 1, timeoutMs: 10_000 },
          ),
        ),
      );
      assert.deepEqual(
        settings.map((rows) => `${rows[0]?.jit} ${rows[0]?.idle}`),
        ["off 30s", "off 30s", "off 30s", "off 30s"],
      );
    } finally {
      await store.close();
    }
  });

  it("claims past a lease whose row a frozen worker's page holds locked, instead of waiting for it", async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const frozen = await rawClient();
    try {
      assert.deepEqual(await store.claimLeases("w1", ["source:a", "source:b"], 1), ["source:a", "source:b"]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Both expired; w1's page (holdLeaseIn) holds source:a's row, as a page locks it, and w1 froze there.
      await frozen.query(`SET search_path TO ${schema}`);
      await frozen.query("BEGIN");
      await frozen.query("SELECT name FROM leases WHERE name = 'source:a' FOR KEY SHARE");
      const claim = store.claimLeases("w2", ["source:a", "source:b"], 20_000);
      const outcome = await Promise.race([
        claim,
        new Promise((resolve) => setTimeout(() => resolve("still waiting after 5 s"), 5_000)),
      ]);
      assert.deepEqual(outcome, ["source:b"]);
      // Once the frozen transaction ends (the server ends it: the pool's idle-in-transaction timeout), it is taken.
      await frozen.query("ROLLBACK");
      await claim;
      assert.deepEqual(await store.claimLeases("w2", ["source:a"], 20_000), ["source:a"]);
    } finally {
      await frozen.query("ROLLBACK").catch(() => undefined);
      await frozen.end();
      await store.close();
    }
  });

  it("refuses a page that waited for its lease row while a successor under its worker id took the id over", async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const successor = await rawClient();
    try {
      const source = await store.createSource(sourceSettings("taken over"), { ciphertext: "v1:unused" });
      const lease = `source:${source.id}`;
      const first = { id: "w1", host: "h", pid: 1, version: "test", incarnation: "w1-first" };
      await store.heartbeatWorker(first, 30_000, 0);
      assert.deepEqual(await store.claimLeases("w1", [lease], 30_000), [lease]);
      const page = (id: string) => ({
        sourceId: source.id,
        events: [eventRow(id, T0)],
        quarantined: [],
        unknownTypes: [],
        fence: fenceOf(first, lease),
      });
      // A page before (which also starts the writer thread, so the next one is sent at once).
      assert.deepEqual((await store.applyPage(page("before"))).insertedIds, ["before"]);
      // The successor's heartbeat, held open: it has taken the id and holds the lease rows it renews, locked as
      // heartbeatWorker's takeover locks them (the test after the next runs the real one).
      await successor.query(`SET search_path TO ${schema}`);
      await successor.query("BEGIN");
      await successor.query("UPDATE workers SET incarnation = 'w1-second' WHERE id = 'w1'");
      await successor.query("SELECT name FROM leases WHERE worker_id = 'w1' FOR UPDATE");
      await successor.query("UPDATE leases SET expires_at_ms = expires_at_ms + 1000 WHERE worker_id = 'w1'");
      // The first process's page waits for that row, and goes on once the successor commits.
      const late = store.applyPage(page("from-predecessor"));
      late.catch(() => undefined);
      await waitForLockWait(successor);
      await successor.query("COMMIT");
      await assert.rejects(late, (err: unknown) => (err as { code?: unknown }).code === "lease_lost");
      assert.deepEqual(await store.listEventIds(source.id), ["before"]);
    } finally {
      await successor.query("ROLLBACK").catch(() => undefined);
      await successor.end();
      await store.close();
    }
  });

  /** A worker, its lease on a new source, and fenced pages of that source (one event each). */
  async function leasedSource(store: Store, name: string, identity: WorkerIdentity) {
    const source = await store.createSource(sourceSettings(name), { ciphertext: "v1:unused" });
    const lease = `source:${source.id}`;
    await store.heartbeatWorker(identity, 30_000, 0);
    assert.deepEqual(await store.claimLeases(identity.id, [lease], 30_000, identity.incarnation), [lease]);
    const page = (id: string, by = identity) => ({
      sourceId: source.id,
      events: [eventRow(id, T0)],
      quarantined: [],
      unknownTypes: [],
      fence: fenceOf(by, lease),
    });
    return { source, lease, page };
  }

  /** A page held up past its fence: another session holds the source's poll status row, which it writes last. */
  async function holdPollStatus(client: pg.Client, schema: string, sourceId: string): Promise<void> {
    await client.query(`SET search_path TO ${schema}`);
    await client.query("BEGIN");
    await client.query("SELECT 1 FROM poll_status WHERE source_id = $1 FOR UPDATE", [sourceId]);
  }

  const stillPending = <T>(promise: Promise<T>, ms: number) =>
    Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve("still pending"), ms))]);

  it("renews a worker's leases while one of its own pages waits on another session's lock", async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const other = await rawClient();
    try {
      const me = { id: "w1", host: "h", pid: 1, version: "test", incarnation: "w1-only" };
      const { source, lease, page } = await leasedSource(store, "held up", me);
      assert.deepEqual((await store.applyPage(page("before"))).insertedIds, ["before"]);
      await holdPollStatus(other, schema, source.id);
      const stuck = store.applyPage(page("stuck"));
      stuck.catch(() => undefined);
      await waitForLockWait(other);
      // The page holds its lease row (its fence) while it waits; the worker's heartbeat renews the lease anyway.
      // Before, the renewal waited for the page, and a page held up long enough lost the worker all its leases.
      assert.deepEqual(await stillPending(store.heartbeatWorker(me, 30_000, 0), 5_000), [lease]);
      await other.query("ROLLBACK");
      assert.deepEqual((await stuck).insertedIds, ["stuck"]);
      assert.deepEqual(await store.listEventIds(source.id), ["before", "stuck"]);
    } finally {
      await other.query("ROLLBACK").catch(() => undefined);
      await other.end();
      await store.close();
    }
  });

  it("has a successor under the worker id wait for its predecessor's page in flight before it takes the leases", async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const other = await rawClient();
    try {
      const first = { id: "w1", host: "h", pid: 1, version: "test", incarnation: "w1-first" };
      const second = { ...first, pid: 2, incarnation: "w1-second" };
      const { source, lease, page } = await leasedSource(store, "taken over live", first);
      assert.deepEqual((await store.applyPage(page("before"))).insertedIds, ["before"]);
      // The first process's page in flight is held up, and the process falls silent meanwhile (its last heartbeat
      // is moved back past its lifetime, so that no timing of this machine decides the test).
      await holdPollStatus(other, schema, source.id);
      const inFlight = store.applyPage(page("in-flight"));
      inFlight.catch(() => undefined);
      await waitForLockWait(other);
      const silent = await rawClient();
      try {
        await silent.query(`UPDATE ${schema}.workers SET heartbeat_at_ms = heartbeat_at_ms - 60000 WHERE id = 'w1'`);
      } finally {
        await silent.end();
      }
      // The successor's heartbeat takes the id, then waits for that page: the two never write at once.
      const takeover = store.heartbeatWorker(second, 30_000, 0);
      takeover.catch(() => undefined);
      assert.equal(await stillPending(takeover, 500), "still pending");
      await other.query("ROLLBACK");
      assert.deepEqual((await inFlight).insertedIds, ["in-flight"]);
      assert.deepEqual(await takeover, [lease]);
      // The predecessor's next page is refused; the successor's goes through.
      await assert.rejects(
        store.applyPage(page("late")),
        (err: unknown) => (err as { code?: unknown }).code === "lease_lost",
      );
      assert.deepEqual((await store.applyPage(page("after", second))).insertedIds, ["after"]);
      assert.deepEqual(await store.listEventIds(source.id), ["before", "in-flight", "after"]);
    } finally {
      await other.query("ROLLBACK").catch(() => undefined);
      await other.end();
      await store.close();
    }
  });

  it("sends an alert's resolve where its created went when a live page made it live while it was being resolved", async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const page = await rawClient();
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "x" });
      const history = await store.applyPage({
        sourceId: source.id,
        events: [eventRow("e1", T0)],
        quarantined: [],
        unknownTypes: [],
        matches: [ruleMatch(source.id, "e1", T0)],
        fromHistory: true,
      });
      const [alertId] = history.createdAlertIds;
      assert.ok(alertId);
      // A live page's transaction has made the alert live (and announced it), and has not committed yet.
      await page.query(`SET search_path TO ${schema}`);
      await page.query("BEGIN");
      await page.query("UPDATE alerts SET from_history = false WHERE id = $1", [alertId]);
      // The analyst resolves it meanwhile: the resolve reads the alert, then waits for the page's row lock.
      const resolving = store.setAlertStatus(alertId, "RESOLVED", 1_000);
      const deadline = Date.now() + 10_000;
      while ((await page.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).rowCount === 0) {
        assert.ok(Date.now() < deadline, "the resolve never waited for the page's lock");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await page.query("COMMIT");
      assert.equal((await resolving).fromHistory, false);
      const resolves = (await store.listUnroutedOutbox(10)).filter((e) => e.kind === "resolved");
      // To the live destinations too, which the page's "created" reached.
      assert.deepEqual(
        resolves.map((e) => e.fromHistory),
        [false],
      );
    } finally {
      await page.query("ROLLBACK").catch(() => undefined);
      await page.end();
      await store.close();
    }
  });

  it("has the server end a transaction left idle, so a frozen worker's locks do not outlive the timeout", async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const pool = openPool({ connectionString: cluster.connectionString, schema, max: 1, idleInTransactionMs: 300 });
    const frozen = new PostgresStoreDialect(pool, schema, describeTarget(cluster.connectionString));
    try {
      assert.deepEqual(await store.claimLeases("w1", ["source:a"], 1), ["source:a"]);
      let locked!: () => void;
      const holding = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const write = frozen.write(async (trx) => {
        await sql`SELECT name FROM leases WHERE name = 'source:a' FOR UPDATE`.execute(trx);
        locked();
        // Frozen: no statement for longer than the timeout.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        await sql`SELECT 1`.execute(trx);
      });
      const failed = assert.rejects(write);
      await holding;
      await failed;
      // Its lock went with it: w2 takes the expired lease.
      assert.deepEqual(await store.claimLeases("w2", ["source:a"], 20_000), ["source:a"]);
    } finally {
      await frozen.close();
      await store.close();
    }
  });

  it("stores each event once when two workers apply the same and overlapping pages at once", async () => {
    const schema = freshSchema();
    const a = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const b = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    try {
      const source = await a.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      const ids = Array.from({ length: 300 }, (_, i) => `evt_${String(i).padStart(4, "0")}`);
      const allInserted: string[] = [];
      for (let round = 0; round < 5; round++) {
        const slice = ids.slice(round * 60, round * 60 + 120);
        const forward: PageWrite = {
          sourceId: source.id,
          events: slice.map((id, i) => eventRow(id, T0 + i)),
          quarantined: [],
          unknownTypes: ["new.type", `round.${round}`],
        };
        // The other worker sees the same window in the opposite order, as an overlapping poll would.
        const backward: PageWrite = { ...forward, events: [...forward.events].reverse() };
        const results = await Promise.all([a.applyPage(forward), b.applyPage(backward), a.applyPage(forward)]);
        for (const r of results) allInserted.push(...r.insertedIds);
        const newTypes = results.flatMap((r) => r.newUnknownTypes);
        assert.equal(newTypes.filter((t) => t === `round.${round}`).length, 1);
      }
      assert.equal(allInserted.length, ids.length);
      assert.equal(new Set(allInserted).size, ids.length);
      assert.equal(await a.countEvents({ sourceId: source.id }), ids.length);
      assert.equal(await b.countEvents({ sourceId: source.id }), ids.length);
      assert.equal((await b.listUnknownTypes(source.id)).length, 6);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("joins a window stored before the grid from pages of different hours at once, and loses none of their matches", async () => {
    const schema = freshSchema();
    const a = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const b = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const client = await rawClient();
    try {
      const source = await a.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      const page = (id: string, t: number): PageWrite => ({
        sourceId: source.id,
        events: [0, 1, 2].map((i) => eventRow(`${id}-${i}`, t + i)),
        quarantined: [],
        unknownTypes: [],
        matches: [0, 1, 2].map((i) => ruleMatch(source.id, `${id}-${i}`, t + i)),
      });
      await a.applyPage(page("first", T0));
      // Its window as a version before the grid left it: anchored at its first match, spanning twelve hours.
      await client.query(`SET search_path TO ${schema}`);
      await client.query("UPDATE alert_windows SET on_grid = false, start_secs = $1, end_secs = $2", [
        T0 - 1800,
        T0 + 12 * 3600,
      ]);
      // Eight pages of eight other hours, from two workers at once: each locks its own grid window by id, and
      // all of them find the same window by its span.
      await Promise.all(
        Array.from({ length: 8 }, (_, p) => (p % 2 === 0 ? a : b).applyPage(page(`p${p}`, T0 + (p + 1) * 3600))),
      );
      const { rows } = await client.query("SELECT match_count FROM alert_windows");
      assert.deepEqual(rows, [{ match_count: 27 }]);
      const [alert] = await a.listAlerts({ sourceId: source.id });
      assert.equal(alert?.matchCount, 27);
    } finally {
      await client.end();
      await a.close();
      await b.close();
    }
  });

  it("waits for a worker of an older version that holds a window's whole key", async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const older = await rawClient();
    const watcher = await rawClient();
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      // The lock an older version takes for every window of a key (the names are kept for rolling upgrades).
      const key = JSON.stringify([source.id, "OpenAI.Login.Failed", "alice@example.com", false]);
      await older.query("BEGIN");
      await older.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`vigil:detections:w:${key}`]);
      let stored = false;
      const write = store
        .applyPage({
          sourceId: source.id,
          events: [eventRow("e1", T0)],
          quarantined: [],
          unknownTypes: [],
          matches: [ruleMatch(source.id, "e1", T0)],
        })
        .then(() => {
          stored = true;
        });
      // Seen from a third session: the older worker's transaction sees pg_stat_activity as it first read it.
      await waitForLockWait(watcher);
      assert.equal(stored, false);
      await older.query("COMMIT");
      await write;
      assert.equal((await store.listAlerts({ sourceId: source.id })).length, 1);
    } finally {
      await older.query("ROLLBACK").catch(() => undefined);
      await older.end();
      await watcher.end();
      await store.close();
    }
  });

  it("judges a checked source change on the record as another session's change left it", async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const other = await rawClient();
    const watcher = await rawClient();
    try {
      const source = await store.createSource(
        sourceSettings("acme", { sweepWindowSecs: 14_400, sweepIntervalSecs: 3_600 }),
        { ciphertext: "v1:x" },
      );
      await other.query(`SET search_path TO ${schema}`);
      const check = (changed: { sweepWindowSecs: number; sweepIntervalSecs: number }) => {
        if (changed.sweepIntervalSecs >= changed.sweepWindowSecs) throw new Error("the interval reaches the window");
      };
      // A page being written holds its source FOR KEY SHARE: a checked change does not wait for it.
      await other.query("BEGIN");
      await other.query("SELECT 1 FROM sources WHERE id = $1 FOR KEY SHARE", [source.id]);
      const unhindered = await stillPending(
        store.updateSource(source.id, { pollIntervalSecs: 30 }, undefined, check),
        5_000,
      );
      assert.notEqual(unhindered, "still pending", "the checked change waited for the page");
      assert.equal((await store.getSource(source.id))?.pollIntervalSecs, 30);
      await other.query("COMMIT");
      // Another session narrows the window and holds its transaction open.
      await other.query("BEGIN");
      await other.query("UPDATE sources SET sweep_window_secs = 7200 WHERE id = $1", [source.id]);
      const seen: number[] = [];
      const change = store.updateSource(source.id, { sweepIntervalSecs: 9_000 }, undefined, (changed) => {
        seen.push(changed.sweepWindowSecs);
        check(changed);
      });
      // Awaited below, handled now: the refusal can come while COMMIT's own answer is still on its way, and an
      // unhandled rejection meanwhile fails the test.
      const refused = assert.rejects(change, { message: "the interval reaches the window" });
      // The check waits for the row; judged on the record it started from, the change would pass.
      await waitForLockWait(watcher);
      assert.deepEqual(seen, []);
      await other.query("COMMIT");
      await refused;
      assert.deepEqual(seen, [7_200]);
      const stored = await store.getSource(source.id);
      assert.deepEqual([stored?.sweepWindowSecs, stored?.sweepIntervalSecs], [7_200, 3_600]);
    } finally {
      await other.query("ROLLBACK").catch(() => undefined);
      await other.end();
      await watcher.end();
      await store.close();
    }
  });

  it("counts alerts at commit: a page raising one does not wait for another transaction's alert of the source", async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const other = await rawClient();
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      const page = (id: string, dedupString: string) => ({
        sourceId: source.id,
        events: [eventRow(id, T0)],
        quarantined: [],
        unknownTypes: [],
        matches: [ruleMatch(source.id, id, T0, { dedupString })],
      });
      const [first] = (await store.applyPage(page("e1", "alice"))).createdAlertIds;
      // Another transaction changes an open MEDIUM alert of the source and stays open, as a page that raised one
      // does until its commit.
      await other.query(`SET search_path TO ${schema}`);
      await other.query("BEGIN");
      await other.query("UPDATE alerts SET status = 'RESOLVED' WHERE id = $1", [first]);
      const raised = await stillPending(store.applyPage(page("e2", "bob")), 5_000);
      assert.notEqual(raised, "still pending", "the page waited for the other transaction's alert counter");
      assert.equal(await store.countAlerts({ sourceId: source.id, status: "OPEN" }), 2);
      await other.query("COMMIT");
      assert.equal(await store.countAlerts({ sourceId: source.id, status: "OPEN" }), 1);
      assert.equal(await store.countAlerts({ sourceId: source.id, status: "RESOLVED" }), 1);
      assert.equal(await store.countAlerts({ sourceId: source.id, severity: "MEDIUM" }), 2);
    } finally {
      await other.query("ROLLBACK").catch(() => undefined);
      await other.end();
      await store.close();
    }
  });

  it("looks stored event ids up by key, whatever the statistics hold of a source's events", async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const client = await rawClient();
    const dialect = await dialectOn(schema);
    try {
      const a = await store.createSource(sourceSettings("a"), { ciphertext: "v1:x" });
      const b = await store.createSource(sourceSettings("b"), { ciphertext: "v1:x" });
      const pages = async (sourceId: string) => {
        for (let p = 0; p < 20; p++) {
          await store.applyPage({
            sourceId,
            events: Array.from({ length: 100 }, (_, i) => eventRow(`${sourceId}-${p}-${i}`, T0 + p * 100 + i)),
            quarantined: [],
            unknownTypes: [],
          });
        }
      };
      await client.query(`SET search_path TO ${schema}`);
      const planOf = async (sourceId: string, ids: string[]) => {
        const { rows: numbers } = await client.query("SELECT num FROM source_numbers WHERE source_id = $1", [sourceId]);
        const query = dialect.storedEventIds(dialect.db, numbers[0].num, ids).compile();
        const { rows } = await client.query(`EXPLAIN ${query.sql}`, [...query.parameters]);
        return rows.map((r) => r["QUERY PLAN"]).join("\n");
      };
      // Each id probes the key (both of its columns); no plan reads the source's events and filters them.
      const probesTheKey = (plan: string) => {
        assert.match(plan, /Index Cond: \(\(source_num = \$\d+\) AND \(id = probe\.probe\)\)/, plan);
        assert.doesNotMatch(plan, /events_by_source|Seq Scan on events/, plan);
      };
      // A backfill before any statistics (the table never analyzed): the plain IN list read every event of a.
      await pages(a.id);
      const ofA = Array.from({ length: 100 }, (_, i) => `${a.id}-${i % 20}-${i}`);
      probesTheKey(await planOf(a.id, ofA));
      // Statistics taken while source a was alone, then a backfill of source b that they know nothing of.
      await client.query("ANALYZE events");
      await pages(b.id);
      const ids = [`${b.id}-19-0`, `${b.id}-19-1`, `${a.id}-0-0`, "absent"];
      assert.deepEqual([...(await store.storedEventIds(b.id, ids))].sort(), [`${b.id}-19-0`, `${b.id}-19-1`]);
      assert.equal((await store.storedEventIds(a.id, [...ofA, `${b.id}-0-0`])).size, 100);
      probesTheKey(await planOf(b.id, ids));
    } finally {
      await dialect.close();
      await client.end();
      await store.close();
    }
  });

  it("gives each delivery to one of two workers that route and claim at the same time", async () => {
    const schema = freshSchema();
    const a = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const b = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    try {
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
      const targets = Array.from({ length: 40 }, (_, i) => ({ id: `d${i}`, name: `dest ${i}` }));
      await Promise.all([a.routeOutboxEntry(entry.id, targets, 0), b.routeOutboxEntry(entry.id, targets, 0)]);
      const claimed: string[] = [];
      for (let round = 0; round < 8; round++) {
        const batches = await Promise.all([
          a.claimDeliveries({ nowMs: 0, leaseMs: 60_000, limit: 3 }),
          b.claimDeliveries({ nowMs: 0, leaseMs: 60_000, limit: 3 }),
        ]);
        for (const batch of batches) claimed.push(...batch.map((d) => d.id));
      }
      assert.equal(claimed.length, 40);
      assert.equal(new Set(claimed).size, 40);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("leaves nothing of a page that PostgreSQL rejects, and the worker keeps working", async () => {
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema: freshSchema() });
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      // PostgreSQL text cannot hold NUL: the last event fails after the others and the unknown type went in.
      const write: PageWrite = {
        sourceId: source.id,
        events: [eventRow("ok1", T0), eventRow("ok2", T0 + 1), eventRow("nul", T0 + 2, { raw: "{\u0000}" })],
        quarantined: [],
        unknownTypes: ["x.new"],
        streamUpdate: { stream: "main", checkpointSecs: T0 + 2 },
      };
      await assert.rejects(store.applyPage(write), (err: unknown) => {
        assert.ok(err instanceof VigilError);
        assert.equal(err.code, "storage_invalid_data");
        return true;
      });
      assert.deepEqual(await store.listEventIds(source.id), []);
      assert.deepEqual(await store.listUnknownTypes(source.id), []);
      assert.equal((await store.getStreamState(source.id, "main")).checkpointSecs, null);
      assert.equal((await store.getPollStatus(source.id)).lastEventStoredMs, null);

      const result = await store.applyPage({ ...write, events: write.events.slice(0, 2) });
      assert.deepEqual(result.insertedIds, ["ok1", "ok2"]);
      assert.equal((await store.getStreamState(source.id, "main")).checkpointSecs, T0 + 2);
    } finally {
      await store.close();
    }
  });

  it("fails the page in flight when its writer thread dies, stores nothing of it, and the next write starts a new thread", async () => {
    const schema = freshSchema();
    // The store migrates the schema and creates the source; the thread under test writes beside it.
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const thread = postgresWriterThread(
      { connectionString: cluster.connectionString, schema, maxConnections: 2, alertLimitPerHour: 100 },
      { workerUrl: new URL("../../../test/fixtures/pg-writer-worker-dies.mjs", import.meta.url) },
    );
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      const page = (ids: string[]): PageWrite => ({
        sourceId: source.id,
        events: ids.map((id, i) => eventRow(id, T0 + i)),
        quarantined: [],
        unknownTypes: ["x.new"],
        streamUpdate: { stream: "main", checkpointSecs: T0 + ids.length },
      });
      await assert.rejects(thread.write([page(["e1"])], -1), (err: unknown) => {
        assert.ok(err instanceof VigilError, String(err));
        assert.equal(err.code, "storage_write_failed");
        assert.equal(err.retryable, true);
        assert.match(err.message, /exited \(code 3\)/);
        return true;
      });
      // Its transaction died with its connection: nothing of the page.
      assert.deepEqual(await store.listEventIds(source.id), []);
      assert.deepEqual(await store.listUnknownTypes(source.id), []);
      assert.equal((await store.getStreamState(source.id, "main")).checkpointSecs, null);
      const written = await thread.write([page(["e1", "e2"])], 1_000);
      assert.deepEqual(written.results[0]?.insertedIds, ["e1", "e2"]);
      assert.deepEqual((await store.listEventIds(source.id)).sort(), ["e1", "e2"]);
      assert.equal((await store.getStreamState(source.id, "main")).checkpointSecs, T0 + 2);
    } finally {
      await thread.close();
      await store.close();
    }
  });

  it("keeps raw byte for byte and stores pages larger than the parameter limit", async () => {
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema: freshSchema() });
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      const raw = '{ "b":1,  "a" : "ünï\\"cödé ✓ 🎉",\n"z":[1.50, 2e3], "s":"\\u0000 \\\\ {}" }';
      const events = Array.from({ length: 6_000 }, (_, i) => eventRow(`e${i}`, T0 + i, { raw }));
      const result = await store.applyPage({ sourceId: source.id, events, quarantined: [], unknownTypes: [] });
      assert.equal(result.insertedIds.length, 6_000);
      assert.equal(result.insertedIds[0], "e0");
      const [newest] = await store.searchEvents({ limit: 1 });
      assert.equal(newest?.raw, raw);
    } finally {
      await store.close();
    }
  });

  it("removing a source removes its events' text and queue rows (they have no foreign key to events)", async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const client = await rawClient();
    try {
      const doomed = await store.createSource(sourceSettings("doomed"), { ciphertext: "v1:x" });
      const kept = await store.createSource(sourceSettings("kept"), { ciphertext: "v1:x" });
      const page = (sourceId: string, ids: string[]): PageWrite => ({
        sourceId,
        events: ids.map((id, i) => eventRow(id, T0 + i)),
        quarantined: [],
        unknownTypes: [],
      });
      await store.applyPage(page(doomed.id, ["d1", "d2"]));
      await store.applyPage(page(kept.id, ["k1"]));
      await store.indexPendingText();
      // Queued now, perhaps indexed by the time of the removal: either way the removal takes them.
      await store.applyPage(page(doomed.id, ["d3"]));
      await store.applyPage(page(kept.id, ["k2"]));
      await store.removeSource(doomed.id);

      await client.query(`SET search_path TO ${schema}`);
      const orphans = async (table: string) => {
        const { rows } = await client.query(
          `SELECT count(*) AS n FROM ${table} t WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = t.seq)`,
        );
        return Number(rows[0].n);
      };
      assert.equal(await orphans("event_text"), 0);
      assert.equal(await orphans("event_text_pending"), 0);
      // The kept source's two events: each indexed or queued (one statement, so the indexer cannot move one
      // between the two counts).
      const { rows } = await client.query(
        "SELECT (SELECT count(*) FROM event_text) + (SELECT count(*) FROM event_text_pending) AS n",
      );
      assert.equal(Number(rows[0].n), 2);
    } finally {
      await client.end();
      await store.close();
    }
  });

  it("answers free-text search from the pg_trgm index", async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const client = await rawClient();
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      await store.applyPage({
        sourceId: source.id,
        events: Array.from({ length: 50 }, (_, i) =>
          eventRow(`e${i}`, T0 + i, { raw: JSON.stringify({ id: `e${i}`, note: i === 7 ? "rare-needle" : "hay" }) }),
        ),
        quarantined: [],
        unknownTypes: [],
      });
      assert.deepEqual(
        (await store.searchEvents({ text: "RARE-needle" })).map((e) => e.id),
        ["e7"],
      );
      await store.indexPendingText();
      await client.query(`SET search_path TO ${schema}`);
      // A 50-row table is scanned whatever the indexes; forbidding scans leaves bitmap scans, and shows the
      // trigram index of the values (event_text, migration 18) can answer.
      await client.query("SET enable_seqscan = off");
      await client.query("SET enable_indexscan = off");
      const { rows } = await client.query("EXPLAIN SELECT seq FROM event_text WHERE body ILIKE '%rare-needle%'");
      const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
      assert.match(plan, /event_text_trgm/, plan);
      assert.deepEqual(
        (await store.searchEvents({ text: "RARE-needle" })).map((e) => e.id),
        ["e7"],
      );
    } finally {
      await client.end();
      await store.close();
    }
  });

  it("answers absent text of one or two characters from the indexed values' pairs, without reading the values", async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const dialect = await dialectOn(schema);
    try {
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      const page = (from: number, notes: string[]): PageWrite => ({
        sourceId: source.id,
        events: notes.map((note, i) =>
          eventRow(`e${from + i}`, T0 + from + i, { raw: JSON.stringify({ n: from + i, note }) }),
        ),
        quarantined: [],
        unknownTypes: [],
      });
      await store.applyPage(page(0, ["ÄX", "a~b", "plain", "Zq"]));
      await store.indexPendingText();
      const search = (text: string) => searchReading(dialect, text);
      assert.deepEqual(await search("~^"), { ids: [], valuesRead: false });
      assert.deepEqual(await search("~"), { ids: ["e1"], valuesRead: true });
      // Folded by the database, as the values are: in one character and in two.
      assert.deepEqual(await search("zQ"), { ids: ["e3"], valuesRead: true });
      assert.deepEqual(await search("Q"), { ids: ["e3"], valuesRead: true });
      assert.deepEqual(await search("qz"), { ids: [], valuesRead: false });
      // Beyond ASCII, whether Ä folds to ä is the locale's to say; either way the pairs agree with the values.
      for (const text of ["äx", "ä", "Ä", "xä"]) await search(text);
      // A value's last character pairs with its line end: found alone, not with what follows in another value.
      assert.deepEqual(await search("n"), { ids: ["e2"], valuesRead: true });
      assert.deepEqual(await search("n1"), { ids: [], valuesRead: false });
      const owed = async () =>
        Number(
          (
            await dialect.db.executeQuery<{ n: string }>(
              CompiledQuery.raw("SELECT count(*) AS n FROM event_text_grams_owed"),
            )
          ).rows[0]!.n,
        );
      // The indexer wrote the pairs with the values: nothing is owed.
      assert.equal(await owed(), 0);
      // An older worker still running indexes an event the old way, without its pairs: the trigger notes it as
      // owed, and until the indexer pays it no short text is taken as absent.
      // (Its page too, in SQL: this store's indexer would race to index a page written through the store.)
      await dialect.db.executeQuery(
        CompiledQuery.raw(`WITH old AS (
            INSERT INTO events (source_num, id, type, effective_at, raw, ingested_at_ms)
            SELECT source_num, 'e5', type, effective_at + 5, '{"n":5,"note":"Zqw"}', 0 FROM events WHERE id = 'e0'
            RETURNING seq)
          INSERT INTO event_text (seq, body) SELECT seq, '5' || E'\\n' || 'Zqw' FROM old`),
      );
      assert.equal(await owed(), 1);
      assert.deepEqual(await search("qw"), { ids: ["e5"], valuesRead: true });
      assert.deepEqual(await search("~^"), { ids: [], valuesRead: true });
      await store.indexPendingText();
      assert.equal(await owed(), 0);
      assert.deepEqual(await search("qw"), { ids: ["e5"], valuesRead: true });
      assert.deepEqual(await search("~^"), { ids: [], valuesRead: false });

      // Queued events are read whatever the pairs say, and indexing adds theirs.
      await store.applyPage(page(6, ["x~^y"]));
      assert.deepEqual(
        (await store.searchEvents({ text: "~^" })).map((e) => e.id),
        ["e6"],
      );
      await store.indexPendingText();
      assert.deepEqual(await search("~^"), { ids: ["e6"], valuesRead: true });
      assert.deepEqual(
        (await store.searchEvents({ text: "~^" })).map((e) => e.id),
        ["e6"],
      );
      assert.equal(await store.countEvents({ text: "^y" }), 1);
      assert.equal(await store.countEvents({ text: "^x" }), 0);
    } finally {
      await dialect.close();
      await store.close();
    }
  });

  it("never takes text as absent on its pairs under an ICU locale, whose folding depends on context", async () => {
    const client = await rawClient();
    const database = `vigil_icu_${schemas}`;
    await client.query(`CREATE DATABASE ${database} TEMPLATE template0 ENCODING 'UTF8'
      LOCALE_PROVIDER icu ICU_LOCALE 'und'`);
    const url = new URL(cluster.connectionString);
    url.pathname = `/${database}`;
    const schema = freshSchema();
    let store: PostgresStore | undefined;
    let dialect: PostgresStoreDialect | undefined;
    try {
      store = await openPostgresStore({ connectionString: url.toString(), schema });
      const other = new pg.Client({ connectionString: url.toString() });
      await other.connect();
      try {
        await other.query(`SET search_path TO ${schema}`);
        // The migration made no vocabulary here. A dump of a libc database restored into this one brings it
        // along: make it so.
        assert.equal((await other.query("SELECT to_regclass('event_text_grams') AS t")).rows[0].t, null);
        await other.query(`CREATE TABLE event_text_grams (gram text PRIMARY KEY);
          CREATE TABLE event_text_grams_owed (seq bigint PRIMARY KEY)`);
      } finally {
        await other.end();
      }
      const pool = openPool({ connectionString: url.toString(), schema, max: 2 });
      dialect = new PostgresStoreDialect(pool, schema, describeTarget(url.toString()));
      await dialect.migrate(Date.now());
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      await store.applyPage({
        sourceId: source.id,
        events: [eventRow("e0", T0, { raw: JSON.stringify({ note: "ΟΔΟΣ, ΑΣ" }) })],
        quarantined: [],
        unknownTypes: [],
      });
      await store.indexPendingText();
      // ICU lowers Σ to ς at a word's end: "ς," is in the value, and in none of its pairs ("ΟΣ" → "ος" ends the
      // pair, "Σ," → "σ,"). The store does not trust the pairs here, and reads the values.
      assert.deepEqual(await searchReading(dialect, "ς,"), { ids: ["e0"], valuesRead: true });
    } finally {
      await dialect?.close();
      await store?.close();
      await client.query(`DROP DATABASE ${database} WITH (FORCE)`);
      await client.end();
    }
  });

  it("gives the values indexed before migration 35 their pairs later, a chunk at a time, as the indexer does", async () => {
    // Three chunks of the catch-up (GRAMS_CHUNK values each, newest first), and values beyond ASCII.
    const bodies = [...Array.from({ length: 2500 }, (_, i) => `v${i}`), "alpha\n1.5", "ÄX\n😀Ω", "z~^"];
    const schema = await schemaBefore("the text index answers absent text of one or two characters", [
      "INSERT INTO event_text (seq, body) SELECT i + 1, 'v' || i FROM generate_series(0, 2499) AS i",
      "INSERT INTO event_text (seq, body) VALUES (2501, E'alpha\\n1.5'), (2502, E'ÄX\\n😀Ω'), (2503, 'z~^')",
    ]);
    // The store is opened only after the first chunk: opening it starts its indexer, which would pay the owed
    // work in the background, racing the chunk this test takes by hand.
    const dialect = await dialectOn(schema);
    const client = await rawClient();
    let store: Awaited<ReturnType<typeof openPostgresStore>> | undefined;
    try {
      await client.query(`SET search_path TO ${schema}`);
      const grams = async () =>
        (await client.query<{ gram: string }>("SELECT gram FROM event_text_grams")).rows.map((r) => r.gram).sort();
      const owed = async () =>
        (await client.query<{ seq: string }>("SELECT seq FROM event_text_grams_owed ORDER BY seq")).rows.map((r) =>
          Number(r.seq),
        );
      // The migration only notes what is owed; until it is paid, a short text is read from the values.
      assert.deepEqual(await grams(), []);
      assert.equal((await owed()).length, bodies.length);
      // Newest first, a chunk at a time.
      assert.equal(await dialect.catchUpText(), 1000);
      assert.deepEqual(
        await owed(),
        Array.from({ length: bodies.length - 1000 }, (_, i) => i + 1),
      );
      // The indexer pays the rest once its queue is empty.
      store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
      assert.equal(await store.indexPendingText(), 0);
      assert.deepEqual(await owed(), []);
      const expected = textGrams(bodies);
      assert.deepEqual(await grams(), expected);
      assert.ok(expected.includes("😀Ω") && expected.includes("1.") && expected.includes("^\n"));
      assert.equal(await dialect.catchUpText(), 0);
    } finally {
      await client.end();
      await dialect.close();
      await store?.close();
    }
  });

  it("leaves no GIN pending list behind a text batch, and indexes as before for a role that does not own the index", async () => {
    const schema = freshSchema();
    const store = await openPostgresStore({ connectionString: cluster.connectionString, schema });
    const client = await rawClient();
    const role = `vigil_user_${schema}`;
    let other: Awaited<ReturnType<typeof openPostgresStore>> | undefined;
    try {
      await client.query("CREATE EXTENSION IF NOT EXISTS pageinspect");
      const pendingTuples = async () =>
        Number(
          (
            await client.query(
              `SELECT n_pending_tuples AS n FROM gin_metapage_info(get_raw_page('${schema}.event_text_trgm', 0))`,
            )
          ).rows[0].n,
        );
      const source = await store.createSource(sourceSettings("acme"), { ciphertext: "v1:x" });
      const page = (from: number) => ({
        sourceId: source.id,
        events: Array.from({ length: 20 }, (_, i) =>
          eventRow(`e${from + i}`, T0 + from + i, {
            raw: JSON.stringify({ id: `e${from + i}`, note: `n${from + i}` }),
          }),
        ),
        quarantined: [],
        unknownTypes: [],
      });
      // Counted in the index, not from the flush's answer: the store's own indexer may have taken the page first.
      const indexed = async () =>
        Number((await client.query(`SELECT count(*) AS n FROM ${schema}.event_text`)).rows[0].n);
      await store.applyPage(page(0));
      await store.indexPendingText();
      assert.equal(await indexed(), 20);
      // The batch moved its trigrams into the index (its pages reusable at once), not left them in the list.
      assert.equal(await pendingTuples(), 0);
      // A role with every right on the tables but not their owner may not clean the list: indexing goes on.
      const url = new URL(cluster.connectionString);
      await client.query(`CREATE ROLE ${role} LOGIN`);
      await client.query(`GRANT CREATE ON DATABASE ${url.pathname.slice(1)} TO ${role}`);
      await client.query(`GRANT USAGE, CREATE ON SCHEMA ${schema} TO ${role}`);
      await client.query(`GRANT ALL ON ALL TABLES IN SCHEMA ${schema} TO ${role}`);
      await client.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role}`);
      url.username = role;
      other = await openPostgresStore({ connectionString: url.toString(), schema });
      await other.applyPage(page(20));
      await other.indexPendingText();
      assert.equal(await indexed(), 40);
      assert.ok((await pendingTuples()) > 0, "left in the list");
      assert.deepEqual(
        (await other.searchEvents({ text: "n27" })).map((e) => e.id),
        ["e27"],
      );
    } finally {
      await other?.close();
      await client.end();
      await store.close();
    }
  });

  it("reports an unreachable server as one sentence naming host and port", async () => {
    const closedPort = Number(new URL(cluster.connectionString).port) + 1;
    await assert.rejects(
      openPostgresStore({ connectionString: `postgresql://vigil@127.0.0.1:${closedPort}/vigil_test` }),
      (err: unknown) => {
        assert.ok(err instanceof VigilError);
        assert.equal(err.code, "storage_unavailable");
        assert.equal(err.retryable, true);
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${closedPort}`));
        assert.match(err.message, /PostgreSQL must be running/);
        return true;
      },
    );
  });

  it("reports a missing database and rejects a bad schema name", async () => {
    const url = new URL(cluster.connectionString);
    url.pathname = "/no_such_db";
    await assert.rejects(openPostgresStore({ connectionString: url.toString() }), (err: unknown) => {
      assert.ok(err instanceof VigilError);
      assert.equal(err.code, "storage_open_failed");
      assert.match(err.message, /"no_such_db" does not exist/);
      return true;
    });
    await assert.rejects(
      openPostgresStore({ connectionString: cluster.connectionString, schema: 'x"; DROP TABLE y; --' }),
      (err: unknown) => err instanceof VigilError && err.code === "usage",
    );
  });

  it("rejects use after close", async () => {
    const store: PostgresStore = await openPostgresStore({
      connectionString: cluster.connectionString,
      schema: freshSchema(),
    });
    await store.close();
    await store.close();
    await assert.rejects(
      store.listSources(),
      (err: unknown) => err instanceof VigilError && err.code === "storage_closed",
    );
  });
});
