import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { DEMO_SOURCE_NAME } from "../../config/source-defaults.ts";
import { SOURCE_DEFAULTS } from "../../core/source.ts";
import { fleetFor } from "../../fleet/coordinator.ts";
import { clusterLease } from "../../fleet/lease-names.ts";
import { type Runtime, sealSourceKey } from "../../pipeline/runtime.ts";
import { PollScheduler } from "../../pipeline/scheduler.ts";
import { ensureAdminUser } from "../../server/auth.ts";
import { startServer } from "../../server/server.ts";
import { type RunningSimulator, startSimulator } from "../../simulator/index.ts";
import { loadConfigDestinations } from "../../usecases/config-destinations.ts";
import { addSource } from "../../usecases/sources.ts";
import { withRuntime } from "../context.ts";
import { withStopSignal } from "../stop-signal.ts";

/**
 * The demo organization is the same on every start: its seed and the end of its generated history are
 * kept in the data dir, so a restart replays the same events (ignored by id) instead of inventing a
 * second, overlapping history.
 */
function demoAnchor(dataDir: string, nowSecs: number): { seed: number; historyEndSecs: number } {
  const file = join(dataDir, "demo.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8"));
  const anchor = { seed: 20261124, historyEndSecs: nowSecs };
  writeFileSync(file, JSON.stringify(anchor), { mode: 0o600 });
  return anchor;
}

async function startDemo(runtime: Runtime): Promise<RunningSimulator> {
  const anchor = demoAnchor(runtime.env.dataDir, Math.floor(runtime.clock.nowMs() / 1000));
  const simulator = await startSimulator({
    seed: anchor.seed,
    history: { days: 3, eventsPerDay: 400, endSecs: anchor.historyEndSecs },
    live: { eventsPerMinute: 2 },
    scenarios: [
      { name: "credential-stuffing", atSecs: anchor.historyEndSecs - 6 * 3600 },
      { name: "owner-role-granted", atSecs: anchor.historyEndSecs - 3 * 3600 },
      { name: "api-key-all-scopes", atSecs: anchor.historyEndSecs - 2 * 3600 },
      { name: "scim-disabled", atSecs: anchor.historyEndSecs - 3600 },
    ],
    // Posture findings for the Organization page (docs/posture.md); the silent key and the control changes land
    // after the first snapshot, so a later one shows drift and the weakened controls.
    postureScenarios: [
      { name: "admin-key-without-expiry", atSecs: anchor.historyEndSecs - 5 * 3600 },
      { name: "stale-key", atSecs: anchor.historyEndSecs - 4 * 3600 },
      { name: "outside-invite", atSecs: anchor.historyEndSecs - 3 * 3600 },
      { name: "silent-key", atSecs: anchor.historyEndSecs + 90 * 60 },
      // Controls change after the first snapshot too (the rules judge a change between two snapshots).
      { name: "retention-weakened", atSecs: anchor.historyEndSecs + 100 * 60 },
      { name: "permissions-widened", atSecs: anchor.historyEndSecs + 110 * 60 },
    ],
  });
  const existing = await runtime.store.getSource(DEMO_SOURCE_NAME);
  const secret = sealSourceKey(runtime, { baseUrl: simulator.baseUrl }, simulator.adminKey);
  if (existing) await runtime.store.updateSource(existing.id, { baseUrl: simulator.baseUrl }, secret);
  else {
    // Stored directly, not through usecases/sources.ts: the simulator runs in this process on loopback, and the
    // outbound policy (which may allow only the real API's host) is for where keys leave the machine.
    // Its name, with parentheses, predates the schema's rule for names typed by users.
    const settings = {
      ...SOURCE_DEFAULTS,
      name: DEMO_SOURCE_NAME,
      baseUrl: simulator.baseUrl,
      includeTenantEvents: true,
      backfillDays: 3,
    };
    await runtime.store.createSource(settings, secret);
  }
  return simulator;
}

