// Failed logins per throttle key (src/server/login-throttle.ts decides the keys and what a wait means), in the
// database so that every server process sees the same counts and a restart forgets nothing.

import { backoffMs } from "../../core/login-backoff.ts";
import type { LoginThrottleStore } from "../ports.ts";
import type { StoreContext } from "./dialect.ts";

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

    async recordLoginFailure(entries, nowMs) {
      if (entries.length === 0) return;
      await dialect.write(async (trx) => {
        // Read, count and write back per key: two failures at once for one key must both count.
        await dialect.lockKeys(
          trx,
          entries.map((e) => `vigil:login:${e.key}`),
        );
        for (const { key, backoff } of entries) {
          const row = await trx
            .selectFrom("login_throttle")
            .select(["failures", "last_failure_at_ms"])
            .where("key", "=", key)
            .executeTakeFirst();
          const fresh = row === undefined || row.last_failure_at_ms <= nowMs - backoff.forgetAfterMs;
          const failures = fresh ? 1 : Number(row.failures) + 1;
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
      });
    },

    async clearLoginFailures(keys) {
      if (keys.length === 0) return;
      await dialect.run((db) => db.deleteFrom("login_throttle").where("key", "in", keys).execute());
    },
  };
}
