import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readEnv } from "./env.ts";

describe("environment", () => {
  it("refuses a database URL that does not read as one URL, without echoing it", () => {
    for (const url of [
      "postgresql://vigil:pw@dbhost:notaport/db",
      // A # in the password: what follows it would be taken for the host.
      "postgresql://vigil:Abc@TopSecretPart#x@dbhost:5432/db",
    ]) {
      assert.throws(
        () => readEnv({ VIGIL_DATABASE_URL: url }),
        (err: Error) => {
          assert.match(err.message, /^Environment variable VIGIL_DATABASE_URL is invalid: .*percent-encode/);
          assert.doesNotMatch(err.message, /TopSecretPart|pw@|dbhost/);
          return true;
        },
        url,
      );
    }
  });

  it("takes a database URL whose password is percent-encoded, and one naming a socket directory", () => {
    for (const url of [
      "postgresql://vigil:Abc%40Top%23x@dbhost:5432/db?sslmode=require",
      "postgresql://vigil@/vigil?host=/var/run/postgresql",
      "postgresql:///vigil",
    ])
      assert.equal(readEnv({ VIGIL_DATABASE_URL: url }).databaseUrl, url);
  });
});
