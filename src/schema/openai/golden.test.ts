// Golden tests of the OpenAI.Audit log type: every classic event type with its declared payload,
// under every actor shape, some tenant.* types, unknown types, and the spec's own examples
// (openai-audit-logs-api.md §7.4 and §7.6). Expected records are written out independently of the
// implementation: renamed payload key, seed projections, p_ fields and indicators.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CLASSIC_EVENT_TYPES, TENANT_EVENT_TYPES } from "../../core/event-types.ts";
import { loadOpenAIAuditLogType } from "../index.ts";
import type { NormalizeContext } from "../types.ts";
import { ACTORS, CLASSIC_PAYLOADS } from "./golden-cases.ts";

const logType = loadOpenAIAuditLogType();
const PARSE_MS = Date.UTC(2024, 6, 12, 17, 10, 0, 250);
const ctx: NormalizeContext = { sourceId: "src-1", sourceLabel: "OpenAI prod", parseTimeMs: PARSE_MS, rowId: "row-1" };
const EFFECTIVE_AT = 1720804090; // 2024-07-12 17:08:10 UTC
const P_FIELDS = {
  p_log_type: "OpenAI.Audit",
  p_row_id: "row-1",
  p_event_time: "2024-07-12 17:08:10.000000000",
  p_parse_time: "2024-07-12 17:10:00.250000000",
  p_source_id: "src-1",
  p_source_label: "OpenAI prod",
};

type Obj = Record<string, unknown>;
const clone = <T>(v: T): T => structuredClone(v);

// The seed's target objects, written out for each type that has one.
const EXPECTED_TARGETS: Record<string, Obj> = {
  "api_key.created": { api_key: { id: "key_abc", scopes: ["api.model.request", "api.files.read"] } },
  "api_key.updated": { api_key: { id: "key_abc", scopes: ["api.model.request"] } },
  "api_key.deleted": { api_key: { id: "key_abc" } },
  "invite.sent": { user: { email: "new.hire@example.com", role: "member" } },
  "service_account.created": { service_account: { id: "svc_acct_abc", role: "member" } },
  "service_account.updated": { service_account: { id: "svc_acct_abc", role: "owner" } },
  "service_account.deleted": { service_account: { id: "svc_acct_abc" } },
  "user.added": { user: { id: "user-target", role: "member" } },
  "user.updated": { user: { id: "user-target", role: "owner" } },
  "user.deleted": { user: { id: "user-target" } },
};

// Indicator values that come from payloads rather than from the actor.
const PAYLOAD_EMAILS: Record<string, string[]> = { "invite.sent": ["new.hire@example.com"] };
const PAYLOAD_IPS: Record<string, string[]> = {
  "ip_allowlist.created": ["203.0.113.7"], // the CIDR entry is not an IP address
  "ip_allowlist.updated": ["203.0.113.8"],
  "ip_allowlist.deleted": ["203.0.113.8"],
};

type ActorKind = "session" | "userKey" | "serviceAccountKey" | "null" | "absent";
const ACTOR_KINDS: ActorKind[] = ["session", "userKey", "serviceAccountKey", "null", "absent"];

function rawRecord(type: string, actor: ActorKind): Obj {
  const raw: Obj = {
    object: "organization.audit_log",
    id: "audit_log-PaILxsC4mrLvPYdakaGGtaMy",
    type,
    effective_at: EFFECTIVE_AT,
    project: { id: "proj_8E9dWQ3k", name: "Default project" },
  };
  if (actor === "null") raw.actor = null;
  else if (actor !== "absent") raw.actor = clone(ACTORS[actor]);
  const payload = CLASSIC_PAYLOADS[type];
  if (payload !== undefined) raw[type] = clone(payload);
  return raw;
}

function expectedRecord(type: string, actor: ActorKind): Obj {
  const out: Obj = {
    object: "organization.audit_log",
    id: "audit_log-PaILxsC4mrLvPYdakaGGtaMy",
    type,
    effective_at: EFFECTIVE_AT,
    project: { id: "proj_8E9dWQ3k", name: "Default project" },
  };
  const emails: string[] = [...(PAYLOAD_EMAILS[type] ?? [])];
  const ips: string[] = [...(PAYLOAD_IPS[type] ?? [])];
  const actorIds: string[] = [];
  if (actor === "session") {
    out.actor = { ...clone(ACTORS.session), user: { id: "user-actor1", email: "alice@example.com" } };
    emails.push("alice@example.com");
    ips.push("198.51.100.23");
    actorIds.push("user-actor1");
  } else if (actor === "userKey") {
    out.actor = { ...clone(ACTORS.userKey), user: { id: "user-actor2", email: "bob@example.com" } };
    emails.push("bob@example.com");
    actorIds.push("key_actor2", "user-actor2");
  } else if (actor === "serviceAccountKey") {
    out.actor = { ...clone(ACTORS.serviceAccountKey), service_account: { id: "svc_acct_actor3" } };
    actorIds.push("key_actor3", "svc_acct_actor3");
  } else if (actor === "null") {
    out.actor = null;
  }
  const payload = CLASSIC_PAYLOADS[type];
  // Panther's renaming: every "." of the type becomes "_".
  if (payload !== undefined) out[type.replaceAll(".", "_")] = clone(payload);
  Object.assign(out, clone(EXPECTED_TARGETS[type] ?? {}), P_FIELDS);
  if (ips.length > 0) out.p_any_ip_addresses = [...new Set(ips)].sort();
  if (emails.length > 0) out.p_any_emails = [...new Set(emails)].sort();
  if (actorIds.length > 0) out.p_any_actor_ids = [...new Set(actorIds)].sort();
  return out;
}

