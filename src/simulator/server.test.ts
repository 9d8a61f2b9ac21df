import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RawAuditLog } from "../core/audit-log.ts";
import { DEFAULT_ADMIN_KEY, startSimulator } from "./server.ts";
import { getAuditLogs, type ListResponse, listPage, ManualClock, walkIds } from "./test-support.ts";
import type { RunningSimulator } from "./types.ts";

const END = 1_800_000_000;

function errorOf(json: unknown) {
  return (json as { error: { message: string; type: string; param: string | null; code: string | null } }).error;
}

describe("simulator HTTP: listing and paging", () => {
  const clock = new ManualClock(END);
  let sim: RunningSimulator;
  let classic: RawAuditLog[];

  before(async () => {
    sim = await startSimulator({
      seed: 21,
      clock,
      history: { days: 1, eventsPerDay: 300, endSecs: END },
      tenantShare: 0.1,
      bursts: [{ atSecs: END - 500, count: 150 }],
    });
    classic = sim.org.visibleEvents(END, { scope: "classic" });
  });
  after(() => sim.close());

  it("answers with the list envelope, newest first, first_id/last_id matching the page", async () => {
    const page = await listPage(sim, "limit=5");
    assert.equal(page.object, "list");
    assert.equal(page.data.length, 5);
    assert.equal(page.first_id, page.data[0]?.id);
    assert.equal(page.last_id, page.data[4]?.id);
    assert.equal(page.has_more, true);
    assert.deepEqual(
      page.data.map((e) => e.id),
      classic.slice(0, 5).map((e) => e.id),
    );
    const defaultPage = await listPage(sim);
    assert.equal(defaultPage.data.length, 20, "limit defaults to 20");
  });

  it("walks every visible event exactly once with any limit from 1 to 100", async () => {
    const expected = classic.map((e) => e.id);
    assert.ok(expected.length > 400);
    for (const limit of [7, 20, 64, 99, 100]) {
      const ids = await walkIds(sim, "", limit);
      assert.equal(ids.length, expected.length, `limit ${limit}`);
      assert.deepEqual(ids, expected, `limit ${limit}`);
    }
    // The smallest pages walk a six-hour window (one request per event would be slow over the whole day).
    const [from, to] = [END - 20 * 3600, END - 14 * 3600];
    const window = `effective_at[gte]=${from}&effective_at[lt]=${to}`;
    const inWindow = classic.filter((e) => e.effective_at >= from && e.effective_at < to);
    assert.ok(inWindow.length > 30);
    for (const limit of [1, 2, 3]) {
      assert.deepEqual(
        await walkIds(sim, window, limit),
        inWindow.map((e) => e.id),
        `limit ${limit}`,
      );
    }
  });

  it("orders by effective_at desc, then id desc, so a 150-event second pages deterministically", async () => {
    const burst = await walkIds(sim, `effective_at[gte]=${END - 500}&effective_at[lte]=${END - 500}`, 7);
    const inThatSecond = classic.filter((e) => e.effective_at === END - 500);
    assert.ok(inThatSecond.length > 100, `${inThatSecond.length} classic events share one second`);
    assert.deepEqual(
      burst,
      inThatSecond.map((e) => e.id),
    );
    assert.deepEqual(burst, [...burst].sort().reverse());
    assert.deepEqual(
      await walkIds(sim, `effective_at%5Bgte%5D=${END - 500}&effective_at%5Blte%5D=${END - 500}`, 100),
      burst,
    );
    for (let i = 1; i < classic.length; i++) {
      const a = classic[i - 1] as RawAuditLog;
      const b = classic[i] as RawAuditLog;
      assert.ok(a.effective_at > b.effective_at || (a.effective_at === b.effective_at && a.id > b.id));
    }
  });

  it("after = older items after the cursor; before = the newer items just before it", async () => {
    const ids = classic.map((e) => e.id);
    const cursor = ids[50] as string;
    const older = await listPage(sim, `limit=10&after=${cursor}`);
    assert.deepEqual(
      older.data.map((e) => e.id),
      ids.slice(51, 61),
    );
    const newer = await listPage(sim, `limit=10&before=${cursor}`);
    assert.deepEqual(
      newer.data.map((e) => e.id),
      ids.slice(40, 50),
    );
    assert.equal(newer.has_more, true);
    const top = await listPage(sim, `limit=10&before=${ids[3]}`);
    assert.deepEqual(
      top.data.map((e) => e.id),
      ids.slice(0, 3),
    );
    assert.equal(top.has_more, false);
  });

  it("rejects an unknown cursor with 400", async () => {
    const res = await getAuditLogs(sim, "after=audit_log-doesnotexist000000000000");
    assert.equal(res.status, 400);
    assert.equal(errorOf(res.json).param, "after");
  });

  it("filters by effective_at, event type, actor id, actor email, project and resource", async () => {
    const check = async (query: string, keep: (e: RawAuditLog) => boolean) => {
      const expected = classic.filter(keep).map((e) => e.id);
      assert.ok(expected.length > 0, `the fixture has matches for ${query}`);
      assert.deepEqual(await walkIds(sim, query, 100), expected, query);
    };
    const from = END - 6 * 3600;
    const to = END - 3 * 3600;
    await check(`effective_at[gt]=${from}&effective_at[lt]=${to}`, (e) => e.effective_at > from && e.effective_at < to);
    await check(
      `effective_at[gte]=${from}&effective_at[lte]=${to}`,
      (e) => e.effective_at >= from && e.effective_at <= to,
    );
    await check("event_types[]=login.failed&event_types[]=api_key.created", (e) =>
      ["login.failed", "api_key.created"].includes(e.type),
    );

    const user = sim.org.directory.members[0];
    assert.ok(user);
    const byUser = (e: RawAuditLog) => e.actor?.session?.user?.id === user.id || e.actor?.api_key?.user?.id === user.id;
    await check(`actor_ids[]=${user.id}`, byUser);
    await check(`actor_emails[]=${encodeURIComponent(user.email.toUpperCase())}`, byUser);
    const key = classic.find((e) => e.actor?.api_key?.id)?.actor?.api_key?.id as string;
    await check(`actor_ids[]=${key}`, (e) => e.actor?.api_key?.id === key);

    const project = sim.org.directory.projects[1];
    assert.ok(project);
    await check(`project_ids[]=${project.id}`, (e) => e.project?.id === project.id);
    const target = classic.find((e) => e.type === "api_key.deleted")?.["api_key.deleted"] as { id: string };
    await check(`resource_ids[]=${target.id}`, (e) => (e[e.type] as { id?: string } | undefined)?.id === target.id);
    // Filters combine with AND: logins carry no project.
    assert.equal((await listPage(sim, `event_types[]=login.succeeded&project_ids[]=${project.id}`)).data.length, 0);
  });

  it("returns tenant-scoped events only with tenant_only=true", async () => {
    const tenant = sim.org.visibleEvents(END, { scope: "tenant" });
    assert.ok(tenant.length > 10);
    assert.deepEqual(
      await walkIds(sim, "tenant_only=true", 100),
      tenant.map((e) => e.id),
    );
    const plain = await walkIds(sim, "event_types[]=tenant.user.looked_up", 100);
    assert.equal(plain.length, 0, "not without tenant_only");
    const res = await getAuditLogs(sim, "tenant_only=true&event_types[]=login.failed");
    assert.equal(res.status, 400);
    assert.equal(errorOf(res.json).param, "event_types");
  });

  it("rejects limit 0, 101 and non-integers with 400 on param limit", async () => {
    for (const limit of ["0", "101", "2.5", "ten"]) {
      const res = await getAuditLogs(sim, `limit=${limit}`);
      assert.equal(res.status, 400, limit);
      const error = errorOf(res.json);
      assert.equal(error.param, "limit");
      assert.equal(error.type, "invalid_request_error");
    }
  });
});

