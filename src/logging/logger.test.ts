// The two log formats: short human lines by default, pino JSON with VIGIL_LOG_FORMAT=json; both redacted.

import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { readEnv } from "../config/env.ts";
import { createLogger } from "./logger.ts";

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join("") };
}

const KEY = `sk-admin-${"a".repeat(40)}`;

describe("createLogger", () => {
  it("writes one short pretty line per entry by default, without the fields and without colours", () => {
    const out = capture();
    const logger = createLogger({ destination: out.stream });
    logger.info({ source: "Demo", inserted: 3 }, "Polled Demo: 3 new events.");
    logger.warn(new Error(`bad key ${KEY}`));
    const lines = out.text().trimEnd().split("\n");
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? "", /^\[?\d\d:\d\d:\d\d\]? INFO: Polled Demo: 3 new events\.$/);
    assert.match(lines[1] ?? "", /WARN: bad key /);
    assert.ok(!out.text().includes(KEY), "the key is redacted");
    assert.ok(!out.text().includes("\u001b["), "no colour codes outside a terminal");
    assert.ok(!out.text().includes('"inserted"'), "fields stay out of pretty lines");
  });

  it("writes pino JSON lines with every field in the json format", () => {
    const out = capture();
    const logger = createLogger({ format: "json", destination: out.stream });
    logger.info({ source: "Demo", inserted: 3 }, `Polled Demo with ${KEY}.`);
    const entry = JSON.parse(out.text().trim()) as Record<string, unknown>;
    assert.equal(entry.level, 30);
    assert.equal(entry.source, "Demo");
    assert.equal(entry.inserted, 3);
    assert.match(String(entry.msg), /^Polled Demo with /);
    assert.ok(!out.text().includes(KEY));
  });

  it("reads the format from VIGIL_LOG_FORMAT, pretty when unset, and refuses another value", () => {
    assert.equal(readEnv({}).logFormat, "pretty");
    assert.equal(readEnv({ VIGIL_LOG_FORMAT: "json" }).logFormat, "json");
    assert.throws(() => readEnv({ VIGIL_LOG_FORMAT: "xml" }), /VIGIL_LOG_FORMAT/);
  });
});
