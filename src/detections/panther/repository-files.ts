// The Panther analysis files that are not rules: global helpers (`AnalysisType: global`) and data models
// (`AnalysisType: datamodel`), parsed from their YAML. Keys follow panther_analysis_tool's GLOBAL_SCHEMA and
// DATA_MODEL_SCHEMA; a file that does not fit throws an Error naming the file and the reason.

import { access } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { compileJsonPath } from "../event/json-path.ts";
import type { PyRegisteredDataModel } from "../python/types.ts";
import { canonicalLogTypes } from "./rule-file.ts";

/** A global helper module: importable by rules as `GlobalID`. */
export interface PantherGlobal {
  id: string;
  /** The module's .py file. */
  pythonPath: string;
  specPath: string;
}

export interface PantherDataModelMapping {
  name: string;
  /** A JSONPath into the event, or the name of a function in the data model's .py (exactly one). */
  path?: string;
  method?: string;
}

export interface PantherDataModel {
  id: string;
  enabled: boolean;
  logTypes: string[];
  mappings: PantherDataModelMapping[];
  /** The .py holding the Method mappings; null when there is none. */
  pythonPath: string | null;
  specPath: string;
}

const globalSchema = z.strictObject({
  AnalysisType: z.literal("global"),
  GlobalID: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a Python module name"),
  Filename: z.string(),
  Description: z.string().optional(),
  Tags: z.array(z.string()).optional(),
});

const dataModelSchema = z.strictObject({
  AnalysisType: z.literal("datamodel"),
  DataModelID: z.string(),
  DisplayName: z.string().optional(),
  Enabled: z.boolean(),
  Filename: z.string().optional(),
  LogTypes: z.array(z.string()).min(1),
  Mappings: z.array(
    z
      .strictObject({ Name: z.string(), Path: z.string().optional(), Method: z.string().optional() })
      .refine(
        (m) => (m.Path === undefined) !== (m.Method === undefined),
        "each mapping needs exactly one of Path or Method",
      ),
  ),
  Description: z.string().optional(),
  Tags: z.array(z.string()).optional(),
});

function invalid(file: string, error: z.ZodError): Error {
  const issues = error.issues.map((i) =>
    i.code === "unrecognized_keys"
      ? `unknown key(s) ${i.keys.join(", ")}`
      : `${i.path.map(String).join(".") || "(root)"}: ${i.message}`,
  );
  return new Error(`${file}: ${issues.join("; ")}`);
}

async function mustExist(path: string, specPath: string): Promise<void> {
  try {
    await access(path);
  } catch {
    throw new Error(`${specPath}: Filename ${path} cannot be read`);
  }
}

export async function loadGlobalFile(doc: unknown, specPath: string): Promise<PantherGlobal> {
  const file = resolve(specPath);
  const parsed = globalSchema.safeParse(doc);
  if (!parsed.success) throw invalid(file, parsed.error);
  const pythonPath = resolve(dirname(file), parsed.data.Filename);
  await mustExist(pythonPath, file);
  return { id: parsed.data.GlobalID, pythonPath, specPath: file };
}

export async function loadDataModelFile(doc: unknown, specPath: string): Promise<PantherDataModel> {
  const file = resolve(specPath);
  const parsed = dataModelSchema.safeParse(doc);
  if (!parsed.success) throw invalid(file, parsed.error);
  const raw = parsed.data;
  const pythonPath = raw.Filename === undefined ? null : resolve(dirname(file), raw.Filename);
  if (pythonPath !== null) await mustExist(pythonPath, file);
  const mappings = raw.Mappings.map((m) =>
    m.Path !== undefined ? { name: m.Name, path: m.Path } : { name: m.Name, method: m.Method! },
  );
  const seen = new Set<string>();
  for (const m of mappings) {
    if (seen.has(m.name)) throw new Error(`${file}: mapping ${m.name} is defined twice`);
    seen.add(m.name);
    // TypeScript rules evaluate Path mappings here: a path this subset cannot read is this file's error
    if (m.path !== undefined)
      try {
        compileJsonPath(m.path);
      } catch (err) {
        throw new Error(`${file}: mapping ${m.name}: ${(err as Error).message}`);
      }
  }
  if (pythonPath === null && mappings.some((m) => m.method !== undefined))
    throw new Error(`${file}: a Method mapping needs a Filename holding the method`);
  return {
    id: raw.DataModelID,
    enabled: raw.Enabled,
    logTypes: canonicalLogTypes(raw.LogTypes),
    mappings,
    pythonPath,
    specPath: file,
  };
}

/** How the Python workers receive a data model. */
export function toPyDataModel(m: PantherDataModel): PyRegisteredDataModel {
  return {
    id: m.id,
    logTypes: [...m.logTypes],
    mappings: Object.fromEntries(
      m.mappings.map((x) => [x.name, x.path !== undefined ? { path: x.path } : { method: x.method! }]),
    ),
    ...(m.pythonPath !== null ? { module: m.pythonPath } : {}),
  };
}
