// The source settings schema: every bound refuses the value just outside it with a message naming the field and
// the limit, accepts the bound itself, and the defaults are the ones the bounds table states.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type BoundedSetting,
  parseSettingChanges,
  parseSourceSettings,
  SOURCE_DEFAULTS,
  SOURCE_SETTING_BOUNDS,
  SourceSettingError,
} from "./source.ts";

function refusal(input: Record<string, unknown>): SourceSettingError {
  try {
    parseSourceSettings({ name: "a", ...input });
  } catch (err) {
    assert.ok(err instanceof SourceSettingError, String(err));
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(input)}`);
}

describe("source settings schema", () => {
  for (const [field, b] of Object.entries(SOURCE_SETTING_BOUNDS) as Array<
    [BoundedSetting, (typeof SOURCE_SETTING_BOUNDS)[BoundedSetting]]
  >) {
    it(`${field}: refuses ${b.min - 1} (below the minimum, ${b.min}) naming the field and the limit`, () => {
      const err = refusal({ [field]: b.min - 1 });
      assert.equal(err.field, field);
      assert.equal(err.code, "usage");
      assert.match(err.message, new RegExp(`^Invalid ${field}: .*\\b${b.min}\\b`));
    });

    it(`${field}: refuses ${b.max + 1} (above the maximum, ${b.max}) naming the field and the limit`, () => {
      const err = refusal({ [field]: b.max + 1 });
      assert.equal(err.field, field);
      assert.match(err.message, new RegExp(`^Invalid ${field}: .*\\b${b.max}\\b`));
    });

    it(`${field}: accepts both bounds, refuses a fraction, defaults to ${b.default}`, () => {
      // A sweep interval as long as the sweep window is refused (below): with sweeps off, any interval in bounds.
      const others = field === "sweepIntervalSecs" ? { sweepWindowSecs: 0 } : {};
      assert.equal(parseSourceSettings({ name: "a", ...others, [field]: b.min })[field], b.min);
      assert.equal(parseSourceSettings({ name: "a", ...others, [field]: b.max })[field], b.max);
      assert.match(refusal({ [field]: b.min + 0.5 }).message, new RegExp(`^Invalid ${field}: `));
      assert.equal(SOURCE_DEFAULTS[field], b.default);
      assert.equal(parseSourceSettings({ name: "a" })[field], b.default);
    });
  }

  it("sweepIntervalSecs: shorter than the sweep window, unless sweeps are off", () => {
    assert.equal(
      parseSourceSettings({ name: "a", sweepWindowSecs: 7200, sweepIntervalSecs: 7199 }).sweepIntervalSecs,
      7199,
    );
    const err = refusal({ sweepWindowSecs: 7200, sweepIntervalSecs: 7200 });
    assert.equal(err.field, "sweepIntervalSecs");
    assert.match(err.message, /^Invalid sweepIntervalSecs: must be shorter than sweepWindowSecs \(7200 seconds\)/);
    // The default interval (1 h) against a window set below it.
    assert.equal(refusal({ sweepWindowSecs: 3600 }).field, "sweepIntervalSecs");
    assert.equal(parseSourceSettings({ name: "a", sweepWindowSecs: 0 }).sweepIntervalSecs, 3600);
    // A window no interval can be shorter than says so, about the window.
    assert.equal(
      refusal({ sweepWindowSecs: 30, sweepIntervalSecs: 60 }).message,
      "Invalid sweepWindowSecs: must be 0 (late-event re-reads off) or more than 60 seconds, the shortest time between sweeps.",
    );
  });

  it("postureIntervalSecs: 0 turns snapshots off", () => {
    assert.equal(parseSourceSettings({ name: "a", postureIntervalSecs: 0 }).postureIntervalSecs, 0);
    assert.match(refusal({ postureIntervalSecs: -1 }).message, /^Invalid postureIntervalSecs: must be 0 \(off\) or/);
  });

  it("pollIntervalSecs: the minimum is 5 seconds, as the CLI, the API and the console apply it", () => {
    assert.equal(refusal({ pollIntervalSecs: 4 }).message, "Invalid pollIntervalSecs: must be at least 5 seconds.");
  });

  it("name: needed, at most 100 characters, of letters, digits, spaces and . _ - : @", () => {
    assert.equal(refusal({ name: "" }).field, "name");
    assert.match(refusal({ name: "x".repeat(101) }).message, /^Invalid name: must be at most 100 characters/);
    assert.equal(parseSourceSettings({ name: "x".repeat(100) }).name.length, 100);
    assert.match(refusal({ name: "a/b" }).message, /^Invalid name: use letters/);
  });

  it("baseUrl: an http(s) URL or null (the default)", () => {
    assert.equal(parseSourceSettings({ name: "a" }).baseUrl, null);
    assert.equal(parseSourceSettings({ name: "a", baseUrl: "https://x.example/v1" }).baseUrl, "https://x.example/v1");
    assert.match(refusal({ baseUrl: "ftp://x.example" }).message, /^Invalid baseUrl: use an https:\/\/ URL\.$/);
    // A query could never poll (the client refuses one), and is where a key gets pasted: refused unechoed.
    for (const baseUrl of ["https://x.example/v1?api_key=QSECRET", "https://x.example/v1#QSECRET"]) {
      const message = refusal({ baseUrl }).message;
      assert.match(message, /^Invalid baseUrl: use the API's base URL alone, without \? or # \(no query\)\.$/);
      assert.doesNotMatch(message, /QSECRET/);
    }
  });

  it("fills in every default, and a change gets none", () => {
    assert.deepEqual(parseSourceSettings({ name: "a" }), { name: "a", ...SOURCE_DEFAULTS });
    assert.deepEqual(parseSettingChanges({ pollIntervalSecs: 30 }), { pollIntervalSecs: 30 });
    assert.throws(
      () => parseSettingChanges({ backfillDays: 366 }),
      /^SourceSettingError: Invalid backfillDays: must be at most 365 days\.$/,
    );
  });
});
