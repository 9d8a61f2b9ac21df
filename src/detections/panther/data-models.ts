// One data model per log type, whichever side it is written in, for Python and TypeScript rules alike:
// - a repository's data model (YAML + .py): Python rules evaluate it in the worker; TypeScript rules get its
//   Path mappings compiled here and its Method mappings computed by the worker (`pool.udm`) for each event;
// - Vigil's built-in models (TypeScript, e.g. OpenAI.Audit): TypeScript rules use them directly; Python rules
//   get each event's values computed here and sent along (`udmValues`).
// A repository's model for a log type wins over a built-in one, as the repository's content does elsewhere.

import {
  type DataModel,
  type DataModelMethod,
  dataModelForLogType,
  defineDataModel,
  makeEvent,
  OPENAI_AUDIT_DATA_MODEL,
} from "../event/index.ts";
import type { PyRegisteredDataModel, PyUdmValues } from "../python/types.ts";
import type { PantherDataModel } from "./repository-files.ts";

const BUILTIN: readonly DataModel[] = [OPENAI_AUDIT_DATA_MODEL];

/** How the workers learn a built-in model's mappings (for udm_path); its values always come with the event. */
function builtinToPy(m: DataModel): PyRegisteredDataModel {
  const mappings: PyRegisteredDataModel["mappings"] = {};
  for (const [name, path] of m.paths) mappings[name] = { path: path.source };
  for (const [name, fn] of m.methods) mappings[name] = { method: fn.name || name };
  return { id: m.id, logTypes: [...m.logTypes], mappings };
}

export class DataModels {
  private readonly byLogType = new Map<string, PantherDataModel>();
  /** Compiled once for the models without methods (their TypeScript form does not depend on the event). */
  private readonly pathOnly = new Map<PantherDataModel, DataModel>();

  constructor(readonly repository: readonly PantherDataModel[] = []) {
    for (const m of repository) for (const t of m.logTypes) if (!this.byLogType.has(t)) this.byLogType.set(t, m);
  }

  /** The models the Python workers register: the repository's, then the built-ins for the other log types. */
  forPython(toPy: (m: PantherDataModel) => PyRegisteredDataModel): PyRegisteredDataModel[] {
    const out = this.repository.map(toPy);
    for (const b of BUILTIN) {
      const logTypes = b.logTypes.filter((t) => !this.byLogType.has(t));
      if (logTypes.length > 0) out.push({ ...builtinToPy(b), logTypes });
    }
    return out;
  }

  /** The repository model for a log type, if any. */
  repositoryModel(logType: unknown): PantherDataModel | null {
    return typeof logType === "string" ? (this.byLogType.get(logType) ?? null) : null;
  }

  /** Whether TypeScript rules on this log type need values from the worker (a repository model with methods). */
  needsPython(logType: unknown): boolean {
    return this.repositoryModel(logType)?.mappings.some((m) => m.method !== undefined) ?? false;
  }

  /** For a Python rule: the built-in model's values for this record, when a built-in model applies. */
  udmValuesForPython(record: Record<string, unknown>): PyUdmValues | null {
    if (this.repositoryModel(record.p_log_type)) return null;
    const model = dataModelForLogType(record.p_log_type);
    if (!model) return null;
    const event = makeEvent(record, { dataModel: model });
    const out: PyUdmValues = {};
    for (const name of [...model.paths.keys(), ...model.methods.keys()]) {
      try {
        out[name] = { value: JSON.parse(JSON.stringify(event.udm(name) ?? null)) };
      } catch (err) {
        out[name] = { error: (err as Error).message };
      }
    }
    return out;
  }

  /**
   * For a TypeScript rule: the data model of this record's log type; a repository model's methods read `values`
   * (from `pool.udm`). undefined: the built-in default (makeEvent's choice).
   */
  forTypeScript(record: Record<string, unknown>, values: PyUdmValues | null): DataModel | null | undefined {
    const m = this.repositoryModel(record.p_log_type);
    if (!m) return undefined;
    const cached = this.pathOnly.get(m);
    if (cached) return cached;
    const model = this.compile(m, values);
    if (!m.mappings.some((x) => x.method !== undefined)) this.pathOnly.set(m, model);
    return model;
  }

  private compile(m: PantherDataModel, values: PyUdmValues | null): DataModel {
    return defineDataModel({
      id: m.id,
      logTypes: m.logTypes,
      mappings: m.mappings.map((x) => {
        if (x.path !== undefined) return { name: x.name, path: x.path };
        const method: DataModelMethod = () => {
          const v = values?.[x.name];
          if (!v) throw new Error(`data model ${m.id}: method ${x.method} needs the Python workers`);
          if ("error" in v) throw new Error(v.error);
          return v.value;
        };
        Object.defineProperty(method, "name", { value: x.method });
        return { name: x.name, method };
      }),
    });
  }
}
