import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PostureKind } from "./endpoints.ts";
import { buildPostureRecords, type SnapshotObject } from "./records.ts";
import { DEFAULT_POSTURE_SETTINGS } from "./settings.ts";

const objects: SnapshotObject[] = [
  { kind: "user", id: "user-ada", projectId: null, data: { id: "user-ada", email: "ada@acme.com", role: "owner" } },
  {
    kind: "invite",
    id: "invite-1",
    projectId: null,
    data: { id: "invite-1", email: "carol@acme.com", status: "pending" },
  },
  {
    kind: "invite",
    id: "invite-2",
    projectId: null,
    data: { id: "invite-2", email: "eve@evil.test", status: "pending" },
  },
  {
    kind: "invite",
    id: "invite-3",
    projectId: null,
    data: { id: "invite-3", email: "eve@gmail.com", status: "pending" },
  },
];

/** Each invite's outside_org_domains, with the organization's domains learned from its users. */
function outside(completeKinds: PostureKind[]): Array<unknown> {
  const records = buildPostureRecords({
    objects,
    completeKinds: new Set(completeKinds),
    changes: null,
    settings: DEFAULT_POSTURE_SETTINGS,
    nowSecs: 1_800_000_000,
  });
  return records
    .filter((r) => r.record.kind === "invite")
    .map((r) => (r.record.facts as Record<string, unknown>).outside_org_domains);
}

describe("buildPostureRecords", () => {
  it("judges an invite's domain against the users' domains, and not at all when the users were not all read", () => {
    assert.deepEqual(outside(["user", "invite"]), [false, true, true]);
    // Learned from a partial list, every domain would look outside: unknown instead (no finding). Free mail is
    // never the organization's, known or not.
    assert.deepEqual(outside(["invite"]), [null, null, true]);
  });
});
