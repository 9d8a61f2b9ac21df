// Turns PostgreSQL and network errors into VigilErrors that say what happened and what to do, so that a
// server that is down or a wrong password reaches the user as one sentence rather than a stack trace. The
// original error is kept as `cause` for debug logs. Messages name the server as host:port (or socket
// path) and database, never the connection string: it may carry a password.

import { ConfigurationError, VigilError } from "../../core/errors.ts";

/** Where the store connects, for messages. */
export interface PgTarget {
  host: string;
  port: number;
  database: string;
}

/** host/port/database of a connection string, with libpq's defaults; never throws. */
export function describeTarget(connectionString: string): PgTarget {
  const target: PgTarget = { host: "localhost", port: 5432, database: "" };
  try {
    const url = new URL(connectionString);
    const hostParam = url.searchParams.get("host");
    target.host = hostParam ?? (url.hostname === "" ? "localhost" : decodeURIComponent(url.hostname));
    const port = url.searchParams.get("port") ?? url.port;
    if (port !== "") target.port = Number(port);
    target.database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  } catch {
    // Not a URL (a keyword/value string): keep the defaults; the server part of messages is then a guess.
  }
  return target;
}

function where(t: PgTarget): string {
  const server = t.host.startsWith("/") ? `the socket in ${t.host} (port ${t.port})` : `${t.host}:${t.port}`;
  return t.database === "" ? server : `${server} (database "${t.database}")`;
}

interface ErrnoLike {
  code?: unknown;
  address?: unknown;
  port?: unknown;
  message?: unknown;
  errors?: unknown;
}

/** The node-level network error inside `err` (a plain one or the first of an AggregateError). */
function networkError(err: unknown): ErrnoLike | null {
  if (typeof err !== "object" || err === null) return null;
  const e = err as ErrnoLike;
  if (typeof e.code === "string" && /^E[A-Z]+$/.test(e.code)) return e;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const found = networkError(inner);
      if (found !== null) return found;
    }
  }
  return null;
}

export function translatePgError(err: unknown, target: PgTarget): unknown {
  if (err instanceof VigilError) return err;
  if (typeof err !== "object" || err === null) return err;
  const at = where(target);

  const net = networkError(err);
  if (net !== null) {
    const actual =
      typeof net.address === "string"
        ? { ...target, host: net.address, port: typeof net.port === "number" ? net.port : target.port }
        : target;
    switch (net.code) {
      case "ECONNREFUSED":
      case "ENOENT":
        return new VigilError(
          "storage_unavailable",
          `Could not connect to PostgreSQL at ${where(actual)}: nothing is listening there; PostgreSQL must be running and accept connections at that address.`,
          { retryable: true, cause: err },
        );
      case "ENOTFOUND":
      case "EAI_AGAIN":
        return new VigilError(
          "storage_unavailable",
          `The PostgreSQL host "${target.host}" could not be resolved; check the host in the connection string.`,
          { retryable: net.code === "EAI_AGAIN", cause: err },
        );
      case "ETIMEDOUT":
        return new VigilError(
          "storage_unavailable",
          `Connecting to PostgreSQL at ${at} timed out; check that the server is up and reachable from here.`,
          { retryable: true, cause: err },
        );
      default:
        return new VigilError(
          "storage_unavailable",
          `The connection to PostgreSQL at ${at} failed (${String(net.code)}); check that the server is up and reachable.`,
          { retryable: true, cause: err },
        );
    }
  }

  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code !== "string") {
    // pg's own client-side errors have no SQLSTATE; the usual ones are a dropped connection.
    if (/terminated|timeout|Connection/i.test(message)) {
      return new VigilError(
        "storage_unavailable",
        `The connection to PostgreSQL at ${at} was lost (${message}); nothing of the failed write was stored, try again.`,
        { retryable: true, cause: err },
      );
    }
    return err;
  }

  if (code === "28P01" || code === "28000") {
    return new ConfigurationError(
      "storage_auth",
      `PostgreSQL at ${at} rejected the login (${message}); check the user and password in the connection string.`,
      { cause: err },
    );
  }
  if (code === "3D000") {
    return new ConfigurationError(
      "storage_open_failed",
      `The database "${target.database}" does not exist on PostgreSQL at ${target.host}:${target.port}; create it first (createdb ${target.database}).`,
      { cause: err },
    );
  }
  if (code === "42501") {
    return new ConfigurationError(
      "storage_permission",
      `The PostgreSQL user lacks a permission Vigil needs at ${at} (${message}); grant it, or connect as the schema's owner.`,
      { cause: err },
    );
  }
  if (code === "40P01" || code === "40001" || code === "55P03") {
    return new VigilError(
      "storage_busy",
      `A write to PostgreSQL at ${at} collided with another worker's (${message}); nothing of it was stored, try again.`,
      { retryable: true, cause: err },
    );
  }
  if (code === "53100") {
    return new VigilError(
      "storage_full",
      `The disk of PostgreSQL at ${at} is full; free some space, nothing of the failed write was stored.`,
      { cause: err },
    );
  }
  if (code === "25006") {
    return new VigilError(
      "storage_readonly",
      `PostgreSQL at ${at} is read-only (a standby?); point Vigil at the primary.`,
      { cause: err },
    );
  }
  if (code.startsWith("08") || code.startsWith("57P") || code.startsWith("53")) {
    return new VigilError(
      "storage_unavailable",
      `PostgreSQL at ${at} is unavailable or shutting down (${message}); nothing of the failed write was stored, try again.`,
      { retryable: true, cause: err },
    );
  }
  if (code === "22021" || code === "22P05") {
    return new VigilError(
      "storage_invalid_data",
      `PostgreSQL at ${at} refused text it cannot store (${message}); a record contains a NUL character or invalid UTF-8.`,
      { cause: err },
    );
  }
  return new VigilError("storage_error", `A database operation on PostgreSQL at ${at} failed: ${message} (${code}).`, {
    cause: err,
  });
}
