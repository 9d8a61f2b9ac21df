// IP address and CIDR checks with Go's net.ParseIP / net.ParseCIDR acceptance: dotted-quad IPv4
// without leading zeros, IPv6 (including an embedded IPv4 tail), no zone suffix, no brackets.

import { isIPv4, isIPv6 } from "node:net";

export type IpVersion = "ipv4" | "ipv6" | "any";

export function ipVersionOf(text: string): 4 | 6 | 0 {
  if (isIPv4(text)) return 4;
  // Node accepts a zone ("fe80::1%eth0"); Go's ParseIP does not.
  if (!text.includes("%") && isIPv6(text)) return 6;
  return 0;
}

export function isIpAddress(text: string, version: IpVersion = "any"): boolean {
  const v = ipVersionOf(text);
  if (v === 0) return false;
  return version === "any" || (version === "ipv4" ? v === 4 : v === 6);
}

export function isCidr(text: string, version: IpVersion = "any"): boolean {
  const slash = text.indexOf("/");
  if (slash < 0) return false;
  const address = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return false;
  const v = ipVersionOf(address);
  if (v === 0) return false;
  if (Number(bits) > (v === 4 ? 32 : 128)) return false;
  return version === "any" || (version === "ipv4" ? v === 4 : v === 6);
}
