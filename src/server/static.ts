// The web console: files of console/dist, and index.html for any other non-API path (client-side routes).
// Without a build, a plain page says how to build it.

import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Handler } from "hono";
import type { AppEnv } from "./context.ts";

export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL("../../console/dist/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil</title></head>
<body><h1>Vigil</h1><p>The web console is not built. Build it with <code>npm run build:console</code> (or start Vigil with <code>npm start</code>, which builds it),
then restart Vigil. The HTTP API is available under <code>/api</code>.</p></body></html>
`;

export function staticConsole(dir: string | null | undefined): Handler<AppEnv> {
  const root = dir === null ? null : resolve(dir ?? DEFAULT_CONSOLE_DIR);
  return async (c) => {
    const index = root === null ? null : join(root, "index.html");
    if (root === null || index === null || !existsSync(index)) {
      return c.html(NOT_BUILT, 200);
    }
    let path: string;
    try {
      path = decodeURIComponent(c.req.path);
    } catch {
      return c.text("Bad path.", 400);
    }
    const file = resolve(root, `.${path}`);
    const inside = file === root || file.startsWith(root + sep);
    let target = index;
    if (inside && !path.includes("\0") && existsSync(file) && statSync(file).isFile()) target = file;
    else if (extname(path) !== "" && path.startsWith("/assets/")) return c.text("Not found.", 404);
    const body = await readFile(target);
    c.header("Content-Type", TYPES[extname(target)] ?? "application/octet-stream");
    // Hashed assets never change; index.html must be re-read so that a new build is picked up.
    c.header("Cache-Control", target === index ? "no-cache" : "public, max-age=31536000, immutable");
    return c.body(body);
  };
}
