// `validate:` on string fields (allow / deny lists, ip, cidr). Panther uses them to tell overlapping
// schemas apart; here a failing value makes the record fail with code "invalid_value".

import type { ValidateDef } from "./definition.ts";
import { isCidr, isIpAddress } from "./ip.ts";

/** Returns an error sentence for a rejected value, undefined when the value passes. */
export type StringValidator = (value: string) => string | undefined;

export function compileValidator(def: ValidateDef | undefined): StringValidator | undefined {
  if (def === undefined) return undefined;
  const checks: StringValidator[] = [];
  if (def.allow !== undefined) {
    const allowed = new Set(def.allow);
    checks.push((v) => (allowed.has(v) ? undefined : `is not one of the allowed values (${def.allow!.join(", ")})`));
  }
  if (def.deny !== undefined) {
    const denied = new Set(def.deny);
    checks.push((v) => (denied.has(v) ? "is a denied value" : undefined));
  }
  if (def.ip !== undefined) {
    const version = def.ip;
    checks.push((v) => (isIpAddress(v, version) ? undefined : `is not an IP address (${version})`));
  }
  if (def.cidr !== undefined) {
    const version = def.cidr;
    checks.push((v) => (isCidr(v, version) ? undefined : `is not a CIDR block (${version})`));
  }
  if (checks.length === 0) return undefined;
  if (checks.length === 1) return checks[0];
  return (v) => {
    for (const check of checks) {
      const error = check(v);
      if (error !== undefined) return error;
    }
    return undefined;
  };
}
