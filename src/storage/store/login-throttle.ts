// Failed logins per throttle key (src/server/login-throttle.ts decides the keys and what a wait means), in the
// database so that every server process sees the same counts and a restart forgets nothing.

import { backoffMs, type LoginBackoff } from "../../core/login-backoff.ts";
import type { LoginThrottleStore } from "../ports.ts";
import type { Db, StoreContext } from "./dialect.ts";

/** The lock every operation on a throttle key holds until its transaction ends. */
const lockOf = (key: string): string => `vigil:login:${key}`;

/** A key's row, read inside a transaction that holds the key's lock. */
function throttleRow(trx: Db, key: string) {
  return trx
    .selectFrom("login_throttle")
    .select(["failures", "last_failure_at_ms", "blocked_until_ms"])
    .where("key", "=", key)
    .executeTakeFirst();
}

export function loginThrottleOps(ctx: StoreContext): LoginThrottleStore {
  const { dialect } = ctx;
  return {
    async loginWaits(keys, nowMs) {
      const waits: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
      if (keys.length === 0) return waits;
      const rows = await dialect.run((db) =>
        db
          .selectFrom("login_throttle")
          .select(["key", "blocked_until_ms"])
          .where("key", "in", keys)
          .where("blocked_until_ms", ">", nowMs)
          .execute(),
      );
      for (const r of rows) waits[r.key] = r.blocked_until_ms - nowMs;
      return waits;
    },

    async beginLoginAttempt(entries, nowMs) {
      if (entries.length === 0) return { waits: {} };
      return dialect.write(async (trx) => {
        // Read, decide and count under each key's lock: attempts sent at once are each counted before the next
        // one is judged, so a burst of them cannot all pass before the first failure is written.
        await dialect.lockKeys(
          trx,
          entries.map((e) => lockOf(e.key)),
        );
        const counted: Array<{ key: string; failures: number; waitMs: number; backoff: LoginBackoff }> = [];
        for (const { key, backoff } of entries) {
          const row = await throttleRow(trx, key);
          const fresh = row === undefined || row.last_failure_at_ms <= nowMs - backoff.forgetAfterMs;
          counted.push({
            key,
            backoff,
            failures: fresh ? 1 : Number(row.failures) + 1,
            waitMs: row === undefined ? 0 : Math.max(0, row.blocked_until_ms - nowMs),
          });
        }
        const refusedForMs = Math.max(0, ...counted.filter((_, i) => entries[i]!.refuse).map((c) => c.waitMs));
        // Refused: its password is never checked, so it is no failure.
        if (refusedForMs > 0) return { refusedForMs };
        for (const { key, failures, backoff } of counted) {
          const values = {
            failures,
            last_failure_at_ms: nowMs,
            blocked_until_ms: nowMs + backoffMs(failures, backoff),
          };
          await trx
            .insertInto("login_throttle")
            .values({ key, ...values })
            .onConflict((oc) => oc.column("key").doUpdateSet(values))
            .execute();
        }
        // Keys every policy has forgotten go on the way, so a flood from many addresses leaves no lasting rows.
        const oldest = Math.max(...entries.map((e) => e.backoff.forgetAfterMs));
        await trx
          .deleteFrom("login_throttle")
          .where("last_failure_at_ms", "<=", nowMs - oldest)
          .where("blocked_until_ms", "<=", nowMs)
          .execute();
        return { waits: Object.fromEntries(counted.map((c) => [c.key, c.waitMs])) };
      });
    },

    async loginFailed(entries, nowMs) {
      if (entries.length === 0) return;
      await dialect.write(async (trx) => {
        await dialect.lockKeys(
          trx,
          entries.map((e) => lockOf(e.key)),
        );
        for (const { key, backoff } of entries) {
          const row = await throttleRow(trx, key);
          if (row === undefined) continue;
          await trx
            .updateTable("login_throttle")
            .set({
              last_failure_at_ms: nowMs,
              blocked_until_ms: Math.max(row.blocked_until_ms, nowMs + backoffMs(Number(row.failures), backoff)),
            })
            .where("key", "=", key)
            .execute();
        }
      });
    },

    async takeBackLoginAttempt({ keys, forget }) {
      await dialect.write(async (trx) => {
        // The forgotten keys too: an attempt beginning meanwhile must not write back the count read before.
        await dialect.lockKeys(trx, [...keys.map((e) => e.key), ...forget].map(lockOf));
        for (const { key, backoff } of keys) {
          const row = await throttleRow(trx, key);
          if (row === undefined) continue;
          const failures = Number(row.failures) - 1;
          if (failures <= 0) {
            await trx.deleteFrom("login_throttle").where("key", "=", key).execute();
            continue;
          }
          // The wait the key's other failures ask for, never longer than the one it has.
          const blockedUntil = Math.min(row.blocked_until_ms, row.last_failure_at_ms + backoffMs(failures, backoff));
          await trx
            .updateTable("login_throttle")
            .set({ failures, blocked_until_ms: blockedUntil })
            .where("key", "=", key)
            .execute();
        }
        if (forget.length > 0) await trx.deleteFrom("login_throttle").where("key", "in", forget).execute();
      });
    },

    async clearLoginFailures(keys) {
      if (keys.length === 0) return;
      await dialect.run((db) => db.deleteFrom("login_throttle").where("key", "in", keys).execute());
    },
  };
}
