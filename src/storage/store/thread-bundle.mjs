// A TypeScript module and everything of Vigil's it imports, as one ES module a worker thread can import without a
// TypeScript loader (./writer-worker.mjs).
//
// Why not tsx in the thread: a worker does not inherit the loader bin/vigil.mjs registers, and registering it
// again runs a loader thread of its own, through which each of the ~400 modules (Kysely alone is 289 files) is
// resolved and loaded. Bundled, the writer thread starts in 0.65 s instead of 1.37 s, and a 200,000-event
// backfill's peak RSS (bench/backfill.ts, SQLite, four slices at once) fell from 289–349 MB (five runs) to
// 258–301 MB (eleven runs); the rest of that spread is the event loop's old space, which V8 lets fill with
// garbage before it collects.
// esbuild, the compiler tsx itself runs, makes the bundle from the sources as they are on disk, each time a
// thread starts: there is no build step, and nothing can be stale.
//
// Packages are not bundled: each stays an import of its file, named by the file's absolute URL (a `data:` module
// resolves no bare names), so a native one (better-sqlite3, pg) and its state are the same module anything else
// in the thread imports by name (a test's fixture patches better-sqlite3 that way). Vigil's own files keep their `import.meta.url` (a few name files beside them).

import { readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, stop } from "esbuild";

const RESOLVING = Symbol("resolving");

/** Bundles the module at `entry` (a file: URL) and answers a `data:` URL to import it by. */
export async function bundleModule(entry) {
  try {
    const result = await build({
      entryPoints: [fileURLToPath(entry)],
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      write: false,
      logLevel: "silent",
      plugins: [packagesByUrl, ownImportMetaUrl],
    });
    const code = result.outputFiles[0].text;
    return `data:text/javascript;base64,${Buffer.from(code).toString("base64")}`;
  } finally {
    // esbuild's service process would otherwise stay beside the thread for nothing.
    await stop();
  }
}

/** Every package import (not node's own modules) left to Node, by the absolute URL of the file esbuild resolves. */
const packagesByUrl = {
  name: "packages-by-url",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === RESOLVING) return undefined;
      if (args.path.startsWith("node:") || builtinModules.includes(args.path))
        return { path: args.path, external: true };
      const found = await b.resolve(args.path, {
        importer: args.importer,
        resolveDir: args.resolveDir,
        kind: args.kind,
        pluginData: RESOLVING,
      });
      if (found.errors.length > 0) return { errors: found.errors };
      return { path: pathToFileURL(found.path).href, external: true };
    });
  },
};

/** `import.meta.url` in a bundled file stays that file's URL, not the bundle's. */
const ownImportMetaUrl = {
  name: "own-import-meta-url",
  setup(b) {
    b.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const contents = source.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href));
      return { contents, loader: /\.[cm]?ts$/.test(args.path) ? "ts" : "js" };
    });
  },
};
