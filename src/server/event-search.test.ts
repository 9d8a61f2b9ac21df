// The search page's API (issue 12) through app.request() on a real SQLite store: paging by cursor, the
// histogram of a search, export as JSON lines and CSV (quoting and formula injection), and saved searches.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Hono } from "hono";
import { type ApiSession, loginAs } from "../../test/api-session.ts";
import { addSource } from "../../test/delivery-helpers.ts";
import { eventRow } from "../../test/storage-contract.ts";
import { readEnv } from "../config/env.ts";
import { createLogger } from "../logging/logger.ts";
import { openRuntime, type Runtime } from "../pipeline/runtime.ts";
import { csvField } from "../usecases/event-export.ts";
import { createApp } from "./app.ts";
import { createUser } from "./auth.ts";
import type { AppEnv } from "./context.ts";

const PASSWORD = "correct horse battery staple";
const HOUR = 3600;
const T0 = 1_763_856_000;
const scratch = mkdtempSync(join(tmpdir(), "vigil-search-test-"));
let runtime: Runtime;
let app: Hono<AppEnv>;
let api: ApiSession;
let sourceId = "";

const call = (method: string, path: string, body?: unknown) => api.call(method, path, body);

before(async () => {
  runtime = await openRuntime(readEnv({ VIGIL_DATA_DIR: join(scratch, "data") }), createLogger({ level: "silent" }));
  app = createApp(runtime, { consoleDir: null });
  await createUser(runtime.store, "ana", PASSWORD, "analyst");
  const source = await addSource(runtime.store);
  sourceId = source.id;
  // 250 logins, one every 36 s from T0 (2.5 hours), and two events made to break a CSV file.
  const events = Array.from({ length: 250 }, (_, i) =>
    eventRow(`evt_${String(i).padStart(3, "0")}`, T0 + i * 36, { actorEmail: "bob@example.com" }),
  );
  events.push(
    eventRow("evil_1", T0 + 3 * HOUR, {
      type: "api_key.created",
      actorEmail: '=HYPERLINK("http://x.test","click"),"me"',
      ip: "-2+3",
      projectId: "@SUM(A1)",
      raw: JSON.stringify({ note: "line one\nline two" }),
    }),
    eventRow("evil_2", T0 + 3 * HOUR + 1, { type: "api_key.created", actorEmail: 'a,b"c\r\nd', ip: "+1" }),
  );
  await runtime.store.applyPage({ sourceId, events, quarantined: [], unknownTypes: [] });
  api = await loginAs(app, "ana", PASSWORD);
});

