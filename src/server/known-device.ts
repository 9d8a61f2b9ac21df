// Logins from a browser that has logged in as that user before take a lane of their own to the password check.
//
// Password checks are expensive (scrypt, 128 MiB and ~0.4 s each), so they share one bounded queue (auth.ts). The
// per-address throttle stops a flood from one address (or one IPv6 /64), but an attacker with many addresses (a
// botnet) can keep that queue full, and every login waits or is told to retry, the admin's right password
// included, for as long as the flood lasts. A browser that logged in successfully carries a device cookie
// (OWASP's "device cookies"): sealed by the server's secret box to the username and the time it was given, it
// cannot be made up, and a login that presents one for the username it names is checked in a lane of its own.
// The cookie grants no access: the password is still checked, and the address is still throttled.

import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { SecretBox } from "../secrets/secret-box.ts";

export const DEVICE_COOKIE = "vigil_device";
/** What a device cookie is sealed to: no other stored secret decrypts as one, nor one as another secret. */
const SEALED_FOR = "vigil:login-device";
/** How long a browser stays known without logging in again (each login gives a fresh cookie). */
export const DEVICE_TTL_MS = 180 * 86_400_000;

const accountOf = (username: string) => username.toLowerCase();

/** The cookie's value for `username`, given at `nowMs`. */
export function sealDevice(secrets: SecretBox, username: string, nowMs: number): string {
  return Buffer.from(secrets.encrypt(`${accountOf(username)}\n${nowMs}`, SEALED_FOR).ciphertext, "utf8").toString(
    "base64url",
  );
}

/** Whether `cookie` was given by this server (or a worker with the same key) to a browser `username` logged in from. */
export function isKnownDevice(
  secrets: SecretBox,
  cookie: string | undefined,
  username: string,
  nowMs: number,
): boolean {
  if (cookie === undefined || cookie.length > 1024) return false;
  let plain: string;
  try {
    plain = secrets.decrypt({ ciphertext: Buffer.from(cookie, "base64url").toString("utf8") }, SEALED_FOR);
  } catch {
    return false; // altered, made up, or sealed with another key: a browser like any other
  }
  const [account, givenMs] = plain.split("\n");
  const given = Number(givenMs);
  return account === accountOf(username) && Number.isFinite(given) && nowMs - given < DEVICE_TTL_MS;
}

/** The device cookie of a request to log in as `username`, if it is one this server gave for that user. */
export function knownDeviceOf(c: Context, secrets: SecretBox, username: string, nowMs: number): boolean {
  return isKnownDevice(secrets, getCookie(c, DEVICE_COOKIE), username, nowMs);
}

/** Gives the browser a device cookie after a successful login; sent back only to the login route. */
export function rememberDevice(c: Context, secrets: SecretBox, username: string, nowMs: number, secure: boolean): void {
  setCookie(c, DEVICE_COOKIE, sealDevice(secrets, username, nowMs), {
    httpOnly: true,
    sameSite: "Strict",
    secure,
    path: "/api/login",
    maxAge: Math.floor(DEVICE_TTL_MS / 1000),
  });
}
