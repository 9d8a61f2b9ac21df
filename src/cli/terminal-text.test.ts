import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { terminalText } from "./terminal-text.ts";

describe("terminalText", () => {
  it("shows escapes, line breaks and direction overrides as code points, and leaves other text alone", () => {
    assert.equal(terminalText("\u001b[2Jid\nforged\tline"), "⟨U+001B⟩[2Jid⟨U+000A⟩forged⟨U+0009⟩line");
    assert.equal(terminalText("\u202Emoc.liam@nimda"), "⟨U+202E⟩moc.liam@nimda");
    assert.equal(terminalText("\u{E0041}"), "⟨U+E0041⟩");
    assert.equal(terminalText("café – 東京 ✓"), "café – 東京 ✓");
  });
});
