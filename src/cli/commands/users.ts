// `vigil users add NAME`: a console user. The password comes from VIGIL_ADMIN_PASSWORD or standard input,
// never from the command line.

import type { Command } from "commander";
import { USER_ROLES } from "../../core/access.ts";
import { UsageError } from "../../core/errors.ts";
import { createUser, hashPassword, passwordProblem, usernameProblem } from "../../server/auth.ts";
import { printJsonLine, withRuntime } from "../context.ts";
import { readSecret } from "../read-secret.ts";

const PASSWORD_ENV = "VIGIL_ADMIN_PASSWORD";

export function register(program: Command): void {
  const users = program.command("users").description("Manage the users of the web console and HTTP API.");

  users
    .command("add")
    .description(`Add a user; the password is read from ${PASSWORD_ENV} or standard input.`)
    .argument("<name>", "the username")
    .option("--reset", "set a new password for an existing user (ends their sessions)")
    .option(
      "--role <role>",
      "admin (everything) or analyst (read and triage alerts; no sources, destinations, rule settings or secrets)",
      "analyst",
    )
    .addHelpText("after", `\nExample:\n  ${PASSWORD_ENV}=... vigil users add alice\n`)
    .action(async (name: string, options: { reset?: boolean; role: string }) => {
      const role = USER_ROLES.find((r) => r === options.role);
      if (role === undefined)
        throw new UsageError(`Unknown --role ${JSON.stringify(options.role)}: use admin or analyst.`);
      const nameProblem = usernameProblem(name);
      if (nameProblem) throw new UsageError(nameProblem);
      await withRuntime(async (runtime) => {
        const password = await readSecret(runtime.env.lookup(PASSWORD_ENV), PASSWORD_ENV, "password");
        const problem = passwordProblem(password);
        if (problem) throw new UsageError(problem);
        if (options.reset) {
          await runtime.store.setUserPassword(name, await hashPassword(password));
          process.stdout.write(`Set a new password for ${name}.\n`);
        } else {
          const user = await createUser(runtime.store, name, password, role);
          process.stdout.write(`Added user ${user.username} (${user.role}).\n`);
        }
      });
    });

  users
    .command("count")
    .description("How many users exist (0 before the first start).")
    .option("--json", "JSON output")
    .action(async (options: { json?: boolean }) => {
      await withRuntime(async (runtime) => {
        const n = await runtime.store.countUsers();
        if (options.json) printJsonLine({ users: n });
        else process.stdout.write(`${n}\n`);
      });
    });
}
