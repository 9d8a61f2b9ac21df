// Packs group rules: a directory with a pack.yml (id, displayName, description, enabled) and the rules
// below it. Whether a rule runs for a source is decided here, from metadata and stored overrides:
// a rule override beats a pack override, and within each a per-source override beats a global one;
// without overrides a rule runs when it and its pack are enabled.

import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { DetectionSetting } from "./engine/types.ts";

/** The repository's built-in packs (packs/openai, packs/examples, …). */
export const BUILTIN_PACKS_DIR = fileURLToPath(new URL("../../packs/", import.meta.url));
export const PACK_FILE = "pack.yml";

export interface PackInfo {
  id: string;
  displayName: string | null;
  description: string | null;
  enabled: boolean;
  dir: string;
  file: string;
}

const packSchema = z.strictObject({
  id: z.string().regex(/^[^<>&"%]+$/),
  displayName: z.string().optional(),
  description: z.string().optional(),
  enabled: z.boolean().default(true),
});

export async function loadPackFile(file: string): Promise<PackInfo> {
  const path = resolve(file);
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(path, "utf8"), { schema: "core", uniqueKeys: true });
  } catch (err) {
    throw new Error(`Invalid pack ${path}: ${(err as Error).message}`);
  }
  const parsed = packSchema.safeParse(doc);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) =>
      i.code === "unrecognized_keys" ? `unknown key(s) ${i.keys.join(", ")}` : `${i.path.join(".")}: ${i.message}`,
    );
    throw new Error(`Invalid pack ${path}: ${issues.join("; ")}`);
  }
  const p = parsed.data;
  return {
    id: p.id,
    displayName: p.displayName ?? null,
    description: p.description ?? null,
    enabled: p.enabled,
    dir: dirname(path),
    file: path,
  };
}

/** Settings indexed for repeated look-ups. */
export class EnablementResolver {
  private readonly byKey = new Map<string, boolean>();

  constructor(
    settings: readonly DetectionSetting[],
    private readonly packs: ReadonlyMap<string, PackInfo>,
  ) {
    for (const s of settings) this.byKey.set(`${s.kind}\u0000${s.id}\u0000${s.sourceId ?? ""}`, s.enabled);
  }

  private override(kind: "rule" | "pack", id: string, sourceId: string | null): boolean | undefined {
    if (sourceId !== null) {
      const v = this.byKey.get(`${kind}\u0000${id}\u0000${sourceId}`);
      if (v !== undefined) return v;
    }
    return this.byKey.get(`${kind}\u0000${id}\u0000`);
  }

  /** Effective state of a pack for a source (null: globally). */
  packEnabled(packId: string, sourceId: string | null): boolean {
    return this.override("pack", packId, sourceId) ?? this.packs.get(packId)?.enabled ?? true;
  }

  /** Effective state of a rule for a source (null: globally). */
  ruleEnabled(rule: { id: string; enabled: boolean; packId: string | null }, sourceId: string | null): boolean {
    const own = this.override("rule", rule.id, sourceId);
    if (own !== undefined) return own;
    if (rule.packId !== null) {
      const pack = this.override("pack", rule.packId, sourceId);
      if (pack !== undefined) return pack && rule.enabled;
      if (!(this.packs.get(rule.packId)?.enabled ?? true)) return false;
    }
    return rule.enabled;
  }
}
