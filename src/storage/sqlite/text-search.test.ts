import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { trigramLookup } from "./text-search.ts";

describe("trigramLookup", () => {
  it("leaves text shorter than a trigram to the scan", () => {
    assert.equal(trigramLookup(""), null);
    assert.equal(trigramLookup("ab"), null);
    // Two code points, four UTF-16 units: still shorter than a trigram.
    assert.equal(trigramLookup("😀😀"), null);
  });

  it("covers the text with every third trigram and the last one", () => {
    assert.equal(trigramLookup("abc"), '"abc"');
    assert.equal(trigramLookup("abcd"), '"abc" AND "bcd"');
    assert.equal(trigramLookup("abcdef"), '"abc" AND "def"');
    assert.equal(trigramLookup("abcdefg"), '"abc" AND "def" AND "efg"');
  });

  it("drops repeated trigrams", () => {
    assert.equal(trigramLookup("aaaaaa"), '"aaa"');
  });

  it("cuts by code point, so no trigram splits a surrogate pair", () => {
    assert.equal(trigramLookup("a😀bc"), '"a😀b" AND "😀bc"');
  });

  it("quotes every trigram, so FTS5 syntax in the text stays text", () => {
    assert.equal(trigramLookup('a"b'), '"a""b"');
    assert.equal(trigramLookup("x OR y*"), '"x O" AND "R y" AND " y*"');
    assert.equal(trigramLookup("NOT"), '"NOT"');
  });
});
