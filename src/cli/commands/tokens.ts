// `vigil tokens create --name N [--expires-in-days D] | list | revoke ID_OR_NAME`: API tokens for automation
// (sent as `Authorization: Bearer`). A token is printed once at creation; only its hash is stored. Every
// token expires: after VIGIL_TOKEN_TTL_DAYS unless --expires-in-days says otherwise, never after
// VIGIL_TOKEN_MAX_TTL_DAYS.

import type { Command } from "commander";
import { UsageError } from "../../core/errors.ts";
import { createApiToken, tokenExpiry } from "../../server/auth.ts";
import { printJsonLine, withRuntime } from "../context.ts";

export function register(program: Command): void {
  const tokens = program.command("tokens").description("Manage API tokens for automation.");

  tokens
    .command("create")
    .description("Create an API token and print it (once: it cannot be shown again).")
    .requiredOption("--name <name>", "what the token is for")
    .option(
      "--expires-in-days <days>",
      "lifetime in days (default VIGIL_TOKEN_TTL_DAYS, 90; at most VIGIL_TOKEN_MAX_TTL_DAYS)",
    )
    .action(async (options: { name: string; expiresInDays?: string }) => {
      const name = options.name.trim();
      if (!/^[\w .:@-]{1,100}$/.test(name)) {
        throw new UsageError("A token name may use letters, digits, spaces and . _ - : @ (up to 100 characters).");
      }
      const days = options.expiresInDays === undefined ? undefined : Number(options.expiresInDays);
      if (days !== undefined && !Number.isInteger(days)) {
        throw new UsageError("--expires-in-days takes a whole number of days, e.g. --expires-in-days 30.");
      }
      await withRuntime(async (runtime) => {
        const expiresAtMs = tokenExpiry(runtime.clock.nowMs(), days, runtime.env);
        const { token } = await createApiToken(runtime.store, name, expiresAtMs);
        process.stderr.write(
          `Created API token ${name}, valid until ${new Date(expiresAtMs).toISOString()}. Store it now: it is not shown again.\n`,
        );
        process.stdout.write(`${token}\n`);
      });
    });

  tokens
    .command("list")
    .description("List API tokens (names and use, never the tokens).")
    .option("--json", "one JSON object per line")
    .action(async (options: { json?: boolean }) => {
      await withRuntime(async (runtime) => {
        const tokens = await runtime.store.listApiTokens();
        // On stderr: stdout stays one line per token (none here).
        if (tokens.length === 0 && !options.json) {
          process.stderr.write("No API tokens; create one with `vigil tokens create --name NAME`.\n");
        }
        for (const t of tokens) {
          if (options.json) printJsonLine(t);
          else {
            const used = t.lastUsedAtMs === null ? "never used" : `last used ${new Date(t.lastUsedAtMs).toISOString()}`;
            const expiry = `${t.expiresAtMs <= runtime.clock.nowMs() ? "expired" : "expires"} ${new Date(t.expiresAtMs).toISOString()}`;
            process.stdout.write(
              `${t.name}\t${t.id}\tcreated ${new Date(t.createdAtMs).toISOString()}\t${expiry}\t${used}\n`,
            );
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
