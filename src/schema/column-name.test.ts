import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { columnName } from "./column-name.ts";

describe("columnName (Panther's key renaming)", () => {
  // The first nine cases are Panther's own (OSS glueschema/columns_test.go).
  const cases: Array<[string, string]> = [
    ["@foo", "at_sign_foo"],
    ["foo,bar", "foo_comma_bar"],
    ["`foo`", "backtick_foo_backtick"],
    ["'foo'", "apostrophe_foo_apostrophe"],
    ["foo.bar", "foo_bar"],
    [".foo", "_foo"],
    ["foo-bar", "foo-bar"],
    ["$foo", "dollar_sign_foo"],
    ["συνθηματικό", "synthimatiko"],
    ["api_key.created", "api_key_created"],
    ["role.assignment.created", "role_assignment_created"],
    ["@timestamp", "at_sign_timestamp"],
    ["a b", "a_b"],
    ["Café", "Cafe"],
    ["a+b=c", "a_plus_b_eq_c"],
    ["x@", "x_at_sign"],
    ["日本", "__"],
    ["already_fine-123", "already_fine-123"],
    ["__proto__", "__proto__"],
  ];
  for (const [input, expected] of cases)
    it(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(columnName(input), expected));
});
