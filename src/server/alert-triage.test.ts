// Working alerts over the HTTP API (app.request(), no socket, a real SQLite store): the list's filters, orders,
// pages and total; assignment, comments and status changes of many alerts, done by an analyst (no admin role
// needed) and recorded with who and when.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Hono } from "hono";
import { type ApiSession, type Json, loginAs } from "../../test/api-session.ts";
import { addSource, createAlerts } from "../../test/delivery-helpers.ts";
import { readEnv } from "../config/env.ts";
import { createLogger } from "../logging/logger.ts";
import { openRuntime, type Runtime } from "../pipeline/runtime.ts";
import { createApp } from "./app.ts";
import { createUser } from "./auth.ts";
import type { AppEnv } from "./context.ts";

const PASSWORD = "correct horse battery staple";
const scratch = mkdtempSync(join(tmpdir(), "vigil-triage-test-"));
let runtime: Runtime;
let app: Hono<AppEnv>;
let api: ApiSession;
const alertIds: string[] = [];

const call = (method: string, path: string, body?: unknown) => api.call(method, path, body);

before(async () => {
  runtime = await openRuntime(readEnv({ VIGIL_DATA_DIR: join(scratch, "data") }), createLogger({ level: "silent" }));
  app = createApp(runtime, { consoleDir: null });
  await createUser(runtime.store, "admin", PASSWORD, "admin");
  await createUser(runtime.store, "ana", PASSWORD, "analyst");
  const source = await addSource(runtime.store);
  // Five rules of 22 (under the per-rule hourly alert limit) and three CRITICAL ones: 113 alerts.
  for (const rule of ["A", "B", "C", "D", "E"]) {
    alertIds.push(...(await createAlerts(runtime.store, source, 22, { ruleId: `Rule.${rule}` })));
  }
  alertIds.push(...(await createAlerts(runtime.store, source, 3, { severity: "CRITICAL", ruleId: "Rule.Critical" })));
  api = await loginAs(app, "ana", PASSWORD);
});

