// The type of ./thread-bundle.mjs, which is plain JavaScript because it runs before any TypeScript can load.

/** Bundles the TypeScript module at `entry` (a file: URL) and answers a `data:` URL to import it by. */
export function bundleModule(entry: URL): Promise<string>;
