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
// resolves no bare names), resolved with Node's conditions, so a package and its state (better-sqlite3's native
// binding, pg's pools) are the same module anything else in the thread imports by name (a test's fixture patches
// better-sqlite3 that way). Vigil's own files keep their `import.meta.url` (a few name files beside them) and
// their class names (an error's name crosses to the event loop); any other `import.meta` fails the bundle.

import { readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, stop } from "esbuild";

const RESOLVING = Symbol("resolving");
/** The name each bundled file's `import.meta.url` is read through (see ownImportMetaUrl). */
const META_URL = "__vigilImportMetaUrl";

/** Bundles in flight in this thread: esbuild's service stops when the last one ends. */
let building = 0;

/** Bundles the module at `entry` (a file: URL) and answers a `data:` URL to import it by. */
export async function bundleModule(entry) {
  building++;
  try {
    const result = await build({
      entryPoints: [fileURLToPath(entry)],
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      // Node's conditions only: esbuild adds "module" by default, which could pick another file than Node would.
      conditions: [],
      keepNames: true,
      define: { "import.meta.url": META_URL },
      write: false,
      logLevel: "silent",
      plugins: [packagesByUrl, ownImportMetaUrl],
    });
    // Named, or every stack frame in the thread would carry the whole `data:` URL (a megabyte per error stack).
    const code = `${result.outputFiles[0].text}\n//# sourceURL=${entry.href}.bundle.mjs\n`;
    return `data:text/javascript;base64,${Buffer.from(code).toString("base64")}`;
  } finally {
    // esbuild's service process would otherwise stay beside the thread for nothing.
    if (--building === 0) await stop();
  }
}

/** Every package import (not node's own modules) left to Node, by the absolute URL of the file esbuild resolves. */
const packagesByUrl = {
  name: "packages-by-url",
  setup(b) {
    // Not `#` imports (a package.json "imports" entry of Vigil's own): those are bundled like relative ones.
    b.onResolve({ filter: /^[^./#]/ }, async (args) => {
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
      // Vigil importing itself by its package name is Vigil's TypeScript: bundled, not left to a thread that
      // cannot load it.
      if (!found.path.includes(`${sep}node_modules${sep}`)) return undefined;
      return { path: pathToFileURL(found.path).href, external: true };
    });
  },
};

/**
 * `import.meta.url` in a bundled file stays that file's URL, not the bundle's: `define` reads it through a name
 * each file declares first, on its first line (its line numbers stay), which esbuild keeps apart per file.
 */
const ownImportMetaUrl = {
  name: "own-import-meta-url",
  setup(b) {
    b.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const other = /import\.meta(?!\.url\b)(\.\w+)?/.exec(source);
      if (other !== null) {
        return { errors: [{ text: `${args.path} uses ${other[0]}, which a bundled thread cannot give it` }] };
      }
      const contents = `const ${META_URL} = ${JSON.stringify(pathToFileURL(args.path).href)}; ${source}`;
      return { contents, loader: /\.[cm]?ts$/.test(args.path) ? "ts" : "js" };
    });
  },
};
