// Reads a Panther custom log schema (YAML) into a checked definition. Every problem is reported as a
// SchemaError naming the field (dotted path, `[]` for array elements), so a bad schema is rejected
// at load time and never half-applies. Unknown keys are rejected too: a typo such as `requried`
// would otherwise silently change behaviour.

import { parse as parseYaml } from "yaml";
import { columnName } from "./column-name.ts";
import { INDICATOR_KINDS, isIndicatorKind } from "./indicators.ts";
import { SchemaError } from "./schema-error.ts";
import { compileTimeFormat } from "./time/formats.ts";

export const FIELD_TYPES = [
  "string",
  "int",
  "smallint",
  "bigint",
  "float",
  "boolean",
  "timestamp",
  "object",
  "array",
  "json",
  "ref",
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface ValidateDef {
  allow?: string[];
  deny?: string[];
  ip?: "ipv4" | "ipv6" | "any";
  cidr?: "ipv4" | "ipv6" | "any";
}

export interface ValueDef {
  type: FieldType;
  indicators: string[];
  validate?: ValidateDef;
  timeFormats: string[];
  isEventTime: boolean;
  fields: FieldDef[];
  element?: ValueDef;
  isEmbeddedJSON: boolean;
  target?: string;
}

export interface FieldDef extends ValueDef {
  name: string;
  required: boolean;
  description?: string;
}

export interface SchemaDef {
  name: string;
  description?: string;
  referenceURL?: string;
  /** Vigil keeps undeclared fields unless the schema sets `fieldDiscoveryEnabled: false`. */
  keepUndeclared: boolean;
  fields: FieldDef[];
  definitions: Map<string, ValueDef>;
}

const TOP_KEYS = new Set([
  "version",
  "schema",
  "description",
  "referenceURL",
  "fieldDiscoveryEnabled",
  "fields",
  "definitions",
  "parser",
]);
const VALUE_KEYS = new Set([
  "type",
  "description",
  "indicators",
  "validate",
  "timeFormat",
  "timeFormats",
  "isEventTime",
  "isExpiration",
  "fields",
  "element",
  "isEmbeddedJSON",
  "target",
]);
const FIELD_KEYS = new Set([...VALUE_KEYS, "name", "required"]);
// Panther transformations that Vigil does not implement; named so the error says so plainly.
const UNSUPPORTED_KEYS = new Set(["copy", "rename", "concat", "split", "mask"]);
const IP_VERSIONS = ["ipv4", "ipv6", "any"];
const SCHEMA_NAME = /^[A-Z][A-Za-z0-9]*(?:\.[A-Z][A-Za-z0-9_]*){0,3}$/;

interface Ctx {
  fileName?: string;
}

function fail(ctx: Ctx, field: string | null, message: string): never {
  throw new SchemaError(message, { field, fileName: ctx.fileName });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkKeys(ctx: Ctx, field: string, node: Record<string, unknown>, allowed: Set<string>): void {
  for (const key of Object.keys(node)) {
    if (allowed.has(key)) continue;
    if (UNSUPPORTED_KEYS.has(key)) fail(ctx, field, `the "${key}" transformation is not supported by Vigil`);
    fail(ctx, field, `unknown key "${key}"`);
  }
}

function optionalBoolean(ctx: Ctx, field: string, node: Record<string, unknown>, key: string): boolean {
  const v = node[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") fail(ctx, field, `"${key}" must be true or false, not ${JSON.stringify(v)}`);
  return v;
}

function optionalString(
  ctx: Ctx,
  field: string | null,
  node: Record<string, unknown>,
  key: string,
): string | undefined {
  const v = node[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") fail(ctx, field, `"${key}" must be text`);
  return v;
}

function stringList(ctx: Ctx, field: string, v: unknown, key: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) fail(ctx, field, `"${key}" must be a list of strings`);
  return v as string[];
}

function readValidate(ctx: Ctx, field: string, v: unknown): ValidateDef {
  if (!isRecord(v)) fail(ctx, field, `"validate" must be a mapping with allow, deny, ip or cidr`);
  checkKeys(ctx, field, v, new Set(["allow", "deny", "ip", "cidr"]));
  const out: ValidateDef = {};
  if (v.allow !== undefined) out.allow = stringList(ctx, field, v.allow, "validate.allow");
  if (v.deny !== undefined) out.deny = stringList(ctx, field, v.deny, "validate.deny");
  if (out.allow && out.deny) fail(ctx, field, `"validate" cannot have both allow and deny`);
  for (const key of ["ip", "cidr"] as const) {
    const version = v[key];
    if (version === undefined) continue;
    if (typeof version !== "string" || !IP_VERSIONS.includes(version))
      fail(ctx, field, `"validate.${key}" must be one of ${IP_VERSIONS.join(", ")}`);
    out[key] = version as ValidateDef["ip"];
  }
  return out;
}

function readTimeFormats(ctx: Ctx, field: string, node: Record<string, unknown>): string[] {
  const single = node.timeFormat;
  const list = node.timeFormats;
  if (single !== undefined && list !== undefined)
    fail(ctx, field, `use either "timeFormat" or "timeFormats", not both`);
  const formats =
    single !== undefined
      ? typeof single === "string"
        ? [single]
        : fail(ctx, field, `"timeFormat" must be text`)
      : list !== undefined
        ? stringList(ctx, field, list, "timeFormats")
        : [];
  if (formats.length === 0) fail(ctx, field, `a timestamp needs "timeFormat" or a non-empty "timeFormats" list`);
  for (const format of formats) {
    const compiled = compileTimeFormat(format);
    if (typeof compiled === "string") fail(ctx, field, compiled);
  }
  return formats;
}

/** Keys that only make sense for some types. */
const TYPE_ONLY: ReadonlyArray<readonly [string, readonly FieldType[]]> = [
  ["indicators", ["string"]],
  ["validate", ["string"]],
  ["timeFormat", ["timestamp"]],
  ["timeFormats", ["timestamp"]],
  ["isEventTime", ["timestamp"]],
  ["isExpiration", ["timestamp"]],
  ["fields", ["object"]],
  ["element", ["array"]],
  ["isEmbeddedJSON", ["object", "array", "json"]],
  ["target", ["ref"]],
];

function readValue(ctx: Ctx, field: string, node: Record<string, unknown>): ValueDef {
  const type = node.type;
  if (type === undefined || type === null) fail(ctx, field, `"type" is missing (one of ${FIELD_TYPES.join(", ")})`);
  if (typeof type !== "string" || !(FIELD_TYPES as readonly string[]).includes(type))
    fail(ctx, field, `unknown type ${JSON.stringify(type)} (expected one of ${FIELD_TYPES.join(", ")})`);
  const t = type as FieldType;
  for (const [key, types] of TYPE_ONLY) {
    if (node[key] !== undefined && !types.includes(t))
      fail(ctx, field, `"${key}" is not allowed on a field of type ${t} (only ${types.join(", ")})`);
  }
  const value: ValueDef = {
    type: t,
    indicators: [],
    timeFormats: [],
    isEventTime: optionalBoolean(ctx, field, node, "isEventTime"),
    fields: [],
    isEmbeddedJSON: optionalBoolean(ctx, field, node, "isEmbeddedJSON"),
  };
  optionalBoolean(ctx, field, node, "isExpiration");
  optionalString(ctx, field, node, "description");
  if (node.indicators !== undefined) {
    value.indicators = stringList(ctx, field, node.indicators, "indicators");
    for (const kind of value.indicators) {
      if (!isIndicatorKind(kind))
        fail(ctx, field, `unknown indicator "${kind}" (expected one of ${INDICATOR_KINDS.join(", ")})`);
    }
  }
  if (node.validate !== undefined) value.validate = readValidate(ctx, field, node.validate);
  if (t === "timestamp") value.timeFormats = readTimeFormats(ctx, field, node);
  if (t === "object") {
    if (!Array.isArray(node.fields)) fail(ctx, field, `an object needs a "fields" list`);
    value.fields = readFields(ctx, field, node.fields);
  }
  if (t === "array") {
    if (!isRecord(node.element)) fail(ctx, field, `an array needs an "element" mapping with a type`);
    checkKeys(ctx, `${field}[]`, node.element, VALUE_KEYS);
    value.element = readValue(ctx, `${field}[]`, node.element);
  }
  if (t === "ref") {
    const target = optionalString(ctx, field, node, "target");
    if (target === undefined) fail(ctx, field, `a ref needs a "target" naming one of the definitions`);
    value.target = target;
  }
  return value;
}

function readFields(ctx: Ctx, parent: string | null, list: unknown[]): FieldDef[] {
  const fields: FieldDef[] = [];
  const names = new Set<string>();
  const columns = new Map<string, string>();
  list.forEach((node, index) => {
    const where = parent === null ? `fields[${index}]` : `${parent}.fields[${index}]`;
    if (!isRecord(node)) fail(ctx, where, `each field must be a mapping with a name and a type`);
    const name = node.name;
    if (typeof name !== "string" || name === "") fail(ctx, where, `"name" is missing or not text`);
    const path = parent === null ? name : `${parent}.${name}`;
    checkKeys(ctx, path, node, FIELD_KEYS);
    if (names.has(name)) fail(ctx, path, `the name is declared twice`);
    names.add(name);
    const column = columnName(name);
    const clash = columns.get(column);
    if (clash !== undefined) fail(ctx, path, `renames to column "${column}", the same as field "${clash}"`);
    columns.set(column, name);
    if (parent === null && column.startsWith("p_"))
      fail(ctx, path, `names starting with "p_" are reserved for Panther's standard fields`);
    fields.push({
      ...readValue(ctx, path, node),
      name,
      required: optionalBoolean(ctx, path, node, "required"),
      description: optionalString(ctx, path, node, "description"),
    });
  });
  return fields;
}

function checkRefs(ctx: Ctx, field: string, value: ValueDef, definitions: Map<string, ValueDef>): void {
  if (value.type === "ref" && !definitions.has(value.target!))
    fail(ctx, field, `ref target "${value.target}" is not in the schema's definitions`);
  for (const f of value.fields) checkRefs(ctx, `${field}.${f.name}`, f, definitions);
  if (value.element) checkRefs(ctx, `${field}[]`, value.element, definitions);
}

function schemaNameFrom(ctx: Ctx, doc: Record<string, unknown>): string {
  const declared = optionalString(ctx, null, doc, "schema");
  const fromFile = ctx.fileName
    ?.split(/[\\/]/)
    .pop()
    ?.replace(/\.ya?ml$/i, "");
  const name = declared ?? fromFile;
  if (name === undefined || name === "") fail(ctx, null, `the schema has no name: add "schema: Custom.MyLogs"`);
  if (!SCHEMA_NAME.test(name))
    fail(
      ctx,
      null,
      `schema name "${name}" is not valid (dot-separated words starting with a capital, e.g. Custom.MyLogs)`,
    );
  return name;
}

/** Parses and checks a schema; throws SchemaError naming the field at the first problem. */
export function parseSchemaDefinition(yamlText: string, options: { fileName?: string } = {}): SchemaDef {
  const ctx: Ctx = { fileName: options.fileName };
  let doc: unknown;
  try {
    doc = parseYaml(yamlText, { version: "1.2", schema: "core", uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    throw new SchemaError(`the YAML does not parse: ${(err as Error).message}`, {
      fileName: options.fileName,
      cause: err,
    });
  }
  if (!isRecord(doc)) fail(ctx, null, "the file must be a YAML mapping with a fields list");
  for (const key of Object.keys(doc)) if (!TOP_KEYS.has(key)) fail(ctx, null, `unknown top-level key "${key}"`);
  if (doc.parser !== undefined && doc.parser !== null)
    fail(ctx, null, `"parser" (csv, fastmatch, regex, script) is not supported: Vigil reads JSON records only`);
  const name = schemaNameFrom(ctx, doc);
  if (!Array.isArray(doc.fields) || doc.fields.length === 0) fail(ctx, null, `"fields" must be a non-empty list`);
  const definitions = new Map<string, ValueDef>();
  if (doc.definitions !== undefined && doc.definitions !== null) {
    if (!isRecord(doc.definitions)) fail(ctx, null, `"definitions" must be a mapping of name to type`);
    for (const [defName, node] of Object.entries(doc.definitions)) {
      const where = `definitions.${defName}`;
      if (!isRecord(node)) fail(ctx, where, `each definition must be a mapping with a type`);
      checkKeys(ctx, where, node, VALUE_KEYS);
      definitions.set(defName, readValue(ctx, where, node));
    }
  }
  const fields = readFields(ctx, null, doc.fields);
  for (const f of fields) checkRefs(ctx, f.name, f, definitions);
  for (const [defName, def] of definitions) checkRefs(ctx, `definitions.${defName}`, def, definitions);
  const discovery = doc.fieldDiscoveryEnabled;
  if (discovery !== undefined && discovery !== null && typeof discovery !== "boolean")
    fail(ctx, null, `"fieldDiscoveryEnabled" must be true or false`);
  return {
    name,
    description: optionalString(ctx, null, doc, "description"),
    referenceURL: optionalString(ctx, null, doc, "referenceURL"),
    keepUndeclared: discovery !== false,
    fields,
    definitions,
  };
}
