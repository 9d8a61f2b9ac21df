import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isShortText, textGrams } from "./text-grams.ts";

describe("textGrams", () => {
  it("gives each pair of neighbouring characters once, the last character of a value with its line end", () => {
    assert.deepEqual(textGrams(["abab", "b\nba"]), ["\nb", "a\n", "ab", "b\n", "ba"].sort());
  });

  it("pairs characters, not UTF-16 units, whatever their script", () => {
    // é is one unit, the emoji two (a surrogate pair), Ω one: each is one character of a pair.
    assert.deepEqual(textGrams(["é😀Ω", "xé"]), ["xé", "é\n", "é😀", "Ω\n", "😀Ω"].sort());
  });

  it("keeps the case as written (the database folds it when it reads the pairs)", () => {
    assert.deepEqual(textGrams(["Ab"]), ["Ab", "b\n"]);
  });

  it("gives the line end alone nothing to pair with for an empty value", () => {
    assert.deepEqual(textGrams([""]), []);
    assert.deepEqual(textGrams([]), []);
  });
});

describe("isShortText", () => {
  it("counts characters as PostgreSQL does", () => {
    assert.equal(isShortText("~"), true);
    assert.equal(isShortText("ab"), true);
    assert.equal(isShortText("😀😀"), true, "two characters in four UTF-16 units");
    assert.equal(isShortText("abc"), false);
    assert.equal(isShortText(""), false);
  });
});
