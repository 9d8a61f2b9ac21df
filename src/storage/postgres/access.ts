// Users, sessions and API tokens, and the statistics queries, for PostgreSQL (see ../sqlite/access.ts).

import { randomUUID } from "node:crypto";
import type pg from "pg";
import { NotFoundError, VigilError } from "../../core/errors.ts";
import type {
  AccessStore,
  AlertCount,
  ApiTokenRecord,
  DeliveryStatus,
  HistogramBucket,
  NewUser,
  SessionRecord,
  StatsStore,
  UserRecord,
  UserRole,
} from "../ports.ts";
import { validateHistogramQuery } from "../sqlite/access.ts";
import { histogramFitsDays } from "../store/event-search.ts";

type Run = <T>(fn: (pool: pg.Pool) => Promise<T>) => Promise<T>;

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

const toUser = (r: UserRow): UserRecord => ({
  id: r.id,
  username: r.username,
  role: r.role,
  createdAtMs: Number(r.created_at_ms),
});
const toToken = (r: TokenRow): ApiTokenRecord => ({
  id: r.id,
  name: r.name,
  createdAtMs: Number(r.created_at_ms),
  lastUsedAtMs: r.last_used_at_ms === null ? null : Number(r.last_used_at_ms),
  expiresAtMs: Number(r.expires_at_ms),
});

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === "23505";
}

export class PgAccess implements AccessStore, StatsStore {
  readonly #run: Run;
  readonly #now: () => number;

  constructor(run: Run, now: () => number) {
    this.#run = run;
    this.#now = now;
  }

