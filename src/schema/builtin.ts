// The schemas that ship with Vigil. Each entry knows its file and how to load its log type (a
// built-in may add a log-type-specific step after the generic engine, as OpenAI.Audit does).

import { readFileSync } from "node:fs";
import { parseSchemaDefinition, type SchemaDef } from "./definition.ts";
import { loadOpenAIAuditLogType, OPENAI_AUDIT_SCHEMA_PATH } from "./openai/log-type.ts";
import type { LogType } from "./types.ts";

export interface BuiltinSchema {
  name: string;
  path: string;
  load(): LogType;
}

export const BUILTIN_SCHEMAS: readonly BuiltinSchema[] = [
  { name: "OpenAI.Audit", path: OPENAI_AUDIT_SCHEMA_PATH, load: loadOpenAIAuditLogType },
];

export function findBuiltinSchema(name: string): BuiltinSchema | undefined {
  return BUILTIN_SCHEMAS.find((s) => s.name === name);
}

/** The checked definition of a built-in schema (for listings and documentation). */
export function readBuiltinDefinition(schema: BuiltinSchema): SchemaDef {
  return parseSchemaDefinition(readFileSync(schema.path, "utf8"), { fileName: schema.path.split(/[\\/]/).pop() });
}
