// Shared test fixtures: temporary data dirs, a movable clock, a store, a source, a `vigil` process.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { Clock } from "../src/core/clock.ts";
import type { SourceRecord, SourceSettings } from "../src/core/source.ts";
import { SOURCE_DEFAULTS } from "../src/core/source.ts";
import { createLogger, type Logger } from "../src/logging/logger.ts";
import type { AuditLogReader } from "../src/pipeline/reader.ts";
import { badRequestError, cursorRejectedError } from "../src/sources/openai/errors.ts";
import type { Store } from "../src/storage/ports.ts";
import { openSqliteStore } from "../src/storage/sqlite/sqlite-store.ts";

export function tempDir(prefix = "vigil-test-"): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface FakeClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
}

/** A log line as a capturing logger kept it. */
export interface LoggedLine {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  /** The line's other fields, as logged. */
  fields: Record<string, unknown>;
}

const LEVEL_NAMES: Record<number, LoggedLine["level"]> = { 20: "debug", 30: "info", 40: "warn", 50: "error" };

/** The project's logger (redaction and all), writing JSON lines that `lines()` returns, oldest first. */
export function capturingLogger(level = "info"): { logger: Logger; lines(): LoggedLine[] } {
  const written: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      written.push(String(chunk));
      done();
    },
  });
  return {
    logger: createLogger({ level, format: "json", destination }),
    lines: () =>
      written.map((text) => {
        const { level, msg, ...fields } = JSON.parse(text) as { level: number; msg: string };
        return { level: LEVEL_NAMES[level] ?? "error", msg, fields };
      }),
  };
}

export function fakeClock(startMs: number): FakeClock {
  let now = startMs;
  return {
    nowMs: () => now,
    set: (ms) => {
      now = ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

export function sourceSettings(overrides: Partial<SourceSettings> = {}): SourceSettings {
  return {
    name: "test-source",
    kind: "openai",
    baseUrl: null,
    pollIntervalSecs: SOURCE_DEFAULTS.pollIntervalSecs,
    overlapSecs: SOURCE_DEFAULTS.overlapSecs,
    sweepWindowSecs: SOURCE_DEFAULTS.sweepWindowSecs,
    sweepIntervalSecs: SOURCE_DEFAULTS.sweepIntervalSecs,
    includeTenantEvents: false,
    backfillDays: 7,
    enabled: true,
    ...overrides,
  };
}

export async function storeWithSource(
  overrides: Partial<SourceSettings> = {},
): Promise<{ store: Store; source: SourceRecord }> {
  const store = await openSqliteStore({ memory: true });
  const source = await store.createSource(sourceSettings(overrides), { ciphertext: "test-not-encrypted" });
  return { store, source };
}

/** Ids of a list of records, sorted, for set comparisons. */
export function sortedIds(records: Array<{ id: string }>): string[] {
  return records.map((r) => r.id).sort();
}

/** A small seeded PRNG (mulberry32), so a failing randomized run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const VIGIL_BIN = fileURLToPath(new URL("../bin/vigil.mjs", import.meta.url));

export interface VigilRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `vigil` as a user would, to its exit. The machine's OpenAI variables are blanked (a test names its
 * own) and logs are silent; `env` goes on top.
 */
export function runVigil(args: string[], env: NodeJS.ProcessEnv, stdin = ""): Promise<VigilRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VIGIL_BIN, ...args], {
      env: { ...process.env, OPENAI_ADMIN_KEY: "", OPENAI_BASE_URL: "", VIGIL_LOG_LEVEL: "silent", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += String(d);
    });
    child.stderr.on("data", (d) => {
      stderr += String(d);
    });
    child.stdin.end(stdin);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * `reader`, but answering every walk that starts from a cursor as an API that no longer knows it might (how is
 * undocumented): a 400, a 404, or an empty last page.
 */
export function forgettingCursors(reader: AuditLogReader, refusal: "400" | "404" | "empty"): AuditLogReader {
  return {
    async *pages(query, signal) {
      if (query.after !== undefined) {
        if (refusal === "empty") {
          yield { object: "list", data: [], first_id: null, last_id: null, has_more: false };
          return;
        }
        const api = { message: "cursor not found", type: null, param: "after", code: null };
        throw refusal === "400" ? badRequestError(api, null) : cursorRejectedError(query.after, api, null);
      }
      yield* reader.pages(query, signal);
    },
  };
}
