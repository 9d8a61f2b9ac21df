// Vigil's built-in panther_base_helpers (used when a repository brings no global_helpers of its own): the
// helpers behave as Panther's do.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { it } from "node:test";
import { fileURLToPath } from "node:url";

const PY_DIR = fileURLToPath(new URL("./py/", import.meta.url));

/** Each expression's value, evaluated in Python with the helpers imported as `h`, as JSON. */
function pythonValues(expressions: string[]): unknown[] {
  const script = [
    "import base64, json, sys",
    `sys.path.insert(0, ${JSON.stringify(PY_DIR)})`,
    "import panther_base_helpers as h",
    "print(json.dumps([eval(e) for e in json.loads(sys.argv[1])]))",
  ].join("\n");
  return JSON.parse(execFileSync("python3", ["-c", script, JSON.stringify(expressions)], { encoding: "utf8" }));
}

it("is_base64 decodes deliberate base64 text only, and listify makes a list of anything", () => {
  const command = "powershell -nop -w hidden -c IEX(New-Object Net.WebClient)";
  assert.deepEqual(
    pythonValues([
      `h.is_base64(base64.b64encode(${JSON.stringify(command)}.encode()).decode())`,
      // PowerShell's -EncodedCommand is UTF-16-LE
      `h.is_base64(base64.b64encode(${JSON.stringify(command)}.encode('utf-16-le')).decode())`,
      // shorter than the 28 characters Panther asks by default, unless asked for less
      "h.is_base64('aGVsbG8gd29ybGQ=')",
      "h.is_base64('aGVsbG8gd29ybGQ=', min_length=12)",
      // padding left out
      "h.is_base64('aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGk')",
      // a 32-character id, and a word that decodes to CJK: not encoded text
      "h.is_base64('ba680ec474b5402da89ce553c20075eb')",
      "h.is_base64('NewUpdatesReadyToApplyNewUpdatesReadyToApply')",
      "[h.listify('a'), h.listify(1), h.listify([1, 2]), h.listify({'k': 1})]",
    ]),
    [command, command, "", "hello world", "hello world hello world hi", "", "", [["a"], [1], [1, 2], [{ k: 1 }]]],
  );
});
