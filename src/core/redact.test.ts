import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redactDeep, redactSecrets } from "./redact.ts";

describe("redactSecrets", () => {
  it("replaces every kind of OpenAI key with its prefix", () => {
    assert.equal(redactSecrets("key sk-admin-AbC123_x-yz here"), "key sk-admin-…[redacted] here");
    assert.equal(redactSecrets("sk-proj-abcdEFGH"), "sk-…[redacted]");
    assert.equal(redactSecrets("sk-svcacct-abcdEFGH"), "sk-…[redacted]");
    assert.equal(redactSecrets("legacy sk-abcdefgh1234"), "legacy sk-…[redacted]");
  });

  it("leaves a bare prefix alone, so a sentence about keys reads as written", () => {
    const sentence = "an organization Admin API key (sk-admin-…; project keys do not work)";
    assert.equal(redactSecrets(sentence), sentence);
    assert.equal(redactSecrets("sk-proj- and sk-svcacct-"), "sk-proj- and sk-svcacct-");
  });

  it("is idempotent", () => {
    const once = redactSecrets("a sk-admin-0123456789abcdef b sk-proj-0123456789 c");
    assert.equal(redactSecrets(once), once);
    assert.ok(!once.includes("0123456789"));
  });

  it("redacts strings anywhere in a JSON-like value", () => {
    assert.deepEqual(redactDeep({ a: ["sk-admin-secretsecret"], n: 1, b: { c: "ok" } }), {
      a: ["sk-admin-…[redacted]"],
      n: 1,
      b: { c: "ok" },
    });
  });
});
