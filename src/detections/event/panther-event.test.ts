// The event object: every semantic of panther_core's PantherEvent that rules rely on
// (panther-semantics.md §3): immutability, case-insensitive access with collisions, null vs
// missing, lists, defaults, deep_get, deep_walk (and its quirks), udm, udm_path, event_time_epoch.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  defineDataModel,
  ImmutableDict,
  type ImmutableList,
  KeyError,
  makeEvent,
  OPENAI_AUDIT_DATA_MODEL,
  PantherError,
} from "./index.ts";

describe("immutability", () => {
  const record = { a: { b: [1, { c: "x" }] }, s: "text" };
  const event = makeEvent(record);

  it("rejects assignment, addition and deletion at every level", () => {
    assert.throws(() => {
      (event as unknown as Record<string, unknown>).s = "changed";
    }, TypeError);
    assert.throws(() => {
      (event as unknown as Record<string, unknown>).added = 1;
    }, TypeError);
    const a = event.get("a") as ImmutableDict;
    assert.throws(() => {
      (a as unknown as Record<string, unknown>).b = 1;
    }, TypeError);
    const list = a.get("b") as ImmutableList;
    assert.throws(() => list.push(2), TypeError);
    assert.throws(() => {
      (list as unknown as unknown[])[0] = 9;
    }, TypeError);
    assert.throws(() => list.splice(0, 1), TypeError);
    assert.throws(() => list.sort(), TypeError);
    assert.equal("set" in event, false);
  });

  it("is not affected by later changes to the source record", () => {
    const source = { a: { b: "before" }, list: [1] };
    const ev = makeEvent(source);
    source.a.b = "after";
    source.list.push(2);
    assert.equal(ev.deepGet("a", "b"), "before");
    assert.deepStrictEqual([...(ev.get("list") as ImmutableList)], [1]);
  });

  it("to_dict / copy / as_list give mutable deep copies", () => {
    const copy = event.to_dict();
    (copy.a as { b: unknown[] }).b.push("new");
    assert.equal(((event.get("a") as ImmutableDict).get("b") as ImmutableList).length, 2);
    const list = (event.get("a") as ImmutableDict).get("b") as ImmutableList;
    const asList = list.as_list();
    asList.push(3);
    assert.deepStrictEqual(asList, [1, { c: "x" }, 3]);
    assert.deepStrictEqual(event.copy(), { a: { b: [1, { c: "x" }] }, s: "text" });
  });

  it("serializes with JSON.stringify (Python's json_encoder)", () => {
    assert.equal(JSON.stringify(event), JSON.stringify(record));
    assert.equal(JSON.stringify({ ctx: event.get("a") }), '{"ctx":{"b":[1,{"c":"x"}]}}');
  });

  it("keeps a __proto__ key as data", () => {
    const ev = makeEvent(JSON.parse('{"__proto__":{"x":1},"y":2}'));
    assert.equal((ev.get("__proto__") as ImmutableDict).get("x"), 1);
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(ev.toDict(), "__proto__")?.value, { x: 1 });
  });
});

describe("case-insensitive access", () => {
  const event = makeEvent({
    Actor: { Session: { User: { Email: "alice@example.com" } } },
    Type: "first",
    TYPE: "second",
    type: "exact",
    MiXeD: "m",
    mixed2: null,
  });

  it("finds keys whatever their case, at every nesting level", () => {
    assert.equal(event.get("mixed"), "m");
    assert.equal(event.get("MIXED"), "m");
    assert.equal(event.deepGet("actor", "session", "user", "email"), "alice@example.com");
    assert.equal((event.get("ACTOR") as ImmutableDict).get("session") instanceof ImmutableDict, true);
    assert.equal(event.has("actor"), true);
    assert.equal(event.has("nope"), false);
  });

  it("prefers the exact key, then the first key in insertion order on a collision", () => {
    assert.equal(event.get("type"), "exact");
    assert.equal(event.get("TYPE"), "second");
    assert.equal(event.get("Type"), "first");
    assert.equal(event.get("tYpE"), "first");
    const noExact = makeEvent({ KEY: 1, Key: 2, key_: 3 });
    assert.equal(noExact.get("key"), 1);
  });

  it("iterates and lists the original keys", () => {
    assert.deepStrictEqual(event.keys(), ["Actor", "Type", "TYPE", "type", "MiXeD", "mixed2"]);
    assert.deepStrictEqual([...event], event.keys());
    assert.equal(event.size, 6);
  });

  it("item() is Python's event[key]: KeyError when missing", () => {
    assert.equal(event.item("mixed"), "m");
    assert.throws(() => event.item("missing"), KeyError);
    assert.throws(() => makeEvent({}).item("x"), KeyError);
  });
});

