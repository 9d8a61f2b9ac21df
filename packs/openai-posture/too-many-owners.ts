// More organization owners than the threshold (VIGIL_POSTURE_MAX_OWNERS, default 3): every owner can mint admin
// keys and change every control, and owners nobody remembers are how that goes wrong.

import { defineRule } from "../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../src/detections/event/index.ts";
import { fact, organizationRecord, POSTURE, runbookAt, setting } from "./_posture.ts";

const count = (event: PantherEvent) => Number(fact(event, "owner_count"));
const max = (event: PantherEvent) => Number(setting(event, "max_owners") ?? 3);

export default defineRule({
  id: "OpenAI.Posture.TooManyOwners",
  displayName: "OpenAI organization has too many owners",
  logTypes: [POSTURE],
  severity: "MEDIUM",
  dedupPeriodMinutes: 1440,
  description:
    "The organization has more owners than the threshold (VIGIL_POSTURE_MAX_OWNERS, default 3). Owners hold every " +
    "permission, admin keys included; most people need the reader role.",
  reference: "https://platform.openai.com/docs/api-reference/users",
  runbook: runbookAt("too-many-owners", "review the owners list (alert context); demote those who do not need it."),
  tags: ["OpenAI", "Posture", "Privilege"],
  rule: (event) =>
    event.get("record_type") === "organization" && fact(event, "users_complete") === true && count(event) > max(event),
  title: (event) => `OpenAI organization has ${count(event)} owners (threshold ${max(event)})`,
  dedup: () => "organization:organization",
  alertContext: (event) => ({ owner_count: count(event), threshold: max(event), owners: fact(event, "owners") }),
  tests: [
    {
      name: "Five owners over a threshold of three",
      expected: true,
      log: organizationRecord({
        users_complete: true,
        owner_count: 5,
        owners: [{ id: "user-1", email: "a@acme-robotics.com" }],
      }),
      expectedTitle: "OpenAI organization has 5 owners (threshold 3)",
      expectedDedup: "organization:organization",
    },
    { name: "Three owners", expected: false, log: organizationRecord({ users_complete: true, owner_count: 3 }) },
    {
      name: "Near miss: the users list was not read completely",
      expected: false,
      log: organizationRecord({ users_complete: false, owner_count: 9 }),
    },
    {
      name: "The threshold is configurable",
      expected: true,
      log: organizationRecord({ users_complete: true, owner_count: 2 }, { max_owners: 1 }),
    },
  ],
});
