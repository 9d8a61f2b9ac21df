// Users as admins manage them (list, change role, delete). Creating users and passwords is in ./access.ts. The
// last admin can be neither demoted nor deleted: the check and the change are one transaction, and on
// PostgreSQL a lock serializes them, so two admins demoting each other at once cannot both succeed.

import type { Selectable } from "kysely";
import { NotFoundError, VigilError } from "../../core/errors.ts";
import type { UserAdminStore, UserRecord, UserRole } from "../ports.ts";
import { chunks } from "./chunks.ts";
import type { UsersTable } from "./database.ts";
import type { Db, StoreContext } from "./dialect.ts";

const ADMINS_LOCK = "vigil:users:admins";

const toUser = (r: Selectable<UsersTable>): UserRecord => ({
  id: r.id,
  username: r.username,
  // The column's CHECK admits only the roles of USER_ROLES.
  role: r.role as UserRole,
  createdAtMs: r.created_at_ms,
});

async function requireUser(trx: Db, id: string): Promise<Selectable<UsersTable>> {
  const row = await trx.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
  if (row === undefined) throw new NotFoundError(`There is no user with id ${id}.`);
  return row;
}

/** Throws a conflict when `row` is the only admin. */
async function keepAnAdmin(trx: Db, row: Selectable<UsersTable>, change: string): Promise<void> {
  if (row.role !== "admin") return;
  const other = await trx
    .selectFrom("users")
    .select("id")
    .where("role", "=", "admin")
    .where("id", "!=", row.id)
    .limit(1)
    .executeTakeFirst();
  if (other === undefined) {
    throw new VigilError(
      "conflict",
      `${row.username} is the last admin and cannot be ${change}; make another admin first.`,
    );
  }
}

/**
 * Unassigns every alert assigned to `username`, each change recorded as assignAlert records one. The caller holds
 * the user's row (FOR UPDATE on PostgreSQL), which assignAlert reads under KEY SHARE: no assignment to the user
 * can commit between this update and the user's deletion. One statement, row locks only: a user may have
 * thousands of alerts, more than a transaction's advisory locks.
 */
async function unassignAll(ctx: StoreContext, trx: Db, username: string, by: string | null): Promise<void> {
  const atMs = ctx.clock.nowMs();
  const unassigned = await trx
    .updateTable("alerts")
    .set({ assignee: null, updated_at_ms: atMs })
    .where("assignee", "=", username)
    .returning("id")
    .execute();
  for (const chunk of chunks(unassigned.map((a) => a.id))) {
    await trx
      .insertInto("alert_activity")
      .values(
        chunk.map((alertId) => ({ alert_id: alertId, kind: "assigned", at_ms: atMs, by, assignee: null, body: null })),
      )
      .execute();
  }
}

export function userAdminOps(ctx: StoreContext): UserAdminStore {
  const { dialect } = ctx;
  return {
    async listUsers() {
      const rows = await dialect.run((db) => db.selectFrom("users").selectAll().orderBy("username").execute());
      return rows.map(toUser);
    },

    async setUserRole(id, role) {
      return dialect.write(async (trx) => {
        await dialect.lockKeys(trx, [ADMINS_LOCK]);
        const row = await requireUser(trx, id);
        if (role !== "admin") await keepAnAdmin(trx, row, "demoted");
        await trx.updateTable("users").set({ role }).where("id", "=", id).execute();
        return toUser({ ...row, role });
      });
    },

    async deleteUser(id, by = null) {
      await dialect.write(async (trx) => {
        await dialect.lockKeys(trx, [ADMINS_LOCK]);
        const row = await requireUser(trx, id);
        await keepAnAdmin(trx, row, "deleted");
        // The user's row first: an assignment to the user waits for this transaction (see unassignAll).
        await dialect.forUpdate(trx.selectFrom("users").select("id").where("id", "=", id)).execute();
        await unassignAll(ctx, trx, row.username, by);
        // Sessions go with the user (the foreign key cascades; said here so SQLite without it agrees).
        await trx.deleteFrom("sessions").where("user_id", "=", id).execute();
        await trx.deleteFrom("users").where("id", "=", id).execute();
      });
    },
  };
}
