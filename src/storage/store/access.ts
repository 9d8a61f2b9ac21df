// Users, sessions and API tokens: the HTTP server's access control. Only hashes are stored — of passwords
// (made outside the store), session cookies and API tokens.

import { randomUUID } from "node:crypto";
import type { Selectable } from "kysely";
import { NotFoundError, VigilError } from "../../core/errors.ts";
import type { AccessStore, ApiTokenRecord, NewUser, SessionRecord, UserRecord, UserRole } from "../ports.ts";
import type { ApiTokensTable, SessionsTable, UsersTable } from "./database.ts";
import type { StoreContext } from "./dialect.ts";

/** What a token read returns: everything but the hash. */
const TOKEN_COLUMNS = ["id", "name", "created_at_ms", "last_used_at_ms", "expires_at_ms"] as const;
type TokenRow = Pick<Selectable<ApiTokensTable>, (typeof TOKEN_COLUMNS)[number]>;

const toUser = (r: Selectable<UsersTable>): UserRecord => ({
  id: r.id,
  username: r.username,
  // The column's CHECK admits only the roles of USER_ROLES.
  role: r.role as UserRole,
  createdAtMs: r.created_at_ms,
});
const toToken = (r: TokenRow): ApiTokenRecord => ({
  id: r.id,
  name: r.name,
  createdAtMs: r.created_at_ms,
  lastUsedAtMs: r.last_used_at_ms,
  expiresAtMs: r.expires_at_ms,
});
const toSession = (r: Selectable<SessionsTable>): SessionRecord => ({
  tokenHash: r.token_hash,
  userId: r.user_id,
  csrf: r.csrf,
  createdAtMs: r.created_at_ms,
  expiresAtMs: r.expires_at_ms,
});

export function accessOps(ctx: StoreContext): AccessStore {
  const { dialect } = ctx;

  /** Runs `insert`, turning a violated unique constraint into the `conflict` that `message` words. */
  async function insertUnique(insert: () => Promise<unknown>, message: string): Promise<void> {
    try {
      await insert();
    } catch (err) {
      if (dialect.violatedConstraint(err) === "unique") throw new VigilError("conflict", message);
      throw err;
    }
  }

  return {
    async createUser(user: NewUser): Promise<UserRecord> {
      const row = {
        id: randomUUID(),
        username: user.username,
        password_hash: user.passwordHash,
        role: user.role,
        created_at_ms: ctx.clock.nowMs(),
      };
      await dialect.run((db) =>
        insertUnique(
          () => db.insertInto("users").values(row).execute(),
          `A user named "${user.username}" already exists.`,
        ),
      );
      return toUser(row);
    },

    async setUserPassword(username: string, passwordHash: string): Promise<void> {
      // One transaction: the new password never commits without the end of the sessions made before it.
      await dialect.write(async (trx) => {
        const user = await trx
          .updateTable("users")
          .set({ password_hash: passwordHash })
          .where("username", "=", username)
          .returning("id")
          .executeTakeFirst();
        if (user === undefined) throw new NotFoundError(`There is no user named "${username}".`);
        // A new password ends every session of the user.
        await trx.deleteFrom("sessions").where("user_id", "=", user.id).execute();
      });
    },

    async replacePasswordHash(userId: string, previousHash: string, passwordHash: string): Promise<boolean> {
      const result = await dialect.run((db) =>
        db
          .updateTable("users")
          .set({ password_hash: passwordHash })
          .where("id", "=", userId)
          .where("password_hash", "=", previousHash)
          .executeTakeFirst(),
      );
      return result.numUpdatedRows > 0n;
    },

    async getUser(id: string): Promise<UserRecord | null> {
      const row = await dialect.run((db) => db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst());
      return row ? toUser(row) : null;
    },

    async getUserCredentials(username: string): Promise<{ user: UserRecord; passwordHash: string } | null> {
      const row = await dialect.run((db) =>
        db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst(),
      );
      return row ? { user: toUser(row), passwordHash: row.password_hash } : null;
    },

    async countUsers(): Promise<number> {
      const row = await dialect.run((db) =>
        db
          .selectFrom("users")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .executeTakeFirstOrThrow(),
      );
      return row.n;
    },

    async createSession(s: SessionRecord): Promise<void> {
      await dialect.run((db) =>
        db
          .insertInto("sessions")
          .values({
            token_hash: s.tokenHash,
            user_id: s.userId,
            csrf: s.csrf,
            created_at_ms: s.createdAtMs,
            expires_at_ms: s.expiresAtMs,
          })
          .execute(),
      );
    },

    async getSession(tokenHash: string, nowMs: number): Promise<SessionRecord | null> {
      const row = await dialect.run((db) =>
        db
          .selectFrom("sessions")
          .selectAll()
          .where("token_hash", "=", tokenHash)
          .where("expires_at_ms", ">", nowMs)
          .executeTakeFirst(),
      );
      return row ? toSession(row) : null;
    },

    async deleteSession(tokenHash: string, nowMs: number): Promise<void> {
      // Sweeps the expired sessions on the way (over sessions_by_expiry): nothing else removes them.
      await dialect.run((db) =>
        db
          .deleteFrom("sessions")
          .where((eb) => eb.or([eb("token_hash", "=", tokenHash), eb("expires_at_ms", "<=", nowMs)]))
          .execute(),
      );
    },

    async createApiToken(token: { name: string; tokenHash: string; expiresAtMs: number }): Promise<ApiTokenRecord> {
      const row = {
        id: randomUUID(),
        name: token.name,
        created_at_ms: ctx.clock.nowMs(),
        last_used_at_ms: null,
        expires_at_ms: token.expiresAtMs,
      };
      await dialect.run((db) =>
        insertUnique(
          () =>
            db
              .insertInto("api_tokens")
              .values({ ...row, token_hash: token.tokenHash })
              .execute(),
          `An API token named "${token.name}" already exists.`,
        ),
      );
      return toToken(row);
    },

    async listApiTokens(): Promise<ApiTokenRecord[]> {
      const rows = await dialect.run((db) =>
        db.selectFrom("api_tokens").select(TOKEN_COLUMNS).orderBy("name").execute(),
      );
      return rows.map(toToken);
    },

    async authenticateApiToken(tokenHash: string, nowMs: number): Promise<ApiTokenRecord | null> {
      return dialect.run(async (db) => {
        // A valid token (the request path): its use is recorded and it is read back in one statement.
        const used = await db
          .updateTable("api_tokens")
          .set({ last_used_at_ms: nowMs })
          .where("token_hash", "=", tokenHash)
          .where("expires_at_ms", ">", nowMs)
          .returning(TOKEN_COLUMNS)
          .executeTakeFirst();
        if (used !== undefined) return toToken(used);
        // Expired (read as it is, for the caller to say so) or unknown.
        const other = await db
          .selectFrom("api_tokens")
          .select(TOKEN_COLUMNS)
          .where("token_hash", "=", tokenHash)
          .executeTakeFirst();
        return other ? toToken(other) : null;
      });
    },

    async revokeApiToken(idOrName: string): Promise<void> {
      await dialect.run(async (db) => {
        // By id first: a name that happens to be another token's id must not take that token with it. Each
        // delete stands alone, so the two need no transaction.
        const byId = await db.deleteFrom("api_tokens").where("id", "=", idOrName).executeTakeFirst();
        if (byId.numDeletedRows > 0n) return;
        const byName = await db.deleteFrom("api_tokens").where("name", "=", idOrName).executeTakeFirst();
        if (byName.numDeletedRows === 0n) throw new NotFoundError(`There is no API token named "${idOrName}".`);
      });
    },
  };
}
