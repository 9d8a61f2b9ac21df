// The OpenAI.Audit log type: the generic engine over schemas/OpenAI.Audit.yml, then the OpenAI
// projection, and a check of the event type against OpenAI's published list so that the caller can
// record each new type once.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isKnownEventType } from "../../core/event-types.ts";
import { parseSchemaDefinition } from "../definition.ts";
import { buildLogType } from "../log-type.ts";
import type { LogType } from "../types.ts";
import { projectOpenAIAudit } from "./projection.ts";

export const OPENAI_AUDIT_SCHEMA_PATH = fileURLToPath(new URL("../schemas/OpenAI.Audit.yml", import.meta.url));

let cached: LogType | undefined;

export function loadOpenAIAuditLogType(): LogType {
  if (cached !== undefined) return cached;
  const definition = parseSchemaDefinition(readFileSync(OPENAI_AUDIT_SCHEMA_PATH, "utf8"), {
    fileName: "OpenAI.Audit.yml",
  });
  cached = buildLogType(definition, {
    project: projectOpenAIAudit,
    isUnknownType: (record) => typeof record.type === "string" && !isKnownEventType(record.type),
  });
  return cached;
}
