// The storability check of one record, each kind of poison on its own, and the storable forms a quarantine row
// falls back to (escaped text, bounded preview).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkSerializable,
  checkStorable,
  checkStorableUnserialized,
  MAX_RECORD_BYTES,
  MAX_RECORD_DEPTH,
  PREVIEW_DEPTH,
  previewJson,
} from "./storable-record.ts";

const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function record(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "audit_log-abc",
    type: "login.succeeded",
    effective_at: 1_700_000_000,
    actor: { type: "session", session: { user: { id: "user-1", email: "a@example.com" }, ip_address: "10.0.0.1" } },
    ...extra,
  };
}

/** Nested `levels` containers deep, built without recursion. */
function nested(levels: number, kind: "array" | "object"): unknown {
  let value: unknown = "leaf";
  for (let i = 0; i < levels; i++) value = kind === "array" ? [value] : { a: value };
  return value;
}

function issueOf(value: unknown): { code: string; path: string; message: string } {
  const result = checkStorable(value);
  assert.equal(result.ok, false, "the value is refused");
  if (result.ok) throw new Error("unreachable");
  return result.issue;
}

describe("checkStorable", () => {
  it("passes a real record and gives its JSON text", () => {
    const rec = record({ note: "emoji 😀 and accents é" });
    assert.deepEqual(checkStorable(rec), { ok: true, json: JSON.stringify(rec) });
  });

  it("refuses a NUL in an indexed column, in any value and in a key, naming where", () => {
    const inEmail = record();
    (inEmail.actor as { session: { user: { email: string } } }).session.user.email = "a\u0000@example.com";
    assert.deepEqual(issueOf(inEmail), {
      code: "nul_character",
      path: "$.actor.session.user.email",
      message: "This string holds a NUL character (U+0000), which cannot be stored.",
    });
    assert.equal(issueOf(record({ list: ["ok", { deep: "x\u0000" }] })).path, "$.list[1].deep");
    const inKey = issueOf(record({ data: { "bad\u0000key": 1 } }));
    assert.equal(inKey.code, "nul_character");
    assert.equal(inKey.path, '$.data["bad\\u0000key"]', "the path writes the NUL as an escape");
    assert.ok(!inKey.path.includes("\u0000"));
    assert.equal(issueOf(record({ id: "audit_log-\u0000" })).path, "$.id");
  });

  it("refuses lone surrogates, high or low, in values and keys, and passes real pairs", () => {
    assert.equal(issueOf(record({ x: "a\uD800b" })).code, "lone_surrogate");
    assert.equal(issueOf(record({ x: "a\uDC00" })).code, "lone_surrogate");
    assert.equal(issueOf(record({ x: "\uD83D" })).code, "lone_surrogate", "a pair cut in half");
    assert.equal(issueOf(record({ "\uDFFFk": 1 })).code, "lone_surrogate");
    assert.equal(checkStorable(record({ x: "\uD83D\uDE00" })).ok, true);
  });

  it(`passes ${MAX_RECORD_DEPTH} levels and refuses one more, and 10,000 levels without throwing`, () => {
    // The record is the first level.
    assert.equal(checkStorable(nested(MAX_RECORD_DEPTH, "object")).ok, true);
    assert.equal(issueOf(nested(MAX_RECORD_DEPTH + 1, "object")).code, "too_deep");
    for (const kind of ["array", "object"] as const) {
      const issue = issueOf(record({ payload: nested(10_000, kind) }));
      assert.equal(issue.code, "too_deep");
      assert.ok(issue.path.startsWith(kind === "array" ? "$.payload[0][0]" : "$.payload.a.a"), issue.path);
    }
  });

  it("refuses a 10 MB string by its length, quickly", () => {
    const started = performance.now();
    const issue = issueOf(record({ blob: "x".repeat(10 * 1024 * 1024) }));
    assert.equal(issue.code, "too_large");
    assert.equal(issue.path, "$");
    assert.ok(performance.now() - started < 200, "no scan or serialization of the 10 MB");
  });

  it("measures the bound in UTF-8 bytes of JSON text, not in characters", () => {
    // 600,000 two-byte characters: under the bound in characters, over it in bytes.
    assert.equal(issueOf(record({ text: "é".repeat(600_000) })).code, "too_large");
    assert.equal(checkStorable(record({ text: "é".repeat(400_000) })).ok, true);
    // Many small values add up too.
    const wide = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, "v".repeat(60)]));
    assert.equal(issueOf(record({ wide })).code, "too_large");
    const justUnder = record({ pad: "" });
    justUnder.pad = "p".repeat(MAX_RECORD_BYTES - JSON.stringify(justUnder).length);
    assert.equal(JSON.stringify(justUnder).length, MAX_RECORD_BYTES);
    assert.equal(checkStorable(justUnder).ok, true);
    justUnder.pad += "p";
    assert.equal(issueOf(justUnder).code, "too_large");
  });

  it("gives the same verdict without the JSON text (the normalized record), measuring exactly near the bound", () => {
    const verdict = (value: unknown) => {
      const r = checkStorableUnserialized(value);
      return r.ok ? "ok" : r.issue.code;
    };
    assert.equal(verdict(record({ note: "emoji 😀 and accents é" })), "ok");
    assert.equal(verdict(record({ x: "a\u0000" })), "nul_character");
    assert.equal(verdict(nested(MAX_RECORD_DEPTH + 1, "array")), "too_deep");
    // Under the bound in characters, over it in bytes: only the exact measure can tell.
    assert.equal(verdict(record({ text: "é".repeat(600_000) })), "too_large");
    assert.equal(verdict(record({ text: "é".repeat(400_000) })), "ok");
    const justUnder = record({ pad: "" });
    justUnder.pad = "p".repeat(MAX_RECORD_BYTES - JSON.stringify(justUnder).length);
    assert.equal(verdict(justUnder), "ok");
    justUnder.pad += "p";
    assert.equal(verdict(justUnder), "too_large");
  });

  it("refuses values JSON cannot carry", () => {
    assert.equal(issueOf(record({ n: 10n })).code, "not_json");
    assert.equal(issueOf(record({ n: Number.NaN })).code, "not_json");
    assert.equal(issueOf(undefined).code, "not_json");
    // Like JSON.stringify: an undefined property is left out, an undefined array item is null.
    assert.deepEqual(checkStorable({ a: undefined, b: [undefined] }), { ok: true, json: '{"b":[null]}' });
  });
});

