// POST /api/login, POST /api/logout, GET /api/me.

import { getConnInfo } from "@hono/node-server/conninfo";
import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { clientAddress, isTrusted, throttleClientKey } from "../../core/client-address.ts";
import {
  dummyPasswordHash,
  hashPassword,
  isCheckQueueFull,
  needsRehash,
  randomSecret,
  sha256,
  verifyPassword,
} from "../auth.ts";
import { type AppEnv, readBody, type ServerContext } from "../context.ts";
import { errorBody } from "../errors.ts";
import { checkInLane, rememberDevice } from "../known-device.ts";
import { loginThrottle } from "../login-throttle.ts";
import { isOwnHost, loginHost } from "../own-host.ts";

export const SESSION_COOKIE = "vigil_session";
const DEFAULT_SESSION_TTL_MS = 12 * 3600_000;

const LoginSchema = z.object({ username: z.string().min(1).max(200), password: z.string().min(1).max(1024) });

function socketAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown"; // app.request() in tests: no socket
  }
}

/** Socket addresses already warned about (below), bounded: a warning per proxy is enough. */
const warnedProxies = new Set<string>();

/** Whether the request's socket is one of VIGIL_TRUSTED_PROXIES: only then are its forwarded headers believed. */
function viaTrustedProxy(c: Context, ctx: ServerContext): boolean {
  const trusted = ctx.runtime.env.trustedProxies;
  return trusted !== null && isTrusted(socketAddress(c), trusted);
}

/**
 * The address a login is counted by (core/client-address.ts; an IPv6 client by its /64). A forwarded address from
 * a socket that is not a trusted proxy is not believed, and the operator is told once: behind an unnamed proxy
 * every client shares the proxy's count, and one stranger's failures hold everybody off.
 */
function loginClient(c: Context, ctx: ServerContext): string {
  const peer = socketAddress(c);
  const forwardedFor = c.req.header("x-forwarded-for");
  const client = clientAddress(peer, forwardedFor, ctx.runtime.env.trustedProxies);
  if (forwardedFor !== undefined && !viaTrustedProxy(c, ctx) && !warnedProxies.has(peer) && warnedProxies.size < 100) {
    warnedProxies.add(peer);
    ctx.runtime.logger.warn(
      { peer },
      `Logins arrive from ${peer} with an X-Forwarded-For header, but VIGIL_TRUSTED_PROXIES does not name ${peer}: ` +
        "failed logins are counted by its address, which every client behind it shares. If it is your reverse " +
        "proxy, add it to VIGIL_TRUSTED_PROXIES (docs/deploy.md).",
    );
  }
  return throttleClientKey(client);
}

/**
 * Secure when the request came over TLS, when the operator's public URL is https (TLS ends at a proxy in
 * front, so the request Vigil sees is http), or when the server was told so.
 */
function isSecure(c: Context, ctx: ServerContext): boolean {
  return (
    ctx.options.secureCookies === true ||
    new URL(c.req.url).protocol === "https:" ||
    new URL(ctx.runtime.env.publicUrl).protocol === "https:"
  );
}

export function sessionRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const store = ctx.runtime.store;

  app.post("/login", async (c) => {
    // JSON only, said so: a page of another site can post a form or text without asking the browser's leave
    // (CORS), but not JSON. Else it could sign a visitor's browser into an account of its choosing, or spend
    // the visitor's address's failed logins.
    if (!/^application\/json\s*(;|$)/i.test(c.req.header("content-type") ?? "")) {
      return c.json(
        errorBody("unsupported_media_type", "Send the login as JSON (Content-Type: application/json)."),
        415,
      );
    }
    // Before anything is counted: a login for another host's name may be a page of that host reaching this server
    // through the visitor's browser (own-host.ts).
    const publicUrl = ctx.runtime.env.publicUrl;
    const host = loginHost(c.req.header("host"), c.req.header("x-forwarded-host"), viaTrustedProxy(c, ctx));
    if (!isOwnHost(host, publicUrl)) {
      return c.json(
        errorBody(
          "host_not_allowed",
          `This server takes logins for ${new URL(publicUrl).host}, its addresses and localhost, not for the host ` +
            "this request names: a page of another site may be reaching it through your browser. If that name is " +
            "the address you open Vigil at, set VIGIL_PUBLIC_URL to it; behind a reverse proxy, have the proxy pass " +
            "the browser's host (nginx: proxy_set_header Host $host).",
        ),
        421,
      );
    }
    const { username, password } = await readBody(c, LoginSchema);
    const throttle = loginThrottle(store, ctx.loginThrottle, ctx.nowMs, loginClient(c, ctx), username);
    const refused = await throttle.admit(c);
    if (refused !== null) return refused;
    let creds: Awaited<ReturnType<typeof store.getUserCredentials>>;
    let ok: boolean;
    try {
      creds = await store.getUserCredentials(username);
      // Verify against a dummy hash for unknown users, so that response time does not reveal who exists. A
      // browser that logged in as this user before is checked in a lane of its own (known-device.ts).
      const stored = creds?.passwordHash ?? (await dummyPasswordHash());
      ok = await checkInLane(
        c,
        ctx.runtime.secrets,
        { username, userExists: Boolean(creds), nowMs: ctx.nowMs() },
        (lane) => verifyPassword(password, stored, lane),
      );
    } catch (err) {
      // No verdict (the password checks' queue is full, the database failed): the attempt was no failure.
      await throttle.abandoned().catch(() => undefined);
      throw err;
    }
    // Counted as a failure when it was admitted; its waits start from now.
    if (!creds || !ok) {
      await throttle.failed();
      return c.json(errorBody("unauthorized", "The username or password is not correct."), 401);
    }
    await throttle.succeeded();
    // The one moment the password is known: a hash made with weaker scrypt parameters is replaced (only if
    // the password was not changed meanwhile; the user's other sessions stay).
    if (needsRehash(creds.passwordHash)) {
      try {
        await store.replacePasswordHash(creds.user.id, creds.passwordHash, await hashPassword(password));
      } catch (err) {
        // The password checks' queue is full (a flood of logins): the next login makes the new hash.
        if (!isCheckQueueFull(err)) throw err;
      }
    }
    const now = ctx.nowMs();
    const token = randomSecret();
    const csrf = randomSecret();
    const ttl = ctx.options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    await store.createSession({
      tokenHash: sha256(token),
      userId: creds.user.id,
      csrf,
      createdAtMs: now,
      expiresAtMs: now + ttl,
    });
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: "Strict",
      secure: isSecure(c, ctx),
      path: "/",
      maxAge: Math.floor(ttl / 1000),
    });
    try {
      rememberDevice(c, ctx.runtime.secrets, username, now, isSecure(c, ctx));
    } catch (err) {
      // Without the secret key (an unreadable key file) the browser is not remembered; the login stands.
      ctx.runtime.logger.warn({ err }, "The browser could not be remembered for later logins.");
    }
    return c.json({ user: creds.user, csrf });
  });

  app.post("/logout", async (c) => {
    const auth = c.get("auth");
    if (auth.sessionHash) await store.deleteSession(auth.sessionHash, ctx.nowMs());
    if (getCookie(c, SESSION_COOKIE) !== undefined) {
      deleteCookie(c, SESSION_COOKIE, { path: "/", httpOnly: true, sameSite: "Strict", secure: isSecure(c, ctx) });
    }
    return c.json({ ok: true });
  });

  app.get("/me", (c) => {
    const auth = c.get("auth");
    return c.json({ user: auth.user, csrf: auth.csrf, ...(auth.tokenName ? { token: auth.tokenName } : {}) });
  });

  return app;
}
