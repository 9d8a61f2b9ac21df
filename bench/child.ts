// Helpers to run benchmark parts in child processes and read their one-line JSON answers.

import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export function benchScript(name: string): string {
  return fileURLToPath(new URL(name, import.meta.url));
}

export function spawnTs(script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
}

export function firstJsonLine<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once("line", (line) => resolve(JSON.parse(line) as T));
    child.once("exit", (code) => reject(new Error(`benchmark child exited (${code}) before answering`)));
  });
}

export async function runTs<T>(script: string, args: string[]): Promise<T> {
  return firstJsonLine<T>(spawnTs(script, args));
}

export async function withSimulator<T>(
  args: { days: number; perDay: number; pageDelayMs: number; endSecs: number },
  fn: (sim: { baseUrl: string; adminKey: string; events: number }) => Promise<T>,
): Promise<T> {
  const child = spawnTs(
    benchScript("./sim-server.ts"),
    [args.days, args.perDay, args.pageDelayMs, args.endSecs].map(String),
  );
  try {
    return await fn(await firstJsonLine(child));
  } finally {
    child.kill("SIGTERM");
  }
}
