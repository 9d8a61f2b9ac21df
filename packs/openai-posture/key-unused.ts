// An admin or project API key not used for longer than the threshold (VIGIL_POSTURE_UNUSED_DAYS, default 90):
// nobody needs it, so it is only risk. A key never used counts from its creation.

import { defineRule } from "../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../src/detections/event/index.ts";
import {
  DAY_SECS,
  fact,
  field,
  isObject,
  NOW_SECS,
  objectContext,
  objectDedup,
  objectRecord,
  POSTURE,
  runbookAt,
  setting,
} from "./_posture.ts";

const unusedDays = (event: PantherEvent) => Number(fact(event, "unused_days"));
const threshold = (event: PantherEvent) => Number(setting(event, "unused_days") ?? 90);

export default defineRule({
  id: "OpenAI.Posture.KeyUnused",
  displayName: "OpenAI API key unused for a long time",
  logTypes: [POSTURE],
  severity: "MEDIUM",
  dedupPeriodMinutes: 1440,
  description:
    "An admin or project API key has not been used for longer than the threshold (VIGIL_POSTURE_UNUSED_DAYS, " +
    "default 90 days; a key never used counts from its creation). Unused keys are pure exposure. HIGH for admin keys.",
  reference: "https://platform.openai.com/docs/api-reference/project-api-keys",
  runbook: runbookAt("key-unused", "confirm with the owner that nothing depends on the key, then delete it."),
  tags: ["OpenAI", "Posture", "Credentials", "Hygiene"],
  rule: (event) =>
    isObject(event, "admin_api_key", "project_api_key") &&
    Number.isFinite(unusedDays(event)) &&
    fact(event, "unused_days") !== null &&
    unusedDays(event) > threshold(event),
  title: (event) =>
    `OpenAI ${event.get("kind") === "admin_api_key" ? "admin" : "project"} API key ${String(field(event, "name") ?? event.get("object_id"))} ` +
    `${fact(event, "never_used") === true ? "never used" : "unused"} for ${unusedDays(event)} days (owner ${String(fact(event, "owner_label") ?? "unknown")})`,
  dedup: objectDedup,
  dynamicSeverity: (event) => (event.get("kind") === "admin_api_key" ? "HIGH" : "MEDIUM"),
  alertContext: (event) =>
    objectContext(event, {
      unused_days: unusedDays(event),
      never_used: fact(event, "never_used"),
      threshold_days: threshold(event),
      owner: fact(event, "owner_label") ?? null,
    }),
  tests: [
    {
      name: "Project key last used 120 days ago",
      expected: true,
      log: objectRecord(
        "project_api_key",
        { id: "key_p1", name: "batch", last_used_at: NOW_SECS - 120 * DAY_SECS },
        { unused_days: 120, never_used: false, owner_label: "ada@acme-robotics.com" },
        {},
        "proj_1",
      ),
      expectedTitle: "OpenAI project API key batch unused for 120 days (owner ada@acme-robotics.com)",
      expectedSeverity: "MEDIUM",
      expectedDedup: "project_api_key:key_p1",
    },
    {
      name: "Admin key never used since created 200 days ago → HIGH",
      expected: true,
      log: objectRecord("admin_api_key", { id: "key_a1", name: "old" }, { unused_days: 200, never_used: true }),
      expectedSeverity: "HIGH",
    },
    {
      name: "Key used 10 days ago",
      expected: false,
      log: objectRecord("project_api_key", { id: "key_p2" }, { unused_days: 10 }, {}, "proj_1"),
    },
    {
      name: "The threshold is configurable: 45 days unused with a 30-day threshold",
      expected: true,
      log: objectRecord("project_api_key", { id: "key_p3" }, { unused_days: 45 }, { unused_days: 30 }, "proj_1"),
    },
    {
      name: "Near miss: exactly at the threshold",
      expected: false,
      log: objectRecord("project_api_key", { id: "key_p4" }, { unused_days: 90 }, {}, "proj_1"),
    },
    {
      name: "Near miss: unknown age (no created_at, never used)",
      expected: false,
      log: objectRecord("admin_api_key", { id: "key_a2" }, { unused_days: null }),
    },
  ],
});
