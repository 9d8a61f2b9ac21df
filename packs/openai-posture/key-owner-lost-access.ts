// A project API key whose owner (a user or a service account) is no longer a member of the key's project: the key
// outlived its owner's access, and still works.

import { defineRule } from "../../src/detections/define-rule.ts";
import { fact, field, isObject, objectContext, objectDedup, objectRecord, POSTURE, runbookAt } from "./_posture.ts";

export default defineRule({
  id: "OpenAI.Posture.KeyOwnerLostProjectAccess",
  displayName: "OpenAI project key whose owner left the project",
  logTypes: [POSTURE],
  severity: "HIGH",
  dedupPeriodMinutes: 1440,
  description:
    "A project API key's owner is no longer among the project's users (or service accounts): people who leave a " +
    "project, or the organization, keep working credentials until their keys are deleted.",
  reference: "https://platform.openai.com/docs/api-reference/project-api-keys",
  runbook: runbookAt(
    "key-owner-lost-access",
    "find what uses the key (last_used_at, the owner's team); move it to a service-account key; delete this key.",
  ),
  tags: ["OpenAI", "Posture", "Credentials", "Offboarding"],
  // Only a definite false: null means the membership list could not be read (unknown, not lost).
  rule: (event) => isObject(event, "project_api_key") && fact(event, "owner_has_project_access") === false,
  title: (event) =>
    `OpenAI project API key ${String(field(event, "name") ?? event.get("object_id"))} in ${String(event.get("project_id"))} ` +
    `belongs to ${String(fact(event, "owner_label") ?? fact(event, "owner_id"))}, who is no longer in the project`,
  dedup: objectDedup,
  alertContext: (event) =>
    objectContext(event, { owner_id: fact(event, "owner_id"), owner_type: fact(event, "owner_type") }),
  tests: [
    {
      name: "Owner no longer a project member",
      expected: true,
      log: objectRecord(
        "project_api_key",
        { id: "key_x", name: "etl" },
        { owner_has_project_access: false, owner_id: "user-1", owner_label: "bob@acme-robotics.com" },
        {},
        "proj_9",
      ),
      expectedTitle:
        "OpenAI project API key etl in proj_9 belongs to bob@acme-robotics.com, who is no longer in the project",
    },
    {
      name: "Owner still a member",
      expected: false,
      log: objectRecord("project_api_key", { id: "key_y" }, { owner_has_project_access: true }, {}, "proj_9"),
    },
    {
      name: "Near miss: membership unknown (the project users endpoint was not readable)",
      expected: false,
      log: objectRecord("project_api_key", { id: "key_z" }, { owner_has_project_access: null }, {}, "proj_9"),
    },
  ],
});
