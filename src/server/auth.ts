// Who may call the API: users with a password (scrypt, per-user salt) who log in for a session cookie, and
// API tokens for automation (sent as Bearer). Only hashes are stored: sha256 of session cookies and
// tokens (they are random, 256-bit), scrypt of passwords (chosen by people).

import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { BulkheadRejectedError, bulkhead } from "cockatiel";
import type { UserRecord, UserRole } from "../core/access.ts";
import { UsageError, VigilError } from "../core/errors.ts";
import type { Store } from "../storage/ports.ts";

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
  keyLength: number;
}

/** OWASP's current guidance for scrypt (Password Storage Cheat Sheet): N=2^17, r=8, p=1; 128 MiB per hash. */
export const SCRYPT: ScryptParams = { N: 131_072, r: 8, p: 1, keyLength: 64 };

// Each hash holds 128·N·r bytes (128 MiB) for ~0.4 s: at most two at once, and one in the lane of logins from
// browsers known to their account (known-device.ts, which a flood of strangers' logins cannot fill), bound the
// memory a burst of logins can take to 384 MiB; the rest wait in short queues, and beyond them are told to retry.
/** Which queue a password check waits in: anyone's, or that of logins from a browser known to the account. */
export type CheckLane = "any" | "known_device";

const LANE_SIZES: Record<CheckLane, { running: number; waiting: number }> = {
  any: { running: 2, waiting: 64 },
  known_device: { running: 1, waiting: 16 },
};
const lanes = {
  any: bulkhead(LANE_SIZES.any.running, LANE_SIZES.any.waiting),
  known_device: bulkhead(LANE_SIZES.known_device.running, LANE_SIZES.known_device.waiting),
};

/** The password checks of this process running and waiting, per lane (a flood of logins shows here first). */
export function passwordChecks(): Record<CheckLane, { running: number; waiting: number }> {
  const of = (lane: CheckLane) => ({
    running: LANE_SIZES[lane].running - lanes[lane].executionSlots,
    waiting: LANE_SIZES[lane].waiting - lanes[lane].queueSlots,
  });
  return { any: of("any"), known_device: of("known_device") };
}

/** Whether `err` is a password check refused because its lane's queue is full (scrypt below). */
export function isCheckQueueFull(err: unknown): boolean {
  return err instanceof VigilError && err.code === "rate_limited";
}

function scrypt(
  password: string,
  salt: Buffer,
  n: number,
  r: number,
  p: number,
  keyLength: number,
  lane: CheckLane = "any",
): Promise<Buffer> {
  const run = () =>
    new Promise<Buffer>((resolve, reject) =>
      scryptCb(password, salt, keyLength, { N: n, r, p, maxmem: 128 * n * r * 2 }, (err, key) =>
        err ? reject(err) : resolve(key),
      ),
    );
  return lanes[lane].execute(run).catch((err: unknown) => {
    if (err instanceof BulkheadRejectedError) {
      throw new VigilError("rate_limited", "Too many password checks at once; try again in a moment.");
    }
    throw err;
  });
}

/** `scrypt$N$r$p$salt$hash` (base64url), so that parameters can be raised later without breaking old hashes. */
export async function hashPassword(password: string, params: ScryptParams = SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, params.N, params.r, params.p, params.keyLength);
  return ["scrypt", params.N, params.r, params.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** Whether a stored hash was made with weaker parameters than SCRYPT (login then hashes the password again). */
export function needsRehash(stored: string): boolean {
  const [scheme, n, r, p, , hash] = stored.split("$");
  if (scheme !== "scrypt" || hash === undefined) return true;
  return (
    Number(n) < SCRYPT.N ||
    Number(r) < SCRYPT.r ||
    Number(p) < SCRYPT.p ||
    Buffer.from(hash, "base64url").length < SCRYPT.keyLength
  );
}

export async function verifyPassword(password: string, stored: string, lane: CheckLane = "any"): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !n || !r || !p || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, "base64url");
  const actual = await scrypt(
    password,
    Buffer.from(salt, "base64url"),
    Number(n),
    Number(r),
    Number(p),
    expected.length,
    lane,
  );
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash to compare against when the user does not exist, so that timing does not reveal usernames. */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString("hex"));
  return dummyHash;
}

export function randomSecret(prefix = ""): string {
  return `${prefix}${randomBytes(32).toString("base64url")}`;
}

export function sha256(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Passwords people choose: long enough to resist guessing at the rate limit. */
export function passwordProblem(password: string): string | null {
  if (password.length < 12) return "A password needs at least 12 characters.";
  if (password.length > 1024) return "A password may have at most 1024 characters.";
  return null;
}

/** Usernames: what a login form, a URL and an audit line hold without escaping trouble. */
export function usernameProblem(username: string): string | null {
  return /^[\w.@-]{1,100}$/.test(username)
    ? null
    : "A username may use letters, digits and . _ - @ (up to 100 characters).";
}

export const API_TOKEN_PREFIX = "vgl_";

/** Creates an API token; the plain token is returned once and only its hash is stored. */
export async function createApiToken(
  store: Store,
  name: string,
  expiresAtMs: number,
): Promise<{ token: string; id: string; expiresAtMs: number }> {
  const token = randomSecret(API_TOKEN_PREFIX);
  const record = await store.createApiToken({ name, tokenHash: sha256(token), expiresAtMs });
  return { token, id: record.id, expiresAtMs: record.expiresAtMs };
}

const DAY_MS = 86_400_000;

/**
 * The expiry of a token created at `nowMs` that lives `days` (the operator's default when not given),
 * refused beyond the operator's maximum.
 */
export function tokenExpiry(
  nowMs: number,
  days: number | undefined,
  limits: { tokenTtlDays: number; tokenMaxTtlDays: number },
): number {
  const ttl = days ?? limits.tokenTtlDays;
  if (!Number.isInteger(ttl) || ttl < 1) throw new UsageError("A token lives at least 1 whole day.");
  if (ttl > limits.tokenMaxTtlDays) {
    throw new UsageError(
      `A token may live at most ${limits.tokenMaxTtlDays} days (VIGIL_TOKEN_MAX_TTL_DAYS); ${ttl} is too long.`,
    );
  }
  return nowMs + ttl * DAY_MS;
}

export async function createUser(
  store: Store,
  username: string,
  password: string,
  role: UserRole,
): Promise<UserRecord> {
  return store.createUser({ username, passwordHash: await hashPassword(password), role });
}

/**
 * On first start there is no user: create `admin` with a random password, returned so that the caller
 * prints it once. null when a user exists.
 */
export async function ensureAdminUser(store: Store): Promise<{ username: string; password: string } | null> {
  if ((await store.countUsers()) > 0) return null;
  const password = randomBytes(18).toString("base64url");
  try {
    await createUser(store, "admin", password, "admin");
  } catch (err) {
    // Another process created it at the same moment: it printed the password.
    if ((err as { code?: string }).code === "conflict") return null;
    throw err;
  }
  return { username: "admin", password };
}
