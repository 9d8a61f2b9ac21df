// JSON lines: one line per delivery, appended and fsync'd before the delivery counts as done; or stdout.

import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { baseConfigShape } from "../base-config.ts";
import type { AlertNotification, DeliveryResult, Destination } from "../types.ts";

export const fileConfigSchema = z.object({
  ...baseConfigShape,
  type: z.literal("file"),
  /** A file path, or `stdout` (also `-`) to write to standard output. */
  path: z.string().min(1),
});
export type FileConfig = z.infer<typeof fileConfigSchema>;

export interface FileLine {
  deliveryId: string;
  writtenAtMs: number;
  notification: AlertNotification;
}

/** Errors an operator has to fix; everything else (ENOSPC, EIO, EMFILE, …) may pass and is retried. */
const PERMANENT_FS_ERRORS = new Set(["EACCES", "EPERM", "EISDIR", "ENOTDIR", "EROFS", "EINVAL", "ENAMETOOLONG"]);

export function createFileDestination(
  config: FileConfig,
  options: { stdout?: { write(chunk: string, cb: (err?: Error | null) => void): unknown } } = {},
): Destination {
  const toStdout = config.path === "stdout" || config.path === "-";
  const out = options.stdout ?? process.stdout;
  return {
    id: config.id,
    name: config.name,
    type: "file",
    minSeverity: config.min_severity,
    ...(config.log_types ? { logTypes: config.log_types } : {}),
    async send(notification, deliveryId, signal): Promise<DeliveryResult> {
      if (signal?.aborted) return { ok: false, retryable: true, error: "The file delivery was cancelled." };
      const line: FileLine = { deliveryId, writtenAtMs: Date.now(), notification };
      const text = `${JSON.stringify(line)}\n`;
      if (toStdout) {
        return new Promise((resolve) => {
          out.write(text, (err) =>
            resolve(
              err ? { ok: false, retryable: true, error: `Writing to stdout failed: ${err.message}` } : { ok: true },
            ),
          );
        });
      }
      try {
        await mkdir(dirname(config.path), { recursive: true });
        // One write() of the whole line on an O_APPEND descriptor: concurrent writers never interleave lines.
        const handle = await open(config.path, "a", 0o600);
        try {
          await handle.write(text);
          await handle.sync();
        } finally {
          await handle.close();
        }
        return { ok: true, detail: `appended to ${config.path}` };
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const codeText = typeof code === "string" ? code : "unknown error";
        return {
          ok: false,
          retryable: !PERMANENT_FS_ERRORS.has(codeText),
          error: `Appending to ${config.path} failed (${codeText}).`,
        };
      }
    },
  };
}
