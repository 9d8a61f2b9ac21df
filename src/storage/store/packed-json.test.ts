import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ruleMatch } from "../../../test/storage-contract.ts";
import { packJson, unpackJson, withPackedContexts } from "./packed-json.ts";

/** A context as the OpenAI pack reports it (packs/openai/_common.ts standardContext). */
const STANDARD = {
  actor_email: "ada.wilson@example.com",
  actor_id: "user-96SB5E9NBBJjJaxq7Ci4nk4b",
  actor_type: "session",
  source_ip: "99.230.79.19",
  user_agent:
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
  geo: { country: "CA", city: "Toronto", region: "Ontario", asn: "812" },
  project_id: "proj_zU3gHKYfULH8kQOoYDeBiQzU",
  project_name: "Search Ranking",
  event_type: "api_key.deleted",
  event_id: "audit_log-YsJYVw6kGESjbRiPzih7GAPF",
  effective_at: 1796465006,
  key_id: "key_dWL3NDmLdNQk8qvv",
  scopes: [],
};

describe("packed alert contexts", () => {
  it("reads back every context as it was written", () => {
    for (const context of [
      STANDARD,
      {},
      { nested: { list: [1, "two", null, true, { deep: -0.5 }] } },
      { text: 'é ☃ 𝄞 \u0000 "quoted" \\ \n' },
      { correlationKey: "", actor_email: null, source_ip: "2001:db8::1" },
    ]) {
      assert.deepEqual(unpackJson(packJson(context)), context);
    }
    assert.equal(packJson(null), null);
    assert.equal(unpackJson(null), null);
  });

  it("stores a pack context in under half its JSON, in a buffer of its own", () => {
    const packed = packJson(STANDARD);
    assert.ok(packed !== null);
    // Not a view into a larger buffer: sent to a thread, a view takes its whole buffer along.
    assert.equal(packed.buffer.byteLength, packed.length);
    const json = Buffer.byteLength(JSON.stringify(STANDARD));
    assert.ok(packed.length < json / 2, `${packed.length} bytes packed for ${json} of JSON`);
  });

  it("reads contexts stored before packing: JSON text, and its UTF-8 bytes", () => {
    const json = JSON.stringify({ note: "é", n: 1 });
    assert.deepEqual(unpackJson(json), { note: "é", n: 1 });
    assert.deepEqual(unpackJson(new Uint8Array(Buffer.from(json, "utf8"))), { note: "é", n: 1 });
  });

  it("reads a packed context from a view into a larger buffer", () => {
    const packed = packJson(STANDARD);
    assert.ok(packed !== null);
    const larger = new Uint8Array(packed.length + 8);
    larger.set(packed, 4);
    assert.deepEqual(unpackJson(larger.subarray(4, 4 + packed.length)), STANDARD);
  });

  it("refuses a damaged packed context rather than reading something else", () => {
    const packed = packJson(STANDARD);
    assert.ok(packed !== null);
    assert.throws(() => unpackJson(packed.subarray(0, packed.length - 10)));
  });

  it("packs a page's contexts once, before the page crosses to a writer thread", () => {
    const page = {
      sourceId: "s1",
      events: [],
      quarantined: [],
      unknownTypes: [],
      matches: [ruleMatch("s1", "e1", 0, { alertContext: STANDARD }), ruleMatch("s1", "e2", 0, { alertContext: null })],
    };
    // Crossing to a thread is a structured clone: packed bytes arrive as a Uint8Array, and are written as they are.
    const crossed = structuredClone(withPackedContexts(page));
    const [first, second] = crossed.matches ?? [];
    const packed: unknown = first?.alertContext;
    assert.ok(packed instanceof Uint8Array, "packed before the crossing");
    assert.equal(packJson(packed), packed, "and written as it is");
    assert.deepEqual(packed, packJson(STANDARD));
    assert.deepEqual(unpackJson(packed), STANDARD);
    assert.equal(packJson(second?.alertContext), null);
    assert.deepEqual(page.matches[0]?.alertContext, STANDARD, "the caller's page is left as it was");
    // Packed already (the writer thread receiving SQLite's pages): the page is returned as it is.
    assert.equal(withPackedContexts(crossed), crossed);
    const plain = { sourceId: "s1", events: [], quarantined: [], unknownTypes: [] };
    assert.equal(withPackedContexts(plain), plain);
  });
});
