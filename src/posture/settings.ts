// Thresholds of the posture rules, from the environment so an operator tunes them without editing a rule:
//   VIGIL_POSTURE_UNUSED_DAYS   a key unused for longer is stale (default 90)
//   VIGIL_POSTURE_MAX_OWNERS    more organization owners than this is a finding (default 3)
//   VIGIL_ORG_DOMAINS           the organization's email domains, comma-separated (default: learned from the
//                               users' own addresses, free-mail domains excluded)
// The rule thresholds travel inside every posture record (`settings`), so rule tests set them per case.
// And how long snapshots are kept (docs/posture.md "Pruning"):
//   VIGIL_POSTURE_KEEP_DAYS     whole snapshots (every object's state) for this many days (default 30)
//   VIGIL_POSTURE_HISTORY_DAYS  their diffs, the objects' history, for this many days (default 365; at least
//                               the keep days)

export interface PostureSettings {
  unusedDays: number;
  maxOwners: number;
  orgDomains: string[];
  keepDays: number;
  historyDays: number;
}

export const DEFAULT_POSTURE_SETTINGS: PostureSettings = {
  unusedDays: 90,
  maxOwners: 3,
  orgDomains: [],
  keepDays: 30,
  historyDays: 365,
};

export function postureSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): PostureSettings {
  const keepDays = positiveInt(env.VIGIL_POSTURE_KEEP_DAYS, "VIGIL_POSTURE_KEEP_DAYS") ?? 30;
  const historyDays = positiveInt(env.VIGIL_POSTURE_HISTORY_DAYS, "VIGIL_POSTURE_HISTORY_DAYS") ?? 365;
  if (historyDays < keepDays) {
    throw new RangeError(
      `VIGIL_POSTURE_HISTORY_DAYS (${historyDays}) must be at least VIGIL_POSTURE_KEEP_DAYS (${keepDays}).`,
    );
  }
  return {
    unusedDays: positiveInt(env.VIGIL_POSTURE_UNUSED_DAYS, "VIGIL_POSTURE_UNUSED_DAYS") ?? 90,
    maxOwners: positiveInt(env.VIGIL_POSTURE_MAX_OWNERS, "VIGIL_POSTURE_MAX_OWNERS") ?? 3,
    orgDomains: (env.VIGIL_ORG_DOMAINS ?? "")
      .split(",")
      .map((d) => d.trim().toLowerCase())
      .filter((d) => d !== ""),
    keepDays,
    historyDays,
  };
}

/** The pruning horizons of a snapshot taken at nowMs. */
export function pruneHorizon(
  settings: PostureSettings,
  nowMs: number,
): { fullSinceMs: number; historySinceMs: number } {
  const DAY_MS = 86_400_000;
  return { fullSinceMs: nowMs - settings.keepDays * DAY_MS, historySinceMs: nowMs - settings.historyDays * DAY_MS };
}

function positiveInt(value: string | undefined, name: string): number | null {
  if (value === undefined || value.trim() === "") return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a whole number of at least 1, not ${value}`);
  return n;
}

export { FREE_MAIL_DOMAINS } from "../core/email-domains.ts";
