import assert from "node:assert/strict";
import { test } from "node:test";
import { VigilError } from "../../core/errors.ts";
import { encodeAuditLogQuery } from "./query.ts";

test("an empty query sends only limit=100", () => {
  assert.equal(encodeAuditLogQuery({}), "limit=100");
});

test("effective_at bounds use bracket notation, percent-encoded as the Node SDK sends them", () => {
  const encoded = encodeAuditLogQuery({ effective_at: { lte: 40, gt: 10, lt: 30, gte: 20 }, limit: 5 });
  assert.equal(
    encoded,
    "effective_at%5Bgt%5D=10&effective_at%5Bgte%5D=20&effective_at%5Blt%5D=30&effective_at%5Blte%5D=40&limit=5",
  );
  assert.equal(
    decodeURIComponent(encoded),
    "effective_at[gt]=10&effective_at[gte]=20&effective_at[lt]=30&effective_at[lte]=40&limit=5",
  );
});

test("array filters repeat name[] once per value, in a fixed order", () => {
  const encoded = encodeAuditLogQuery({
    resource_ids: ["r1"],
    project_ids: ["proj_1", "proj_2"],
    actor_emails: ["a+b@example.com"],
    actor_ids: ["user-1"],
    event_types: ["api_key.created", "login.failed"],
  });
  assert.equal(
    decodeURIComponent(encoded),
    "event_types[]=api_key.created&event_types[]=login.failed&actor_ids[]=user-1&actor_emails[]=a+b@example.com" +
      "&project_ids[]=proj_1&project_ids[]=proj_2&resource_ids[]=r1&limit=100",
  );
  // `+` must be encoded, or the server would read it as a space.
  assert.match(encoded, /actor_emails%5B%5D=a%2Bb%40example\.com/);
});

test("empty arrays and undefined values are left out, as qs does", () => {
  assert.equal(encodeAuditLogQuery({ event_types: [], effective_at: {}, after: undefined }), "limit=100");
});

test("tenant_only is sent only when true", () => {
  assert.equal(encodeAuditLogQuery({ tenant_only: true }), "tenant_only=true&limit=100");
  assert.equal(encodeAuditLogQuery({ tenant_only: false }), "limit=100");
});

test("cursors come last and are encoded like qs (RFC 3986, including !'()*)", () => {
  assert.equal(
    encodeAuditLogQuery({ after: "audit_log-abc", before: "x y(1)!", limit: 1 }),
    "limit=1&after=audit_log-abc&before=x%20y%281%29%21",
  );
});

test("a full query round-trips through URLSearchParams with the wire names", () => {
  const params = new URLSearchParams(
    encodeAuditLogQuery({
      effective_at: { gte: 1720000000, lte: 1720086400 },
      event_types: ["a", "b"],
      tenant_only: true,
      after: "audit_log-1",
    }),
  );
  assert.equal(params.get("effective_at[gte]"), "1720000000");
  assert.equal(params.get("effective_at[lte]"), "1720086400");
  assert.deepEqual(params.getAll("event_types[]"), ["a", "b"]);
  assert.equal(params.get("tenant_only"), "true");
  assert.equal(params.get("limit"), "100");
  assert.equal(params.get("after"), "audit_log-1");
  assert.equal(params.has("before"), false);
});

test("out-of-range limits and non-integer bounds are refused before anything is sent", () => {
  for (const query of [{ limit: 0 }, { limit: 101 }, { limit: 2.5 }, { effective_at: { gte: 1.5 } }]) {
    assert.throws(
      () => encodeAuditLogQuery(query),
      (err: unknown) => err instanceof VigilError && err.code === "openai_invalid_query",
    );
  }
});
