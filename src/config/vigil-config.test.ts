import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { configFilePath, loadConfigFile, parseConfigFile } from "./vigil-config.ts";

/** A `${NAME}` reference, as written in the file. */
const ref = (name: string) => `$${"{"}${name}}`;
const env = (vars: Record<string, string>) => (name: string) => vars[name];

describe("config file: destinations", () => {
  it("reads entries and resolves environment variable references", () => {
    const file = parseConfigFile(
      [
        "destinations:",
        "  - name: sec",
        "    type: slack",
        "    min_severity: high",
        `    webhook_url: ${ref("SLACK_URL")}`,
        "  - name: siem",
        "    type: webhook",
        "    log_types: [OpenAI.Audit]",
        "    url: https://siem.example.com/vigil",
        `    secret: ${ref("HOOK_SECRET")}`,
        "  - name: oncall",
        "    type: pagerduty",
        `    routing_key: ${ref("PD_KEY")}`,
      ].join("\n"),
      "/etc/vigil.yml",
      env({ SLACK_URL: "https://hooks.slack.com/services/x", HOOK_SECRET: "0123456789abcdef0123", PD_KEY: "pd-key" }),
    );
    assert.deepEqual(file.destinations, [
      {
        name: "sec",
        type: "slack",
        minSeverity: "HIGH",
        logTypes: [],
        options: { webhook_url: "https://hooks.slack.com/services/x" },
      },
      {
        name: "siem",
        type: "webhook",
        minSeverity: "INFO",
        logTypes: ["OpenAI.Audit"],
        options: { url: "https://siem.example.com/vigil", secret: "0123456789abcdef0123" },
      },
      // No min_severity: the type's default (a pager pages on HIGH and above).
      { name: "oncall", type: "pagerduty", minSeverity: "HIGH", logTypes: [], options: { routing_key: "pd-key" } },
    ]);
  });

  it("names the entry and the variable when an environment variable is missing", () => {
    assert.throws(
      () =>
        parseConfigFile(
          `destinations:\n  - name: sec\n    type: slack\n    webhook_url: ${ref("SLACK_URL")}\n`,
          "v.yml",
          env({}),
        ),
      /v\.yml, destinations\[0\] \(sec\): environment variable SLACK_URL is not set/,
    );
  });

  it("rejects entries without a name, duplicate names and invalid YAML", () => {
    assert.throws(
      () => parseConfigFile("destinations:\n  - type: slack\n", "v.yml", env({})),
      /destinations\[0\]: name/,
    );
    assert.throws(
      () =>
        parseConfigFile(
          "destinations:\n  - {name: a, type: file, path: x}\n  - {name: a, type: file, path: y}\n",
          "v.yml",
          env({}),
        ),
      /destinations\[1\] \(a\): the name a is used twice/,
    );
    assert.throws(() => parseConfigFile("destinations: [", "v.yml", env({})), /not valid YAML/);
    assert.throws(() => parseConfigFile("destinations: 3", "v.yml", env({})), /v\.yml: destinations/);
  });

  it("says where the YAML breaks without quoting the file's lines, which may hold a secret", async () => {
    const text =
      'destinations:\n  - name: s\n    type: slack\n    webhook_url: "https://hooks.slack.com/services/T0/B0/LEAKEDSECRET\n';
    assert.throws(
      () => parseConfigFile(text, "v.yml", env({})),
      (err: Error) => {
        assert.match(err.message, /^Config file v\.yml is not valid YAML: .*line \d+, column \d+\.$/);
        assert.doesNotMatch(err.message, /LEAKEDSECRET|hooks\.slack/);
        return true;
      },
    );
    // A warning (an unknown tag) refuses the file too, and prints nothing: the library would quote the line.
    const warnings: unknown[] = [];
    const onWarning = (w: unknown) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      assert.throws(
        () =>
          parseConfigFile(
            "destinations:\n  - name: s\n    type: slack\n    webhook_url: !SECRETTAG https://hooks.slack.com/services/T0/B0/LEAKEDSECRET\n",
            "v.yml",
            env({}),
          ),
        (err: Error) => {
          assert.match(err.message, /^Config file v\.yml is not valid YAML: .*line 4, column \d+\.$/);
          assert.doesNotMatch(err.message, /LEAKEDSECRET|hooks\.slack/);
          return true;
        },
      );
      // Warnings are emitted on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(warnings, []);
  });

  it("refuses a key it does not know, rather than loading nothing", () => {
    assert.throws(
      () => parseConfigFile("destination:\n  - name: a\n    type: webhook\n", "v.yml", env({})),
      (err: Error) => {
        assert.equal(
          err.message,
          'Config file v.yml: unknown key "destination" (the file holds destinations:, and keys beginning with x- for YAML anchors).',
        );
        return true;
      },
    );
    // Keys beginning with x- hold YAML anchors for the entries.
    const anchored = parseConfigFile(
      "x-hook: &hook\n  type: webhook\n  url: https://hooks.example/a\ndestinations:\n  - <<: *hook\n    name: a\n",
      "v.yml",
      env({}),
    );
    assert.deepEqual(
      anchored.destinations.map((d) => [d.name, d.type]),
      [["a", "webhook"]],
    );
  });

  describe("where the file is", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-config-"));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("uses VIGIL_CONFIG (which must exist), else <dataDir>/vigil.yml when present", () => {
      assert.equal(configFilePath({ configPath: undefined, dataDir: dir }), null);
      assert.equal(loadConfigFile({ configPath: undefined, dataDir: dir, lookup: env({}) }), null);
      writeFileSync(join(dir, "vigil.yml"), "destinations:\n  - {name: out, type: file, path: stdout}\n");
      assert.equal(configFilePath({ configPath: undefined, dataDir: dir }), join(dir, "vigil.yml"));
      assert.equal(loadConfigFile({ configPath: undefined, dataDir: dir, lookup: env({}) })?.destinations.length, 1);
      assert.throws(() => configFilePath({ configPath: join(dir, "nope.yml"), dataDir: dir }), /does not exist/);
      assert.throws(
        () => configFilePath({ configPath: dir, dataDir: dir }),
        new RegExp(`^ConfigurationError: VIGIL_CONFIG names ${dir}, which is not a file`),
      );
    });
  });
});
