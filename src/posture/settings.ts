// Thresholds of the posture rules, from the environment so an operator tunes them without editing a rule:
//   VIGIL_POSTURE_UNUSED_DAYS   a key unused for longer is stale (default 90)
//   VIGIL_POSTURE_MAX_OWNERS    more organization owners than this is a finding (default 3)
//   VIGIL_ORG_DOMAINS           the organization's email domains, comma-separated (default: learned from the
//                               users' own addresses, free-mail domains excluded)
// They travel inside every posture record (`settings`), so rule tests set them per case.

export interface PostureSettings {
  unusedDays: number;
  maxOwners: number;
  orgDomains: string[];
}

export const DEFAULT_POSTURE_SETTINGS: PostureSettings = { unusedDays: 90, maxOwners: 3, orgDomains: [] };

export function postureSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): PostureSettings {
  return {
    unusedDays: positiveInt(env.VIGIL_POSTURE_UNUSED_DAYS, "VIGIL_POSTURE_UNUSED_DAYS") ?? 90,
    maxOwners: positiveInt(env.VIGIL_POSTURE_MAX_OWNERS, "VIGIL_POSTURE_MAX_OWNERS") ?? 3,
    orgDomains: (env.VIGIL_ORG_DOMAINS ?? "")
      .split(",")
      .map((d) => d.trim().toLowerCase())
      .filter((d) => d !== ""),
  };
}

function positiveInt(value: string | undefined, name: string): number | null {
  if (value === undefined || value.trim() === "") return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a whole number of at least 1, not ${value}`);
  return n;
}

export { FREE_MAIL_DOMAINS } from "../core/email-domains.ts";
