// The generic schema engine: each field type, required, validate, isEmbeddedJSON, event time,
// undeclared fields, refs, and the standard fields, through compileSchema as users would use it.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileSchema, type NormalizeContext, type NormalizeResult } from "./index.ts";

const ctx: NormalizeContext = { sourceId: "s1", sourceLabel: "test", parseTimeMs: Date.UTC(2025, 0, 2, 3, 4, 5, 678) };
const PARSE_TEXT = "2025-01-02 03:04:05.678000000";

function schemaWith(fieldsYaml: string, extra = ""): ReturnType<typeof compileSchema> {
  return compileSchema(`schema: Custom.Test\n${extra}fields:\n${fieldsYaml}`);
}

function ok(result: NormalizeResult): Record<string, unknown> {
  assert.ok(result.ok, `expected ok, got ${JSON.stringify(!result.ok && result.issues)}`);
  return result.record;
}

function issues(result: NormalizeResult): Array<[string, string]> {
  assert.ok(!result.ok, "expected issues");
  return result.issues.map((i) => [i.code, i.path]);
}

describe("field types", () => {
  const t = schemaWith(`
  - { name: s, type: string }
  - { name: i, type: int }
  - { name: si, type: smallint }
  - { name: bi, type: bigint }
  - { name: f, type: float }
  - { name: b, type: boolean }
  - { name: o, type: object, fields: [{ name: x, type: int }] }
  - { name: a, type: array, element: { type: string } }
  - { name: j, type: json }
`);

  it("accepts values of the declared types", () => {
    const record = ok(
      t.normalize(
        {
          s: "x",
          i: -5,
          si: 300,
          bi: 9007199254740991,
          f: 1.5,
          b: true,
          o: { x: 1 },
          a: ["p", "q"],
          j: { any: [1, { k: null }] },
        },
        ctx,
      ),
    );
    assert.deepStrictEqual(
      {
        s: record.s,
        i: record.i,
        si: record.si,
        bi: record.bi,
        f: record.f,
        b: record.b,
        o: record.o,
        a: record.a,
        j: record.j,
      },
      {
        s: "x",
        i: -5,
        si: 300,
        bi: 9007199254740991,
        f: 1.5,
        b: true,
        o: { x: 1 },
        a: ["p", "q"],
        j: { any: [1, { k: null }] },
      },
    );
  });

  it("converts numeric and boolean text, as Panther's decoders do", () => {
    const record = ok(t.normalize({ i: "42", si: "-7", bi: "123", f: "2.5e3", b: "false" }, ctx));
    assert.deepStrictEqual([record.i, record.si, record.bi, record.f, record.b], [42, -7, 123, 2500, false]);
  });

  it("keeps bigint text beyond 2^53 exact, as text", () => {
    assert.equal(ok(t.normalize({ bi: "9223372036854775807" }, ctx)).bi, "9223372036854775807");
  });

  it("reports wrong types with the field's path", () => {
    const result = t.normalize({ s: 1, i: 1.5, f: "x", b: "yes", o: [], a: {}, si: true }, ctx);
    assert.deepStrictEqual(issues(result), [
      ["wrong_type", "$.s"],
      ["wrong_type", "$.i"],
      ["wrong_type", "$.f"],
      ["wrong_type", "$.b"],
      ["wrong_type", "$.o"],
      ["wrong_type", "$.a"],
      ["wrong_type", "$.si"],
    ]);
  });

  it("checks integer ranges per width", () => {
    assert.deepStrictEqual(issues(t.normalize({ si: 40000 }, ctx)), [["out_of_range", "$.si"]]);
    assert.deepStrictEqual(issues(t.normalize({ i: 2147483648 }, ctx)), [["out_of_range", "$.i"]]);
    assert.deepStrictEqual(issues(t.normalize({ bi: "9223372036854775808" }, ctx)), [["out_of_range", "$.bi"]]);
    assert.equal(ok(t.normalize({ i: -2147483648, si: -32768 }, ctx)).i, -2147483648);
  });

  it("reports element paths inside arrays and objects", () => {
    assert.deepStrictEqual(issues(t.normalize({ a: ["ok", 3, null, false], o: { x: "nope" } }, ctx)), [
      ["wrong_type", "$.a[1]"],
      ["wrong_type", "$.a[3]"],
      ["wrong_type", "$.o.x"],
    ]);
  });

  it("keeps null values and null array elements", () => {
    const record = ok(t.normalize({ s: null, a: ["x", null] }, ctx));
    assert.equal(record.s, null);
    assert.deepStrictEqual(record.a, ["x", null]);
  });

  it("keeps json values as received: keys are not renamed", () => {
    assert.deepStrictEqual(ok(t.normalize({ j: { "a.b": { "@c": 1 } } }, ctx)).j, { "a.b": { "@c": 1 } });
  });
});