  createUser(user: NewUser): Promise<UserRecord> {
    return this.#run(async (pool) => {
      const row: UserRow = {
        id: randomUUID(),
        username: user.username,
        password_hash: user.passwordHash,
        role: user.role,
        created_at_ms: this.#now(),
      };
      try {
        await pool.query(
          "INSERT INTO users (id, username, password_hash, role, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
          [row.id, row.username, row.password_hash, row.role, row.created_at_ms],
        );
      } catch (err) {
        if (isUniqueViolation(err)) throw new VigilError("conflict", `A user named "${user.username}" already exists.`);
        throw err;
      }
      return toUser(row);
    });
  }

  setUserPassword(username: string, passwordHash: string): Promise<void> {
    return this.#run(async (pool) => {
      const { rows } = await pool.query<{ id: string }>(
        "UPDATE users SET password_hash = $1 WHERE username = $2 RETURNING id",
        [passwordHash, username],
      );
      const id = rows[0]?.id;
      if (id === undefined) throw new NotFoundError(`There is no user named "${username}".`);
      await pool.query("DELETE FROM sessions WHERE user_id = $1", [id]);
    });
  }

  replacePasswordHash(userId: string, previousHash: string, passwordHash: string): Promise<boolean> {
    return this.#run(async (pool) => {
      const { rowCount } = await pool.query(
        "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
        [passwordHash, userId, previousHash],
      );
      return (rowCount ?? 0) > 0;
    });
  }

  getUser(id: string): Promise<UserRecord | null> {
    return this.#run(async (pool) => {
      const { rows } = await pool.query<UserRow>("SELECT * FROM users WHERE id = $1", [id]);
      return rows[0] ? toUser(rows[0]) : null;
    });
  }

  getUserCredentials(username: string): Promise<{ user: UserRecord; passwordHash: string } | null> {
    return this.#run(async (pool) => {
      const { rows } = await pool.query<UserRow>("SELECT * FROM users WHERE username = $1", [username]);
      const row = rows[0];
      return row ? { user: toUser(row), passwordHash: row.password_hash } : null;
    });
  }

  countUsers(): Promise<number> {
    return this.#run(async (pool) => {
      const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM users");
      return rows[0]?.n ?? 0;
    });
  }

  createSession(s: SessionRecord): Promise<void> {
    return this.#run(async (pool) => {
      await pool.query(
        "INSERT INTO sessions (token_hash, user_id, csrf, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5)",
        [s.tokenHash, s.userId, s.csrf, s.createdAtMs, s.expiresAtMs],
      );
    });
  }

  getSession(tokenHash: string, nowMs: number): Promise<SessionRecord | null> {
    return this.#run(async (pool) => {
      const { rows } = await pool.query<{
        token_hash: string;
        user_id: string;
        csrf: string;
        created_at_ms: number;
        expires_at_ms: number;
      }>("SELECT * FROM sessions WHERE token_hash = $1 AND expires_at_ms > $2", [tokenHash, nowMs]);
      const r = rows[0];
      return r
        ? {
            tokenHash: r.token_hash,
            userId: r.user_id,
            csrf: r.csrf,
            createdAtMs: Number(r.created_at_ms),
            expiresAtMs: Number(r.expires_at_ms),
          }
        : null;
    });
  }

  deleteSession(tokenHash: string, nowMs: number): Promise<void> {
    return this.#run(async (pool) => {
      await pool.query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at_ms <= $2", [tokenHash, nowMs]);
    });
  }

  createApiToken(token: { name: string; tokenHash: string; expiresAtMs: number }): Promise<ApiTokenRecord> {
    return this.#run(async (pool) => {
      const row: TokenRow = {
        id: randomUUID(),
        name: token.name,
        created_at_ms: this.#now(),
        last_used_at_ms: null,
        expires_at_ms: token.expiresAtMs,
      };
      try {
        await pool.query(
          "INSERT INTO api_tokens (id, name, token_hash, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5)",
          [row.id, row.name, token.tokenHash, row.created_at_ms, row.expires_at_ms],
        );
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw new VigilError("conflict", `An API token named "${token.name}" already exists.`);
        }
        throw err;
      }
      return toToken(row);
    });
  }

  listApiTokens(): Promise<ApiTokenRecord[]> {
    return this.#run(async (pool) => {
      const { rows } = await pool.query<TokenRow>(
        "SELECT id, name, created_at_ms, last_used_at_ms, expires_at_ms FROM api_tokens ORDER BY name",
      );
      return rows.map(toToken);
    });
  }

  authenticateApiToken(tokenHash: string, nowMs: number): Promise<ApiTokenRecord | null> {
    return this.#run(async (pool) => {
      // One statement: the use is recorded only while the token is valid; an expired one is read as it is.
      const { rows } = await pool.query<TokenRow>(
        `WITH used AS (
           UPDATE api_tokens SET last_used_at_ms = $2 WHERE token_hash = $1 AND expires_at_ms > $2
           RETURNING id, name, created_at_ms, last_used_at_ms, expires_at_ms
         )
         SELECT * FROM used
         UNION ALL
         SELECT id, name, created_at_ms, last_used_at_ms, expires_at_ms FROM api_tokens
           WHERE token_hash = $1 AND NOT EXISTS (SELECT 1 FROM used)`,
        [tokenHash, nowMs],
      );
      return rows[0] ? toToken(rows[0]) : null;
    });
  }

  revokeApiToken(idOrName: string): Promise<void> {
    return this.#run(async (pool) => {
      const byId = await pool.query("DELETE FROM api_tokens WHERE id = $1", [idOrName]);
      if ((byId.rowCount ?? 0) > 0) return;
      const byName = await pool.query("DELETE FROM api_tokens WHERE name = $1", [idOrName]);
      if ((byName.rowCount ?? 0) === 0) throw new NotFoundError(`There is no API token named "${idOrName}".`);
    });
  }

  async eventHistogram(query: {
    sourceId?: string;
    sinceSecs: number;
    bucketSecs: number;
  }): Promise<HistogramBucket[]> {
    validateHistogramQuery(query);
    // Whole-day buckets from the day counters (see ../sqlite/stats.ts); shorter ones from the events.
    const fromCounters = histogramFitsDays(query);
    return this.#run(async (pool) => {
      const { rows } = await pool.query<{ bucket: string | number; type: string; n: number }>(
        fromCounters
          ? `SELECT (day_secs / $1) * $1 AS bucket, type, sum(events)::bigint AS n FROM event_counts
             WHERE day_secs >= $2 AND ($3::text IS NULL OR source_id = $3) AND events > 0
             GROUP BY bucket, type ORDER BY bucket, type`
          : `SELECT (effective_at / $1) * $1 AS bucket, type, count(*)::int AS n FROM events
             WHERE effective_at >= $2 AND ($3::text IS NULL OR source_id = $3)
             GROUP BY bucket, type ORDER BY bucket, type`,
        [query.bucketSecs, Math.floor(query.sinceSecs), query.sourceId ?? null],
      );
      return rows.map((r) => ({ bucketStartSecs: Number(r.bucket), type: r.type, count: Number(r.n) }));
    });
  }

  sourceCounts(): Promise<Array<{ sourceId: string; events: number; quarantined: number; ruleErrors: number }>> {
    return this.#run(async (pool) => {
      const { rows } = await pool.query<{ sourceId: string; events: number; quarantined: number; ruleErrors: number }>(
        `SELECT s.id AS "sourceId",
           coalesce((SELECT sum(e.events) FROM event_counts e WHERE e.source_id = s.id), 0)::bigint AS events,
           coalesce(c.quarantined, 0) AS quarantined,
           coalesce(c.rule_errors, 0) AS "ruleErrors"
         FROM sources s LEFT JOIN source_counters c ON c.source_id = s.id ORDER BY s.id`,
      );
      return rows;
    });
  }

  alertCounts(): Promise<AlertCount[]> {
    return this.#run(async (pool) => {
      const { rows } = await pool.query<AlertCount>(
        `SELECT source_id AS "sourceId", status, severity, alerts AS count FROM alert_counts
         WHERE alerts > 0 ORDER BY source_id, status, severity`,
      );
      return rows;
    });
  }

  historyAlertCounts(): Promise<{ total: number; open: number }> {
    return this.#run(async (pool) => {
      const { rows } = await pool.query<{ total: number; open: number }>(
        "SELECT count(*)::int AS total, (count(*) FILTER (WHERE status = 'OPEN'))::int AS open FROM alerts WHERE from_history",
      );
      return { total: rows[0]?.total ?? 0, open: rows[0]?.open ?? 0 };
    });
  }

  deliveryCounts(): Promise<Array<{ status: DeliveryStatus; count: number }>> {
    return this.#run(async (pool) => {
      const { rows } = await pool.query<{ status: DeliveryStatus; count: number }>(
        "SELECT status, count(*)::int AS count FROM deliveries GROUP BY status ORDER BY status",
      );
      return rows;
    });
  }
}
