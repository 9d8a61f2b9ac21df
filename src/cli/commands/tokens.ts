// `vigil tokens create --name N | list | revoke ID_OR_NAME`: API tokens for automation (sent as
// `Authorization: Bearer`). A token is printed once at creation; only its hash is stored.

import type { Command } from "commander";
import { UsageError } from "../../core/errors.ts";
import { createApiToken } from "../../server/auth.ts";
import { printJsonLine, withRuntime } from "../context.ts";

export function register(program: Command): void {
  const tokens = program.command("tokens").description("Manage API tokens for automation.");

  tokens
    .command("create")
    .description("Create an API token and print it (once: it cannot be shown again).")
    .requiredOption("--name <name>", "what the token is for")
    .action(async (options: { name: string }) => {
      const name = options.name.trim();
      if (!/^[\w .:@-]{1,100}$/.test(name)) {
        throw new UsageError("A token name may use letters, digits, spaces and . _ - : @ (up to 100 characters).");
      }
      await withRuntime(async (runtime) => {
        const { token } = await createApiToken(runtime.store, name);
        process.stderr.write(`Created API token ${name}. Store it now: it is not shown again.\n`);
        process.stdout.write(`${token}\n`);
      });
    });

  tokens
    .command("list")
    .description("List API tokens (names and use, never the tokens).")
    .option("--json", "one JSON object per line")
    .action(async (options: { json?: boolean }) => {
      await withRuntime(async (runtime) => {
        for (const t of await runtime.store.listApiTokens()) {
          if (options.json) printJsonLine(t);
          else {
            const used = t.lastUsedAtMs === null ? "never used" : `last used ${new Date(t.lastUsedAtMs).toISOString()}`;
            process.stdout.write(`${t.name}\t${t.id}\tcreated ${new Date(t.createdAtMs).toISOString()}\t${used}\n`);
          }
        }
      });
    });

  tokens
    .command("revoke")
    .description("Revoke an API token by name or id.")
    .argument("<token>", "the token's name or id")
    .action(async (token: string) => {
      await withRuntime(async (runtime) => {
        await runtime.store.revokeApiToken(token);
        process.stdout.write(`Revoked API token ${token}.\n`);
      });
    });
}