describe("required", () => {
  const t = schemaWith(`
  - { name: id, type: string, required: true }
  - { name: at, type: timestamp, timeFormat: rfc3339, required: true }
  - { name: n, type: int, required: true }
`);

  it("fails when a required field is absent, null or empty text", () => {
    assert.deepStrictEqual(issues(t.normalize({ n: 0 }, ctx)), [
      ["missing_required", "$.id"],
      ["missing_required", "$.at"],
    ]);
    assert.deepStrictEqual(issues(t.normalize({ id: null, at: "", n: null }, ctx)), [
      ["missing_required", "$.id"],
      ["missing_required", "$.at"],
      ["missing_required", "$.n"],
    ]);
  });

  it("accepts falsy values that are present", () => {
    ok(t.normalize({ id: "x", at: "2024-01-01T00:00:00Z", n: 0 }, ctx));
  });

  it("does not take a required key from the prototype chain", () => {
    const t2 = schemaWith(`  - { name: constructor, type: string, required: true }\n`);
    assert.deepStrictEqual(issues(t2.normalize({}, ctx)), [["missing_required", "$.constructor"]]);
    assert.equal(ok(t2.normalize({ constructor: "own" }, ctx)).constructor, "own");
  });
});

describe("timestamps and event time", () => {
  it("re-encodes timestamps in Panther's format, whatever the input format", () => {
    const t = schemaWith(`
  - { name: r, type: timestamp, timeFormat: rfc3339 }
  - { name: u, type: timestamp, timeFormat: unix }
  - { name: ms, type: timestamp, timeFormat: unix_ms }
  - { name: us, type: timestamp, timeFormat: unix_us }
  - { name: ns, type: timestamp, timeFormat: unix_ns }
  - { name: st, type: timestamp, timeFormat: "%d/%b/%Y:%H:%M:%S %z" }
  - { name: many, type: timestamp, timeFormats: [rfc3339, unix] }
`);
    const record = ok(
      t.normalize(
        {
          r: "2024-07-12T19:08:10.123456789+02:00",
          u: 1720804090.5,
          ms: 1720804090123,
          us: "1720804090123456",
          ns: "1720804090123456789",
          st: "12/Jul/2024:10:08:10 -0700",
          many: 1720804090,
        },
        ctx,
      ),
    );
    assert.deepStrictEqual(
      [record.r, record.u, record.ms, record.us, record.ns, record.st, record.many],
      [
        "2024-07-12 17:08:10.123456789",
        "2024-07-12 17:08:10.500000000",
        "2024-07-12 17:08:10.123000000",
        "2024-07-12 17:08:10.123456000",
        "2024-07-12 17:08:10.123456789",
        "2024-07-12 17:08:10.000000000",
        "2024-07-12 17:08:10.000000000",
      ],
    );
  });

  it("reads an empty or null timestamp as absent", () => {
    const t = schemaWith(`  - { name: at, type: timestamp, timeFormat: rfc3339, isEventTime: true }\n`);
    const result = t.normalize({ at: "" }, ctx);
    assert.ok(result.ok);
    assert.equal(result.record.at, null);
    assert.equal(result.record.p_event_time, PARSE_TEXT);
  });

  it("reports an unparsable timestamp as bad_timestamp", () => {
    const t = schemaWith(
      `  - { name: o, type: object, fields: [{ name: at, type: timestamp, timeFormat: unix_ms }] }\n`,
    );
    assert.deepStrictEqual(issues(t.normalize({ o: { at: "12.5" } }, ctx)), [["bad_timestamp", "$.o.at"]]);
    assert.deepStrictEqual(issues(t.normalize({ o: { at: true } }, ctx)), [["bad_timestamp", "$.o.at"]]);
  });

  it("takes the first non-empty isEventTime field in schema order, not record order", () => {
    const t = schemaWith(`
  - { name: first, type: timestamp, timeFormat: unix, isEventTime: true }
  - { name: nested, type: object, fields: [{ name: second, type: timestamp, timeFormat: unix, isEventTime: true }] }
  - { name: third, type: timestamp, timeFormat: unix, isEventTime: true }
`);
    const both = t.normalize({ third: 300, nested: { second: 200 }, first: 100 }, ctx);
    assert.ok(both.ok);
    assert.equal(both.record.p_event_time, "1970-01-01 00:01:40.000000000");
    assert.equal(both.eventTimeMs, 100_000);
    const noFirst = t.normalize({ third: 300, nested: { second: 200 }, first: "" }, ctx);
    assert.ok(noFirst.ok);
    assert.equal(noFirst.eventTimeMs, 200_000);
    const onlyThird = t.normalize({ third: 300 }, ctx);
    assert.ok(onlyThird.ok);
    assert.equal(onlyThird.eventTimeMs, 300_000);
  });

  it("uses the parse time when no event time is found", () => {
    const t = schemaWith(`  - { name: at, type: timestamp, timeFormat: unix }\n`);
    const result = t.normalize({ at: 100 }, ctx);
    assert.ok(result.ok);
    assert.equal(result.record.p_event_time, PARSE_TEXT);
    assert.equal(result.record.p_parse_time, PARSE_TEXT);
    assert.equal(result.eventTimeMs, ctx.parseTimeMs);
  });
});

