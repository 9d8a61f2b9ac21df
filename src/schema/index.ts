// The log-schema engine: Panther custom log schemas (YAML) compiled into fast normalizers.
//
//   const logType = compileSchema(yamlText, { fileName: "MyLogs.yml" });   // throws SchemaError
//   const result = logType.normalize(JSON.parse(line), { sourceId, sourceLabel, parseTimeMs });
//
// The engine is generic; OpenAI.Audit is one schema file plus an OpenAI-specific projection step.

import { parseSchemaDefinition } from "./definition.ts";
import { buildLogType } from "./log-type.ts";
import type { LogType } from "./types.ts";

export { BUILTIN_SCHEMAS, type BuiltinSchema, findBuiltinSchema } from "./builtin.ts";
export { columnName } from "./column-name.ts";
export type { FieldDef, SchemaDef, ValueDef } from "./definition.ts";
export { parseSchemaDefinition } from "./definition.ts";
export { INDICATOR_KINDS, P_ANY_FIELDS } from "./indicators.ts";
export { loadOpenAIAuditLogType } from "./openai/log-type.ts";
export { projectOpenAIAudit } from "./openai/projection.ts";
export { SchemaError } from "./schema-error.ts";
export { formatPantherTime } from "./time/instant.ts";
export type { LogType, NormalizeContext, NormalizeResult, ValidationIssue } from "./types.ts";

/** Compiles a Panther log schema; throws SchemaError (naming the field) when the schema is invalid. */
export function compileSchema(yamlText: string, options: { fileName?: string } = {}): LogType {
  return buildLogType(parseSchemaDefinition(yamlText, options));
}
