// The OpenAI.Audit data model behind event.udm(), on normalized events and on raw test logs.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadOpenAIAuditLogType } from "../../schema/index.ts";
import { ACTORS, CLASSIC_PAYLOADS } from "../../schema/openai/golden-cases.ts";
import { wrapValue } from "./immutable.ts";
import { defineDataModel, makeEvent, OPENAI_AUDIT_DATA_MODEL, type PantherEvent } from "./index.ts";
import { compileJsonPath, findAll } from "./json-path.ts";

const logType = loadOpenAIAuditLogType();

function event(type: string, actor: keyof typeof ACTORS | null): PantherEvent {
  const raw: Record<string, unknown> = {
    id: "audit_log-x",
    type,
    effective_at: 1720804090,
    project: { id: "proj_1", name: "P" },
  };
  if (actor !== null) raw.actor = structuredClone(ACTORS[actor]);
  const payload = CLASSIC_PAYLOADS[type];
  if (payload !== undefined) raw[type] = structuredClone(payload);
  const result = logType.normalize(raw, { sourceId: "s", sourceLabel: "l", parseTimeMs: 0 });
  assert.ok(result.ok);
  return makeEvent(result.record);
}

describe("OpenAI.Audit data model", () => {
  it("actor_user is the acting human's email", () => {
    assert.equal(event("login.failed", "session").udm("actor_user"), "alice@example.com");
    assert.equal(event("api_key.created", "userKey").udm("actor_user"), "bob@example.com");
    assert.equal(event("api_key.created", "serviceAccountKey").udm("actor_user", { default: "n/a" }), null);
  });

  it("actor_id, actor_type, api_key_id", () => {
    assert.equal(event("login.failed", "session").udm("actor_id"), "user-actor1");
    assert.equal(event("project.created", "userKey").udm("actor_id"), "user-actor2");
    assert.equal(event("project.created", "serviceAccountKey").udm("actor_id"), "svc_acct_actor3");
    assert.equal(event("project.created", "serviceAccountKey").udm("actor_type"), "api_key");
    assert.equal(event("project.created", "userKey").udm("api_key_id"), "key_actor2");
  });

  it("source_ip, user_agent and source_country come from the session", () => {
    const e = event("login.succeeded", "session");
    assert.equal(e.udm("source_ip"), "198.51.100.23");
    assert.match(String(e.udm("user_agent")), /^Mozilla\/5\.0/);
    assert.equal(e.udm("source_country"), "US");
    assert.equal(event("login.succeeded", "userKey").udm("source_ip", { default: "none" }), "none");
  });

  it("event_type uses Panther's standard names where they exist, else the OpenAI type", () => {
    assert.equal(event("login.failed", "session").udm("event_type"), "failed_login");
    assert.equal(event("login.succeeded", "session").udm("event_type"), "successful_login");
    assert.equal(event("user.added", "session").udm("event_type"), "user_account_created");
    assert.equal(event("user.updated", "session").udm("event_type"), "admin_role_assigned");
    assert.equal(event("user.updated", "session").udm("assigned_admin_role"), "owner");
    assert.equal(event("user.added", "session").udm("assigned_admin_role"), null);
    assert.equal(event("scim.disabled", "session").udm("event_type"), "scim.disabled");
  });

  it("user is the target of user.* events; project fields come from project", () => {
    assert.equal(event("user.deleted", "session").udm("user"), "user-target");
    assert.equal(event("login.failed", "session").udm("user"), null);
    assert.equal(event("login.failed", "session").udm("project_id"), "proj_1");
    assert.equal(event("login.failed", "session").udm("project_name"), "P");
  });

  it("works on raw test logs that only carry p_log_type (as in pat test)", () => {
    const raw = makeEvent({ p_log_type: "OpenAI.Audit", type: "login.failed", actor: structuredClone(ACTORS.session) });
    assert.equal(raw.udm("actor_user"), "alice@example.com");
    assert.equal(raw.udm("event_type"), "failed_login");
    assert.equal(raw.udm_path("source_ip"), "actor.session.ip_address");
    assert.equal(raw.udm_path("actor_user"), "actorEmail");
  });

  it("names every mapping once", () => {
    assert.deepStrictEqual(
      [...OPENAI_AUDIT_DATA_MODEL.paths.keys(), ...OPENAI_AUDIT_DATA_MODEL.methods.keys()].sort(),
      [
        "actor_id",
        "actor_type",
        "actor_user",
        "api_key_id",
        "assigned_admin_role",
        "event_type",
        "project_id",
        "project_name",
        "source_country",
        "source_ip",
        "user",
        "user_agent",
      ],
    );
  });
});

describe("defineDataModel", () => {
  it("rejects a mapping with both or neither of path and method, and duplicates", () => {
    assert.throws(() => defineDataModel({ id: "X", logTypes: [], mappings: [{ name: "a" }] }), /exactly one/);
    assert.throws(
      () => defineDataModel({ id: "X", logTypes: [], mappings: [{ name: "a", path: "$.a", method: () => 1 }] }),
      /exactly one/,
    );
    assert.throws(
      () =>
        defineDataModel({
          id: "X",
          logTypes: [],
          mappings: [
            { name: "a", path: "$.a" },
            { name: "a", path: "$.b" },
          ],
        }),
      /twice/,
    );
  });
});

describe("data-model JSONPath", () => {
  const root = wrapValue({ a: { "b.c": [{ d: 1 }, { d: 2 }] }, x: { y: { d: 3 } } });

  it("supports dotted, bracketed, quoted, index, wildcard and recursive steps", () => {
    const values = (p: string) => findAll(compileJsonPath(p), root).map((m) => m.value);
    assert.deepStrictEqual(values("$.a['b.c'][1].d"), [2]);
    assert.deepStrictEqual(values('a."b.c"[0].d'), [1]);
    assert.deepStrictEqual(values("$.a['b.c'][*].d"), [1, 2]);
    assert.deepStrictEqual(values("$..d"), [1, 2, 3]);
    assert.deepStrictEqual(values("$.x.*.d"), [3]);
    assert.deepStrictEqual(values("$.a['b.c'][5]"), []);
  });

  it("rejects paths it cannot read", () => {
    assert.throws(() => compileJsonPath("$.a[?(@.x)]"), /cannot read/);
  });
});
