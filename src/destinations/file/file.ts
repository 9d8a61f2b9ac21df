// JSON lines: one line per delivery, appended and fsync'd before the delivery counts as done; or stdout.
// Files are written only under the operator's export directory (see export-path.ts).

import { constants } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { baseConfigShape } from "../base-config.ts";
import type { AlertNotification, DeliveryResult, Destination, DestinationEnv } from "../types.ts";
import { exportPathProblemNow, exportTarget } from "./export-path.ts";

export const fileConfigSchema = z.object({
  ...baseConfigShape,
  type: z.literal("file"),
  /**
   * A file path inside the export directory (relative to it, or absolute within it), or `stdout` (also `-`)
   * to write to standard output.
   */
  path: z.string().min(1),
});
export type FileConfig = z.infer<typeof fileConfigSchema>;

export interface FileLine {
  deliveryId: string;
  writtenAtMs: number;
  notification: AlertNotification;
}

/** Errors an operator has to fix; everything else (ENOSPC, EIO, EMFILE, …) may pass and is retried. */
const PERMANENT_FS_ERRORS = new Set([
  "EACCES",
  "EPERM",
  "EISDIR",
  "ENOTDIR",
  "EROFS",
  "EINVAL",
  "ENAMETOOLONG",
  // O_NOFOLLOW met a symbolic link as the file itself.
  "ELOOP",
]);

/** Append, create 0600, and never follow a symbolic link planted as the file itself. */
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

export function isStdoutPath(path: string): boolean {
  return path === "stdout" || path === "-";
}

export function createFileDestination(
  config: FileConfig,
  options: Partial<DestinationEnv> & {
    stdout?: { write(chunk: string, cb: (err?: Error | null) => void): unknown };
  } = {},
): Destination {
  const toStdout = isStdoutPath(config.path);
  const exportDir = options.exportDir;
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
      if (exportDir === undefined) {
        return {
          ok: false,
          retryable: false,
          error: "File destinations need the export directory (VIGIL_EXPORT_DIR).",
        };
      }
      const target = exportTarget(exportDir, config.path);
      try {
        // Checked before creating directories (mkdir must not follow a planted link) and again after.
        const before = await exportPathProblemNow(exportDir, config.path);
        if (before) return { ok: false, retryable: false, error: `Refused to write: ${before}.` };
        await mkdir(dirname(target), { recursive: true, mode: 0o700 });
        const after = await exportPathProblemNow(exportDir, config.path);
        if (after) return { ok: false, retryable: false, error: `Refused to write: ${after}.` };
        // One write() of the whole line on an O_APPEND descriptor: concurrent writers never interleave lines.
        const handle = await open(target, APPEND_FLAGS, 0o600);
        try {
          await handle.write(text);
          await handle.sync();
        } finally {
          await handle.close();
        }
        return { ok: true, detail: `appended to ${target}` };
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const codeText = typeof code === "string" ? code : "unknown error";
        return {
          ok: false,
          retryable: !PERMANENT_FS_ERRORS.has(codeText),
          error: `Appending to ${target} failed (${codeText}).`,
        };
      }
    },
  };
}
