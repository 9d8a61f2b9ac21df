// The `vigil` command. Each command lives in its own file under commands/ and registers itself here.
// Errors reach the user as one sentence (never a stack trace) and a non-zero exit code.

import { Command, CommanderError } from "commander";
import { readEnv } from "../config/env.ts";
import { errorMessage, VigilError } from "../core/errors.ts";
import { COMMANDS } from "./commands/index.ts";

function debugEnabled(): boolean {
  try {
    return readEnv().debug;
  } catch {
    return false;
  }
}

export function buildProgram(): Command {
  const program = new Command("vigil")
    .description("Vigil: self-hosted detection for OpenAI organization audit logs.")
    .version("0.1.0")
    // A hint, not the whole help: after forty lines of options the error itself has scrolled away.
    .showHelpAfterError("(add --help for every option and an example)")
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const code = err instanceof VigilError ? ` (${err.code})` : "";
    process.stderr.write(`vigil: ${errorMessage(err)}${code}\n`);
    if (debugEnabled()) process.stderr.write(`${(err as Error)?.stack ?? ""}\n`);
    return 1;
  }
}
