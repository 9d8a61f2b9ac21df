// `vigil simulate`: runs the built-in simulator of the OpenAI Audit Logs API on its own, so Vigil (or anything
// else that speaks the API) can be pointed at it. Runs until SIGINT/SIGTERM.

import { type Command, InvalidArgumentError, Option } from "commander";
import { readEnv } from "../../config/env.ts";
import { UsageError } from "../../core/errors.ts";
import { type FaultConfig, parseFaultAssignment } from "../../simulator/faults.ts";
import { SCENARIO_LIST, SCENARIO_NAMES, type ScenarioName } from "../../simulator/scenarios.ts";
import { startSimulator } from "../../simulator/server.ts";
import type { RunningSimulator, SimulatorOptions } from "../../simulator/types.ts";
import { withStopSignal } from "../stop-signal.ts";

export interface SimulateFlags {
  port: number;
  host: string;
  seed: number;
  historyDays: number;
  eventsPerDay: number;
  livePerMinute: number;
  tenantShare?: number;
  profile?: "benign" | "realistic";
  scenario?: ScenarioName[];
  fault?: string[];
  adminKeyEnv?: string;
  pageDelayMs?: number;
  listScenarios?: boolean;
}

/** Flags → simulator options. `lookup` reads an environment variable (for --admin-key-env). */
export function simulatorOptionsFromFlags(
  flags: SimulateFlags,
  lookup: (name: string) => string | undefined,
): SimulatorOptions {
  const options: SimulatorOptions = {
    port: flags.port,
    host: flags.host,
    seed: flags.seed,
    history: { days: flags.historyDays, eventsPerDay: flags.eventsPerDay },
    live: { eventsPerMinute: flags.livePerMinute },
  };
  if (flags.tenantShare !== undefined) options.tenantShare = flags.tenantShare;
  if (flags.profile !== undefined) options.profile = flags.profile;
  if (flags.pageDelayMs !== undefined) options.pageDelayMs = flags.pageDelayMs;
  if (flags.scenario?.length) options.scenarios = flags.scenario.map((name) => ({ name }));
  if (flags.fault?.length) {
    const faults: Partial<FaultConfig> = {};
    for (const assignment of flags.fault) {
      try {
        Object.assign(faults, parseFaultAssignment(assignment));
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }
    options.faults = faults;
  }
  if (flags.adminKeyEnv !== undefined) {
    const key = lookup(flags.adminKeyEnv);
    if (!key) throw new UsageError(`Environment variable ${flags.adminKeyEnv} (from --admin-key-env) is not set.`);
    options.adminKey = key;
  }
  return options;
}

/** What the user needs to point a client at the simulator. */
export function describeRunning(sim: RunningSimulator, flags: SimulateFlags, eventCount: number): string {
  // The default key is not a secret (only the simulator accepts it); a key the user supplied is never printed.
  const key = flags.adminKeyEnv ? `"$${flags.adminKeyEnv}"` : sim.adminKey;
  const scenarios = flags.scenario?.length ? `Scenarios (in the last hour): ${flags.scenario.join(", ")}\n` : "";
  return (
    `Simulating the OpenAI Audit Logs API at ${sim.baseUrl}\n` +
    `Organization: ${eventCount} events so far (seed ${flags.seed}), ${flags.livePerMinute} new per minute.\n` +
    scenarios +
    "\nPoint a client at it:\n" +
    `  export OPENAI_BASE_URL=${sim.baseUrl}\n` +
    `  export OPENAI_ADMIN_KEY=${key}\n` +
    `  curl -H "Authorization: Bearer $OPENAI_ADMIN_KEY" "$OPENAI_BASE_URL/organization/audit_logs?limit=5"\n` +
    `A key without the audit-log scope (403): ${sim.noScopeKey}\n` +
    "\nPress Ctrl+C to stop.\n"
  );
}

function integer(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}.`);
    return n;
  };
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("must be a number ≥ 0.");
  return n;
}

function fraction(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError("must be between 0 and 1.");
  return n;
}

export interface RegisterDeps {
  /** Resolves when the simulator should stop; default: SIGINT or SIGTERM. */
  waitForStop?: () => Promise<void>;
  write?: (text: string) => void;
}

export function register(program: Command, deps: RegisterDeps = {}): void {
  const write = deps.write ?? ((text: string) => process.stdout.write(text));
  const waitForStop =
    deps.waitForStop ??
    (() =>
      withStopSignal(
        (signal) => new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true })),
      ));

  program
    .command("simulate")
    .description(
      "Run the built-in simulator of the OpenAI Audit Logs API (GET /v1/organization/audit_logs): a simulated " +
        "organization with history, live activity, attack scenarios and optional faults. Runs until Ctrl+C.",
    )
    .option("--port <n>", "port to listen on (0: any free port)", integer("--port", 0), 0)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--seed <n>", "seed: the same seed gives the same organization and events", integer("--seed", 0), 1)
    .option("--history-days <n>", "days of history before now", nonNegative, 7)
    .option("--events-per-day <n>", "history events per day", nonNegative, 500)
    .option("--live-per-minute <n>", "new events per minute while running", nonNegative, 2)
    .option("--tenant-share <fraction>", "fraction of events that are tenant-scoped (default 0.05)", fraction)
    .addOption(
      new Option(
        "--profile <name>",
        "background activity: benign (the routine org, the default) or realistic (adds control-weakening and risky changes)",
      ).choices(["benign", "realistic"]),
    )
    .addOption(
      new Option("--scenario <names...>", "attack scenarios to place in the last hour").choices(SCENARIO_NAMES),
    )
    .option(
      "--fault <name=value...>",
      "fault injection, e.g. rate-limit=0.1 retry-after=http-date server-error=0.05 hang=0.01 reset=0.02 " +
        "truncate=0.02 slow=0.1 slow-ms=3000 unknown-type=0.01 malformed-record=0.01 late-event=0.05 late-delay-secs=600",
    )
    .option("--admin-key-env <VAR>", "accept the key in this environment variable instead of the built-in one")
    .option("--page-delay-ms <n>", "latency added to every response", integer("--page-delay-ms", 0))
    .option("--list-scenarios", "list the scenarios and exit")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  vigil simulate --port 8787 --scenario credential-stuffing owner-role-granted\n" +
        "  vigil simulate --history-days 30 --events-per-day 2000 --fault rate-limit=0.1 --fault truncate=0.02\n" +
        "\nThen, in another shell: export OPENAI_BASE_URL and OPENAI_ADMIN_KEY as printed, and run `vigil start`.\n",
    )
    .action(async (flags: SimulateFlags) => {
      if (flags.listScenarios) {
        const width = Math.max(...SCENARIO_LIST.map((s) => s.name.length));
        for (const s of SCENARIO_LIST) write(`${s.name.padEnd(width)}  ${s.description}\n`);
        return;
      }
      const options = simulatorOptionsFromFlags(flags, (name) => readEnv().lookup(name));
      const sim = await startSimulator(options).catch((err: Error & { code?: string }) => {
        if (err.code !== "EADDRINUSE") throw err;
        throw new UsageError(
          `Another program already listens on ${flags.host}:${flags.port}; choose another port with --port (0: any free port).`,
        );
      });
      try {
        write(describeRunning(sim, flags, sim.org.allEvents().length));
        await waitForStop();
      } finally {
        await sim.close();
      }
    });
}
