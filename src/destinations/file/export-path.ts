// Where a file destination may write: only under the operator's export directory (VIGIL_EXPORT_DIR,
// default `<data dir>/exports`). A configured path is taken relative to that directory (an absolute path is
// accepted when it lies inside it), and is refused when it leaves it: lexically (`../`, `/etc/cron.d/x`) or
// through a symlink (the real path of every existing ancestor is what counts). The check runs when a
// config is validated (API, CLI, config file: a clear error at once) and again before every write, since
// the directory's contents can change in between (a symlink planted after validation).

import { realpathSync } from "node:fs";
import { realpath } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

/** The absolute path a configured `path` names. */
export function exportTarget(exportDir: string, path: string): string {
  return resolve(exportDir, path);
}

/** Strictly below `root` (the root itself is a directory, not a file to append to). */
function isBelow(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** `path` and each of its ancestors, deepest first. */
function ancestors(path: string): string[] {
  const chain: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    chain.push(p);
    if (dirname(p) === p) return chain;
  }
}

/** The real path of the deepest ancestor that exists, with the missing rest appended. */
function withMissingRest(chain: string[], i: number, real: string): string {
  return join(
    real,
    ...chain
      .slice(0, i)
      .map((c) => basename(c))
      .reverse(),
  );
}

function realpathOfExistingSync(path: string): string {
  const chain = ancestors(path);
  for (const [i, p] of chain.entries()) {
    try {
      return withMissingRest(chain, i, realpathSync(p));
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  return path;
}

async function realpathOfExisting(path: string): Promise<string> {
  const chain = ancestors(path);
  for (const [i, p] of chain.entries()) {
    try {
      return withMissingRest(chain, i, await realpath(p));
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  return path;
}

function problem(exportDir: string, path: string, target: string, realTarget: string, realRoot: string) {
  if (!isBelow(resolve(exportDir), target)) {
    return `the path ${JSON.stringify(path)} leaves the export directory ${exportDir} (set by VIGIL_EXPORT_DIR); use a path inside it, e.g. "alerts.jsonl"`;
  }
  if (!isBelow(realRoot, realTarget)) {
    return `the path ${JSON.stringify(path)} leads out of the export directory ${exportDir} through a symbolic link`;
  }
  return null;
}

/** Why `path` may not be written, or null when it stays inside the export directory. Sync: config validation. */
export function exportPathProblem(exportDir: string, path: string): string | null {
  const target = exportTarget(exportDir, path);
  return problem(exportDir, path, target, realpathOfExistingSync(target), realpathOfExistingSync(resolve(exportDir)));
}

/** The same check at write time, on the file system as it is now. */
export async function exportPathProblemNow(exportDir: string, path: string): Promise<string | null> {
  const target = exportTarget(exportDir, path);
  return problem(
    exportDir,
    path,
    target,
    await realpathOfExisting(target),
    await realpathOfExisting(resolve(exportDir)),
  );
}
