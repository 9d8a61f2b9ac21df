// Users, sessions and API tokens (the HTTP server's access control), and the counts behind the console's
// charts and /metrics. Plain statements on the store's connection; the store wraps writes in its
// transaction and translates errors.

import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import { NotFoundError, UsageError, VigilError } from "../../core/errors.ts";
import type {
  AccessStore,
  ApiTokenRecord,
  DeliveryStatus,
  HistogramBucket,
  NewUser,
  SessionRecord,
  StatsStore,
  UserRecord,
  UserRole,
} from "../ports.ts";

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  role: UserRole;
  created_at_ms: number;
}
interface TokenRow {
  id: string;
  name: string;
  created_at_ms: number;
  last_used_at_ms: number | null;
  expires_at_ms: number;
}
interface SessionRow {
  token_hash: string;
  user_id: string;
  csrf: string;
  created_at_ms: number;
  expires_at_ms: number;
}

const toUser = (r: UserRow): UserRecord => ({
  id: r.id,
  username: r.username,
  role: r.role,
  createdAtMs: r.created_at_ms,
});
const toToken = (r: TokenRow): ApiTokenRecord => ({
  id: r.id,
  name: r.name,
  createdAtMs: r.created_at_ms,
  lastUsedAtMs: r.last_used_at_ms,
  expiresAtMs: r.expires_at_ms,
});
const toSession = (r: SessionRow): SessionRecord => ({
  tokenHash: r.token_hash,
  userId: r.user_id,
  csrf: r.csrf,
  createdAtMs: r.created_at_ms,
  expiresAtMs: r.expires_at_ms,
});

/** SQLite's error for a UNIQUE violation, before the store's translation. */
function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === "SQLITE_CONSTRAINT_UNIQUE";
}

export function validateHistogramQuery(query: { sinceSecs: number; bucketSecs: number }): void {
  if (!Number.isInteger(query.bucketSecs) || query.bucketSecs < 1) {
    throw new UsageError("The histogram bucket must be a whole number of seconds of at least 1.");
  }
  if (!Number.isFinite(query.sinceSecs)) throw new UsageError("The histogram start must be a Unix time in seconds.");
}

/** The synchronous implementation; `SqliteStore` exposes it through its async methods. */
export class SqliteAccess {
  readonly #db: Database.Database;
  readonly #now: () => number;

  constructor(db: Database.Database, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  createUser(user: NewUser): UserRecord {
    const row: UserRow = {
      id: randomUUID(),
      username: user.username,
      password_hash: user.passwordHash,
      role: user.role,
      created_at_ms: this.#now(),
    };
    try {
      this.#db
        .prepare("INSERT INTO users (id, username, password_hash, role, created_at_ms) VALUES (?, ?, ?, ?, ?)")
        .run(row.id, row.username, row.password_hash, row.role, row.created_at_ms);
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new VigilError("conflict", `A user named "${user.username}" already exists.`);
      }
      throw err;
    }
    return toUser(row);
  }

  setUserPassword(username: string, passwordHash: string): void {
    const info = this.#db.prepare("UPDATE users SET password_hash = ? WHERE username = ?").run(passwordHash, username);
    if (info.changes === 0) throw new NotFoundError(`There is no user named "${username}".`);
    // A new password ends every session of the user.
    this.#db.prepare("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)").run(username);
  }

  replacePasswordHash(userId: string, previousHash: string, passwordHash: string): boolean {
    const info = this.#db
      .prepare("UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?")
      .run(passwordHash, userId, previousHash);
    return info.changes > 0;
  }

  getUser(id: string): UserRecord | null {
    const row = this.#db.prepare("SELECT * FROM users WHERE id = ?").get(id) as UserRow | undefined;
    return row ? toUser(row) : null;
  }

  getUserCredentials(username: string): { user: UserRecord; passwordHash: string } | null {
    const row = this.#db.prepare("SELECT * FROM users WHERE username = ?").get(username) as UserRow | undefined;
    return row ? { user: toUser(row), passwordHash: row.password_hash } : null;
  }

