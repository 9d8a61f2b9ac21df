import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RawAuditLog } from "../core/audit-log.ts";
import { EventStore, fileRecord, type PageResult, type StoredEvent } from "./event-store.ts";
import type { ParsedQuery } from "./query.ts";

function rec(id: string, at: number, type = "login.succeeded", extra: Partial<RawAuditLog> = {}): RawAuditLog {
  return { object: "organization.audit_log", id, type, effective_at: at, ...extra };
}

function store(records: RawAuditLog[]): EventStore {
  const s = new EventStore();
  s.insert(records.map((r) => fileRecord(r, r, r.effective_at)));
  return s;
}

function q(partial: Partial<ParsedQuery> = {}): ParsedQuery {
  return { effectiveAt: {}, tenantOnly: false, limit: 20, ...partial };
}

function ids(result: PageResult): string[] {
  assert.ok(result.ok, "page ok");
  return result.items.map((e: StoredEvent) => e.id);
}

describe("EventStore", () => {
  // Newest first: effective_at desc, then id desc inside one second.
  const records = [rec("a1", 10), rec("a3", 20), rec("a2", 20), rec("a4", 20), rec("a5", 30), rec("a0", 40)];
  const order = ["a0", "a5", "a4", "a3", "a2", "a1"];

  it("lists newest first, ids descending inside a second, whatever the insertion order", () => {
    assert.deepEqual(ids(store(records).page(q(), 100)), order);
    assert.deepEqual(ids(store([...records].reverse()).page(q(), 100)), order);
    const s = new EventStore();
    for (const r of records) s.insert([fileRecord(r, r, r.effective_at)]);
    assert.deepEqual(ids(s.page(q(), 100)), order);
  });

  it("after = the items after the cursor in list order (older); before = the items before it (newer)", () => {
    const s = store(records);
    assert.deepEqual(ids(s.page(q({ after: "a4", limit: 2 }), 100)), ["a3", "a2"]);
    const before = s.page(q({ before: "a2", limit: 2 }), 100);
    assert.deepEqual(ids(before), ["a4", "a3"], "the nearest newer items, still newest first");
    assert.ok(before.ok && before.hasMore, "more newer items exist");
    const top = s.page(q({ before: "a5", limit: 5 }), 100);
    assert.deepEqual(ids(top), ["a0"]);
    assert.ok(top.ok && !top.hasMore);
    const last = s.page(q({ after: "a2", limit: 1 }), 100);
    assert.deepEqual(ids(last), ["a1"]);
    assert.ok(last.ok && !last.hasMore);
  });

  it("reports an unknown cursor instead of guessing", () => {
    assert.deepEqual(store(records).page(q({ after: "nope" }), 100), { ok: false, param: "after", id: "nope" });
    assert.deepEqual(store(records).page(q({ before: "nope" }), 100), { ok: false, param: "before", id: "nope" });
  });

  it("applies effective_at bounds (gt/gte/lt/lte) and hides the future", () => {
    const s = store(records);
    assert.deepEqual(ids(s.page(q({ effectiveAt: { gt: 10, lt: 40 } }), 100)), ["a5", "a4", "a3", "a2"]);
    assert.deepEqual(ids(s.page(q({ effectiveAt: { gte: 20, lte: 20 } }), 100)), ["a4", "a3", "a2"]);
    assert.deepEqual(ids(s.page(q({ effectiveAt: { gt: 40 } }), 100)), []);
    assert.deepEqual(ids(s.page(q(), 25)), ["a4", "a3", "a2", "a1"], "events after now are not shown");
  });

  it("shows a late event only from its visible time on", () => {
    const s = new EventStore();
    const late = rec("late", 50);
    s.insert([fileRecord(late, late, 80), ...records.map((r) => fileRecord(r, r, r.effective_at))]);
    assert.ok(!ids(s.page(q(), 79)).includes("late"));
    assert.equal(ids(s.page(q(), 80))[0], "late");
  });

  it("separates tenant-scoped events from the rest", () => {
    const s = store([
      ...records,
      rec("t1", 25, "tenant.sso_connection.deleted"),
      rec("t2", 26, "role.bound_to_resource"),
    ]);
    assert.ok(!ids(s.page(q({ limit: 100 }), 100)).some((id) => id.startsWith("t")));
    assert.deepEqual(ids(s.page(q({ tenantOnly: true }), 100)), ["t2", "t1"]);
  });

  it("filters by actor id (user, service account or key), email, project and resource id", () => {
    const s = store([
      rec("s1", 1, "login.succeeded", {
        actor: { type: "session", session: { user: { id: "user-1", email: "Ada@X.com" } } },
      }),
      rec("k1", 2, "api_key.created", {
        actor: { type: "api_key", api_key: { id: "key_u", type: "user", user: { id: "user-2", email: "b@x.com" } } },
        project: { id: "proj_1", name: "P" },
        "api_key.created": { id: "key_new", data: { scopes: [] } },
      }),
      rec("k2", 3, "api_key.deleted", {
        actor: { type: "api_key", api_key: { id: "key_s", type: "service_account", service_account: { id: "svc_1" } } },
        project: { id: "proj_2", name: "Q" },
        "api_key.deleted": { id: "key_old" },
      }),
    ]);
    const by = (partial: Partial<ParsedQuery>) => ids(s.page(q(partial), 100));
    assert.deepEqual(by({ actorIds: new Set(["user-1"]) }), ["s1"]);
    assert.deepEqual(by({ actorIds: new Set(["user-2"]) }), ["k1"]);
    assert.deepEqual(by({ actorIds: new Set(["key_u", "svc_1"]) }), ["k2", "k1"]);
    assert.deepEqual(by({ actorEmails: new Set(["ada@x.com"]) }), ["s1"]);
    assert.deepEqual(by({ projectIds: new Set(["proj_2"]) }), ["k2"]);
    assert.deepEqual(by({ resourceIds: new Set(["key_new"]) }), ["k1"]);
    assert.deepEqual(
      by({ eventTypes: new Set(["api_key.created", "api_key.deleted"]), projectIds: new Set(["proj_1"]) }),
      ["k1"],
    );
  });

  it("refuses a second record with the same id", () => {
    const s = store(records);
    const dup = rec("a3", 99);
    assert.throws(() => s.insert([fileRecord(dup, dup, 99)]), /already/);
    assert.equal(s.size, records.length);
  });
});
