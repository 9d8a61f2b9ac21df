// Where Vigil may send a stored secret: the outbound policy for every URL or host an API caller can set
// (a source's base URL, a destination's URL, base URL or SMTP host). Pure: the operator's settings come in as
// an OutboundPolicy (src/config/env.ts reads them from the environment).
//
// Two rules, both checked where the request is made (so a policy tightened later applies to what is stored):
// - `https:` only, except for loopback hosts (the simulator, a local relay) or when the operator allows plain
//   HTTP: a key sent in clear text over the network is a key given away.
// - With an allow-list (VIGIL_ALLOWED_HOSTS), only listed hosts: `api.openai.com`, or `*.example.com` for any
//   subdomain of example.com.

import { isIP } from "node:net";
import { ConfigurationError } from "./errors.ts";

export interface OutboundPolicy {
  /** Hosts (exact, or `*.suffix`) that secrets may be sent to; empty means any host. */
  allowedHosts: readonly string[];
  /** Allow `http:` to hosts that are not loopback (VIGIL_ALLOW_PLAIN_HTTP=1). */
  allowPlainHttp: boolean;
}

export const OPEN_POLICY: OutboundPolicy = { allowedHosts: [], allowPlainHttp: false };

/** The endpoint a secret is bound to: scheme, host, port and path of the URL, without query, fragment or credentials. */
export function endpointOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
}

/** The host as the allow-list (and the login's host check, src/server/own-host.ts) compares it: lower case, IPv6 without brackets. */
export function normalHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
}

export function isLoopbackHost(host: string): boolean {
  const h = normalHost(host);
  // Not `*.localhost`: nothing here guarantees that a resolver keeps such names on this machine.
  return h === "localhost" || /^127(\.\d{1,3}){3}$/.test(h) || h === "::1";
}

export function hostAllowed(host: string, policy: OutboundPolicy): boolean {
  if (policy.allowedHosts.length === 0) return true;
  const h = normalHost(host);
  return policy.allowedHosts.some((entry) => {
    const e = normalHost(entry.trim());
    return e.startsWith("*.") ? h.endsWith(e.slice(1)) && h.length > e.length - 1 : h === e;
  });
}

/** Why `url` may not receive a secret under `policy`, as a sentence naming what to change; null when it may. */
export function outboundUrlProblem(url: string, policy: OutboundPolicy): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL.`;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    return `${u.protocol} URLs are not allowed; use an https:// URL.`;
  }
  if (u.username !== "" || u.password !== "") {
    return "A URL with a user name or password in it is not allowed; give credentials in their own fields.";
  }
  if (u.protocol === "http:" && !isLoopbackHost(u.hostname) && !policy.allowPlainHttp) {
    return `Plain http:// to ${u.hostname} would send the secret unencrypted; use https://, or set VIGIL_ALLOW_PLAIN_HTTP=1 if the network in between is trusted.`;
  }
  return hostProblem(u.hostname, policy);
}

/** A DNS name (letters, digits, hyphens, underscores, dot-separated labels) or an IP address, nothing else. */
const HOST_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/**
 * True for a host name or IP address as a connection takes it. Anything else never names one host: a resolver
 * reads a name up to a NUL, so "10.0.0.1\0.mail.example.com" would pass `*.example.com` and reach 10.0.0.1.
 */
export function isHostName(host: string): boolean {
  return HOST_NAME.test(host) || isIP(normalHost(host)) !== 0;
}

/** Why `host` may not receive a secret (SMTP hosts have no URL); null when it may. */
export function hostProblem(host: string, policy: OutboundPolicy): string | null {
  if (!isHostName(host)) return `${JSON.stringify(host)} is not a host name or IP address.`;
  if (hostAllowed(host, policy)) return null;
  return `The host ${normalHost(host)} is not in VIGIL_ALLOWED_HOSTS (${policy.allowedHosts.join(", ")}); ask the operator to add it.`;
}

/** Throws `outbound_refused` naming `what` (e.g. "base URL") when the URL may not receive a secret. */
export function assertOutboundUrl(url: string, policy: OutboundPolicy, what: string): void {
  const problem = outboundUrlProblem(url, policy);
  if (problem) throw new ConfigurationError("outbound_refused", `The ${what} is refused: ${problem}`);
}