describe("null vs missing, and defaults", () => {
  const event = makeEvent({ present_null: null, zero: 0, empty: "", f: false, list: [], obj: {}, nested: { n: null } });

  it("get returns null for a present null (not the default), the default for a missing key", () => {
    assert.equal(event.get("present_null", "dflt"), null);
    assert.equal(event.get("missing", "dflt"), "dflt");
    assert.equal(event.get("missing"), null);
  });

  it("deep_get turns a final null into the default", () => {
    assert.equal(event.deep_get("present_null", { default: "dflt" }), "dflt");
    assert.equal(event.deep_get("nested", "n", { default: "dflt" }), "dflt");
    assert.equal(event.deep_get("nested", "missing", "deeper", { default: "dflt" }), "dflt");
    assert.equal(event.deep_get("nested", "missing"), null);
  });

  it("deep_get returns falsy non-null values as they are", () => {
    assert.equal(event.deep_get("zero", { default: "d" }), 0);
    assert.equal(event.deep_get("empty", { default: "d" }), "");
    assert.equal(event.deep_get("f", { default: "d" }), false);
    assert.equal((event.deep_get("list", { default: "d" }) as ImmutableList).length, 0);
    assert.equal((event.deep_get("obj", { default: "d" }) as ImmutableDict).size, 0);
  });

  it("deep_get through a non-mapping value gives the default", () => {
    assert.equal(event.deep_get("zero", "x", { default: "d" }), "d");
    assert.equal(event.deep_get("empty", "x", { default: "d" }), "d");
  });

  it("a mapping default is searched by the following keys (Python's reduce)", () => {
    const dflt = { b: { c: "from default" } };
    assert.equal(event.deep_get("missing", "b", "c", { default: dflt }), "from default");
    // A plain-object default is a Python dict: exact keys only.
    assert.deepStrictEqual(event.deep_get("missing", "B", { default: dflt }), dflt);
  });
});

describe("lists", () => {
  const event = makeEvent({ items: [{ id: "a" }, { id: "b" }], tags: ["x", "y"] });

  it("deep_get does not index into lists", () => {
    assert.equal(event.deep_get("items", "id", { default: "none" }), "none");
    assert.equal(event.deep_get("items", "0", "id", { default: "none" }), "none");
  });

  it("lists are array-like and compare by contents", () => {
    const tags = event.get("tags") as ImmutableList;
    assert.ok(Array.isArray(tags));
    assert.ok(tags.includes("x"));
    assert.deepStrictEqual(
      tags.map((t) => String(t).toUpperCase()),
      ["X", "Y"],
    );
    assert.ok(tags.equals(["x", "y"]));
    assert.equal(tags.equals(["y", "x"]), false);
    const first = (event.get("items") as ImmutableList)[0] as ImmutableDict;
    assert.equal(first.get("ID"), "a");
    assert.ok(first.equals({ id: "a" }));
  });
});

describe("deep_walk", () => {
  const event = makeEvent({
    users: [
      { name: "a", roles: ["admin", "dev"], flag: true },
      { name: "b", roles: ["dev"], flag: 1 },
      { name: "a", roles: [] },
      { other: 1 },
    ],
    one: [{ v: "only" }],
    nested: [[{ k: 1 }], [{ k: 2 }, { k: 1 }]],
    empties: [[], [[]]],
    objs: [{ o: { x: 1 } }],
    plain: { deep: { value: "v" } },
  });

  it("descends into lists, flattens and de-duplicates in first-seen order", () => {
    assert.deepStrictEqual(event.deep_walk("users", "name"), ["a", "b"]);
    assert.deepStrictEqual(event.deep_walk("users", "roles"), ["admin", "dev"]);
    assert.deepStrictEqual(event.deep_walk("nested", "k"), [1, 2]);
  });

  it("returns a single value for one result with 'all', and honours 'first' / 'last'", () => {
    assert.equal(event.deep_walk("one", "v"), "only");
    assert.equal(event.deep_walk("users", "name", { returnVal: "first" }), "a");
    assert.equal(event.deep_walk("users", "name", { return_val: "last" }), "b");
  });

  it("returns the literal string 'all' for any other return_val", () => {
    assert.equal(event.deep_walk("users", "name", { returnVal: "bogus" }), "all");
  });

  it("walks plain mappings like deep_get, without the return_val quirk", () => {
    assert.equal(event.deep_walk("plain", "deep", "value"), "v");
    assert.equal(event.deep_walk("PLAIN", "Deep", "VALUE", { returnVal: "bogus" }), "v");
  });

  it("gives the default when nothing is found or the lists are empty", () => {
    assert.equal(event.deep_walk("users", "missing", { default: null }), null);
    assert.equal(event.deep_walk("missing", { default: "d" }), "d");
    assert.equal(event.deep_walk("empties", { default: "d" }), "d");
  });

  it("an element without the path contributes a non-null default", () => {
    assert.deepStrictEqual(event.deep_walk("users", "name", { default: "?" }), ["a", "b", "?"]);
  });

  it("de-duplicates like Python dict keys: true and 1 are the same value", () => {
    assert.equal(event.deep_walk("users", "flag"), true);
  });

  it("raises TypeError for objects found inside lists (unhashable in Python)", () => {
    assert.throws(() => event.deep_walk("objs", "o"), /unhashable type/);
  });
});

