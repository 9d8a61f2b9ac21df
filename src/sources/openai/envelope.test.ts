import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeControlCharactersInStrings, parseAuditLogEnvelope } from "./envelope.ts";

const valid = { object: "list", data: [{ id: "a" }], first_id: "a", last_id: "a", has_more: false };

test("a valid envelope is returned with its records untouched", () => {
  const result = parseAuditLogEnvelope(JSON.stringify(valid));
  assert.deepEqual(result, { ok: true, page: valid });
});

test("records are not validated: a garbage record does not fail the page", () => {
  const body = { ...valid, data: [42, null, "x", { id: 1 }] };
  const result = parseAuditLogEnvelope(JSON.stringify(body));
  assert.equal(result.ok, true);
  assert.deepEqual(result.ok && result.page.data, [42, null, "x", { id: 1 }]);
});

test("null and absent cursors read as null (the spec does not require them)", () => {
  const result = parseAuditLogEnvelope(JSON.stringify({ object: "list", data: [], has_more: false, first_id: null }));
  assert.deepEqual(result, {
    ok: true,
    page: { object: "list", data: [], first_id: null, last_id: null, has_more: false },
  });
});

test("extra envelope fields are dropped from the page", () => {
  const result = parseAuditLogEnvelope(JSON.stringify({ ...valid, extra: 1 }));
  assert.equal(result.ok && "extra" in result.page, false);
});

const malformed: Array<[string, string]> = [
  ["truncated JSON", JSON.stringify(valid).slice(0, 30)],
  ["empty body", ""],
  ["HTML", "<html>502 Bad Gateway</html>"],
  ["a JSON array", "[]"],
  ["JSON null", "null"],
  ["wrong object", JSON.stringify({ ...valid, object: "page" })],
  ["missing object", JSON.stringify({ data: [], has_more: false })],
  ["data not an array", JSON.stringify({ ...valid, data: {} })],
  ["missing data", JSON.stringify({ object: "list", has_more: false })],
  ["has_more as a string", JSON.stringify({ ...valid, has_more: "false" })],
  ["missing has_more", JSON.stringify({ object: "list", data: [] })],
  ["numeric last_id", JSON.stringify({ ...valid, last_id: 7 })],
  ["object first_id", JSON.stringify({ ...valid, first_id: {} })],
];

for (const [name, body] of malformed) {
  test(`malformed envelope: ${name}`, () => {
    const result = parseAuditLogEnvelope(body);
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.problem.length > 0);
  });
}

test("control characters left raw inside strings (a NUL byte, a newline) are read as escaped", () => {
  const good = JSON.stringify({ ...valid, data: [{ id: "a", note: "before_NUL_after", text: "line_NL_two" }] });
  const body = good.replace("_NUL_", "\u0000").replace("_NL_", "\n");
  assert.throws(() => JSON.parse(body), "the body itself is not JSON");
  const result = parseAuditLogEnvelope(body);
  assert.equal(result.ok, true);
  assert.deepEqual(result.ok && result.page.data, [{ id: "a", note: "before\u0000after", text: "line\ntwo" }]);
});

test("the control-character repair leaves whitespace between tokens and every other fault alone", () => {
  const pretty = JSON.stringify(valid, null, "\t");
  assert.equal(escapeControlCharactersInStrings(pretty), pretty);
  assert.equal(escapeControlCharactersInStrings('{"a":"x\\"\u0001"}'), '{"a":"x\\"\\u0001"}', "after an escaped quote");
  // A NUL between tokens, and a body cut in the middle, are still not JSON.
  assert.equal(parseAuditLogEnvelope(JSON.stringify(valid).replace(",", ",\u0000")).ok, false);
  const cut = JSON.stringify({ ...valid, data: [{ id: "a", note: "x\u0000y" }] }).replace("\\u0000", "\u0000");
  assert.equal(parseAuditLogEnvelope(cut.slice(0, cut.length - 20)).ok, false);
});