after(async () => {
  await runtime.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("event search API", () => {
  it("pages with an opaque cursor until a short page", async () => {
    const seen: string[] = [];
    let path = "/api/events?limit=100&type=login.succeeded";
    for (let i = 0; i < 5; i++) {
      const page = await call("GET", path);
      assert.equal(page.status, 200);
      seen.push(...page.json.events.map((e: { id: string }) => e.id));
      if (page.json.next === null) break;
      assert.equal(typeof page.json.next, "string");
      path = `/api/events?limit=100&type=login.succeeded&after=${encodeURIComponent(page.json.next)}`;
    }
    assert.equal(seen.length, 250);
    assert.equal(new Set(seen).size, 250);
    assert.equal(seen[0], "evt_249");
    assert.equal(seen.at(-1), "evt_000");
    assert.equal((await call("GET", "/api/events?after=not-a-cursor")).status, 400);
  });

  it("counts the search's matches per hour or day", async () => {
    const hourly = await call("GET", `/api/events/histogram?since=${T0}&until=${T0 + 4 * HOUR}`);
    assert.equal(hourly.status, 200);
    assert.equal(hourly.json.bucket, "hour");
    assert.equal(hourly.json.total, 252);
    assert.deepEqual(hourly.json.buckets, [
      { bucketStartSecs: T0, type: "login.succeeded", count: 100 },
      { bucketStartSecs: T0 + HOUR, type: "login.succeeded", count: 100 },
      { bucketStartSecs: T0 + 2 * HOUR, type: "login.succeeded", count: 50 },
      { bucketStartSecs: T0 + 3 * HOUR, type: "api_key.created", count: 2 },
    ]);
    const daily = await call("GET", "/api/events/histogram?type=api_key.created");
    assert.equal(daily.json.bucket, "day");
    assert.deepEqual(daily.json.buckets, [{ bucketStartSecs: T0, type: "api_key.created", count: 2 }]);
    const byText = await call("GET", "/api/events/histogram?text=LINE%20TWO&bucket=hour");
    assert.equal(byText.json.total, 1);
    assert.equal((await call("GET", "/api/events/histogram?bucket=week")).status, 400);
  });

  it("exports JSON lines with a filename", async () => {
    const res = await api.request("GET", "/api/events/export?format=jsonl&type=api_key.created");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/x-ndjson/);
    assert.match(res.headers.get("content-disposition") ?? "", /^attachment; filename="vigil-events-[\dT-]+\.jsonl"$/);
    assert.equal(res.headers.get("x-vigil-export-limit"), "100000");
    const lines = (await res.text()).split("\n");
    assert.equal(lines.pop(), "");
    const docs = lines.map((l) => JSON.parse(l));
    assert.deepEqual(
      docs.map((d) => d.id),
      ["evil_2", "evil_1"],
    );
    assert.deepEqual(docs[1].raw, { note: "line one\nline two" });
  });

  it("exports every match as CSV, quoted per RFC 4180 with formulas defused", async () => {
    const res = await api.request("GET", "/api/events/export?format=csv");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/csv/);
    assert.match(res.headers.get("content-disposition") ?? "", /filename="vigil-events-[\dT-]+\.csv"$/);
    const text = await res.text();
    assert.equal(text.split("\r\n")[0], "time,type,actor,ip,project,source,id");
    // The header, 252 events (more than one page of the export's reads) and the final line break.
    assert.equal(text.match(/,evt_\d{3}\r\n/g)?.length, 250);
    const evil2 = `2025-11-23T03:00:01.000Z,api_key.created,"a,b""c\r\nd",'+1,,${sourceId},evil_2\r\n`;
    assert.ok(text.includes(evil2), text.slice(0, 400));
    // The actor is an email field, stored folded to lower case (core/event.ts foldEmail).
    const evil1 = `2025-11-23T03:00:00.000Z,api_key.created,"'=hyperlink(""http://x.test"",""click""),""me""",'-2+3,'@SUM(A1),${sourceId},evil_1\r\n`;
    assert.ok(text.includes(evil1), text.slice(0, 400));
    assert.equal((await call("GET", "/api/events/export?format=xlsx")).status, 400);
    // At most `limit` rows, newest first.
    const three = await api.request("GET", "/api/events/export?format=csv&limit=3");
    assert.equal(three.headers.get("x-vigil-export-limit"), "3");
    assert.equal((await three.text()).match(/,(evil|evt)_\d+\r\n/g)?.length, 3);
    assert.equal((await call("GET", "/api/events/export?format=csv&limit=100001")).status, 400);
  });

  it("quotes and defuses single CSV fields", () => {
    assert.equal(csvField("plain"), "plain");
    assert.equal(csvField(""), "");
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField("=1+1"), "'=1+1");
    assert.equal(csvField("@x"), "'@x");
    assert.equal(csvField("\t=1"), "'\t=1");
    assert.equal(csvField("-1,2"), `"'-1,2"`);
    assert.equal(csvField("a\nb"), '"a\nb"');
  });

  it("saves, lists and deletes shared searches", async () => {
    const created = await call("POST", "/api/saved-searches", { name: "Bob's keys", query: "actor=bob%40example.com" });
    assert.equal(created.status, 201);
    assert.equal(created.json.savedSearch.createdBy, "user:ana");
    assert.equal((await call("POST", "/api/saved-searches", { name: "Bob's keys", query: "" })).status, 409);
    assert.equal((await call("POST", "/api/saved-searches", { name: "", query: "" })).status, 400);
    const list = await call("GET", "/api/saved-searches");
    assert.deepEqual(
      list.json.savedSearches.map((s: { name: string; query: string }) => [s.name, s.query]),
      [["Bob's keys", "actor=bob%40example.com"]],
    );
    assert.equal((await call("DELETE", `/api/saved-searches/${created.json.savedSearch.id}`)).status, 200);
    assert.equal((await call("DELETE", `/api/saved-searches/${created.json.savedSearch.id}`)).status, 404);
    assert.deepEqual((await call("GET", "/api/saved-searches")).json.savedSearches, []);
  });
});