describe("OpenAI.Audit golden records: every classic event type", () => {
  it("covers all 59 classic types", () => {
    assert.equal(CLASSIC_EVENT_TYPES.length, 59);
    assert.deepEqual(Object.keys(CLASSIC_PAYLOADS).sort(), [...CLASSIC_EVENT_TYPES].sort());
  });

  for (const type of CLASSIC_EVENT_TYPES) {
    it(`${type}: every actor shape`, () => {
      for (const actor of ACTOR_KINDS) {
        const result = logType.normalize(rawRecord(type, actor), ctx);
        assert.ok(result.ok, `${type} / ${actor}: ${JSON.stringify(!result.ok && result.issues)}`);
        assert.deepStrictEqual(result.record, expectedRecord(type, actor), `${type} / ${actor}`);
        assert.equal(result.eventTimeMs, EFFECTIVE_AT * 1000);
        assert.equal(result.unknownType, false);
        // The API's dotted payload key never survives normalization.
        assert.equal(
          Object.hasOwn(result.record, type),
          type.includes(".") ? false : Object.hasOwn(result.record, type),
        );
      }
    });
  }
});

describe("OpenAI.Audit golden records: tenant and unknown types", () => {
  const tenantSample = [
    "tenant.user.added",
    "tenant.admin_api_key.created",
    "tenant.sso_connection.deleted",
    "tenant.session_revocation.started",
  ];
  for (const type of tenantSample) {
    it(`${type} (no declared payload) is known and normalized`, () => {
      assert.ok((TENANT_EVENT_TYPES as readonly string[]).includes(type));
      const raw = rawRecord(type, "session");
      const result = logType.normalize(raw, ctx);
      assert.ok(result.ok);
      assert.deepStrictEqual(result.record, expectedRecord(type, "session"));
      assert.equal(result.unknownType, false);
    });
  }

  it("keeps an undeclared tenant payload under its renamed key", () => {
    const raw = rawRecord("tenant.user.added", "userKey");
    raw["tenant.user.added"] = { id: "user-new", data: { role: "member", "display.name": "New User" } };
    const result = logType.normalize(raw, ctx);
    assert.ok(result.ok);
    assert.deepStrictEqual(result.record.tenant_user_added, {
      id: "user-new",
      data: { role: "member", display_name: "New User" },
    });
    assert.equal(result.unknownType, false);
  });

  it("keeps the selected projects of API call logging as sent: the spec's string, or the list it describes", () => {
    for (const ids of ["proj_abc,proj_def", ["proj_abc", "proj_def"]]) {
      const raw = rawRecord("organization.updated", "session");
      raw["organization.updated"] = {
        id: "org-1",
        changes_requested: { api_call_logging: "enabled_for_selected_projects", api_call_logging_project_ids: ids },
      };
      const result = logType.normalize(raw, ctx);
      assert.ok(result.ok, JSON.stringify(result));
      assert.deepStrictEqual((result.record.organization_updated as Obj).changes_requested, {
        api_call_logging: "enabled_for_selected_projects",
        api_call_logging_project_ids: ids,
      });
    }
  });

  it("keeps a login's geolocation as sent when a value comes as a number, rather than quarantining the login", () => {
    const raw = rawRecord("login.succeeded", "session");
    const details = { country: "US", asn: 16509, latitude: 45.52345, longitude: -122.6762 };
    ((raw.actor as Obj).session as Obj).ip_address_details = details;
    const result = logType.normalize(raw, ctx);
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepStrictEqual(((result.record.actor as Obj).session as Obj).ip_address_details, details);
  });

  it("normalizes an event type outside the known list and flags it", () => {
    const raw = rawRecord("model.fine_tune.exported", "session");
    raw["model.fine_tune.exported"] = { id: "ft_abc", destination: "s3://bucket" };
    const result = logType.normalize(raw, ctx);
    assert.ok(result.ok);
    assert.equal(result.unknownType, true);
    assert.deepStrictEqual(result.record.model_fine_tune_exported, { id: "ft_abc", destination: "s3://bucket" });
    assert.deepStrictEqual(result.record.p_any_emails, ["alice@example.com"]);
  });

  it("keeps unknown top-level fields, renamed, and reserved p_ keys under a leading underscore", () => {
    const raw = rawRecord("login.succeeded", "session");
    raw.source = "cloud_console";
    raw["request.id"] = "req_123";
    raw.p_any_emails = ["spoofed@evil.example"];
    const result = logType.normalize(raw, ctx);
    assert.ok(result.ok);
    assert.equal(result.record.source, "cloud_console");
    assert.equal(result.record.request_id, "req_123");
    assert.deepStrictEqual(result.record._p_any_emails, ["spoofed@evil.example"]);
    assert.deepStrictEqual(result.record.p_any_emails, ["alice@example.com"]);
  });
});

