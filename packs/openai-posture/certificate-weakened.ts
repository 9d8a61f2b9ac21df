// An mTLS certificate removed or deactivated between two snapshots: clients holding it may no longer be
// required to present it, or the control is gone. Seen from state, so it fires even when the audit log has no
// certificate.deleted / certificates.deactivated event (that case is drift too).

import { defineRule } from "../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../src/detections/event/index.ts";
import { changeRecord, isChange, objectDedup, POSTURE, runbookAt } from "./_posture.ts";

const before = (event: PantherEvent, name: string) => event.deepGet("before", name);
const after = (event: PantherEvent, name: string) => event.deepGet("after", name);

export default defineRule({
  id: "OpenAI.Posture.CertificateWeakened",
  displayName: "OpenAI mTLS certificate removed or deactivated",
  logTypes: [POSTURE],
  severity: "HIGH",
  dedupPeriodMinutes: 60,
  description:
    "An organization mTLS certificate present in the previous snapshot is gone, or went from active to inactive. " +
    "Mutual TLS is a control on who may call the API; removing it weakens that control.",
  reference: "https://platform.openai.com/docs/api-reference/certificates",
  runbook: runbookAt(
    "certificate-weakened",
    "confirm the change with the owners (audit log: certificate.deleted, certificates.deactivated); restore the certificate if unplanned.",
  ),
  tags: ["OpenAI", "Posture", "Controls", "Defense Evasion"],
  rule: (event) =>
    isChange(event, "certificate") &&
    (event.get("change") === "removed" ||
      (event.get("change") === "changed" && before(event, "active") === true && after(event, "active") === false)),
  title: (event) =>
    `OpenAI mTLS certificate ${String(before(event, "name") ?? event.get("object_id"))} ${event.get("change") === "removed" ? "removed" : "deactivated"}`,
  dedup: objectDedup,
  alertContext: (event) => ({
    object_id: event.get("object_id"),
    change: event.get("change"),
    before: event.get("before"),
    after: event.get("after"),
    audit_event_ids: event.deepGet("audit", "event_ids"),
  }),
  tests: [
    {
      name: "Certificate removed",
      expected: true,
      log: changeRecord({
        kind: "certificate",
        object_id: "cert_1",
        change: "removed",
        before: { id: "cert_1", name: "corp-mtls-2026", active: true },
        after: null,
        audit: { checked: true, expected_types: ["certificate.deleted"], event_ids: ["audit_log-1"] },
      }),
      expectedTitle: "OpenAI mTLS certificate corp-mtls-2026 removed",
      expectedDedup: "certificate:cert_1",
    },
    {
      name: "Certificate deactivated",
      expected: true,
      log: changeRecord({
        kind: "certificate",
        object_id: "cert_2",
        change: "changed",
        fields: ["active"],
        before: { id: "cert_2", name: "corp-mtls-2025", active: true },
        after: { id: "cert_2", name: "corp-mtls-2025", active: false },
        audit: { checked: false, expected_types: [], event_ids: [] },
      }),
      expectedTitle: "OpenAI mTLS certificate corp-mtls-2025 deactivated",
    },
    {
      name: "Certificate activated",
      expected: false,
      log: changeRecord({
        kind: "certificate",
        object_id: "cert_3",
        change: "changed",
        fields: ["active"],
        before: { id: "cert_3", active: false },
        after: { id: "cert_3", active: true },
      }),
    },
    {
      name: "Near miss: a certificate added",
      expected: false,
      log: changeRecord({
        kind: "certificate",
        object_id: "cert_4",
        change: "added",
        before: null,
        after: { id: "cert_4" },
      }),
    },
    {
      name: "Near miss: a removed project key is not a certificate",
      expected: false,
      log: changeRecord({ kind: "project_api_key", object_id: "key_1", change: "removed" }),
    },
  ],
});
