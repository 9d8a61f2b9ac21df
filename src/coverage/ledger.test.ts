import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CLASSIC_EVENT_TYPES, KNOWN_EVENT_TYPES, TENANT_EVENT_TYPES } from "../core/event-types.ts";
import { defineRule } from "../detections/define-rule.ts";
import { loadRules } from "../detections/engine/load.ts";
import { fromDefinition } from "../detections/engine/loaded-rule.ts";
import { buildLedger, formatLedger } from "./ledger.ts";

const rule = (id: string, tests: Array<{ type: string; expected: boolean }>, logTypes = ["OpenAI.Audit"]) =>
  fromDefinition(
    defineRule({
      id,
      logTypes,
      rule: () => true,
      tests: tests.map((t, i) => ({ name: `case ${i}`, expected: t.expected, log: { type: t.type } })),
    }),
    `${id}.ts`,
    null,
  );

describe("coverage ledger", () => {
  it("lists every known type with seen counts, covering rules (positive tests) and test counts", () => {
    const rules = [
      rule("A", [
        { type: "api_key.created", expected: true },
        { type: "api_key.updated", expected: false },
      ]),
      rule("B", [{ type: "api_key.created", expected: true }]),
      rule("Untested", []),
      rule("OtherLog", [{ type: "login.failed", expected: true }], ["OpenAI.Posture"]),
    ];
    const ledger = buildLedger(rules, [
      { type: "api_key.created", count: 5, lastSeenSecs: 1_700_000_000 },
      { type: "project.transferred", count: 2, lastSeenSecs: 1_700_000_100 },
    ]);
    assert.equal(ledger.known, KNOWN_EVENT_TYPES.size);
    assert.equal(ledger.known, 147);
    assert.equal(CLASSIC_EVENT_TYPES.length + TENANT_EVENT_TYPES.length, 147);
    const created = ledger.types.find((t) => t.type === "api_key.created");
    assert.deepEqual(created, {
      type: "api_key.created",
      tenantScoped: false,
      seenCount: 5,
      lastSeenSecs: 1_700_000_000,
      rules: ["A", "B"],
      tests: 2,
    });
    // A negative case exercises the type but does not make the rule cover it.
    assert.deepEqual(ledger.types.find((t) => t.type === "api_key.updated")?.rules, []);
    assert.equal(ledger.types.find((t) => t.type === "api_key.updated")?.tests, 1);
    // Rules on other log types do not count.
    assert.deepEqual(ledger.types.find((t) => t.type === "login.failed")?.rules, []);
    assert.equal(
      ledger.types.find((t) => t.type === "tenant.trusted_access.application.submitted")?.tenantScoped,
      true,
    );
    assert.equal(ledger.seen, 1);
    assert.equal(ledger.covered, 1);
    assert.deepEqual(ledger.unknownSeen, [{ type: "project.transferred", seenCount: 2, lastSeenSecs: 1_700_000_100 }]);
    const text = formatLedger(ledger);
    assert.match(text, /^147 event types known to the spec; 1 seen in this organization; 1 covered/);
    assert.match(text, /api_key\.created\t5\t2023-11-14\t2\tA,B/);
    assert.match(text, /new types\):\nproject\.transferred\t2/);
  });

  it("counts a type's former spelling as the type, never as a new one", () => {
    const ledger = buildLedger(
      [rule("Shares", [{ type: "checkpoint_permission.created", expected: true }])],
      [
        { type: "checkpoint.permission.created", count: 3, lastSeenSecs: 1_790_000_000 },
        { type: "checkpoint_permission.created", count: 2, lastSeenSecs: 1_750_000_000 },
      ],
    );
    assert.deepEqual(
      ledger.types.find((t) => t.type === "checkpoint.permission.created"),
      {
        type: "checkpoint.permission.created",
        tenantScoped: false,
        seenCount: 5,
        lastSeenSecs: 1_790_000_000,
        rules: ["Shares"],
        tests: 1,
      },
    );
    assert.equal(
      ledger.types.find((t) => t.type === "checkpoint_permission.created"),
      undefined,
    );
    assert.deepEqual(ledger.unknownSeen, []);
  });

  it("the built-in packs cover the types their tests exercise", async () => {
    const rules = await loadRules();
    const ledger = buildLedger(rules.rules, []);
    assert.ok(ledger.covered >= 20, `covered ${ledger.covered}`);
    assert.ok(ledger.types.find((t) => t.type === "login.failed")?.rules.length);
    assert.ok(ledger.types.find((t) => t.type === "invite.sent")?.rules.includes("OpenAI.Users.InviteOutsideDomain"));
  });
});
