// Builders for the engine's tests: real-shape OpenAI events, normalized as the pipeline does.

import { loadOpenAIAuditLogType } from "../../schema/index.ts";
import { ACTORS, CLASSIC_PAYLOADS } from "../../schema/openai/golden-cases.ts";
import { defineRule, type RuleSpec } from "../define-rule.ts";
import type { BatchEvent } from "./engine.ts";
import { fromDefinition, type LoadedRule } from "./loaded-rule.ts";

let seq = 0;

export function rawRecord(
  type: string,
  options: { actor?: keyof typeof ACTORS; effectiveAt?: number; id?: string } = {},
): Record<string, unknown> {
  const raw: Record<string, unknown> = {
    object: "organization.audit_log",
    id: options.id ?? `audit_log-${type}-${++seq}`,
    type,
    effective_at: options.effectiveAt ?? 1722461446,
    project: { id: "proj_abc", name: "Research" },
    actor: structuredClone(ACTORS[options.actor ?? "session"]),
  };
  const payload = CLASSIC_PAYLOADS[type];
  if (payload !== undefined) raw[type] = structuredClone(payload);
  return raw;
}

export function normalized(raw: Record<string, unknown>): Record<string, unknown> {
  const result = loadOpenAIAuditLogType().normalize(raw, {
    sourceId: "src-1",
    sourceLabel: "OpenAI",
    parseTimeMs: Date.UTC(2025, 0, 1),
  });
  if (!result.ok) throw new Error(`normalize failed: ${JSON.stringify(result.issues)}`);
  return result.record;
}

export function batchEvent(
  type: string,
  options: { actor?: keyof typeof ACTORS; effectiveAt?: number; sourceId?: string; id?: string } = {},
): BatchEvent {
  const record = normalized(rawRecord(type, options));
  return { sourceId: options.sourceId ?? "src-1", eventId: String(record.id), record };
}

export function tsRule(spec: Partial<RuleSpec> & Pick<RuleSpec, "rule">, packId: string | null = null): LoadedRule {
  return fromDefinition(
    defineRule({ id: "Test.Rule", logTypes: ["OpenAI.Audit"], severity: "MEDIUM", ...spec }),
    "test.ts",
    packId,
  );
}