describe("simulator HTTP: authentication and routes", () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startSimulator({ seed: 22, history: { days: 0.1, eventsPerDay: 100 } });
  });
  after(() => sim.close());

  it("accepts only the admin key (default sk-admin-vigil-simulator-…)", async () => {
    assert.equal(sim.adminKey, DEFAULT_ADMIN_KEY);
    assert.equal((await getAuditLogs(sim)).status, 200);
  });

  it("401 for a missing or wrong key, without echoing the key", async () => {
    const missing = await getAuditLogs(sim, "", { key: null });
    assert.equal(missing.status, 401);
    const wrongKey = "sk-admin-THIS-IS-SECRET-abcdefghij9876";
    const wrong = await getAuditLogs(sim, "", { key: wrongKey });
    assert.equal(wrong.status, 401);
    const error = errorOf(wrong.json);
    assert.equal(error.code, "invalid_api_key");
    assert.match(error.message, /^Incorrect API key provided: sk-adm…9876\./);
    assert.ok(!wrong.text.includes("THIS-IS-SECRET"));
  });

  it("403 'Missing scopes: api.audit_logs.read' for the key without the scope", async () => {
    const res = await getAuditLogs(sim, "", { key: sim.noScopeKey });
    assert.equal(res.status, 403);
    assert.match(errorOf(res.json).message, /Missing scopes: api\.audit_logs\.read/);
  });

  it("404 with an OpenAI error body for any other path or method", async () => {
    // The Admin API list endpoints are served (admin-lists.ts); anything else is not.
    const res = await fetch(`${sim.baseUrl}/organization/usage/completions`, {
      headers: { authorization: `Bearer ${sim.adminKey}` },
    });
    assert.equal(res.status, 404);
    assert.match(errorOf(await res.json()).message, /Invalid URL/);
    const post = await fetch(`${sim.baseUrl}/organization/audit_logs`, {
      method: "POST",
      headers: { authorization: `Bearer ${sim.adminKey}` },
    });
    assert.equal(post.status, 404);
    assert.ok(res.headers.get("x-request-id")?.startsWith("req_"));
    assert.deepEqual(sim.stats().byStatus["404"], 2);
  });
});

