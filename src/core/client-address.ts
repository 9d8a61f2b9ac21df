// Which address a request comes from, for the login throttle (src/server/login-throttle.ts). Behind a reverse
// proxy every request's socket is the proxy's, so every client would share one throttle count, and one stranger
// failing logins would keep everybody out of the console. The operator names the proxies in front of Vigil
// (VIGIL_TRUSTED_PROXIES); a request whose socket is one of them comes from the address those proxies wrote in
// X-Forwarded-For. Each proxy appends the address it received the request from, so the list is read from its
// right end: the first address that is not itself a trusted proxy is the client's. Whatever stands left of it
// the client wrote itself, and is never believed.

import { BlockList, isIP } from "node:net";
import ipaddr from "ipaddr.js";

/**
 * The proxies of VIGIL_TRUSTED_PROXIES: comma-separated addresses (`10.0.0.5`, `::1`) or ranges in CIDR form
 * (`10.0.0.0/8`, `fd00::/8`); null when the text names none. Throws an Error naming the first entry that is
 * neither.
 */
export function parseTrustedProxies(text: string): BlockList | null {
  const entries = text
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  if (entries.length === 0) return null;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = "", prefix, ...rest] = entry.split("/");
    const version = isIP(address);
    const bits = version === 6 ? 128 : 32;
    const length = prefix === undefined ? bits : Number(prefix);
    if (version === 0 || rest.length > 0 || !/^\d+$/.test(prefix ?? "0") || !(length >= 0 && length <= bits)) {
      throw new Error(
        `${JSON.stringify(entry)} is not an IP address or a CIDR range (such as 10.0.0.5 or 10.0.0.0/8).`,
      );
    }
    if (prefix === undefined) list.addAddress(address, familyOf(version));
    else list.addSubnet(address, length, familyOf(version));
  }
  return list;
}

/** BlockList's name for an address of `isIP`'s version (4 or 6). */
function familyOf(version: number): "ipv4" | "ipv6" {
  return version === 6 ? "ipv6" : "ipv4";
}

/** Whether `address` (a socket's, or an X-Forwarded-For entry) is one of the trusted proxies; never for a non-address. */
export function isTrusted(address: string, trusted: BlockList): boolean {
  const version = isIP(address);
  return version !== 0 && trusted.check(address, familyOf(version));
}

/**
 * An X-Forwarded-For entry's address: some proxies write the client's port too (`203.0.113.9:51234`,
 * `[2001:db8::1]:51234`), which would give every connection a count of its own.
 */
function withoutPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return bracketed[1] as string;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return v4 ? (v4[1] as string) : hop;
}

/**
 * The client's address: the socket's (`peer`), unless the peer is a trusted proxy and the request carries
 * X-Forwarded-For; then the right-most entry of that header that is not a trusted proxy (or its left-most, when
 * every one is). An entry that is not an address is taken as it is: no proxy writes one, so a proxy passed on
 * what the client wrote, and the client is then counted by its own word rather than by the proxy's address,
 * which it shares with everybody.
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trusted: BlockList | null): string {
  if (trusted === null || forwardedFor === undefined || !isTrusted(peer, trusted)) return peer;
  const hops = forwardedFor
    .split(",")
    .map((h) => withoutPort(h.trim()))
    .filter((h) => h !== "");
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    client = hops[i] as string;
    if (!isTrusted(client, trusted)) break;
  }
  return client;
}

/**
 * The key a client's failed logins are counted under: an IPv4 address as it is, an IPv6 address by its /64
 * network. One host is routinely given a whole /64 and may use any address in it, so counting each IPv6 address
 * apart gives a single machine as many fresh counts as it wants, enough to fill the password checks' queue for
 * everyone. IPv6 addresses that stand for an IPv4 client count as that client: IPv4-mapped (`::ffff:a.b.c.d`) and
 * NAT64 (`64:ff9b::a.b.c.d`, where every IPv4 client would share one /64), and Teredo's, whose /64 is its relay's,
 * whole. Anything else (an unparsed forwarded entry) is kept as it is.
 */
export function throttleClientKey(address: string): string {
  // isIP first: ipaddr.js also reads the loose IPv4 forms (`0x7f.1`) that are no client's address.
  if (isIP(address) === 0) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === "ipv4") return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  const range = v6.range();
  if (range === "rfc6052") {
    const [high = 0, low = 0] = v6.parts.slice(6);
    return [high >> 8, high & 255, low >> 8, low & 255].join(".");
  }
  if (range === "teredo") return v6.toNormalizedString();
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${v6.toString()}/64`).toString()}/64`;
}
