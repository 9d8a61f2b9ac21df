// Failed logins slow down whoever makes them without letting anyone lock an account. Two throttle keys, both
// stored in the database (Store.beginLoginAttempt, loginFailed, takeBackLoginAttempt), so every server process
// agrees:
// - the client (its address): after a few failures it waits, doubling with every failure up to 15 minutes, and
//   is refused with 429 and Retry-After meanwhile. A flood from one address stops at that address.
// - the account: its failures (from anywhere) make each further attempt on it *wait* a little — at most a few
//   seconds — before the password is checked, never refuse it. Guessing one account from many addresses is
//   slowed; the right password from a client with a clean record still succeeds, only later.
// An attempt counts as a failure from the moment it is admitted, before its password is checked, so that a
// burst of attempts sent at once is counted one by one; a right password takes its own attempt back. A refused
// attempt is not a failure (its password is never checked), so a blocked address cannot push the account's
// delay further.

import type { Context } from "hono";
import type { LoginBackoff } from "../core/login-backoff.ts";
import type { Store } from "../storage/ports.ts";
import { errorBody } from "./errors.ts";

export interface LoginThrottlePolicy {
  client: LoginBackoff;
  /** Its maxMs is the longest an attempt is held; keep it short (the request holds a connection). */
  account: LoginBackoff;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottlePolicy = {
  client: { freeFailures: 5, baseMs: 1000, maxMs: 15 * 60_000, forgetAfterMs: 3600_000 },
  account: { freeFailures: 5, baseMs: 250, maxMs: 5000, forgetAfterMs: 3600_000 },
};

export interface LoginThrottle {
  /**
   * Counts the attempt as a failure before its password is checked (attempts sent at once are each counted),
   * or answers 429 when the client must wait (not counted); otherwise null, after the account's delay (if any).
   */
  admit(c: Context): Promise<Response | null>;
  /** The password was wrong: the waits start from now, not from when the attempt began. */
  failed(): Promise<void>;
  /** The password was right: the attempt is no failure of the client, and the account's failures are forgotten. */
  succeeded(): Promise<void>;
  /** The check never reached a verdict (it threw): the attempt is taken back from both keys. */
  abandoned(): Promise<void>;
}

/**
 * The account a login names, as the throttle and the device cookies (known-device.ts) count it: the username
 * folded to lower case, so that attempts at "Admin" and "admin" are one account's.
 */
export const loginAccountOf = (username: string): string => username.toLowerCase();

export function loginThrottle(
  store: Store,
  policy: LoginThrottlePolicy,
  now: () => number,
  client: string,
  username: string,
): LoginThrottle {
  const clientKey = `ip:${client}`;
  const accountKey = `user:${loginAccountOf(username)}`;
  return {
    async admit(c) {
      const started = await store.beginLoginAttempt(
        [
          { key: clientKey, backoff: policy.client, refuse: true },
          { key: accountKey, backoff: policy.account, refuse: false },
        ],
        now(),
      );
      if ("refusedForMs" in started) {
        c.header("Retry-After", String(Math.ceil(started.refusedForMs / 1000)));
        return c.json(
          errorBody("rate_limited", "Too many failed logins from this address; wait before trying again."),
          429,
        );
      }
      const accountWait = Math.min(started.waits[accountKey] ?? 0, policy.account.maxMs);
      if (accountWait > 0) await new Promise((resolve) => setTimeout(resolve, accountWait));
      return null;
    },
    async failed() {
      await store.loginFailed(
        [
          { key: clientKey, backoff: policy.client },
          { key: accountKey, backoff: policy.account },
        ],
        now(),
      );
    },
    async succeeded() {
      // Only this attempt is taken back from the client: its earlier failures stay. Clearing them would let
      // anyone with an account of their own reset their address's count between guesses at another one.
      await store.takeBackLoginAttempt({ keys: [{ key: clientKey, backoff: policy.client }], forget: [accountKey] });
    },
    async abandoned() {
      await store.takeBackLoginAttempt({
        keys: [
          { key: clientKey, backoff: policy.client },
          { key: accountKey, backoff: policy.account },
        ],
        forget: [],
      });
    },
  };
}
