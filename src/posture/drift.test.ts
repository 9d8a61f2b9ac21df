import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PostureChange } from "./diff.ts";
import { expectedAuditTypes } from "./drift.ts";

const keyChange = (
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  fields: string[],
): PostureChange => ({
  kind: "project_api_key",
  id: "key_1",
  projectId: "proj_1",
  change: "changed",
  fields,
  before,
  after,
});

const bob = (name: string, role = "member") => ({ type: "user", user: { id: "user-bob", name, role } });

describe("expectedAuditTypes", () => {
  it("expects no event for a key that changed only with its owner (renamed, promoted, out of the project)", () => {
    const renamed = keyChange({ owner: bob("Bob") }, { owner: bob("Robert", "owner") }, ["owner"]);
    assert.deepEqual(expectedAuditTypes(renamed, 0), []);
    const lostAccess = keyChange(
      { owner: bob("Bob"), owner_project_access: "active" },
      { owner: bob("Bob"), owner_project_access: "inactive" },
      ["owner_project_access"],
    );
    assert.deepEqual(expectedAuditTypes(lostAccess, 0), []);
    const admin: PostureChange = {
      kind: "admin_api_key",
      id: "key_a",
      projectId: null,
      change: "changed",
      fields: ["owner"],
      before: { owner: { type: "user", id: "user-ada", role: "owner" } },
      after: { owner: { type: "user", id: "user-ada", role: "reader" } },
    };
    assert.deepEqual(expectedAuditTypes(admin, 0), []);
  });

  it("still expects the key's own event when its owner is another, or the key itself changed", () => {
    const reassigned = keyChange(
      { owner: bob("Bob") },
      { owner: { type: "user", user: { id: "user-eve", name: "Eve" } } },
      ["owner"],
    );
    assert.ok(expectedAuditTypes(reassigned, 0).includes("api_key.updated"));
    const renamedKey = keyChange({ name: "a", owner: bob("Bob") }, { name: "b", owner: bob("Robert") }, [
      "name",
      "owner",
    ]);
    assert.ok(expectedAuditTypes(renamedKey, 0).includes("api_key.updated"));
  });
});
