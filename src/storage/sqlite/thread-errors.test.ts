import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import { SourceSettingError } from "../../core/source.ts";
import { fromWire, toWire } from "./thread-errors.ts";

/** What the other thread receives: the wire form, through structured clone as postMessage sends it. */
const across = (err: unknown) => fromWire(structuredClone(toWire(err)));

describe("errors across the writer thread", () => {
  it("keep their class, code, message and fields", () => {
    const notFound = across(new NotFoundError("No source with id x."));
    assert.ok(notFound instanceof NotFoundError);
    assert.ok(notFound instanceof VigilError);
    assert.equal((notFound as NotFoundError).code, "not_found");
    assert.equal(notFound.message, "No source with id x.");

    const setting = across(new SourceSettingError("poll_interval_secs", "must be at least 5"));
    assert.ok(setting instanceof SourceSettingError && setting instanceof UsageError);
    assert.equal((setting as SourceSettingError).field, "poll_interval_secs");
    assert.equal(setting.message, "Invalid poll_interval_secs: must be at least 5.");

    const busy = across(new VigilError("storage_busy", "The database is busy.", { retryable: true }));
    assert.ok(busy instanceof VigilError);
    assert.equal((busy as VigilError).retryable, true);
  });

  it("keep their cause, and an unknown class with a code still reads as a VigilError", () => {
    const cause = Object.assign(new Error("UNIQUE constraint failed"), { code: "SQLITE_CONSTRAINT_UNIQUE" });
    const wrapped = across(new VigilError("storage_conflict", "Already there.", { cause }));
    assert.equal((wrapped.cause as Error).message, "UNIQUE constraint failed");
    const coded = across(cause);
    assert.ok(coded instanceof VigilError);
    assert.equal((coded as VigilError).code, "SQLITE_CONSTRAINT_UNIQUE");
    const plain = across(new TypeError("x is not a function"));
    assert.ok(!(plain instanceof VigilError));
    assert.equal(plain.name, "TypeError");
    assert.equal(across("a string thrown").message, "a string thrown");
  });
});
