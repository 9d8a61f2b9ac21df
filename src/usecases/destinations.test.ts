// The destination use cases: each rule of adding, changing, testing and removing a destination, once.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readEnv } from "../config/env.ts";
import { createLogger } from "../logging/logger.ts";
import { openRuntime, type Runtime } from "../pipeline/runtime.ts";
import {
  addDestination,
  InvalidDestination,
  removeDestination,
  testDestination,
  updateDestination,
  validateDestination,
} from "./destinations.ts";

const SECRET = "a-signing-secret-of-some-length";

describe("destination use cases", () => {
  const scratch = mkdtempSync(join(tmpdir(), "vigil-usecase-destinations-"));
  let runtime: Runtime;

  before(async () => {
    runtime = await openRuntime(readEnv({ VIGIL_DATA_DIR: join(scratch, "data") }), createLogger({ level: "silent" }));
  });

  after(async () => {
    await runtime?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function storedConfig(id: string): Promise<Record<string, unknown>> {
    const stored = await runtime.store.getDestinationConfig(id);
    assert.ok(stored);
    return JSON.parse(runtime.secrets.decrypt(stored)) as Record<string, unknown>;
  }

  it("refuses an unknown type, an unknown severity and an invalid config, naming fields and never values", () => {
    const check = (input: Parameters<typeof validateDestination>[0]) => () => validateDestination(input, runtime.env);
    assert.throws(check({ name: "x", type: "pigeon", config: {} }), /^InvalidDestination: .*unknown type "pigeon"/);
    assert.throws(check({ name: "x", type: "slack", minSeverity: "LOUD", config: {} }), /unknown severity "LOUD"/);
    assert.throws(
      check({ name: "x", type: "webhook", config: { url: "https://hooks.example/x", secret: "tiny-Zq" } }),
      (err) => err instanceof InvalidDestination && /secret/.test(err.problem) && !err.message.includes("tiny-Zq"),
    );
  });

  it("refuses a field the type does not have, naming it, rather than dropping it without a word", () => {
    const url = "https://hooks.slack.com/services/T0/B0/Zq";
    assert.throws(
      () =>
        validateDestination(
          {
            name: "x",
            type: "slack",
            config: { webhook_url: url, min_severty: "CRITICAL", log_type: ["OpenAI.Audit"] },
          },
          runtime.env,
        ),
      (err) =>
        err instanceof InvalidDestination &&
        err.problem.startsWith('unknown fields "log_type", "min_severty"; a slack destination has ') &&
        err.problem.includes("min_severity") &&
        !err.message.includes(url),
    );
    // A misspelt secret is named as what it is, not only as the secret that is missing.
    assert.throws(
      () => validateDestination({ name: "h", type: "webhook", config: { url, secert: SECRET } }, runtime.env),
      (err) => err instanceof InvalidDestination && /^unknown field "secert"/.test(err.problem),
    );
  });

  it("applies the type's default severity and stores only the type-specific fields, encrypted", async () => {
    const d = await addDestination(runtime, {
      name: "hook",
      type: "webhook",
      config: { url: "https://hooks.example/a", secret: SECRET, name: "ignored", type: "webhook" },
    });
    assert.equal(d.minSeverity, "INFO");
    assert.deepEqual(await storedConfig(d.id), { url: "https://hooks.example/a", secret: SECRET });
    await assert.rejects(addDestination(runtime, { name: "hook", type: "file", config: { path: "stdout" } }), {
      code: "conflict",
      message: 'A destination named "hook" already exists.',
    });
  });

  it("refuses an endpoint the outbound policy does not allow", async () => {
    const strict = {
      ...runtime,
      env: { ...runtime.env, outbound: { allowedHosts: ["hooks.example"], allowPlainHttp: false } },
    };
    await assert.rejects(
      addDestination(strict, {
        name: "out",
        type: "webhook",
        config: { url: "https://evil.example/x", secret: SECRET },
      }),
      { code: "outbound_refused" },
    );
    assert.equal(await runtime.store.getDestination("out"), null);
  });

  it("keeps stored secrets on a change, and needs them again for a new endpoint", async () => {
    const d = await runtime.store.getDestination("hook");
    assert.ok(d);
    const severe = await updateDestination(runtime, d, { minSeverity: "HIGH" });
    assert.equal(severe.minSeverity, "HIGH");
    assert.equal((await storedConfig(d.id)).secret, SECRET);
    await assert.rejects(updateDestination(runtime, d, { config: { url: "https://hooks.example/b" } }), {
      code: "secret_required",
    });
    await updateDestination(runtime, d, { config: { url: "https://hooks.example/b", secret: `${SECRET}-2` } });
    assert.deepEqual(await storedConfig(d.id), { url: "https://hooks.example/b", secret: `${SECRET}-2` });
  });

  it("changes a destination stored with a field its type does not have (before such fields were refused)", async () => {
    const url = "https://hooks.slack.com/services/T0/B0/Zq";
    const d = await runtime.store.createDestination({
      name: "old-slack",
      type: "slack",
      minSeverity: "MEDIUM",
      logTypes: [],
      config: runtime.secrets.encrypt(JSON.stringify({ webhook_url: url, channel: "#sec" })),
    });
    const severe = await updateDestination(runtime, d, { minSeverity: "HIGH" });
    assert.equal(severe.minSeverity, "HIGH");
    // The field nothing used is dropped; the change itself is still refused one.
    assert.deepEqual(await storedConfig(d.id), { webhook_url: url });
    await assert.rejects(
      updateDestination(runtime, severe, { config: { channel: "#sec" } }),
      /unknown field "channel"/,
    );
  });

  it("refuses to change or remove a destination the config file owns", async () => {
    const owned = await addDestination(
      runtime,
      { name: "owned", type: "file", config: { path: "stdout" } },
      { managedBy: "config" },
    );
    await assert.rejects(updateDestination(runtime, owned, { minSeverity: "LOW" }), /change it there/);
    await assert.rejects(removeDestination(runtime, owned), /remove it there/);
  });

  it("sends a sample alert to test a destination, then removes it", async () => {
    const file = await addDestination(runtime, { name: "file", type: "file", config: { path: "test.jsonl" } });
    const result = await testDestination(runtime, file, { deliveryId: "test-1" });
    assert.equal(result.ok, true);
    assert.equal(typeof result.durationMs, "number");
    assert.match(readFileSync(join(runtime.env.exportDir, "test.jsonl"), "utf8"), /"kind":"test"/);
    await removeDestination(runtime, file);
    assert.equal(await runtime.store.getDestination("file"), null);
  });
});
