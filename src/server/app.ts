// The HTTP API and console as one Hono app, built from a Runtime. Tests call `app.request()` without a
// socket; server.ts listens with @hono/node-server.
//
// Access: every /api route except POST /api/login, and /metrics, needs a session cookie or a Bearer API
// token. Cookie-authenticated state changes also need the X-Vigil-CSRF header (SameSite=Strict already
// stops cross-site sends; the header is the second lock).

import { Hono, type MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { Runtime } from "../pipeline/runtime.ts";
import { safeEqual, sha256 } from "./auth.ts";
import { DEFAULT_BODY_LIMIT_BYTES, LOGIN_BODY_LIMIT_BYTES, limitBody } from "./body-limit.ts";
import { logChanges } from "./change-log.ts";
import { type AppEnv, makeContext, type ServerContext, type ServerOptions } from "./context.ts";
import { errorBody, onError } from "./errors.ts";
import { metricsRoute } from "./metrics.ts";
import { alertRoutes } from "./routes/alerts.ts";
import { destinationRoutes } from "./routes/destinations.ts";
import { eventRoutes } from "./routes/events.ts";
import { overviewRoutes } from "./routes/overview.ts";
import { postureRoutes } from "./routes/posture.ts";
import { ruleRoutes } from "./routes/rules.ts";
import { savedSearchRoutes } from "./routes/saved-searches.ts";
import { SESSION_COOKIE, sessionRoutes } from "./routes/session.ts";
import { sourceRoutes } from "./routes/sources.ts";
import { suppressionRoutes } from "./routes/suppressions.ts";
import { userRoutes } from "./routes/users.ts";
import { workerRoutes } from "./routes/workers.ts";
import { staticConsole } from "./static.ts";

export type { ServerOptions } from "./context.ts";

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    c.res.headers.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    c.res.headers.set("X-Content-Type-Options", "nosniff");
    c.res.headers.set("Referrer-Policy", "no-referrer");
    c.res.headers.set("X-Frame-Options", "DENY");
    c.res.headers.set("Cross-Origin-Opener-Policy", "same-origin");
    const path = c.req.path;
    if (path.startsWith("/api/") || path === "/api" || path === "/metrics" || path === "/healthz") {
      c.res.headers.set("Cache-Control", "no-store");
      c.res.headers.set("Pragma", "no-cache");
    }
  };
}

function requireAuth(ctx: ServerContext): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method === "POST" && c.req.path === "/api/login") return next();
    const header = c.req.header("authorization");
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const now = ctx.nowMs();
      const token = match?.[1] ? await ctx.runtime.store.authenticateApiToken(sha256(match[1]), now) : null;
      if (!token) return c.json(errorBody("unauthorized", "The API token is not valid."), 401);
      if (token.expiresAtMs <= now) {
        const when = new Date(token.expiresAtMs).toISOString();
        return c.json(
          errorBody(
            "token_expired",
            `The API token ${token.name} expired at ${when}; create a new one with \`vigil tokens create\`.`,
          ),
          401,
        );
      }
      c.set("auth", { kind: "token", user: null, tokenName: token.name, csrf: null, sessionHash: null });
      return next();
    }
    const cookie = getCookie(c, SESSION_COOKIE);
    const session = cookie ? await ctx.runtime.store.getSession(sha256(cookie), ctx.nowMs()) : null;
    const user = session ? await ctx.runtime.store.getUser(session.userId) : null;
    if (!session || !user) {
      return c.json(errorBody("unauthorized", "Log in, or send an API token as Authorization: Bearer."), 401);
    }
    if (!SAFE_METHODS.has(c.req.method)) {
      const csrf = c.req.header("x-vigil-csrf") ?? "";
      if (!safeEqual(csrf, session.csrf)) {
        return c.json(errorBody("forbidden", "The X-Vigil-CSRF header is missing or does not match the session."), 403);
      }
    }
    c.set("auth", { kind: "session", user, tokenName: null, csrf: session.csrf, sessionHash: session.tokenHash });
    return next();
  };
}

export function createApp(runtime: Runtime, options: ServerOptions = {}): Hono<AppEnv> {
  const ctx = makeContext(runtime, options);
  const app = new Hono<AppEnv>();
  app.onError(onError((err) => runtime.logger.error({ err }, "An API request failed.")));
  app.use("*", securityHeaders());

  app.get("/healthz", (c) => c.json({ ok: true }));

  // The login limit comes before authentication (login is the one route without it); every other body is
  // limited after it, so that an unauthenticated caller gets its 401 without the server reading anything.
  app.use("/api/login", limitBody(LOGIN_BODY_LIMIT_BYTES));
  app.use("/api/*", requireAuth(ctx));
  app.use("/api/*", logChanges(runtime.logger));
  app.use("/metrics", requireAuth(ctx));
  app.use("*", limitBody(DEFAULT_BODY_LIMIT_BYTES));
  app.get("/metrics", metricsRoute(ctx));

  for (const routes of [
    sessionRoutes(ctx),
    overviewRoutes(ctx),
    sourceRoutes(ctx),
    eventRoutes(ctx),
    alertRoutes(ctx),
    ruleRoutes(ctx),
    destinationRoutes(ctx),
    postureRoutes(ctx),
    suppressionRoutes(ctx),
    savedSearchRoutes(ctx),
    userRoutes(ctx),
    workerRoutes(ctx),
  ]) {
    app.route("/api", routes);
  }
  app.all("/api/*", (c) => c.json(errorBody("not_found", `There is no API route ${c.req.method} ${c.req.path}.`), 404));
  app.get("*", staticConsole(options.consoleDir));
  app.notFound((c) => c.json(errorBody("not_found", `There is no route ${c.req.method} ${c.req.path}.`), 404));
  return app;
}
