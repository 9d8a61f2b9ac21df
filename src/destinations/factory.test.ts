import assert from "node:assert/strict";
import { test } from "node:test";
import { createDestination, DestinationConfigError, parseDestinationConfig } from "./factory.ts";
import { DEFAULT_MIN_SEVERITY, DESTINATION_TYPES } from "./types.ts";

const configs = {
  slack: { type: "slack", webhook_url: "https://hooks.slack.com/services/T/B/X" },
  webhook: { type: "webhook", url: "https://siem.example.com/in", secret: "0123456789abcdef" },
  pagerduty: { type: "pagerduty", routing_key: "abc123" },
  email: { type: "email", host: "smtp.example.com", from: "vigil@example.com", to: ["a@example.com"] },
  file: { type: "file", path: "stdout" },
} as const;

test("every destination type builds from plain JSON with defaults applied", () => {
  for (const type of DESTINATION_TYPES) {
    const config = JSON.parse(JSON.stringify({ id: `${type}-1`, name: `My ${type}`, ...configs[type] })) as unknown;
    const dest = createDestination(config);
    assert.equal(dest.type, type);
    assert.equal(dest.id, `${type}-1`);
    assert.equal(dest.name, `My ${type}`);
    assert.equal(dest.minSeverity, DEFAULT_MIN_SEVERITY[type]);
    assert.equal(dest.logTypes, undefined);
    assert.equal(typeof dest.send, "function");
  }
  const parsed = parseDestinationConfig({ id: "e", name: "E", ...configs.email });
  assert.ok(parsed.ok);
  assert.ok(parsed.config.type === "email");
  assert.equal(parsed.config.port, 587);
  assert.equal(parsed.config.tls_reject_unauthorized, true);
  assert.equal(parsed.config.timeout_secs, 10);
});

test("without min_severity a destination gets what a user would pick for its type: paging HIGH, chat and mail MEDIUM, machines INFO", () => {
  const minimum = (type: keyof typeof configs) =>
    createDestination({ id: "d", name: "D", ...configs[type] }).minSeverity;
  assert.deepEqual(
    DESTINATION_TYPES.map((type) => [type, minimum(type)]),
    [
      ["slack", "MEDIUM"],
      ["webhook", "INFO"],
      ["pagerduty", "HIGH"],
      ["email", "MEDIUM"],
      ["file", "INFO"],
    ],
  );
  // An explicit severity always wins, INFO included.
  assert.equal(
    createDestination({ id: "d", name: "D", ...configs.pagerduty, min_severity: "INFO" }).minSeverity,
    "INFO",
  );
});

test("min_severity and log_types reach the destination", () => {
  const dest = createDestination({
    id: "s",
    name: "S",
    min_severity: "HIGH",
    log_types: ["OpenAI.Audit"],
    ...configs.slack,
  });
  assert.equal(dest.minSeverity, "HIGH");
  assert.deepEqual(dest.logTypes, ["OpenAI.Audit"]);
});

test("invalid configs are rejected with paths and without echoing secret values", () => {
  assert.throws(() => createDestination({ id: "x", name: "x", type: "teams" }), DestinationConfigError);
  assert.throws(() => createDestination({ id: "bad id!", name: "x", ...configs.file }), /id/);
  assert.throws(
    () => createDestination({ id: "x", name: "x", ...configs.file, min_severity: "URGENT" }),
    /min_severity/,
  );
  assert.throws(() => createDestination({ id: "x", name: "x", ...configs.email, to: [] }), /to/);
  // A host is a name or an address: text after a NUL would pass an allow-list's *.suffix and be cut by the resolver.
  const smuggled = parseDestinationConfig({ id: "x", name: "x", ...configs.email, host: "10.1.2.3\u0000.example.com" });
  assert.ok(!smuggled.ok);
  assert.equal(smuggled.issues[0]?.path, "host");
  const result = parseDestinationConfig({ id: "x", name: "x", type: "slack", webhook_url: "not a url SECRET-TOKEN-1" });
  assert.ok(!result.ok);
  assert.equal(result.issues[0]?.path, "webhook_url");
  assert.ok(!JSON.stringify(result.issues).includes("SECRET-TOKEN-1"));
});
