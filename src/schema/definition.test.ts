// Invalid schemas are rejected at load time with a SchemaError whose message names the field.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { compileSchema, parseSchemaDefinition, SchemaError } from "./index.ts";

function rejects(yaml: string, field: string | null, messagePart: RegExp, fileName = "Bad.yml"): void {
  assert.throws(
    () => compileSchema(yaml, { fileName }),
    (err: unknown) => {
      assert.ok(err instanceof SchemaError, `expected a SchemaError, got ${String(err)}`);
      assert.equal(err.code, "invalid_schema");
      assert.equal(err.field, field);
      if (field !== null) assert.ok(err.message.includes(`"${field}"`), `message should name ${field}: ${err.message}`);
      assert.ok(err.message.includes(fileName), err.message);
      assert.match(err.message, messagePart);
      return true;
    },
  );
}

const head = "schema: Custom.Bad\nfields:\n";

describe("invalid schemas", () => {
  it("unknown type, naming the nested field", () => {
    rejects(
      `${head}  - name: actor\n    type: object\n    fields:\n      - name: ip\n        type: strin\n`,
      "actor.ip",
      /unknown type "strin"/,
    );
  });

  it("missing type", () => rejects(`${head}  - name: a\n`, "a", /"type" is missing/));
  it("missing name", () => rejects(`${head}  - type: string\n`, "fields[0]", /"name" is missing/));
  it("duplicate names", () =>
    rejects(`${head}  - { name: a, type: string }\n  - { name: a, type: int }\n`, "a", /declared twice/));
  it("names that rename to the same column", () =>
    rejects(`${head}  - { name: a.b, type: string }\n  - { name: a_b, type: int }\n`, "a_b", /same as field "a.b"/));
  it("unknown indicator", () =>
    rejects(`${head}  - { name: e, type: string, indicators: [emial] }\n`, "e", /unknown indicator "emial"/));
  it("indicators on a non-string", () =>
    rejects(
      `${head}  - { name: n, type: int, indicators: [ip] }\n`,
      "n",
      /"indicators" is not allowed on a field of type int/,
    ));
  it("timestamp without a format", () => rejects(`${head}  - { name: t, type: timestamp }\n`, "t", /timeFormat/));
  it("unknown time format", () =>
    rejects(`${head}  - { name: t, type: timestamp, timeFormat: iso8601 }\n`, "t", /unknown time format "iso8601"/));
  it("unsupported strftime directive", () =>
    rejects(
      `${head}  - { name: t, type: timestamp, timeFormat: "%Y-%Q" }\n`,
      "t",
      /unsupported strftime directive %Q/,
    ));
  it("both timeFormat and timeFormats", () =>
    rejects(`${head}  - { name: t, type: timestamp, timeFormat: unix, timeFormats: [unix] }\n`, "t", /not both/));
  it("isEventTime on a string", () =>
    rejects(`${head}  - { name: s, type: string, isEventTime: true }\n`, "s", /"isEventTime" is not allowed/));
  it("object without fields", () => rejects(`${head}  - { name: o, type: object }\n`, "o", /needs a "fields" list/));
  it("array without element", () => rejects(`${head}  - { name: a, type: array }\n`, "a", /needs an "element"/));
  it("bad array element, named with []", () =>
    rejects(`${head}  - { name: a, type: array, element: { type: nope } }\n`, "a[]", /unknown type "nope"/));
  it("isEmbeddedJSON on a string", () =>
    rejects(`${head}  - { name: s, type: string, isEmbeddedJSON: true }\n`, "s", /"isEmbeddedJSON" is not allowed/));
  it("validate with allow and deny", () =>
    rejects(`${head}  - { name: s, type: string, validate: { allow: [a], deny: [b] } }\n`, "s", /both allow and deny/));
  it("validate with a bad ip version", () =>
    rejects(`${head}  - { name: s, type: string, validate: { ip: ipv5 } }\n`, "s", /validate.ip/));
  it("required that is not a boolean", () =>
    rejects(`${head}  - { name: s, type: string, required: "yes" }\n`, "s", /"required" must be true or false/));
  it("unknown key (a typo)", () =>
    rejects(`${head}  - { name: s, type: string, requried: true }\n`, "s", /unknown key "requried"/));
  it("transformations Vigil does not implement", () =>
    rejects(
      `${head}  - { name: s, type: string, concat: { fields: [a] } }\n`,
      "s",
      /"concat" transformation is not supported/,
    ));
  it("ref to a missing definition", () =>
    rejects(`${head}  - { name: r, type: ref, target: nowhere }\n`, "r", /ref target "nowhere"/));
  it("top-level p_ field", () => rejects(`${head}  - { name: p_custom, type: string }\n`, "p_custom", /reserved/));

  it("top-level problems", () => {
    rejects("schema: Custom.Bad\nfields: []\n", null, /"fields" must be a non-empty list/);
    rejects(
      "schema: custom.bad\nfields:\n  - { name: a, type: string }\n",
      null,
      /schema name "custom.bad" is not valid/,
    );
    rejects("schema: Custom.Bad\nparser: { csv: {} }\nfields:\n  - { name: a, type: string }\n", null, /parser/);
    rejects("schema: Custom.Bad\nfieldz: []\n", null, /unknown top-level key "fieldz"/);
    rejects("- just\n- a list\n", null, /must be a YAML mapping/);
    rejects("schema: [unclosed\n", null, /does not parse/);
    rejects(
      "schema: Custom.Bad\nschema: Custom.Twice\nfields:\n  - { name: a, type: string }\n",
      null,
      /does not parse/,
    );
  });

  it("takes the name from the file when the schema key is absent", () => {
    const t = compileSchema("fields:\n  - { name: a, type: string }\n", { fileName: "schemas/Custom.FromFile.yml" });
    assert.equal(t.name, "Custom.FromFile");
  });

  it("reads YAML 1.2: yes/no stay strings, so they are not booleans", () => {
    rejects(`${head}  - { name: s, type: string, required: yes }\n`, "s", /"required" must be true or false/);
  });
});

describe("the shipped OpenAI.Audit schema", () => {
  it("is a valid schema with the seed's fields and every declared payload", () => {
    const text = readFileSync(new URL("./schemas/OpenAI.Audit.yml", import.meta.url), "utf8");
    const def = parseSchemaDefinition(text, { fileName: "OpenAI.Audit.yml" });
    assert.equal(def.name, "OpenAI.Audit");
    assert.equal(def.keepUndeclared, true);
    const names = def.fields.map((f) => f.name);
    for (const seed of ["id", "type", "effective_at", "actor", "project", "api_key", "user", "service_account"])
      assert.ok(names.includes(seed), seed);
    assert.equal(names.filter((n) => n.includes(".") || n.startsWith("certificates")).length, 55);
    const actor = def.fields.find((f) => f.name === "actor")!;
    assert.deepStrictEqual(
      actor.fields.map((f) => f.name),
      ["type", "session", "api_key", "user", "service_account"],
    );
  });
});
