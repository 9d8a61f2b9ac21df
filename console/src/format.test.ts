import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { visible } from "./format.ts";

describe("visible", () => {
  it("shows what changes how text reads without being seen, and leaves other text alone", () => {
    assert.equal(visible("\u202Emoc.liam@nimda"), "⟨U+202E⟩moc.liam@nimda");
    assert.equal(visible("ad\u00ADmin ad\u200Bmin ad\u3164min"), "ad⟨U+00AD⟩min ad⟨U+200B⟩min ad⟨U+3164⟩min");
    assert.equal(visible("\u{E0041}"), "⟨U+E0041⟩");
    // Drawn as nothing: the combining grapheme joiner, a variation selector.
    assert.equal(visible("ad\u034Fmin\uFE00"), "ad⟨U+034F⟩min⟨U+FE00⟩");
    assert.equal(visible("café – 東京 ✓"), "café – 東京 ✓");
  });
});
