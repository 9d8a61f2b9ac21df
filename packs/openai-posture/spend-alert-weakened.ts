// A spend alert of the organization or of a project removed, its threshold raised, or left without recipients
// between two snapshots: runaway spend (a leaked key used for mining completions) can then grow unnoticed.
// Spend alerts are the spend control the Admin API lets Vigil read (hard spend limits have no read endpoint).

import { defineRule } from "../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../src/detections/event/index.ts";
import { changeRecord, fact, isChange, objectDedup, POSTURE, runbookAt } from "./_posture.ts";

const KINDS = ["spend_alert", "project_spend_alert"];

function described(event: PantherEvent): string {
  const of = (name: string) => event.deepGet("before", name) ?? event.deepGet("after", name);
  const id = String(of("id") ?? event.get("object_id"));
  const amount = of("threshold_amount");
  const currency = typeof of("currency") === "string" ? ` ${String(of("currency"))}` : "";
  const interval = typeof of("interval") === "string" ? ` per ${String(of("interval"))}` : "";
  const threshold = typeof amount === "number" ? ` (${amount} cents${currency}${interval})` : "";
  const scope =
    event.get("kind") === "spend_alert"
      ? "organization"
      : `project ${String(event.get("project_name") ?? event.get("project_id"))}`;
  return `${scope} spend alert ${id}${threshold}`;
}

export default defineRule({
  id: "OpenAI.Posture.SpendAlertWeakened",
  displayName: "OpenAI spend alert removed or loosened",
  logTypes: [POSTURE],
  severity: "MEDIUM",
  dedupPeriodMinutes: 60,
  description:
    "A spend alert present in the previous snapshot was removed, its threshold was raised, or it lost its last " +
    "recipient. Spend alerts are how an organization hears about runaway usage, such as a leaked key.",
  reference: "https://platform.openai.com/docs/api-reference/administration",
  runbook: runbookAt(
    "spend-alert-weakened",
    "confirm the change with the billing owners; restore the alert (threshold, recipients) if unplanned.",
  ),
  tags: ["OpenAI", "Posture", "Controls", "Impact"],
  rule: (event) => isChange(event, ...KINDS) && fact(event, "weakened") === true,
  title: (event) => `OpenAI ${described(event)} ${String(fact(event, "how"))}`,
  dedup: objectDedup,
  alertContext: (event) => ({
    kind: event.get("kind"),
    object_id: event.get("object_id"),
    project_id: event.get("project_id"),
    how: fact(event, "how"),
    before: event.get("before"),
    after: event.get("after"),
    audit_event_ids: event.deepGet("audit", "event_ids"),
  }),
  tests: [
    {
      name: "Organization spend alert removed",
      expected: true,
      log: changeRecord({
        kind: "spend_alert",
        object_id: "spa_1",
        change: "removed",
        before: { id: "spa_1", threshold_amount: 50000, currency: "usd", interval: "month" },
        after: null,
        facts: { weakened: true, how: "removed" },
      }),
      expectedTitle: "OpenAI organization spend alert spa_1 (50000 cents usd per month) removed",
      expectedDedup: "spend_alert:spa_1",
    },
    {
      name: "Project spend alert threshold raised",
      expected: true,
      log: changeRecord({
        kind: "project_spend_alert",
        object_id: "proj_1/spa_2",
        project_id: "proj_1",
        project_name: "Support bot",
        change: "changed",
        fields: ["threshold_amount"],
        before: { id: "spa_2", threshold_amount: 10000, currency: "usd", interval: "day" },
        after: { id: "spa_2", threshold_amount: 900000, currency: "usd", interval: "day" },
        facts: { weakened: true, how: "threshold raised from 10000 to 900000 cents usd" },
      }),
      expectedTitle:
        "OpenAI project Support bot spend alert spa_2 (10000 cents usd per day) threshold raised from 10000 to 900000 cents usd",
    },
    {
      name: "Threshold lowered",
      expected: false,
      log: changeRecord({
        kind: "spend_alert",
        object_id: "spa_3",
        change: "changed",
        fields: ["threshold_amount"],
        facts: { weakened: false, how: null },
      }),
    },
    {
      name: "Near miss: a spend alert added",
      expected: false,
      log: changeRecord({ kind: "spend_alert", object_id: "spa_4", change: "added", facts: { weakened: false } }),
    },
  ],
});
