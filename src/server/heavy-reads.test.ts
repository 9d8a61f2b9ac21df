// Finding 5 of issue 16: heavy reads must never stall the server. On a real socket and a SQLite file:
// a large event list streams page by page (every event, in order, no query reading more than a page),
// and /healthz answers while a search that scans every record is still running (the read runs in a
// worker thread, not on the event loop).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sourceSettings } from "../../test/storage-contract.ts";
import { readEnv } from "../config/env.ts";
import { createLogger } from "../logging/logger.ts";
import { openRuntime, type Runtime } from "../pipeline/runtime.ts";
import { eventDocument } from "../storage/event-document.ts";
import type { SqliteStore } from "../storage/sqlite/sqlite-store.ts";
import { createApiToken } from "./auth.ts";
import { PAGE_SIZE } from "./json-stream.ts";
import { type RunningServer, startServer } from "./server.ts";

const EVENTS = 40_000;
const T0 = 1_763_900_000;
const scratch = mkdtempSync(join(tmpdir(), "vigil-heavy-reads-"));
let runtime: Runtime;
let server: RunningServer;
let token: string;

before(async () => {
  runtime = await openRuntime(readEnv({ VIGIL_DATA_DIR: join(scratch, "data") }), createLogger({ level: "silent" }));
  const source = await runtime.store.createSource(sourceSettings("big"), { ciphertext: "x" });
  // Seeded straight into the events table, and the counters the page write would keep counted the same way
  // (a trigger keeps the search index): applyPage would take longer for nothing this test looks at. Records of
  // ~1.5 kB, so that a scan of all takes a while.
  const db = (runtime.store as SqliteStore).connection;
  const insert = db.prepare(
    `INSERT INTO events (source_num, id, type, effective_at, raw, ingested_at_ms)
     VALUES ((SELECT num FROM source_numbers WHERE source_id = ?), ?, 'login.succeeded', ?, ?, 0)`,
  );
  const padding = "x".repeat(1500);
  db.transaction(() => {
    for (let i = 0; i < EVENTS; i++) {
      const id = `evt_${String(i).padStart(6, "0")}`;
      insert.run(source.id, id, T0 + Math.floor(i / 3), JSON.stringify({ id, padding }));
    }
    db.exec(`INSERT INTO event_counts (source_id, day_secs, type, events)
      SELECT n.source_id, (effective_at / 86400) * 86400, type, count(*)
      FROM events JOIN source_numbers n ON n.num = events.source_num GROUP BY 1, 2, 3`);
  })();
  token = (await createApiToken(runtime.store, "tests", Date.now() + 86_400_000)).token;
  server = await startServer(runtime, { host: "127.0.0.1", port: 0, consoleDir: null });
});

after(async () => {
  await server?.close();
  await runtime?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function get(path: string): Promise<Response> {
  return fetch(new URL(path, server.url), { headers: { authorization: `Bearer ${token}` } });
}

describe("heavy reads (issue 16, finding 5)", () => {
  it("streams events?limit=10000 page by page: all of them, newest first, no query reading more than a page", async () => {
    const limits: number[] = [];
    const store = runtime.store;
    const search = store.searchEventDocuments.bind(store);
    store.searchEventDocuments = (query) => {
      limits.push(query.limit ?? 100);
      return search(query);
    };
    try {
      const res = await get("/api/events?limit=10000");
      assert.equal(res.status, 200);
      // No length up front: the body is sent as it is read.
      assert.equal(res.headers.get("content-length"), null);
      assert.equal(res.headers.get("transfer-encoding"), "chunked");
      const body = (await res.json()) as { events: Array<{ id: string; raw: { id: string } }> };
      const expected = Array.from({ length: 10_000 }, (_, i) => `evt_${String(EVENTS - 1 - i).padStart(6, "0")}`);
      assert.deepEqual(
        body.events.map((e) => e.id),
        expected,
      );
      // The documents SQLite builds are the API's event view, field for field.
      const [newest] = await store.searchEvents({ limit: 1 });
      assert.ok(newest);
      assert.deepEqual(body.events[0], JSON.parse(JSON.stringify(eventDocument(newest))));
      assert.equal(body.events[0]?.raw.id, expected[0]);
      assert.ok(limits.length >= 10_000 / PAGE_SIZE, `${limits.length} queries`);
      assert.ok(
        limits.every((n) => n <= PAGE_SIZE),
        `query limits ${limits}`,
      );
    } finally {
      store.searchEventDocuments = search;
    }
  });

  it("answers /healthz while a search that reads every record is running", async () => {
    // Two characters, not ASCII: too short for a trigram, and not one the index's vocabulary can be asked for,
    // so the search scans all the raw records.
    let searchDoneAt = 0;
    const searchStarted = performance.now();
    const search = get(`/api/events?text=${encodeURIComponent("ü~")}&limit=10`).then(async (res) => {
      const body = (await res.json()) as { events: unknown[] };
      searchDoneAt = performance.now();
      return body;
    });
    const healthTimes: number[] = [];
    while (searchDoneAt === 0 && healthTimes.length < 200) {
      const t = performance.now();
      const res = await fetch(new URL("/healthz", server.url));
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      if (searchDoneAt === 0) healthTimes.push(performance.now() - t);
    }
    assert.deepEqual((await search).events, []);
    const searchMs = searchDoneAt - searchStarted;
    // On the event loop the scan would hold every /healthz until it finished: none could complete first.
    assert.ok(healthTimes.length >= 3, `only ${healthTimes.length} /healthz answered during a ${searchMs} ms search`);
    const sorted = [...healthTimes].sort((a, b) => a - b);
    assert.ok(sorted[Math.floor(sorted.length / 2)]! < searchMs / 2, `healthz ${sorted} vs search ${searchMs} ms`);
  });

  it("counts the overview from counters: exact totals at any size", async () => {
    const res = await get("/api/overview");
    assert.equal(res.status, 200);
    const body = (await res.json()) as { sources: Array<{ events: number }> };
    assert.equal(body.sources[0]?.events, EVENTS);
  });
});
