// Lets TypeScript/JavaScript rules in any folder (inside this checkout or not, with or without a package.json)
// import the rule API by a stable name, `vigil/rules`, instead of a path into src/. Inside the checkout Node's
// package self-reference (package.json "exports") resolves it; elsewhere a resolve hook does, registered once.

import { register } from "node:module";
import { pathToFileURL } from "node:url";

export const RULES_MODULE = "vigil/rules";
const API_URL = new URL("../rules-api.ts", import.meta.url).href;
let registered = false;

/** Registers the `vigil/rules` resolve hook (idempotent). */
export function registerRuleModuleResolution(): void {
  if (registered) return;
  registered = true;
  register(new URL("./rule-module-hooks.mjs", import.meta.url), { data: { target: API_URL } });
}

/** The URL the loader imports a rule file by: marked so the hook loads it as an ES module. */
export function ruleModuleUrl(file: string): string {
  const url = pathToFileURL(file);
  url.searchParams.set("vigil-rule", "");
  return url.href;
}