describe("OpenAI.Audit golden records: the spec's own examples", () => {
  it("§7.4 AuditLog object example", () => {
    const example = {
      id: "req_xxx_20240101",
      type: "api_key.created",
      effective_at: 1720804090,
      actor: {
        type: "session",
        session: {
          user: { id: "user-xxx", email: "user@example.com" },
          ip_address: "127.0.0.1",
          user_agent:
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36",
        },
      },
      "api_key.created": { id: "key_xxxx", data: { scopes: ["resource.operation"] } },
    };
    const result = logType.normalize(example, ctx);
    assert.ok(result.ok);
    assert.deepStrictEqual(result.record, {
      id: "req_xxx_20240101",
      type: "api_key.created",
      effective_at: 1720804090,
      actor: {
        type: "session",
        session: {
          user: { id: "user-xxx", email: "user@example.com" },
          ip_address: "127.0.0.1",
          user_agent:
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36",
        },
        user: { id: "user-xxx", email: "user@example.com" },
      },
      api_key_created: { id: "key_xxxx", data: { scopes: ["resource.operation"] } },
      api_key: { id: "key_xxxx", scopes: ["resource.operation"] },
      ...P_FIELDS,
      p_any_ip_addresses: ["127.0.0.1"],
      p_any_emails: ["user@example.com"],
      p_any_actor_ids: ["user-xxx"],
    });
  });

  // Verbatim from the spec (§7.6), including its trailing commas (the spec's example is not valid JSON).
  const LIST_EXAMPLE = `{
    "object": "list",
    "data": [
        {
            "id": "audit_log-xxx_yyyymmdd",
            "type": "project.archived",
            "effective_at": 1722461446,
            "actor": {
                "type": "api_key",
                "api_key": {
                    "type": "user",
                    "user": {
                        "id": "user-xxx",
                        "email": "user@example.com"
                    }
                }
            },
            "project.archived": {
                "id": "proj_abc"
            },
        },
        {
            "id": "audit_log-yyy__20240101",
            "type": "api_key.updated",
            "effective_at": 1720804190,
            "actor": {
                "type": "session",
                "session": {
                    "user": {
                        "id": "user-xxx",
                        "email": "user@example.com"
                    },
                    "ip_address": "127.0.0.1",
                    "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36",
                    "ja3": "a497151ce4338a12c4418c44d375173e",
                    "ja4": "q13d0313h3_55b375c5d22e_c7319ce65786",
                    "ip_address_details": {
                      "country": "US",
                      "city": "San Francisco",
                      "region": "California",
                      "region_code": "CA",
                      "asn": "1234",
                      "latitude": "37.77490",
                      "longitude": "-122.41940"
                    }
                }
            },
            "api_key.updated": {
                "id": "key_xxxx",
                "data": {
                    "scopes": ["resource_2.operation_2"]
                }
            },
        }
    ],
    "first_id": "audit_log-xxx__20240101",
    "last_id": "audit_log_yyy__20240101",
    "has_more": true
}`;

  it("§7.6 list example: is not valid JSON as published, parses once trailing commas are removed", () => {
    assert.throws(() => JSON.parse(LIST_EXAMPLE), SyntaxError);
    const page = JSON.parse(LIST_EXAMPLE.replace(/,(\s*[}\]])/g, "$1")) as { data: unknown[] };
    assert.equal(page.data.length, 2);
  });

  it("§7.6 list example: both records normalize as expected", () => {
    const page = JSON.parse(LIST_EXAMPLE.replace(/,(\s*[}\]])/g, "$1")) as { data: Obj[] };
    const [archived, updated] = page.data.map((raw) => logType.normalize(raw, ctx));
    assert.ok(archived?.ok && updated?.ok);

    assert.deepStrictEqual(archived.record, {
      id: "audit_log-xxx_yyyymmdd",
      type: "project.archived",
      effective_at: 1722461446,
      actor: {
        type: "api_key",
        api_key: { type: "user", user: { id: "user-xxx", email: "user@example.com" } },
        user: { id: "user-xxx", email: "user@example.com" },
      },
      project_archived: { id: "proj_abc" },
      ...P_FIELDS,
      p_event_time: "2024-07-31 21:30:46.000000000",
      p_any_emails: ["user@example.com"],
      p_any_actor_ids: ["user-xxx"],
    });
    assert.equal(archived.eventTimeMs, 1722461446000);

    const session = (page.data[1]!.actor as Obj).session as Obj;
    assert.deepStrictEqual(updated.record, {
      id: "audit_log-yyy__20240101",
      type: "api_key.updated",
      effective_at: 1720804190,
      actor: { type: "session", session, user: { id: "user-xxx", email: "user@example.com" } },
      // The example sends `data` where the schema says `changes_requested`; both are read.
      api_key_updated: { id: "key_xxxx", data: { scopes: ["resource_2.operation_2"] } },
      api_key: { id: "key_xxxx", scopes: ["resource_2.operation_2"] },
      ...P_FIELDS,
      p_event_time: "2024-07-12 17:09:50.000000000",
      p_any_ip_addresses: ["127.0.0.1"],
      p_any_emails: ["user@example.com"],
      p_any_actor_ids: ["user-xxx"],
    });
  });
});

