// Module resolve hook (node:module register) for rule files anywhere on disk:
// - `vigil/rules` resolves to Vigil's rule API (`initialize` receives its file URL);
// - a rule module imported by the loader (marked with RULE_QUERY), and the local files it imports that would
//   load as CommonJS (helpers such as `./_common.ts`), are ES module code whatever the nearest package.json says:
//   a folder without one would otherwise make a `.ts` rule CommonJS, whose `import` of `vigil/rules` becomes a
//   require() this hook never sees.

const RULE_QUERY = "vigil-rule";
let target = null;

export function initialize(data) {
  target = data.target;
}

const marked = (url) => typeof url === "string" && url.startsWith("file:") && new URL(url).searchParams.has(RULE_QUERY);

export async function resolve(specifier, context, nextResolve) {
  if (target !== null && (specifier === "vigil/rules" || specifier === "vigil/detections"))
    return nextResolve(target, context);
  const resolved = await nextResolve(specifier, context);
  if (marked(resolved.url)) return { ...resolved, format: "module" };
  const local = specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("file:");
  // Only files that would otherwise load as CommonJS: an ES module (e.g. Vigil's own sources) keeps its URL, so
  // it is one module instance however it is reached
  const commonjs = resolved.format === "commonjs" || resolved.url.includes("tsx-commonjs");
  if (
    local &&
    commonjs &&
    marked(context.parentURL) &&
    resolved.url.startsWith("file:") &&
    !resolved.url.includes("/node_modules/")
  ) {
    // The file itself, without the queries tsx adds for CommonJS interop
    const file = resolved.url.split(/%3F|\?/)[0];
    if (/\.(ts|mts|js|mjs)$/.test(file)) return { ...resolved, url: `${file}?${RULE_QUERY}=`, format: "module" };
  }
  return resolved;
}