  countUsers(): number {
    return (this.#db.prepare("SELECT count(*) AS n FROM users").get() as { n: number }).n;
  }

  createSession(s: SessionRecord): void {
    this.#db
      .prepare("INSERT INTO sessions (token_hash, user_id, csrf, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?)")
      .run(s.tokenHash, s.userId, s.csrf, s.createdAtMs, s.expiresAtMs);
  }

  getSession(tokenHash: string, nowMs: number): SessionRecord | null {
    const row = this.#db
      .prepare("SELECT * FROM sessions WHERE token_hash = ? AND expires_at_ms > ?")
      .get(tokenHash, nowMs) as SessionRow | undefined;
    return row ? toSession(row) : null;
  }

  deleteSession(tokenHash: string, nowMs: number): void {
    this.#db.prepare("DELETE FROM sessions WHERE token_hash = ? OR expires_at_ms <= ?").run(tokenHash, nowMs);
  }

  createApiToken(token: { name: string; tokenHash: string; expiresAtMs: number }): ApiTokenRecord {
    const row: TokenRow = {
      id: randomUUID(),
      name: token.name,
      created_at_ms: this.#now(),
      last_used_at_ms: null,
      expires_at_ms: token.expiresAtMs,
    };
    try {
      this.#db
        .prepare("INSERT INTO api_tokens (id, name, token_hash, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?)")
        .run(row.id, row.name, token.tokenHash, row.created_at_ms, row.expires_at_ms);
    } catch (err) {
      if (isUniqueViolation(err))
        throw new VigilError("conflict", `An API token named "${token.name}" already exists.`);
      throw err;
    }
    return toToken(row);
  }

  listApiTokens(): ApiTokenRecord[] {
    return (
      this.#db
        .prepare("SELECT id, name, created_at_ms, last_used_at_ms, expires_at_ms FROM api_tokens ORDER BY name")
        .all() as TokenRow[]
    ).map(toToken);
  }

  authenticateApiToken(tokenHash: string, nowMs: number): ApiTokenRecord | null {
    const row = this.#db
      .prepare("SELECT id, name, created_at_ms, last_used_at_ms, expires_at_ms FROM api_tokens WHERE token_hash = ?")
      .get(tokenHash) as TokenRow | undefined;
    if (!row) return null;
    if (row.expires_at_ms <= nowMs) return toToken(row);
    this.#db.prepare("UPDATE api_tokens SET last_used_at_ms = ? WHERE id = ?").run(nowMs, row.id);
    return toToken({ ...row, last_used_at_ms: nowMs });
  }

  revokeApiToken(idOrName: string): void {
    const info = this.#db.prepare("DELETE FROM api_tokens WHERE id = ?").run(idOrName);
    if (info.changes > 0) return;
    const byName = this.#db.prepare("DELETE FROM api_tokens WHERE name = ?").run(idOrName);
    if (byName.changes === 0) throw new NotFoundError(`There is no API token named "${idOrName}".`);
  }

  eventHistogram(query: { sourceId?: string; sinceSecs: number; bucketSecs: number }): HistogramBucket[] {
    validateHistogramQuery(query);
    const rows = this.#db
      .prepare(
        `SELECT (effective_at / CAST(@bucket AS INTEGER)) * CAST(@bucket AS INTEGER) AS bucket, type, count(*) AS n FROM events
         WHERE effective_at >= @since AND (@source IS NULL OR source_id = @source)
         GROUP BY bucket, type ORDER BY bucket, type`,
      )
      .all({ bucket: query.bucketSecs, since: Math.floor(query.sinceSecs), source: query.sourceId ?? null }) as Array<{
      bucket: number;
      type: string;
      n: number;
    }>;
    return rows.map((r) => ({ bucketStartSecs: r.bucket, type: r.type, count: r.n }));
  }

  sourceCounts(): Array<{ sourceId: string; events: number; quarantined: number; ruleErrors: number }> {
    return this.#db
      .prepare(
        `SELECT s.id AS sourceId,
           (SELECT count(*) FROM events e WHERE e.source_id = s.id) AS events,
           (SELECT count(*) FROM quarantine q WHERE q.source_id = s.id) AS quarantined,
           (SELECT count(*) FROM rule_matches m WHERE m.source_id = s.id AND m.is_error = 1) AS ruleErrors
         FROM sources s ORDER BY s.id`,
      )
      .all() as Array<{ sourceId: string; events: number; quarantined: number; ruleErrors: number }>;
  }

  deliveryCounts(): Array<{ status: DeliveryStatus; count: number }> {
    return this.#db
      .prepare("SELECT status, count(*) AS count FROM deliveries GROUP BY status ORDER BY status")
      .all() as Array<{ status: DeliveryStatus; count: number }>;
  }
}

// Compile-time check that SqliteAccess covers both interfaces (modulo async).
type Sync<T> = { [K in keyof T]: T[K] extends (...a: infer A) => Promise<infer R> ? (...a: A) => R : never };
const _covers: (a: SqliteAccess) => Sync<AccessStore & StatsStore> = (a) => a;
void _covers;