export function register(program: Command): void {
  program
    .command("start")
    .description(
      "Run Vigil: poll every source until stopped. With no source configured, uses OPENAI_ADMIN_KEY, or else starts demo mode against the built-in simulator.",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  vigil start                              # demo mode\n  OPENAI_ADMIN_KEY=sk-admin-... vigil start\n",
    )
    .action(async () => {
      await withRuntime(
        async (runtime) => {
          let simulator: RunningSimulator | undefined;
          // The rules load first: a rules directory that is not there ends the start here, before anything is
          // set up or said (the demo's banner, the admin's password, "running").
          await runtime.detection();
          // In a fleet (PostgreSQL), one worker at a time sets up: two workers starting together must not both
          // create the config file's destinations, the source from OPENAI_ADMIN_KEY or the admin user.
          const fleet = fleetFor(runtime);
          fleet?.start();
          const setUp = async (): Promise<void> => {
            await loadConfigDestinations(runtime);
            // The demo source alone counts as no source: the banner's advice (OPENAI_ADMIN_KEY=... vigil start)
            // then adds the real source, which removes the demo (runtime.retireDemoSource).
            const sources = await runtime.store.listSources();
            const noRealSource = sources.every((s) => s.name === DEMO_SOURCE_NAME);
            if (noRealSource && runtime.env.openaiAdminKey) {
              await addSource(runtime, {
                settings: { name: "OpenAI", includeTenantEvents: true },
                apiKey: runtime.env.openaiAdminKey,
              });
              process.stderr.write("Created source OpenAI from OPENAI_ADMIN_KEY; the key works.\n");
            } else if (noRealSource && fleet) {
              // The simulator would run inside this one worker, on loopback: whichever worker came to own the demo
              // source could not reach it. A fleet watches real organizations only.
              process.stderr.write(
                [
                  "",
                  "  No OpenAI source is configured. Demo mode runs only on SQLite (one process); on PostgreSQL add",
                  "  a source: OPENAI_ADMIN_KEY=sk-admin-... npm start, or npx vigil sources add openai --name NAME.",
                  "",
                ].join("\n"),
              );
            } else if (noRealSource) {
              simulator = await startDemo(runtime);
              process.stderr.write(
                [
                  "",
                  "  DEMO MODE: no OpenAI source is configured, so Vigil is polling its built-in simulator",
                  `  of the OpenAI Audit Logs API at ${simulator.baseUrl} (simulated organization, fake events).`,
                  "  To watch your real organization: stop, then OPENAI_ADMIN_KEY=sk-admin-... npm start",
                  "  (or npx vigil sources add openai --name NAME). Adding a real source removes this demo source",
                  "  and its simulated events and alerts.",
                  "",
                ].join("\n"),
              );
            }
            const admin = await ensureAdminUser(runtime.store);
            if (admin) {
              process.stderr.write(
                `\n  Created the console user "${admin.username}" with the generated password: ${admin.password}\n` +
                  `  It is shown only now; set your own with \`npx vigil users add ${admin.username} --reset\`.\n\n`,
              );
            }
          };
          // Listening comes before setting up: a port already taken ends the start before the admin user is
          // created, so its generated password is never printed by a start that then fails.
          let server: Awaited<ReturnType<typeof startServer>> | undefined;
          try {
            server = await startServer(runtime);
            if (fleet) await fleet.withLease(clusterLease("startup"), setUp);
            else await setUp();
          } catch (err) {
            await fleet?.stop();
            await server?.close();
            await simulator?.close();
            throw err;
          }
          try {
            process.stderr.write(`Console and API: ${server.url}\n`);
            process.stderr.write(`Vigil is running; data in ${runtime.env.dataDir}. Press Ctrl+C to stop.\n`);
            await withStopSignal((signal) => new PollScheduler(runtime, fleet).run(signal));
          } finally {
            await fleet?.stop();
            await server?.close();
            await simulator?.close();
          }
          process.stderr.write("Vigil stopped.\n");
        },
        { logLevel: "info" },
      );
    });
}
