// `vigil posture snapshot [--source NAME] [--json]`: one inventory snapshot now (docs/posture.md), with its
// findings raised as alerts, as the scheduler does every postureIntervalSecs.

import type { Command } from "commander";
import { errorMessage } from "../../core/errors.ts";
import { runPosture } from "../../pipeline/posture.ts";
import { requireSource } from "../../pipeline/runtime.ts";
import { printJsonLine, withRuntime } from "../context.ts";
import { terminalLine, terminalText } from "../terminal-text.ts";

export function register(program: Command): void {
  const posture = program.command("posture").description("Inventory snapshots of the organization (docs/posture.md).");
  posture
    .command("snapshot")
    .description("Snapshot each enabled source's organization now and raise its posture findings.")
    .option("--source <name>", "only this source")
    .option("--json", "one JSON object per source")
    .action(async (options: { source?: string; json?: boolean }) => {
      await withRuntime(async (runtime) => {
        const sources = options.source
          ? [await requireSource(runtime, options.source)]
          : (await runtime.store.listSources()).filter((s) => s.enabled);
        let failed = false;
        for (const source of sources) {
          try {
            const r = await runPosture(runtime, source);
            if (options.json) {
              printJsonLine({ source: source.name, ...r });
              continue;
            }
            process.stdout.write(
              `${terminalText(source.name)}: ${r.objects} objects (${r.newObjects} new), ${r.requests} requests, ${r.changes ?? "no"} changes, ${r.findings.length} findings, ${r.createdAlertIds.length} new alerts\n`,
            );
            // Titles name keys, projects, certificates and invited addresses: the organization's members choose them.
            for (const f of r.findings)
              process.stdout.write(`${terminalLine(`  ${f.severity}\t${f.ruleId}\t${f.title}`)}\n`);
            for (const e of r.failedEndpoints) process.stdout.write(`${terminalText(`  not read: ${e.error}`)}\n`);
          } catch (err) {
            failed = true;
            process.stderr.write(`${terminalText(`${source.name}: snapshot failed: ${errorMessage(err)}`)}\n`);
          }
        }
        if (failed) process.exitCode = 1;
      });
    });
}