after(async () => {
  await runtime?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("alert triage API (as an analyst)", () => {
  it("pages the list with the total its filters match, in the order asked", async () => {
    const first = await call("GET", "/api/alerts?limit=50");
    assert.equal(first.status, 200);
    assert.equal(first.json.total, 113);
    assert.equal(first.json.offset, 0);
    assert.equal(first.json.alerts.length, 50);
    const third = await call("GET", "/api/alerts?limit=50&offset=100");
    assert.equal(third.json.alerts.length, 13);
    const all = await call("GET", "/api/alerts?limit=500");
    const seen = [...first.json.alerts, ...(await call("GET", "/api/alerts?limit=50&offset=50")).json.alerts];
    assert.deepEqual(
      [...seen, ...third.json.alerts].map((a: Json) => a.id),
      all.json.alerts.map((a: Json) => a.id),
      "the pages are the list, nothing lost or repeated",
    );

    const bySeverity = await call("GET", "/api/alerts?sort=severity&limit=3");
    assert.deepEqual(
      bySeverity.json.alerts.map((a: Json) => a.severity),
      ["CRITICAL", "CRITICAL", "CRITICAL"],
    );
    const critical = await call("GET", "/api/alerts?rule=Rule.Critical&limit=1");
    assert.equal(critical.json.total, 3);
    assert.equal(critical.json.alerts.length, 1);
    const future = Math.floor(Date.now() / 1000) + 3600;
    assert.equal((await call("GET", `/api/alerts?since=${future}`)).json.total, 0);
    assert.equal((await call("GET", `/api/alerts?until=${future}`)).json.total, 113);
    assert.equal((await call("GET", "/api/alerts?sort=loudest")).status, 400);
    assert.equal((await call("GET", "/api/alerts?assignee=ana&unassigned=true")).status, 400);
  });

  it("assigns, comments and resolves many at once, with who and when in the history", async () => {
    assert.deepEqual((await call("GET", "/api/assignees")).json.assignees, ["admin", "ana"]);
    const [id, second, third] = alertIds;
    const assigned = await call("POST", `/api/alerts/${id}/assign`, { assignee: "admin" });
    assert.equal(assigned.status, 200);
    assert.equal(assigned.json.alert.assignee, "admin");
    assert.equal((await call("POST", `/api/alerts/${id}/assign`, { assignee: "nobody" })).status, 400);
    const mine = await call("GET", "/api/alerts?assignee=admin");
    assert.deepEqual(
      mine.json.alerts.map((a: Json) => a.id),
      [id],
    );
    assert.equal(mine.json.total, 1);
    assert.equal((await call("GET", "/api/alerts?unassigned=true&limit=1")).json.total, 112);

    const comment = await call("POST", `/api/alerts/${id}/comments`, { body: "<script>alert(1)</script> benign" });
    assert.equal(comment.status, 201);
    assert.equal(comment.json.comment.by, "user:ana");
    assert.equal((await call("POST", `/api/alerts/${id}/comments`, { body: "" })).status, 400);
    assert.equal((await call("POST", "/api/alerts/unknown/comments", { body: "hi" })).status, 404);
    // Counted in characters (an emoji is one), and stored as written: a NUL or a lone surrogate as its escape.
    const emoji = "🔒".repeat(6000);
    assert.equal((await call("POST", `/api/alerts/${second}/comments`, { body: emoji })).status, 201);
    const odd = await call("POST", `/api/alerts/${second}/comments`, { body: "nul\u0000 half\ud800" });
    assert.equal(odd.json.comment.body, "nul\\u0000 half\\ud800");
    const secondActivity = (await call("GET", `/api/alerts/${second}`)).json.activity;
    assert.deepEqual(
      secondActivity.filter((a: Json) => a.kind === "comment").map((a: Json) => a.body),
      [emoji, "nul\\u0000 half\\ud800"],
    );

    // ACKNOWLEDGED finds the alerts set to TRIAGED (its older word) too; a status in any case, as the CLI takes it.
    assert.equal((await call("POST", `/api/alerts/${third}/status`, { status: "triaged" })).status, 200);
    assert.deepEqual(
      (await call("GET", "/api/alerts?status=ACKNOWLEDGED")).json.alerts.map((a: Json) => [a.id, a.status]),
      [[third, "TRIAGED"]],
    );
    const badStatus = await call("POST", `/api/alerts/${third}/status`, { status: "done" });
    assert.equal(badStatus.status, 400);
    assert.match(badStatus.json.error.message, /a status is one of OPEN, ACKNOWLEDGED/);

    const bulk = await call("POST", "/api/alerts/status", { ids: [id, second, third], status: "RESOLVED" });
    assert.equal(bulk.status, 200);
    assert.deepEqual(
      bulk.json.alerts.map((a: Json) => a.status),
      ["RESOLVED", "RESOLVED", "RESOLVED"],
    );
    assert.equal((await call("GET", "/api/alerts?status=RESOLVED")).json.total, 3);
    const unknown = await call("POST", "/api/alerts/status", { ids: [id, "unknown"], status: "OPEN" });
    assert.equal(unknown.status, 404);
    assert.equal((await call("POST", "/api/alerts/status", { ids: [], status: "OPEN" })).status, 400);

    const detail = await call("GET", `/api/alerts/${id}`);
    assert.equal(detail.json.alert.assignee, "admin");
    assert.deepEqual(
      detail.json.activity.map((a: Json) => [a.kind, a.by, a.assignee ?? a.body ?? a.to]),
      [
        ["status", "system:detection", "OPEN"],
        ["assigned", "user:ana", "admin"],
        ["comment", "user:ana", "<script>alert(1)</script> benign"],
        ["status", "user:ana", "RESOLVED"],
      ],
    );
    assert.ok(detail.json.activity.every((a: Json) => Number.isInteger(a.atMs)));
    const unassigned = await call("POST", `/api/alerts/${id}/assign`, { assignee: null });
    assert.equal(unassigned.json.alert.assignee, null);
  });

  it("answers 409 to a change made from a stale view of the alert, saying what it is now", async () => {
    const id = alertIds[40]!;
    const admin = await loginAs(app, "admin", PASSWORD);
    const taken = await admin.call("POST", `/api/alerts/${id}/status`, { status: "RESOLVED", expectedStatus: "open" });
    assert.equal(taken.status, 200);
    const stale = await call("POST", `/api/alerts/${id}/status`, { status: "ACKNOWLEDGED", expectedStatus: "OPEN" });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.error.code, "conflict");
    assert.match(stale.json.error.message, /its status is "RESOLVED" now, not "OPEN"\. Reload it/);
    assert.equal((await call("GET", `/api/alerts/${id}`)).json.alert.status, "RESOLVED");

    await admin.call("POST", `/api/alerts/${id}/assign`, { assignee: "admin", expectedAssignee: null });
    const assign = await call("POST", `/api/alerts/${id}/assign`, { assignee: "ana", expectedAssignee: null });
    assert.equal(assign.status, 409);
    assert.match(assign.json.error.message, /assigned to "admin" now, not nobody/);
    const bulk = await call("POST", "/api/alerts/status", {
      ids: [id, alertIds[41]],
      status: "CLOSED",
      expectedStatuses: { [id]: "OPEN", [alertIds[41]!]: "OPEN" },
    });
    assert.equal(bulk.status, 409);
    assert.equal((await call("GET", `/api/alerts/${alertIds[41]}`)).json.alert.status, "OPEN", "all or none");
    const bad = await call("POST", `/api/alerts/${id}/status`, { status: "CLOSED", expectedStatus: "SNOOZED" });
    assert.equal(bad.status, 400);
  });
});
