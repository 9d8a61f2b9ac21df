// How changes to the organization's controls are judged (controls.ts): which retention is weaker, what loosens a
// spend alert, what widens a project's model or hosted-tool permissions — and when it cannot be told.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  controlFacts,
  hostedToolFacts,
  modelPermissionFacts,
  retentionFacts,
  retentionRank,
  spendAlertFacts,
} from "./controls.ts";
import type { PostureChange } from "./diff.ts";

function change(
  kind: PostureChange["kind"],
  kindOfChange: PostureChange["change"],
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): PostureChange {
  return { kind, id: "proj_1", projectId: "proj_1", change: kindOfChange, fields: [], before, after };
}

describe("data retention", () => {
  it("ranks the standard retention weakest and enhanced zero data retention strongest; unknown types are null", () => {
    assert.equal(retentionRank("none"), 0);
    assert.equal(retentionRank(null), null);
    assert.ok((retentionRank("zero_data_retention") ?? 0) > (retentionRank("modified_abuse_monitoring") ?? 9));
    assert.ok((retentionRank("enhanced_zero_data_retention") ?? 0) > (retentionRank("zero_data_retention") ?? 9));
    assert.equal(retentionRank("something_new"), null);
  });

  it("an organization that gives up zero data retention, or whose setting disappears, is weakened", () => {
    const zdr = { object: "organization.data_retention", type: "zero_data_retention" };
    const mam = { object: "organization.data_retention", type: "modified_abuse_monitoring" };
    assert.deepEqual(retentionFacts(change("data_retention", "changed", zdr, mam), undefined), {
      retention_before: "zero_data_retention",
      retention_after: "modified_abuse_monitoring",
      weakened: true,
    });
    assert.equal(retentionFacts(change("data_retention", "removed", mam, null), undefined).weakened, true);
    assert.equal(retentionFacts(change("data_retention", "changed", mam, zdr), undefined).weakened, false);
    assert.equal(retentionFacts(change("data_retention", "added", null, zdr), undefined).weakened, false);
  });

  it("a project on organization_default is judged through the organization's setting, unknown if unreadable", () => {
    const own = { type: "zero_data_retention" };
    const inherit = { type: "organization_default" };
    const none = { type: "none" };
    const moved = change("project_data_retention", "changed", own, inherit);
    assert.equal(retentionFacts(moved, "modified_abuse_monitoring").weakened, true);
    assert.equal(retentionFacts(moved, "enhanced_zero_data_retention").weakened, false);
    assert.equal(retentionFacts(moved, undefined).weakened, null);
    const dropped = retentionFacts(change("project_data_retention", "changed", inherit, none), "zero_data_retention");
    assert.deepEqual(dropped, { retention_before: "zero_data_retention", retention_after: "none", weakened: true });
    // An unknown type is never called weaker.
    const odd = change("project_data_retention", "changed", own, { type: "future_retention" });
    assert.equal(retentionFacts(odd, "none").weakened, null);
  });
});

describe("spend alerts", () => {
  const alert = (threshold: number, recipients: string[]) => ({
    id: "spa_1",
    threshold_amount: threshold,
    currency: "usd",
    interval: "month",
    notification_channel: { type: "email", recipients },
  });

  it("removed, threshold raised, or left without recipients is weakened; lowered or added is not", () => {
    assert.deepEqual(spendAlertFacts(change("spend_alert", "removed", alert(100, ["a@x.com"]), null)), {
      weakened: true,
      how: "removed",
    });
    assert.deepEqual(
      spendAlertFacts(change("spend_alert", "changed", alert(100, ["a@x.com"]), alert(500, ["a@x.com"]))),
      { weakened: true, how: "threshold raised from 100 to 500 cents usd" },
    );
    assert.deepEqual(spendAlertFacts(change("spend_alert", "changed", alert(100, ["a@x.com"]), alert(100, []))), {
      weakened: true,
      how: "left without recipients",
    });
    assert.equal(
      spendAlertFacts(change("spend_alert", "changed", alert(500, ["a@x.com"]), alert(100, ["b@x.com"]))).weakened,
      false,
    );
    assert.equal(spendAlertFacts(change("spend_alert", "added", null, alert(100, []))).weakened, false);
  });
});

describe("project model permissions", () => {
  const policy = (mode: string, ids: string[]) => ({ object: "project.model_permissions", mode, model_ids: ids });

  it("widened: a model added to an allow list, dropped from a deny list, allow turned deny, a policy removed", () => {
    assert.deepEqual(
      modelPermissionFacts(
        change("project_model_permissions", "changed", policy("allow_list", ["a"]), policy("allow_list", ["a", "b"])),
      ),
      { widened: true, how: "models added to the allow list", newly_allowed: ["b"] },
    );
    assert.deepEqual(
      modelPermissionFacts(
        change("project_model_permissions", "changed", policy("deny_list", ["x", "y"]), policy("deny_list", ["x"])),
      ),
      { widened: true, how: "models removed from the deny list", newly_allowed: ["y"] },
    );
    assert.equal(
      modelPermissionFacts(
        change("project_model_permissions", "changed", policy("allow_list", ["a"]), policy("deny_list", ["z"])),
      ).how,
      "allow list replaced by a deny list",
    );
    assert.equal(
      modelPermissionFacts(change("project_model_permissions", "removed", policy("allow_list", ["a"]), null)).widened,
      true,
    );
  });

  it("not widened: narrowed lists, a policy that appears, an empty deny list removed", () => {
    const narrowed = change(
      "project_model_permissions",
      "changed",
      policy("allow_list", ["a", "b"]),
      policy("allow_list", ["a"]),
    );
    assert.equal(modelPermissionFacts(narrowed).widened, false);
    assert.equal(
      modelPermissionFacts(change("project_model_permissions", "added", null, policy("allow_list", []))).widened,
      false,
    );
    assert.equal(
      modelPermissionFacts(change("project_model_permissions", "removed", policy("deny_list", []), null)).widened,
      false,
    );
    const denyToAllow = change(
      "project_model_permissions",
      "changed",
      policy("deny_list", ["x"]),
      policy("allow_list", ["a"]),
    );
    assert.equal(modelPermissionFacts(denyToAllow).widened, false);
  });
});

describe("project hosted-tool permissions", () => {
  it("a tool switched on (or newly present and on) widens; switched off does not; disappearing cannot be told", () => {
    const before = { web_search: { enabled: true }, mcp: { enabled: false } };
    assert.deepEqual(
      hostedToolFacts(
        change("project_hosted_tool_permissions", "changed", before, {
          web_search: { enabled: true },
          mcp: { enabled: true },
          code_interpreter: { enabled: true },
        }),
      ),
      { widened: true, how: "hosted tools enabled", newly_allowed: ["code_interpreter", "mcp"] },
    );
    const off = { web_search: { enabled: false }, mcp: { enabled: false } };
    assert.equal(hostedToolFacts(change("project_hosted_tool_permissions", "changed", before, off)).widened, false);
    assert.equal(hostedToolFacts(change("project_hosted_tool_permissions", "removed", before, null)).widened, null);
    assert.equal(hostedToolFacts(change("project_hosted_tool_permissions", "added", null, before)).widened, false);
  });

  it("other kinds of change carry no control facts", () => {
    assert.equal(controlFacts(change("project_api_key", "removed", { id: "k" }, null), undefined), null);
  });
});
