// The seed's three example rules (Panther's OpenAI log doc), written as TypeScript functions that
// mirror the Python line for line, run on real-shape OpenAI events after normalization. On the raw
// API shape `actor.user` does not exist, so they would always say "Unknown"; the OpenAI.Audit
// projection makes them report the actor's actual email.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadOpenAIAuditLogType } from "../../schema/index.ts";
import { ACTORS, CLASSIC_PAYLOADS } from "../../schema/openai/golden-cases.ts";
import { makeEvent, type PantherEvent } from "./index.ts";

// --- API key creation monitoring example ---------------------------------------------------------
const apiKeyCreated = {
  rule: (event: PantherEvent) => event.get("type") === "api_key.created",
  title: (event: PantherEvent) => {
    const actor_email = event.deep_get("actor", "user", "email", { default: "Unknown" });
    return `New OpenAI API key created by ${actor_email}`;
  },
};

// --- Administrative user changes example -----------------------------------------------------------
const userChanges = {
  rule: (event: PantherEvent) => {
    const event_type = event.get("type", "");
    return ["user.added", "user.updated"].includes(event_type as string);
  },
  severity: (event: PantherEvent) => {
    // Higher severity for role changes
    if (event.get("type") === "user.updated") return "MEDIUM";
    return "INFO";
  },
};

// --- Project deletion monitoring example -------------------------------------------------------------
const projectDeleted = {
  rule: (event: PantherEvent) => event.get("type") === "project.deleted",
  alert_context: (event: PantherEvent) => ({
    actor_email: event.deep_get("actor", "user", "email"),
    project_id: event.deep_get("project", "id"),
    project_name: event.deep_get("project", "name"),
    timestamp: event.get("effective_at"),
  }),
};

const logType = loadOpenAIAuditLogType();
const ctx = { sourceId: "s", sourceLabel: "OpenAI", parseTimeMs: Date.UTC(2025, 0, 1) };
const EMAILS = { session: "alice@example.com", userKey: "bob@example.com" } as const;

function rawEvent(type: string, actor: keyof typeof ACTORS): Record<string, unknown> {
  const raw: Record<string, unknown> = {
    object: "organization.audit_log",
    id: `audit_log-${type}-${actor}`,
    type,
    effective_at: 1722461446,
    project: { id: "proj_abc", name: "Research" },
    actor: structuredClone(ACTORS[actor]),
  };
  const payload = CLASSIC_PAYLOADS[type];
  if (payload !== undefined) raw[type] = structuredClone(payload);
  return raw;
}

function normalizedEvent(type: string, actor: keyof typeof ACTORS): PantherEvent {
  const result = logType.normalize(rawEvent(type, actor), ctx);
  assert.ok(result.ok);
  return makeEvent(result.record);
}

describe("the seed's example rules on real-shape events", () => {
  for (const actor of ["session", "userKey"] as const) {
    describe(`${actor} actor`, () => {
      it("API key creation: the title names the actor's email", () => {
        const event = normalizedEvent("api_key.created", actor);
        assert.equal(apiKeyCreated.rule(event), true);
        assert.equal(apiKeyCreated.title(event), `New OpenAI API key created by ${EMAILS[actor]}`);
        assert.equal(apiKeyCreated.rule(normalizedEvent("api_key.deleted", actor)), false);
      });

      it("administrative user changes: matches user.added / user.updated with the seed's severities", () => {
        assert.equal(userChanges.rule(normalizedEvent("user.added", actor)), true);
        assert.equal(userChanges.severity(normalizedEvent("user.added", actor)), "INFO");
        assert.equal(userChanges.rule(normalizedEvent("user.updated", actor)), true);
        assert.equal(userChanges.severity(normalizedEvent("user.updated", actor)), "MEDIUM");
        assert.equal(userChanges.rule(normalizedEvent("user.deleted", actor)), false);
      });

      it("project deletion: the context carries the actor's email, the project and the time", () => {
        const event = normalizedEvent("project.deleted", actor);
        assert.equal(projectDeleted.rule(event), true);
        assert.deepStrictEqual(projectDeleted.alert_context(event), {
          actor_email: EMAILS[actor],
          project_id: "proj_abc",
          project_name: "Research",
          timestamp: 1722461446,
        });
        assert.equal(projectDeleted.rule(normalizedEvent("project.archived", actor)), false);
      });
    });
  }

  it("a service-account key has no email: the title says Unknown, as it should", () => {
    const event = normalizedEvent("api_key.created", "serviceAccountKey");
    assert.equal(apiKeyCreated.title(event), "New OpenAI API key created by Unknown");
    assert.equal(event.deep_get("actor", "service_account", "id"), "svc_acct_actor3");
  });

  it("without the projection (the raw API record) the seed's rules could only say Unknown", () => {
    const raw = makeEvent(rawEvent("api_key.created", "session"));
    assert.equal(apiKeyCreated.title(raw), "New OpenAI API key created by Unknown");
  });

  it("Panther's own rules' paths work on the same events", () => {
    const failed = normalizedEvent("login.failed", "session");
    assert.equal(failed.deep_get("actor", "session", "user", "email"), "alice@example.com");
    assert.equal(failed.deep_get("actor", "session", "ip_address"), "198.51.100.23");
    const assignment = normalizedEvent("role.assignment.created", "session");
    assert.match(String(assignment.deep_get("role_assignment_created", "id")), /^role_assignment_role-owner__/);
    const updated = normalizedEvent("api_key.updated", "userKey");
    assert.deepStrictEqual(
      [...(updated.deep_get("api_key_updated", "changes_requested", "scopes") as string[])],
      ["api.model.request"],
    );
  });
});
