// Whether a login names this server by an address it answers to: the login's guard against DNS rebinding.
//
// A page of another site can point a host name of its own at this server's address (DNS rebinding); the
// visitor's browser then sends that page's requests here, as the site's own, from the visitor's address. Every
// route but the login needs a session cookie (bound to Vigil's host) or a token, and the page has neither; the
// login needs none, and each login the page failed would count against the visitor's address: it could keep the
// visitor (an administrator at their desk) from logging in. Such a request names the page's host in its Host
// header. So a login is taken only for the host of VIGIL_PUBLIC_URL, an address written out (no name to
// rebind), or localhost. A request without a Host header is no browser's. Behind a trusted proxy the browser's
// host is the one it forwards in X-Forwarded-Host, when it does; else its Host (docs/deploy.md asks the proxy to
// pass the browser's: a proxy that sends its upstream's address defeats the check, one that sends the upstream's
// name has every login refused).

import { isIP } from "node:net";
import { normalHost } from "../core/outbound.ts";

/** Whether `hostHeader` (the request's Host, with or without a port) names this server as `publicUrl` does. */
export function isOwnHost(hostHeader: string | undefined, publicUrl: string): boolean {
  if (hostHeader === undefined || hostHeader === "") return true;
  let hostname: string;
  try {
    hostname = new URL(`http://${hostHeader}`).hostname;
  } catch {
    return false;
  }
  const host = comparable(hostname);
  if (isIP(host) !== 0 || host === "localhost") return true;
  return host === comparable(new URL(publicUrl).hostname);
}

/** A URL's hostname as the check compares it: `normalHost`, without the trailing dot of a fully qualified name. */
const comparable = (hostname: string): string => normalHost(hostname).replace(/\.$/, "");

/**
 * The host a login names: the last entry of X-Forwarded-Host (the one the proxy next to Vigil wrote) when the
 * request came through a trusted proxy that sent it, else Host. A client's own X-Forwarded-Host is never believed.
 */
export function loginHost(
  host: string | undefined,
  forwardedHost: string | undefined,
  fromTrustedProxy: boolean,
): string | undefined {
  const forwarded = fromTrustedProxy ? forwardedHost?.split(",").at(-1)?.trim() : undefined;
  return forwarded === undefined || forwarded === "" ? host : forwarded;
}