describe("indicators through a schema", () => {
  const t = schemaWith(`
  - { name: email, type: string, indicators: [email] }
  - { name: ips, type: array, element: { type: string, indicators: [ip] } }
  - { name: host, type: string, indicators: [hostname] }
  - { name: url, type: string, indicators: [url] }
  - { name: user, type: string, indicators: [username, email] }
  - { name: empty, type: string, indicators: [username] }
`);

  it("fills p_any_* fields de-duplicated, sorted, and omitted when empty", () => {
    const record = ok(
      t.normalize(
        {
          email: " Zed@Example.com ",
          ips: ["10.0.0.2", "not-an-ip", "10.0.0.1", "10.0.0.2", "::1"],
          host: "10.0.0.1",
          url: "https://xn--bcher-kva.example/path?q=1",
          user: "amy@example.com",
          empty: "   ",
        },
        ctx,
      ),
    );
    assert.deepStrictEqual(record.p_any_emails, ["Zed@Example.com", "amy@example.com"]);
    assert.deepStrictEqual(record.p_any_ip_addresses, ["10.0.0.1", "10.0.0.2", "::1"]);
    assert.deepStrictEqual(record.p_any_domain_names, ["bücher.example"]);
    assert.deepStrictEqual(record.p_any_usernames, ["amy@example.com"]);
    assert.equal(Object.hasOwn(record, "p_any_md5_hashes"), false);
    // Values keep their original text in the record itself.
    assert.equal(record.email, " Zed@Example.com ");
  });

  it("writes no p_any_* field at all when no indicator matched", () => {
    const record = ok(t.normalize({ email: "no-at-sign", ips: ["x"] }, ctx));
    assert.deepStrictEqual(
      Object.keys(record).filter((k) => k.startsWith("p_any_")),
      [],
    );
  });
});

describe("validate", () => {
  const t = schemaWith(`
  - { name: level, type: string, validate: { allow: [INFO, WARN] } }
  - { name: env, type: string, validate: { deny: [test] } }
  - { name: addr, type: string, validate: { ip: ipv4 } }
  - { name: net, type: string, validate: { cidr: any } }
`);

  it("accepts allowed values and rejects the others", () => {
    ok(t.normalize({ level: "INFO", env: "prod", addr: "192.0.2.1", net: "2001:db8::/32" }, ctx));
    assert.deepStrictEqual(issues(t.normalize({ level: "DEBUG" }, ctx)), [["invalid_value", "$.level"]]);
    assert.deepStrictEqual(issues(t.normalize({ env: "test" }, ctx)), [["invalid_value", "$.env"]]);
    assert.deepStrictEqual(issues(t.normalize({ addr: "::1" }, ctx)), [["invalid_value", "$.addr"]]);
    assert.deepStrictEqual(issues(t.normalize({ net: "10.0.0.0/33" }, ctx)), [["invalid_value", "$.net"]]);
  });
});

