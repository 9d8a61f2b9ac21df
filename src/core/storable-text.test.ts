import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cutText, storableText, wellFormedText } from "./storable-text.ts";

describe("storableText", () => {
  it("escapes NUL and lone surrogates and keeps real pairs", () => {
    assert.equal(storableText("a\u0000b\uD800c\uDC01😀", 100), "a\\u0000b\\ud800c\\udc01😀");
  });

  it("cuts to the bound without splitting a surrogate pair", () => {
    assert.equal(storableText("ab😀", 3), "ab");
    assert.equal(storableText("x".repeat(10 * 1024 * 1024), 256).length, 256);
  });
});

describe("wellFormedText and cutText", () => {
  it("leave text the stores hold as it is", () => {
    const text = "plain, ümlaut, 😀";
    assert.equal(wellFormedText(text), text);
    assert.equal(cutText(text, 100), text);
  });

  it("cut between characters only", () => {
    assert.equal(cutText("😀😀", 3), "😀");
    assert.equal(cutText("😀😀", 2), "😀");
  });
});
