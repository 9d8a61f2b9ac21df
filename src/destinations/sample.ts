// The notification `vigil destinations test NAME` sends: clearly a test, realistic enough to check formatting.

import type { AlertNotification } from "./types.ts";

export function sampleNotification(options: { nowMs?: number; consoleUrl?: string | null } = {}): AlertNotification {
  const nowMs = options.nowMs ?? Date.now();
  return {
    kind: "test",
    alertId: `test-${nowMs.toString(36)}`,
    ruleId: "Vigil.Test.Notification",
    ruleName: "Vigil test notification",
    title: "TEST: Vigil destination test — no action needed",
    severity: "INFO",
    status: "OPEN",
    isError: false,
    sourceId: "vigil-test",
    sourceName: "Vigil (test)",
    logType: "OpenAI.Audit",
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
    matchCount: 1,
    alertContext: {
      test: true,
      note: "Sent by `vigil destinations test`; this is not a real alert.",
      event_type: "api_key.created",
    },
    description: "This is a test notification sent by `vigil destinations test` to check that this destination works.",
    reference: null,
    runbook: "No action needed: this is a test.",
    tags: ["test"],
    reports: {},
    actor: { type: "user", id: "user-test", email: "test@example.com", ip: "192.0.2.1" },
    consoleUrl: options.consoleUrl ?? null,
  };
}
