// Runs a real Vigil (`node bin/vigil.mjs start`) against an in-process OpenAI simulator, with the console
// built into console/dist, and a headless Chromium driving it. Screenshots go to test-artifacts/.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

export const ROOT = resolve(import.meta.dirname, "../..");
export const ARTIFACTS = join(ROOT, "test-artifacts");
const CONSOLE = join(ROOT, "console");

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) {
    if (name === "dist" || name === "node_modules") continue;
    newest = Math.max(newest, newestMtime(join(path, name)));
  }
  return newest;
}

/** Builds console/dist when it is missing or older than the console's sources. */
export function ensureConsoleBuilt(): void {
  const dist = join(CONSOLE, "dist", "index.html");
  if (existsSync(dist) && statSync(dist).mtimeMs >= newestMtime(CONSOLE)) return;
  const vite = join(ROOT, "node_modules", "vite", "bin", "vite.js");
  const res = spawnSync(process.execPath, [vite, "build"], { cwd: CONSOLE, encoding: "utf8" });
  if (res.status !== 0) throw new Error(`vite build failed:\n${res.stdout}\n${res.stderr}`);
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

export interface RunningVigil {
  baseUrl: string;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  output(): string;
  stop(): Promise<void>;
}

export async function startVigil(
  extraEnv: Record<string, string>,
  prepare?: (env: NodeJS.ProcessEnv) => Promise<void>,
): Promise<RunningVigil> {
  const dataDir = mkdtempSync(join(tmpdir(), "vigil-browser-"));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    VIGIL_DATA_DIR: dataDir,
    VIGIL_PORT: String(port),
    VIGIL_HOST: "127.0.0.1",
    VIGIL_LOG_LEVEL: "warn",
    ...extraEnv,
  };
  let out = "";
  let child: ChildProcess | null = null;
  const baseUrl = `http://127.0.0.1:${port}`;
  const vigil: RunningVigil = {
    baseUrl,
    dataDir,
    env,
    output: () => out,
    stop: async () => {
      const c = child;
      if (c && c.exitCode === null) {
        const exited = new Promise((r) => c.once("exit", r));
        c.kill("SIGTERM");
        const timer = setTimeout(() => c.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await prepare?.(env);
  child = spawn(process.execPath, [join(ROOT, "bin", "vigil.mjs"), "start"], { cwd: ROOT, env });
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const res = await fetch(`${baseUrl}/healthz`);
      if (res.ok) return vigil;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await vigil.stop();
  throw new Error(`Vigil did not serve ${baseUrl}/healthz within 60 s. Its output:\n${out.slice(-4000)}`);
}

/** `vigil <args>` against the same data dir, to completion (asynchronously: the simulator runs in this process). */
export function runVigil(vigil: RunningVigil, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [join(ROOT, "bin", "vigil.mjs"), ...args], { cwd: ROOT, env: vigil.env });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("exit", (status) => {
      clearTimeout(timer);
      ok({ status, output });
    });
  });
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