describe("isEmbeddedJSON", () => {
  const t = schemaWith(`
  - { name: obj, type: object, isEmbeddedJSON: true, fields: [{ name: email, type: string, indicators: [email] }] }
  - { name: arr, type: array, isEmbeddedJSON: true, element: { type: int } }
  - { name: raw, type: json, isEmbeddedJSON: true }
`);

  it("parses JSON text and then applies the field's type", () => {
    const record = ok(t.normalize({ obj: '{"email":"e@x.io","other":1}', arr: "[1,2,3]", raw: '{"k":[true]}' }, ctx));
    assert.deepStrictEqual(record.obj, { email: "e@x.io", other: 1 });
    assert.deepStrictEqual(record.arr, [1, 2, 3]);
    assert.deepStrictEqual(record.raw, { k: [true] });
    assert.deepStrictEqual(record.p_any_emails, ["e@x.io"]);
  });

  it("also accepts the value already decoded", () => {
    assert.deepStrictEqual(ok(t.normalize({ arr: [4] }, ctx)).arr, [4]);
  });

  it("reports invalid_json for text that does not parse, and type errors inside", () => {
    assert.deepStrictEqual(issues(t.normalize({ obj: "{not json" }, ctx)), [["invalid_json", "$.obj"]]);
    assert.deepStrictEqual(issues(t.normalize({ arr: '["x"]' }, ctx)), [["wrong_type", "$.arr[0]"]]);
  });
});

describe("undeclared fields and key renaming", () => {
  it("keeps undeclared fields with Panther column names at every level", () => {
    const t = schemaWith(`  - { name: "a.b", type: object, fields: [{ name: "@c", type: string }] }\n`);
    const record = ok(t.normalize({ "a.b": { "@c": "x", "d-e": { "f g": 1 } }, "x/y": [{ "h.i": 2 }] }, ctx));
    assert.deepStrictEqual(record.a_b, { at_sign_c: "x", "d-e": { f_g: 1 } });
    assert.deepStrictEqual(record.x_slash_y, [{ h_i: 2 }]);
  });

  it("drops undeclared fields when fieldDiscoveryEnabled is false", () => {
    const t = schemaWith(`  - { name: a, type: string }\n`, "fieldDiscoveryEnabled: false\n");
    const record = ok(t.normalize({ a: "x", b: "y" }, ctx));
    assert.equal(record.a, "x");
    assert.equal(Object.hasOwn(record, "b"), false);
  });

  it("keeps a __proto__ key as data without touching prototypes", () => {
    const t = schemaWith(`  - { name: a, type: string }\n`);
    const raw = JSON.parse('{"a":"x","__proto__":{"polluted":true},"o":{"__proto__":{"polluted":true}}}');
    const record = ok(t.normalize(raw, ctx));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(record), Object.prototype);
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(record, "__proto__")?.value, { polluted: true });
    assert.equal((record as { polluted?: unknown }).polluted, undefined);
  });
});

describe("refs and definitions", () => {
  it("resolves refs, including recursive ones", () => {
    const t = compileSchema(`
schema: Custom.Tree
definitions:
  node:
    type: object
    fields:
      - { name: name, type: string, indicators: [username] }
      - { name: children, type: array, element: { type: ref, target: node } }
fields:
  - { name: root, type: ref, target: node }
`);
    const record = ok(t.normalize({ root: { name: "a", children: [{ name: "b", children: [{ name: "c" }] }] } }, ctx));
    assert.deepStrictEqual(record.p_any_usernames, ["a", "b", "c"]);
    assert.deepStrictEqual(issues(t.normalize({ root: { children: [{ name: 5 }] } }, ctx)), [
      ["wrong_type", "$.root.children[0].name"],
    ]);
  });
});

describe("standard fields", () => {
  const t = schemaWith(`  - { name: a, type: string }\n`);

  it("writes p_log_type, p_row_id, times, and the source", () => {
    const record = ok(t.normalize({ a: "x" }, { ...ctx, rowId: "r1" }));
    assert.deepStrictEqual(Object.fromEntries(Object.entries(record).filter(([k]) => k.startsWith("p_"))), {
      p_log_type: "Custom.Test",
      p_row_id: "r1",
      p_event_time: PARSE_TEXT,
      p_parse_time: PARSE_TEXT,
      p_source_id: "s1",
      p_source_label: "test",
    });
  });

  it("never throws on hostile input", () => {
    const deep: Record<string, unknown> = {};
    let cursor = deep;
    for (let i = 0; i < 10_000; i++) {
      const next: Record<string, unknown> = {};
      cursor.n = next;
      cursor = next;
    }
    const result = t.normalize({ a: "x", deep }, ctx);
    assert.deepStrictEqual(issues(result), [["too_deep", `$.deep${".n".repeat(64)}`]]);
  });

  it("caps the number of issues", () => {
    const t2 = schemaWith(`  - { name: a, type: array, element: { type: int } }\n`);
    const result = t2.normalize({ a: Array.from({ length: 1000 }, () => "x") }, ctx);
    assert.ok(!result.ok);
    assert.equal(result.issues.length, 50);
  });
});
