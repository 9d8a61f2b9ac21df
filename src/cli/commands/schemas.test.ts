// `vigil schemas test` / `vigil schemas list`.

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { describe, it } from "node:test";
import { Command } from "commander";
import { SchemaError } from "../../schema/index.ts";
import { describeSummary, listBuiltinSchemas, loadSchemaArgument, register, runSchemaTest } from "./schemas.ts";

async function collect(stream: PassThrough): Promise<string> {
  stream.end();
  let text = "";
  for await (const chunk of stream) text += chunk;
  return text;
}

const LINES = [
  '{"id":"a","type":"login.failed","effective_at":1720804090,"actor":{"type":"session","session":{"user":{"email":"a@x.io"}}}}',
  "",
  '{"id":"b"}',
  "not json",
  '{"id":"c","type":"brand.new","effective_at":1720804091}',
].join("\n");

describe("schemas test", () => {
  it("prints one JSON line per record: the normalized record or its issues", async () => {
    const out = new PassThrough();
    const summary = await runSchemaTest(loadSchemaArgument("OpenAI.Audit"), Readable.from([LINES]), out, {
      parseTimeMs: Date.UTC(2025, 0, 1),
    });
    const lines = (await collect(out))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 4);
    assert.equal(lines[0].actor.user.email, "a@x.io");
    assert.equal(lines[0].p_parse_time, "2025-01-01 00:00:00.000000000");
    assert.deepStrictEqual(lines[1], {
      line: 3,
      issues: [
        { code: "missing_required", path: "$.type", message: "is required but missing" },
        { code: "missing_required", path: "$.effective_at", message: "is required but missing" },
      ],
    });
    assert.equal(lines[2].line, 4);
    assert.equal(lines[2].issues[0].code, "invalid_json");
    assert.equal(lines[3].type, "brand.new");
    assert.deepStrictEqual({ total: summary.total, failed: summary.failed }, { total: 4, failed: 2 });
    assert.deepStrictEqual([...summary.unknownTypes], [["brand.new", 1]]);
    assert.match(
      describeSummary(summary),
      /2 of 4 records normalized, 2 failed\.\nEvent types not in the known list .*brand\.new \(1\)/,
    );
  });

  it("loads a user's schema file, and reports an invalid one with the field named", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-schema-"));
    const good = join(dir, "Custom.Good.yml");
    writeFileSync(good, "fields:\n  - { name: msg, type: string }\n");
    assert.equal(loadSchemaArgument(good).name, "Custom.Good");
    const bad = join(dir, "Custom.Bad.yml");
    writeFileSync(bad, "fields:\n  - { name: msg, type: text }\n");
    assert.throws(
      () => loadSchemaArgument(bad),
      (err: unknown) => err instanceof SchemaError && err.message.includes('"msg"'),
    );
    assert.throws(() => loadSchemaArgument(join(dir, "missing.yml")), /No schema file .*\(built-ins: OpenAI\.Audit\)/);
  });

  it("the built-in's own file gets the built-in log type, with its projection", () => {
    const logType = loadSchemaArgument("src/schema/schemas/OpenAI.Audit.yml");
    const result = logType.normalize(
      { id: "x", type: "login.failed", effective_at: 1, actor: { session: { user: { email: "a@b.c" } } } },
      { sourceId: "", sourceLabel: "", parseTimeMs: 0 },
    );
    assert.ok(result.ok);
    assert.deepStrictEqual(result.record.actor, { session: { user: { email: "a@b.c" } }, user: { email: "a@b.c" } });
  });
});

describe("schemas list", () => {
  it("lists OpenAI.Audit with its field count and description", () => {
    assert.match(listBuiltinSchemas(), /^OpenAI\.Audit\t\d+ fields\t.*OpenAI\.Audit\.yml\n {2}OpenAI audit logs/);
  });
});

describe("command registration", () => {
  it("adds schemas test and schemas list, with examples in --help", () => {
    const program = new Command("vigil").exitOverride();
    register(program);
    const schemas = program.commands.find((c) => c.name() === "schemas");
    assert.ok(schemas);
    assert.deepStrictEqual(schemas.commands.map((c) => c.name()).sort(), ["list", "test"]);
    let help = "";
    const test = schemas.commands.find((c) => c.name() === "test")!;
    test.configureOutput({ writeOut: (s) => (help += s) });
    assert.throws(() => program.parse(["node", "vigil", "schemas", "test", "--help"]));
    assert.match(help, /--input <file>/);
    assert.match(help, /Examples:\n {2}vigil schemas test/);
  });
});
