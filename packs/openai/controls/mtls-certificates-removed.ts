// Row 21: mTLS client certificates deactivated or deleted. Retiring one certificate is rotation (routine:
// LOW, one alert per actor a day); deactivating several in one action switches mutual TLS off (HIGH).

import { defineRule } from "../../../src/detections/define-rule.ts";
import type { PantherEvent } from "../../../src/detections/event/index.ts";
import { actorLabel, DAILY_DEDUP_MINUTES, payloadField, standardContext } from "../_common.ts";
import { eventType, namedItems, payloadText, rawEvent } from "../_controls.ts";

const TYPES = new Set(["certificates.deactivated", "certificate.deleted"]);

function certificates(event: PantherEvent): Array<{ id: string | null; name: string | null }> {
  if (eventType(event) === "certificate.deleted") {
    return [{ id: payloadText(event, "id"), name: payloadText(event, "name") }];
  }
  return namedItems(payloadField(event, "certificates"));
}

function names(event: PantherEvent): string {
  const list = certificates(event)
    .map((c) => c.name ?? c.id)
    .filter((n): n is string => n !== null);
  return list.length > 0 ? list.join(", ") : "unknown certificate";
}

function severity(event: PantherEvent): "HIGH" | "LOW" {
  return eventType(event) === "certificates.deactivated" && certificates(event).length > 1 ? "HIGH" : "LOW";
}

export default defineRule({
  id: "OpenAI.Controls.MTLSCertificatesRemoved",
  displayName: "OpenAI mTLS certificates removed",
  logTypes: ["OpenAI.Audit"],
  severity: "HIGH",
  dedupPeriodMinutes: DAILY_DEDUP_MINUTES,
  description:
    "Organization mTLS client certificates were deactivated (certificates.deactivated) or deleted " +
    "(certificate.deleted). One certificate: LOW, one alert per actor a day (routine rotation looks like " +
    "this). Several deactivated in one action: HIGH (mutual-TLS enforcement for API clients is likely switched off). Reads " +
    "certificates.deactivated.certificates[].{id,name} and certificate.deleted.{id,name}; the PEM body of " +
    "certificate.deleted is not copied into the alert.",
  reference: "https://platform.openai.com/docs/api-reference/certificates",
  runbook:
    "1. Confirm with the actor (alert_context.actor_email) that the certificates were rotated or retired on " +
    "purpose, and that replacements were uploaded and activated (certificate.created / certificates.activated).\n" +
    "2. If no replacement is active, mTLS is no longer enforced: re-activate the certificates.\n" +
    "3. Review API key creation and other admin changes by the same actor and source IP around the change.",
  tags: ["OpenAI", "Defense Evasion", "Network Controls", "Configuration Change"],
  reports: { MITRE: ["TA0005:T1562", "TA0005:T1556"] },
  rule: (event) => TYPES.has(eventType(event)),
  title: (event) => {
    const verb = eventType(event) === "certificate.deleted" ? "deleted" : "deactivated";
    return `OpenAI mTLS certificate(s) [${names(event)}] ${verb} by ${actorLabel(event)}`;
  },
  dedup: (event) => `${actorLabel(event)}:mtls:${severity(event)}`,
  dynamicSeverity: severity,
  alertContext: (event) => standardContext(event, { certificates: certificates(event) }),
  tests: [
    {
      name: "All certificates deactivated",
      expected: true,
      expectedSeverity: "HIGH",
      expectedTitle: "OpenAI mTLS certificate(s) [corp-2025, corp-2026] deactivated by owner@acme.test",
      log: rawEvent("certificates.deactivated", {
        certificates: [
          { id: "cert_a", name: "corp-2025" },
          { id: "cert_b", name: "corp-2026" },
        ],
      }),
    },
    {
      name: "Certificate deleted (rotation) → LOW",
      expected: true,
      expectedSeverity: "LOW",
      expectedTitle: "OpenAI mTLS certificate(s) [corp-2025] deleted by owner@acme.test",
      log: rawEvent("certificate.deleted", {
        id: "cert_a",
        name: "corp-2025",
        certificate: "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n",
      }),
    },
    {
      name: "Near miss: one certificate deactivated is LOW",
      expected: true,
      expectedSeverity: "LOW",
      log: rawEvent("certificates.deactivated", { certificates: [{ id: "cert_a", name: "corp-2025" }] }),
    },
    {
      name: "Near miss: certificates activated",
      expected: false,
      log: rawEvent("certificates.activated", { certificates: [{ id: "cert_a", name: "corp-2025" }] }),
    },
  ],
});
