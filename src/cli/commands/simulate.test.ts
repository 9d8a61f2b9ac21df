import assert from "node:assert/strict";
import { type AddressInfo, createServer } from "node:net";
import { describe, it } from "node:test";
import { Command } from "commander";
import { UsageError } from "../../core/errors.ts";
import { register, type SimulateFlags, simulatorOptionsFromFlags } from "./simulate.ts";

const BASE_FLAGS: SimulateFlags = {
  port: 0,
  host: "127.0.0.1",
  seed: 1,
  historyDays: 7,
  eventsPerDay: 500,
  livePerMinute: 2,
};

function program(deps: Parameters<typeof register>[1], writeOut: (s: string) => void = () => {}): Command {
  // Output settings and exitOverride are copied to subcommands when they are created, so they come first.
  const p = new Command("vigil").exitOverride().configureOutput({ writeOut, writeErr: () => {} });
  register(p, deps);
  return p;
}

describe("vigil simulate: flags", () => {
  it("maps flags to simulator options, faults and scenarios included", () => {
    const options = simulatorOptionsFromFlags(
      {
        ...BASE_FLAGS,
        seed: 9,
        scenario: ["scim-disabled", "password-spray"],
        fault: ["rate-limit=0.2", "retry-after=http-date", "truncate=0.05"],
        tenantShare: 0.1,
        pageDelayMs: 3,
      },
      () => undefined,
    );
    assert.equal(options.seed, 9);
    assert.deepEqual(options.history, { days: 7, eventsPerDay: 500 });
    assert.deepEqual(options.live, { eventsPerMinute: 2 });
    assert.deepEqual(options.scenarios, [{ name: "scim-disabled" }, { name: "password-spray" }]);
    assert.deepEqual(options.faults, { rateLimitProbability: 0.2, retryAfter: "http-date", truncateProbability: 0.05 });
    assert.equal(options.tenantShare, 0.1);
    assert.equal(options.pageDelayMs, 3);
  });

  it("reads the admin key from --admin-key-env, and says so when the variable is unset", () => {
    const env: Record<string, string> = { MY_KEY: "sk-admin-mine-1234567890abcdef" };
    const options = simulatorOptionsFromFlags({ ...BASE_FLAGS, adminKeyEnv: "MY_KEY" }, (name) => env[name]);
    assert.equal(options.adminKey, "sk-admin-mine-1234567890abcdef");
    assert.throws(() => simulatorOptionsFromFlags({ ...BASE_FLAGS, adminKeyEnv: "NOPE" }, () => undefined), UsageError);
  });

  it("turns a bad --fault into a usage error", () => {
    assert.throws(() => simulatorOptionsFromFlags({ ...BASE_FLAGS, fault: ["hang=2"] }, () => undefined), UsageError);
  });

  it("has --help with an example, and rejects unknown scenarios", async () => {
    let help = "";
    const p = program({ write: () => {} }, (s) => {
      help += s;
    });
    await assert.rejects(p.parseAsync(["node", "vigil", "simulate", "--help"]));
    assert.match(help, /Examples:\n\s+vigil simulate --port 8787 --scenario credential-stuffing/);
    assert.match(help, /--fault <name=value\.\.\.>/);
    const q = program({ write: () => {} });
    await assert.rejects(q.parseAsync(["node", "vigil", "simulate", "--scenario", "no-such-thing"]), /invalid/i);
  });

  it("--list-scenarios prints each scenario with its description", async () => {
    let out = "";
    await program({ write: (s) => (out += s) }).parseAsync(["node", "vigil", "simulate", "--list-scenarios"]);
    assert.match(out, /^credential-stuffing\s+Eight failed logins/m);
    assert.match(out, /^api-call-logging-disabled\s+/m);
  });
});

describe("vigil simulate: a port in use", () => {
  it("says the port is taken and how to choose another", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      await assert.rejects(
        program({ write: () => {}, waitForStop: async () => {} }).parseAsync([
          "node",
          "vigil",
          "simulate",
          "--port",
          String(port),
        ]),
        (err: Error) =>
          err instanceof UsageError &&
          err.message ===
            `Another program already listens on 127.0.0.1:${port}; choose another port with --port (0: any free port).`,
      );
    } finally {
      taken.close();
    }
  });
});

describe("vigil simulate: running", () => {
  it("starts the simulator, prints the base URL and key to export, serves until stopped", async () => {
    let out = "";
    let stop: () => void = () => {};
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const command = program({
      write: (s) => {
        out += s;
        started();
      },
      waitForStop: () => new Promise<void>((resolve) => (stop = resolve)),
    }).parseAsync([
      "node",
      "vigil",
      "simulate",
      "--seed",
      "4",
      "--history-days",
      "0.5",
      "--events-per-day",
      "200",
      "--scenario",
      "credential-stuffing",
      "--fault",
      "slow=0",
    ]);
    await running;
    const baseUrl = /export OPENAI_BASE_URL=(\S+)/.exec(out)?.[1];
    const key = /export OPENAI_ADMIN_KEY=(\S+)/.exec(out)?.[1];
    assert.ok(baseUrl?.startsWith("http://127.0.0.1:") && baseUrl.endsWith("/v1"), out);
    assert.equal(key, "sk-admin-vigil-simulator-0000000000000000");
    const res = await fetch(`${baseUrl}/organization/audit_logs?event_types[]=login.failed&limit=100`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: unknown[] };
    assert.ok(body.data.length >= 8, "the scenario's failed logins are there");
    stop();
    await command;
    await assert.rejects(fetch(`${baseUrl}/organization/audit_logs`), "closed after the stop signal");
  });
});
