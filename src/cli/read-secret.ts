// Reads an API key without it ever appearing in argv (where `ps` and shell history would show it):
// from an environment variable, or from standard input (piped, or typed at a prompt without echo).

import { createInterface } from "node:readline";
import { UsageError } from "../core/errors.ts";

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function promptHidden(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // Echo nothing of what is typed: the prompt itself is written once.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  process.stderr.write(question);
  try {
    return await new Promise<string>((resolve) => rl.question("", resolve));
  } finally {
    process.stderr.write("\n");
    rl.close();
  }
}

/** Any secret (webhook URL, HMAC secret, routing key, SMTP password), by the same rules as the API key. */
export async function readSecret(envValue: string | undefined, envName: string, label: string): Promise<string> {
  let value = envValue;
  if (!value)
    value = process.stdin.isTTY ? await promptHidden(`${label} (${envName} is not set): `) : await readAllStdin();
  value = value.trim();
  if (!value) {
    throw new UsageError(
      `No ${label}: set ${envName} or pipe it on standard input (it is never taken from the command line).`,
    );
  }
  return value;
}

export async function readApiKey(envValue: string | undefined, envName: string): Promise<string> {
  let key = envValue;
  if (!key) {
    key = process.stdin.isTTY ? await promptHidden(`OpenAI admin key (${envName} is not set): `) : await readAllStdin();
  }
  key = key.trim();
  if (!key) {
    throw new UsageError(
      `No API key: set ${envName} or pipe the key on standard input (it is never taken from the command line).`,
    );
  }
  return key;
}
