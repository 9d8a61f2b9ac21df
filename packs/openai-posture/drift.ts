// Drift: an object changed between two snapshots and no audit event of the types that record such a change
// names it in between. The audit log missed it, or the change was made outside the API (support, a backend
// migration). Judged only once the audit log is read past the snapshot (`audit.checked`), and only for changes
// some audit event type records (`audit.expected_types` not empty).

import { defineRule } from "../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../src/detections/event/index.ts";
import { changeRecord, objectDedup, POSTURE, runbookAt } from "./_posture.ts";

const expected = (event: PantherEvent): string[] => {
  const types = event.deepGet("audit", "expected_types");
  return Array.isArray(types) ? types.map(String) : [];
};

const described = (event: PantherEvent): string => {
  const fields = event.get("fields");
  const list = Array.isArray(fields) && fields.length > 0 ? ` (${fields.map(String).join(", ")})` : "";
  return `${String(event.get("change"))}${list}`;
};

export default defineRule({
  id: "OpenAI.Posture.Drift",
  displayName: "OpenAI state changed with no audit event",
  logTypes: [POSTURE],
  severity: "HIGH",
  dedupPeriodMinutes: 60,
  description:
    "An object of the organization changed between two inventory snapshots, and the audit log holds no event of " +
    "the types that record such a change naming it in that interval. Either the audit log missed it or the change " +
    "did not go through the API.",
  reference: "https://platform.openai.com/docs/api-reference/audit-logs",
  runbook: runbookAt(
    "drift",
    "compare before/after in the alert; ask the owners who made the change; report missing audit events to OpenAI.",
  ),
  tags: ["OpenAI", "Posture", "Drift", "Defense Evasion"],
  rule: (event) =>
    event.get("record_type") === "change" &&
    event.deepGet("audit", "checked") === true &&
    expected(event).length > 0 &&
    ((event.deepGet("audit", "event_ids") as unknown[] | null) ?? []).length === 0,
  title: (event) =>
    `OpenAI ${String(event.get("kind"))} ${String(event.get("object_id"))} ${described(event)} with no audit event`,
  dedup: objectDedup,
  alertContext: (event) => ({
    kind: event.get("kind"),
    object_id: event.get("object_id"),
    change: event.get("change"),
    fields: event.get("fields"),
    before: event.get("before"),
    after: event.get("after"),
    expected_event_types: expected(event),
  }),
  tests: [
    {
      name: "A project key appeared with no api_key.created event",
      expected: true,
      log: changeRecord({
        kind: "project_api_key",
        object_id: "key_ghost",
        change: "added",
        after: { id: "key_ghost" },
        audit: { checked: true, expected_types: ["api_key.created"], event_ids: [] },
      }),
      expectedTitle: "OpenAI project_api_key key_ghost added with no audit event",
      expectedDedup: "project_api_key:key_ghost",
    },
    {
      name: "A role change with its user.updated event",
      expected: false,
      log: changeRecord({
        kind: "user",
        object_id: "user-1",
        change: "changed",
        fields: ["role"],
        audit: { checked: true, expected_types: ["user.updated"], event_ids: ["audit_log-1"] },
      }),
    },
    {
      name: "A role change without one",
      expected: true,
      log: changeRecord({
        kind: "user",
        object_id: "user-1",
        change: "changed",
        fields: ["role"],
        audit: { checked: true, expected_types: ["user.updated"], event_ids: [] },
      }),
      expectedTitle: "OpenAI user user-1 changed (role) with no audit event",
    },
    {
      name: "Near miss: the audit log is not read up to the snapshot yet",
      expected: false,
      log: changeRecord({
        kind: "user",
        object_id: "user-2",
        change: "removed",
        audit: { checked: false, expected_types: ["user.deleted"], event_ids: [] },
      }),
    },
    {
      name: "Near miss: no audit event type records this change (an invite that expired)",
      expected: false,
      log: changeRecord({
        kind: "invite",
        object_id: "invite-1",
        change: "removed",
        audit: { checked: true, expected_types: [], event_ids: [] },
      }),
    },
  ],
});
