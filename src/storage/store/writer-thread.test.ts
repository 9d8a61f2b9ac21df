// The errors that cross a writer thread (writer-thread.ts); each engine's thread is tested with its store
// (../sqlite/writer-thread.test.ts, ../postgres/postgres-store.test.ts).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { ConfigurationError, NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import { rebuildSqliteError } from "../sqlite/sqlite-errors.ts";
import { fromRemoteError, toRemoteError } from "./writer-thread.ts";

describe("errors across the writer thread", () => {
  it("come back as the class and fields they were thrown with", () => {
    const cases: Error[] = [
      new NotFoundError("No source with id s1."),
      new UsageError("Unknown stream."),
      new ConfigurationError("bad_key", "The key is wrong."),
      new VigilError("storage_busy", "The database is busy.", { retryable: true }),
      new Database.SqliteError("UNIQUE constraint failed", "SQLITE_CONSTRAINT_UNIQUE"),
      new Error("A new match was stored already."),
    ];
    for (const original of cases) {
      const rebuilt = fromRemoteError(structuredClone(toRemoteError(original)), rebuildSqliteError);
      assert.equal(rebuilt.constructor, original.constructor, original.name);
      assert.equal(rebuilt.message, original.message);
      assert.equal((rebuilt as { code?: string }).code, (original as { code?: string }).code);
      assert.equal((rebuilt as { retryable?: boolean }).retryable, (original as { retryable?: boolean }).retryable);
      assert.equal(rebuilt.stack, original.stack);
    }
    // A kind of VigilError the thread side knows and this one does not list: a VigilError, with its code and
    // whether to retry.
    class ThreadOnlyError extends VigilError {}
    const kind = fromRemoteError(
      structuredClone(toRemoteError(new ThreadOnlyError("lease_lost", "The lease is gone.", { retryable: true }))),
    );
    assert.equal(kind.constructor, VigilError);
    assert.equal((kind as VigilError).code, "lease_lost");
    assert.equal((kind as VigilError).retryable, true);
    assert.equal(kind.message, "The lease is gone.");
    const thrown = fromRemoteError(toRemoteError("a string"));
    assert.equal(thrown.constructor, Error);
    assert.equal(thrown.message, "a string");
  });
});
