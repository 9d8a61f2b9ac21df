import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_LIMIT, type ParsedQuery, parseAuditLogQuery } from "./query.ts";

function parse(query: string): ParsedQuery {
  const result = parseAuditLogQuery(new URLSearchParams(query));
  if (!result.ok) assert.fail(`expected ${query} to parse: ${result.error.body.error.message}`);
  return result.query;
}

function error(query: string) {
  const result = parseAuditLogQuery(new URLSearchParams(query));
  if (result.ok) assert.fail(`expected ${query} to be rejected`);
  return result.error;
}

describe("parseAuditLogQuery", () => {
  it("defaults: limit 20, no filters, not tenant_only", () => {
    const q = parse("");
    assert.equal(q.limit, DEFAULT_LIMIT);
    assert.equal(q.tenantOnly, false);
    assert.deepEqual(q.effectiveAt, {});
    assert.equal(q.eventTypes, undefined);
  });

  it("reads bracket notation raw and percent-encoded alike (as the Node and Python SDKs send it)", () => {
    const raw = parse(
      "effective_at[gte]=100&effective_at[lt]=200&event_types[]=login.failed&event_types[]=api_key.created",
    );
    const encoded = parse(
      "effective_at%5Bgte%5D=100&effective_at%5Blt%5D=200&event_types%5B%5D=login.failed&event_types%5B%5D=api_key.created",
    );
    assert.deepEqual(raw, encoded);
    assert.deepEqual(raw.effectiveAt, { gte: 100, lt: 200 });
    assert.deepEqual([...(raw.eventTypes ?? [])], ["login.failed", "api_key.created"]);
  });

  it("reads every array filter, also as name[0] or a bare repeated name", () => {
    const q = parse(
      "actor_ids[]=user-a&actor_ids[0]=key_b&actor_emails[]=Ada@Example.com&project_ids=proj_1&project_ids=proj_2" +
        "&resource_ids[]=key_x&effective_at[gt]=5&effective_at[lte]=9",
    );
    assert.deepEqual([...(q.actorIds ?? [])], ["user-a", "key_b"]);
    assert.deepEqual([...(q.actorEmails ?? [])], ["ada@example.com"], "emails compare case-insensitively");
    assert.deepEqual([...(q.projectIds ?? [])], ["proj_1", "proj_2"]);
    assert.deepEqual([...(q.resourceIds ?? [])], ["key_x"]);
    assert.deepEqual(q.effectiveAt, { gt: 5, lte: 9 });
  });

  it("ignores parameters the API does not define, such as order=asc", () => {
    assert.equal(parse("order=asc&limit=5").limit, 5);
  });

  it("rejects a limit outside 1..100 or not an integer, naming the param", () => {
    for (const [value, code] of [
      ["0", "integer_below_min_value"],
      ["-3", "integer_below_min_value"],
      ["101", "integer_above_max_value"],
      ["1.5", "invalid_type"],
      ["abc", "invalid_type"],
      ["", "invalid_type"],
    ] as const) {
      const e = error(`limit=${value}`);
      assert.equal(e.status, 400, value);
      assert.equal(e.body.error.param, "limit", value);
      assert.equal(e.body.error.code, code, value);
      assert.equal(e.body.error.type, "invalid_request_error");
    }
    assert.equal(parse("limit=1").limit, 1);
    assert.equal(parse("limit=100").limit, 100);
  });

  it("rejects a bad effective_at bound or operator", () => {
    assert.equal(error("effective_at[gte]=yesterday").body.error.param, "effective_at[gte]");
    assert.equal(error("effective_at[since]=5").body.error.param, "effective_at");
  });

  it("tenant_only: a boolean, and with it only tenant-scoped event types", () => {
    assert.equal(parse("tenant_only=true").tenantOnly, true);
    assert.equal(parse("tenant_only=false").tenantOnly, false);
    assert.equal(error("tenant_only=yes").body.error.param, "tenant_only");
    assert.ok(
      parse("tenant_only=true&event_types[]=tenant.sso_connection.deleted&event_types[]=role.bound_to_resource"),
    );
    const e = error("tenant_only=true&event_types[]=tenant.sso_connection.deleted&event_types[]=login.failed");
    assert.equal(e.status, 400);
    assert.equal(e.body.error.param, "event_types");
    assert.match(e.body.error.message, /login\.failed/);
  });

  it("takes after or before, not both; empty cursors are absent", () => {
    assert.equal(parse("after=audit_log-x").after, "audit_log-x");
    assert.equal(parse("before=audit_log-y").before, "audit_log-y");
    assert.equal(parse("after=").after, undefined);
    assert.equal(error("after=a&before=b").status, 400);
  });
});
