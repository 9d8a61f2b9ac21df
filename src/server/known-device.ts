// Logins from a browser that has logged in as that user before take a lane of their own to the password check.
//
// Password checks are expensive (scrypt, 128 MiB and ~0.4 s each), so they share one bounded queue (auth.ts). The
// per-address throttle stops a flood from one address (or one IPv6 /64), but an attacker with many addresses (a
// botnet) can keep that queue full, and every login waits or is told to retry, the admin's right password
// included, for as long as the flood lasts. A browser that logged in successfully carries a device cookie
// (OWASP's "device cookies"): sealed by the server's secret box to the username and the time it was given, it
// cannot be made up, and a login that presents one for the username it names is checked in a lane of its own.
// The cookie grants no access: the password is still checked, and the address is still throttled. And the lane is
// no one's to fill: it is taken only for a user who exists, by one check per account at a time (a user who floods
// logins for their own account with their own cookie holds one place in it, the rest of their attempts wait with
// everyone's), and a check that finds it full waits with everyone's instead of being refused.

import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { SecretBox } from "../secrets/secret-box.ts";
import { type CheckLane, isCheckQueueFull } from "./auth.ts";
import { loginAccountOf } from "./login-throttle.ts";

export const DEVICE_COOKIE = "vigil_device";
/** What a device cookie is sealed to: no other stored secret decrypts as one, nor one as another secret. */
const SEALED_FOR = "vigil:login-device";
/** How long a browser stays known without logging in again (each login gives a fresh cookie). */
export const DEVICE_TTL_MS = 180 * 86_400_000;

/** The cookie's value for `username`, given at `nowMs`. */
export function sealDevice(secrets: SecretBox, username: string, nowMs: number): string {
  return Buffer.from(secrets.encrypt(`${loginAccountOf(username)}\n${nowMs}`, SEALED_FOR).ciphertext, "utf8").toString(
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
  return account === loginAccountOf(username) && Number.isFinite(given) && nowMs - given < DEVICE_TTL_MS;
}

/** Accounts with a password check in the known-device lane of this process now. */
const inLane = new Set<string>();

/**
 * Runs a login's password `check` in the known-device lane when the request carries a device cookie for
 * `username`, the user exists and the account has no other check in the lane; else, or when that lane is full,
 * in everyone's.
 */
export async function checkInLane<T>(
  c: Context,
  secrets: SecretBox,
  login: { username: string; userExists: boolean; nowMs: number },
  check: (lane: CheckLane) => Promise<T>,
): Promise<T> {
  const account = loginAccountOf(login.username);
  const known =
    login.userExists &&
    !inLane.has(account) &&
    isKnownDevice(secrets, getCookie(c, DEVICE_COOKIE), login.username, login.nowMs);
  if (!known) return check("any");
  inLane.add(account);
  try {
    return await check("known_device");
  } catch (err) {
    if (!isCheckQueueFull(err)) throw err;
  } finally {
    inLane.delete(account);
  }
  return check("any");
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