describe("simulator HTTP: visibility follows the clock", () => {
  it("shows late events only once visible, and live events as the clock passes them", async () => {
    const clock = new ManualClock(END);
    const sim = await startSimulator({ seed: 23, clock, live: { eventsPerMinute: 3 } });
    try {
      const late: RawAuditLog = {
        object: "organization.audit_log",
        id: "audit_log-lateLATElate000000000000",
        type: "api_key.created",
        effective_at: END - 10,
        "api_key.created": { id: "key_late", data: { scopes: ["api.model.read"] } },
      };
      sim.org.addEvents([late], { visibleAtSecs: END + 120 });
      const idsNow = async () => (await walkIds(sim, "", 100)).length;
      const atStart = (await listPage(sim, "limit=100")) as ListResponse;
      assert.ok(!atStart.data.some((e) => e.id === late.id), "late event hidden");
      assert.ok(
        atStart.data.every((e) => e.effective_at <= END),
        "nothing from the future",
      );

      clock.advanceSecs(60);
      const page = await listPage(sim, "limit=100");
      assert.ok(!page.data.some((e) => e.id === late.id), "late event still hidden");
      assert.ok(page.data.every((e) => e.effective_at <= clock.secs));
      const oneMinute = await idsNow();

      clock.advanceSecs(60);
      const ids = await walkIds(sim, "", 100);
      assert.ok(ids.includes(late.id), "late event visible at its visible time");
      assert.ok(ids.length > oneMinute, "live activity grew");
      assert.deepEqual(
        ids,
        sim.org.visibleEvents(clock.secs, { scope: "classic" }).map((e) => e.id),
      );
    } finally {
      await sim.close();
    }
  });
});
