// `vigil schemas …`: try a log schema on sample records, and list the schemas that ship with Vigil.
//
//   vigil schemas test MyLogs.yml --input events.jsonl
//   vigil schemas test OpenAI.Audit --input events.jsonl     (a built-in, by name)
//   vigil schemas list

import { createReadStream, existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import type { Command } from "commander";
import { UsageError } from "../../core/errors.ts";
import { BUILTIN_SCHEMAS, findBuiltinSchema, readBuiltinDefinition } from "../../schema/builtin.ts";
import { compileSchema } from "../../schema/index.ts";
import type { LogType } from "../../schema/types.ts";

export interface SchemaTestSummary {
  total: number;
  failed: number;
  unknownTypes: Map<string, number>;
}

/** A schema argument is a file path, or the name of a built-in schema when no such file exists. */
export function loadSchemaArgument(arg: string): LogType {
  // A built-in's own file gets the built-in log type, with its log-type-specific step (projection).
  const builtinFile = BUILTIN_SCHEMAS.find((s) => resolve(s.path) === resolve(arg));
  if (builtinFile !== undefined) return builtinFile.load();
  if (existsSync(arg)) {
    let text: string;
    try {
      text = readFileSync(arg, "utf8");
    } catch (err) {
      throw new UsageError(`Cannot read the schema file ${arg}: ${(err as Error).message}`);
    }
    return compileSchema(text, { fileName: arg });
  }
  const builtin = findBuiltinSchema(arg);
  if (builtin !== undefined) return builtin.load();
  const names = BUILTIN_SCHEMAS.map((s) => s.name).join(", ");
  throw new UsageError(`No schema file ${arg}, and no built-in schema of that name (built-ins: ${names}).`);
}

function write(out: Writable, text: string): Promise<void> | undefined {
  if (out.write(text)) return undefined;
  return new Promise((done) => out.once("drain", done));
}

/**
 * Normalizes each non-empty line of `input` and writes one JSON line per record to `out`: the
 * normalized record, or `{"line": n, "issues": [...]}` for a record that failed.
 */
export async function runSchemaTest(
  logType: LogType,
  input: Readable,
  out: Writable,
  options: { parseTimeMs?: number; sourceLabel?: string } = {},
): Promise<SchemaTestSummary> {
  const summary: SchemaTestSummary = { total: 0, failed: 0, unknownTypes: new Map() };
  const ctx = {
    sourceId: "",
    sourceLabel: options.sourceLabel ?? "schemas test",
    parseTimeMs: options.parseTimeMs ?? Date.now(),
  };
  let lineNo = 0;
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    lineNo++;
    if (line.trim() === "") continue;
    summary.total++;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      summary.failed++;
      const issues = [{ code: "invalid_json", path: "$", message: (err as Error).message }];
      await write(out, `${JSON.stringify({ line: lineNo, issues })}\n`);
      continue;
    }
    const result = logType.normalize(raw, ctx);
    if (result.ok) {
      if (result.unknownType) {
        const type = String(result.record.type);
        summary.unknownTypes.set(type, (summary.unknownTypes.get(type) ?? 0) + 1);
      }
      await write(out, `${JSON.stringify(result.record)}\n`);
    } else {
      summary.failed++;
      await write(out, `${JSON.stringify({ line: lineNo, issues: result.issues })}\n`);
    }
  }
  return summary;
}

export function describeSummary(summary: SchemaTestSummary): string {
  const lines = [`${summary.total - summary.failed} of ${summary.total} records normalized, ${summary.failed} failed.`];
  if (summary.unknownTypes.size > 0) {
    const types = [...summary.unknownTypes].map(([t, n]) => `${t} (${n})`).join(", ");
    lines.push(`Event types not in the known list (normalized anyway): ${types}.`);
  }
  return `${lines.join("\n")}\n`;
}

/** One line per built-in schema: name, number of top-level fields, file, description. */
export function listBuiltinSchemas(): string {
  return BUILTIN_SCHEMAS.map((schema) => {
    const def = readBuiltinDefinition(schema);
    const description = (def.description ?? "").split("\n")[0];
    return `${schema.name}\t${def.fields.length} fields\t${schema.path}\n  ${description}`;
  }).join("\n");
}

export function register(program: Command): void {
  const schemas = program
    .command("schemas")
    .description("Log schemas (Panther custom log schema YAML): test one on sample records, list the built-ins.");

  schemas
    .command("test")
    .description("Normalize each record of a JSON Lines file with a schema; print each result as one JSON line.")
    .argument("<schema>", "a schema YAML file, or the name of a built-in schema (e.g. OpenAI.Audit)")
    .requiredOption("-i, --input <file>", "JSON Lines file of records, one per line ('-' reads standard input)")
    .option("--source-label <label>", "the p_source_label to write", "schemas test")
    .addHelpText(
      "after",
      [
        "",
        'Each line of output is a normalized record, or {"line": n, "issues": [...]} for a record that failed.',
        "A summary goes to standard error; the exit code is 1 when any record failed.",
        "",
        "Examples:",
        "  vigil schemas test src/schema/schemas/OpenAI.Audit.yml --input events.jsonl",
        "  vigil schemas test OpenAI.Audit --input - < events.jsonl",
        "",
      ].join("\n"),
    )
    .action(async (schemaArg: string, options: { input: string; sourceLabel: string }) => {
      const logType = loadSchemaArgument(schemaArg);
      if (options.input !== "-" && !existsSync(options.input))
        throw new UsageError(`The input file ${options.input} does not exist.`);
      const input = options.input === "-" ? process.stdin : createReadStream(options.input);
      const summary = await runSchemaTest(logType, input, process.stdout, { sourceLabel: options.sourceLabel });
      process.stderr.write(describeSummary(summary));
      if (summary.failed > 0) process.exitCode = 1;
    });

  schemas
    .command("list")
    .description("List the log schemas that ship with Vigil.")
    .addHelpText("after", "\nExample:\n  vigil schemas list\n")
    .action(() => {
      process.stdout.write(`${listBuiltinSchemas()}\n`);
    });
}
