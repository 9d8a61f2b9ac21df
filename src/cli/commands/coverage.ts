// `vigil coverage [--json] [--source NAME]`: the coverage ledger (src/coverage/ledger.ts).

import type { Command } from "commander";
import { buildLedger, formatLedger } from "../../coverage/ledger.ts";
import { loadRules, notLoadedLines } from "../../detections/engine/load.ts";
import { BUILTIN_PACKS_DIR } from "../../detections/packs.ts";
import { requireSource } from "../../pipeline/runtime.ts";
import { withRuntime } from "../context.ts";

export function register(program: Command): void {
  program
    .command("coverage")
    .description(
      "Every audit event type the spec knows: seen in this organization (count, last seen), rules and tests covering it; plus types seen that the spec does not know.",
    )
    .option("--source <name>", "count only this source's events")
    .option("--json", "one JSON document")
    .action(async (options: { source?: string; json?: boolean }) => {
      await withRuntime(async (runtime) => {
        const sourceId = options.source ? (await requireSource(runtime, options.source)).id : undefined;
        const [rules, counts] = await Promise.all([
          loadRules({ packs: [BUILTIN_PACKS_DIR], dirs: runtime.env.rulesDirs, tolerant: true }),
          runtime.store.eventTypeCounts(sourceId),
        ]);
        for (const line of notLoadedLines(rules)) process.stderr.write(`vigil: ${line}\n`);
        const ledger = buildLedger(rules.rules, counts);
        process.stdout.write(options.json ? `${JSON.stringify(ledger, null, 2)}\n` : formatLedger(ledger));
      });
    });
}