describe("OpenAI.Audit standard fields", () => {
  it("generates unique hex row ids when none is given", () => {
    const noRow = { ...ctx, rowId: undefined };
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const result = logType.normalize(rawRecord("login.succeeded", "session"), noRow);
      assert.ok(result.ok);
      const id = result.record.p_row_id;
      assert.equal(typeof id, "string");
      assert.match(id as string, /^[0-9a-f]{20,40}$/);
      ids.add(id as string);
    }
    assert.equal(ids.size, 1000);
  });

  it("omits p_source_id when the source id is empty", () => {
    const result = logType.normalize(rawRecord("login.succeeded", "null"), { ...ctx, sourceId: "" });
    assert.ok(result.ok);
    assert.equal(Object.hasOwn(result.record, "p_source_id"), false);
    assert.equal(result.record.p_source_label, "OpenAI prod");
  });

  it("accepts effective_at as numeric text and keeps it as Unix seconds", () => {
    const raw = rawRecord("login.failed", "session");
    raw.effective_at = "1720804090";
    const result = logType.normalize(raw, ctx);
    assert.ok(result.ok);
    assert.equal(result.record.effective_at, 1720804090);
    assert.equal(result.record.p_event_time, "2024-07-12 17:08:10.000000000");
  });

  it("does not overwrite seed fields that the record already carries", () => {
    const raw = rawRecord("user.updated", "session");
    raw.user = { id: "user-explicit", email: "explicit@example.com", role: "member" };
    const result = logType.normalize(raw, ctx);
    assert.ok(result.ok);
    assert.deepStrictEqual(result.record.user, { id: "user-explicit", email: "explicit@example.com", role: "member" });
    assert.deepStrictEqual(result.record.p_any_emails, ["alice@example.com", "explicit@example.com"]);
  });
});

describe("OpenAI.Audit bad records", () => {
  it("reports missing required fields with their paths", () => {
    const result = logType.normalize({ object: "organization.audit_log" }, ctx);
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.deepStrictEqual(
      result.issues.map((i) => [i.code, i.path]),
      [
        ["missing_required", "$.id"],
        ["missing_required", "$.type"],
        ["missing_required", "$.effective_at"],
      ],
    );
  });

  it("reports wrong types and bad timestamps with JSON paths", () => {
    const raw = rawRecord("api_key.created", "session");
    raw.effective_at = "yesterday";
    (raw.actor as Obj).session = { ip_address: 12345, user: { email: ["not", "a", "string"] } };
    (raw["api_key.created"] as Obj).data = { scopes: "all" };
    const result = logType.normalize(raw, ctx);
    assert.ok(!result.ok);
    assert.deepStrictEqual(result.issues.map((i) => [i.code, i.path]).sort(), [
      ["bad_timestamp", "$.effective_at"],
      ["wrong_type", "$.actor.session.ip_address"],
      ["wrong_type", "$.actor.session.user.email"],
      ["wrong_type", '$["api_key.created"].data.scopes'],
    ]);
    for (const issue of result.issues) assert.ok(issue.message.length > 0);
  });

  it("rejects a record that is not an object", () => {
    for (const raw of [null, 42, "text", [1, 2], true]) {
      const result = logType.normalize(raw, ctx);
      assert.ok(!result.ok);
      assert.deepStrictEqual(
        result.issues.map((i) => [i.code, i.path]),
        [["wrong_type", "$"]],
      );
    }
  });
});