describe("checkSerializable", () => {
  it("passes NUL and lone surrogates, which JSON text holds as plain ASCII escapes", () => {
    const result = checkSerializable(record({ x: "a\u0000b\uD800" }));
    assert.ok(result.ok);
    assert.ok(result.json.includes("a\\u0000b\\ud800"));
    assert.ok(!result.json.includes("\u0000") && !LONE.test(result.json));
  });

  it("still refuses what cannot be serialized within the bounds", () => {
    assert.equal(checkSerializable(nested(10_000, "array")).ok, false);
    assert.equal(checkSerializable({ blob: "x".repeat(MAX_RECORD_BYTES) }).ok, false);
  });
});

describe("previewJson", () => {
  function assertStorableJson(text: string): unknown {
    assert.ok(!text.includes("\u0000"), "no NUL");
    assert.ok(!LONE.test(text), "no lone surrogate");
    assert.ok(text.length < 100_000, `bounded (${text.length} characters)`);
    return JSON.parse(text);
  }

  it("keeps the first levels of a 10,000-level record and says what it left out", () => {
    const parsed = assertStorableJson(previewJson(record({ payload: nested(10_000, "object") }))) as {
      id: string;
      payload: unknown;
    };
    assert.equal(parsed.id, "audit_log-abc");
    let value: unknown = parsed.payload;
    let levels = 1;
    while (typeof value === "object" && value !== null) {
      value = (value as { a: unknown }).a;
      levels++;
    }
    assert.equal(levels, PREVIEW_DEPTH);
    assert.match(String(value), /nested deeper than 16 levels: not kept/);
  });

  it("cuts a 10 MB string and a very wide record to a bounded text", () => {
    const big = assertStorableJson(previewJson(record({ blob: "x".repeat(10 * 1024 * 1024) }))) as { blob: string };
    assert.match(big.blob, /^x{1024}…\[10,484,736 more characters not kept\]$/);
    const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, [i, "y"]]));
    const parsed = assertStorableJson(previewJson(wide)) as Record<string, unknown>;
    assert.equal(parsed["…"], "4900 more keys not kept", "at most 100 entries");
    // Wide and long: the budget of the whole preview ends it before the entry limit.
    const heavy = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, "y".repeat(2000)]));
    const cut = assertStorableJson(previewJson(heavy)) as Record<string, unknown>;
    assert.ok(Object.keys(cut).length < 100 && /more keys not kept/.test(String(cut["…"])));
    assertStorableJson(previewJson(Array.from({ length: 100_000 }, () => "z".repeat(500))));
  });

  it("writes NUL and lone surrogates, in values and keys, as escapes", () => {
    const parsed = assertStorableJson(previewJson({ "k\u0000": "v\uD800" })) as Record<string, string>;
    assert.equal(parsed["k\u0000"], "v\uD800", "the escapes read back as what the record held");
  });
});
