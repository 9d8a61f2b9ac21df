import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { terminalJson, terminalJsonText, terminalLine, terminalText } from "./terminal-text.ts";

describe("terminalText", () => {
  it("shows escapes, line breaks and direction overrides as code points, and leaves other text alone", () => {
    assert.equal(terminalText("\u001b[2Jid\nforged\tline"), "⟨U+001B⟩[2Jid⟨U+000A⟩forged⟨U+0009⟩line");
    assert.equal(terminalText("\u202Emoc.liam@nimda"), "⟨U+202E⟩moc.liam@nimda");
    assert.equal(terminalText("\u{E0041}"), "⟨U+E0041⟩");
    assert.equal(terminalText("café – 東京 ✓"), "café – 東京 ✓");
    assert.equal(terminalText("a\u2028b\u00ADc"), "a⟨U+2028⟩b⟨U+00AD⟩c");
    // Hangul fillers are letters, but drawn as blank space: "ad\u3164min" would pass for "ad min".
    assert.equal(terminalText("ad\u3164min\u115F\u034F"), "ad⟨U+3164⟩min⟨U+115F⟩⟨U+034F⟩");
  });

  it("writes the same characters as \\u escapes in JSON, which still parses to the same value", () => {
    const value = { id: "\u009b2J\u202Eevil\u{E0041}", n: 1, ok: "café ✓", nl: "a\nb" };
    const line = terminalJson(value);
    assert.equal(line, '{"id":"\\u009B2J\\u202Eevil\\uDB40\\uDC41","n":1,"ok":"café ✓","nl":"a\\nb"}');
    assert.deepEqual(JSON.parse(line), value);
    assert.equal(terminalJsonText('{"a":"x\u2066y"}'), '{"a":"x\\u2066y"}');
    assert.equal(terminalJson(undefined), "null");
  });

  it("keeps a line's tabs, which separate its columns, and escapes the rest", () => {
    assert.equal(terminalLine("2026\tevil\u001b[0m\nforged\ttitle"), "2026\tevil⟨U+001B⟩[0m⟨U+000A⟩forged\ttitle");
    // Other invisible format characters too (Mongolian vowel separator, interlinear annotation).
    assert.equal(terminalText("a\u180Eb\uFFF9c"), "a⟨U+180E⟩b⟨U+FFF9⟩c");
  });
});