describe("udm with a data model", () => {
  const model = defineDataModel({
    id: "Test.Model",
    logTypes: ["Test.Log"],
    mappings: [
      { name: "source_ip", path: "$.src.ip" },
      { name: "null_field", path: "$.nothing" },
      { name: "absent", path: "$.not.there" },
      { name: "many", path: "$.list[*].id" },
      { name: "computed", method: (e) => `${String(e.get("a"))}-${String(e.get("b"))}` },
      {
        name: "none_method",
        method: function noneMethod() {
          return null;
        },
      },
      { name: "cased", path: "$.Src.IP" },
    ],
  });
  const event = makeEvent(
    {
      p_log_type: "Test.Log",
      src: { ip: "1.2.3.4" },
      nothing: null,
      list: [{ id: 1 }, { id: 2 }],
      a: "x",
      b: "y",
      p_udm: { absent: "from p_udm", user: { email: "udm@example.com" } },
      direct: "direct value",
    },
    { dataModel: model },
  );

  it("returns a JSONPath mapping's value", () => assert.equal(event.udm("source_ip"), "1.2.3.4"));

  it("returns a matched null as null, not the default", () =>
    assert.equal(event.udm("null_field", { default: "d" }), null));

  it("returns the default for a mapped path that matches nothing, without falling back to p_udm", () => {
    assert.equal(event.udm("absent", { default: "d" }), "d");
  });

  it("throws when a path matches several fields", () => {
    assert.throws(() => event.udm("many"), /matched multiple fields/);
  });

  it("returns what a method mapping returns, even null", () => {
    assert.equal(event.udm("computed"), "x-y");
    assert.equal(event.udm("none_method", { default: "d" }), null);
  });

  it("matches data-model paths case-sensitively (jsonpath over the raw record)", () => {
    assert.equal(event.udm("cased", { default: "d" }), "d");
  });

  it("falls back to p_udm, then the event, for unmapped or multi-key names (first truthy)", () => {
    assert.equal(event.udm("user", "email"), "udm@example.com");
    assert.equal(event.udm("direct"), "direct value");
    assert.equal(event.udm("unknown_name", { default: "d" }), "d");
    assert.equal(event.udm({ default: "d" }), "d");
  });

  it("udm_path gives the matched path or the method name", () => {
    assert.equal(event.udm_path("source_ip"), "src.ip");
    assert.equal(event.udm_path("none_method"), "noneMethod");
    assert.equal(event.udm_path("unknown"), null);
  });
});

describe("udm without a data model", () => {
  const event = makeEvent({ p_udm: { source_ip: "" }, source_ip: "9.9.9.9", zero: 0 });

  it("skips falsy p_udm values and uses the event's own field", () => {
    assert.equal(event.udm("source_ip"), "9.9.9.9");
    assert.equal(event.udm("zero", { default: "d" }), "d");
  });

  it("udm_path raises PantherError", () => {
    assert.throws(() => event.udm_path("source_ip"), PantherError);
  });
});

describe("data model selection", () => {
  it("picks the OpenAI.Audit model from p_log_type, none without it, none when told", () => {
    assert.equal(makeEvent({ p_log_type: "OpenAI.Audit" }).dataModel, OPENAI_AUDIT_DATA_MODEL);
    assert.equal(makeEvent({ type: "login.failed" }).dataModel, null);
    assert.equal(makeEvent({ p_log_type: "OpenAI.Audit" }, { dataModel: null }).dataModel, null);
  });
});

describe("event_time_epoch", () => {
  it("reads p_event_time as UTC epoch seconds, 0 when missing or unparsable", () => {
    assert.equal(makeEvent({ p_event_time: "2024-07-12 17:08:10.999999999" }).event_time_epoch(), 1720804090);
    assert.equal(makeEvent({ p_event_time: "2024-07-12T17:08:10Z" }).eventTimeEpoch(), 1720804090);
    assert.equal(makeEvent({}).event_time_epoch(), 0);
    assert.equal(makeEvent({ p_event_time: "garbage" }).event_time_epoch(), 0);
  });
});

describe("lookup", () => {
  it("reads mocked lookup data as panther_core does in tests", () => {
    const event = makeEvent({ _mocked_lookup_data_: { ipinfo: { "1.2.3.4": { country: "NL" } } } });
    assert.equal((event.lookup("ipinfo", "1.2.3.4") as ImmutableDict).get("country"), "NL");
    assert.equal(event.lookup("ipinfo", "5.6.7.8"), null);
    assert.equal(makeEvent({}).lookup("ipinfo", "x"), null);
  });
});
