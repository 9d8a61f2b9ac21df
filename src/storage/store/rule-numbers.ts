// Matches name their rule by number (rule_numbers, migration 32 on SQLite and PostgreSQL): nearly one match per
// event, each repeated the rule's id (20-30 characters) in its row and in the two indexes that hold it, some 85
// bytes per event on SQLite. A rule is numbered by the first transaction that stores a match of it; numbers are
// never given again (AUTOINCREMENT, an identity), and a rule's number never changes.
//
// Not remembered between transactions, unlike source numbers (./source-numbers.ts): a number given in a
// transaction that then rolls back would be remembered for a row that does not exist. The matches a transaction
// stores read their rules' numbers in one statement (store/detections.ts applyMatchesIn), and number new rules in
// one more.

import type { Db } from "./dialect.ts";
import { inLockOrder } from "./lock-order.ts";

/** The numbers of `ruleIds`, each numbered first when it has none yet; in the caller's write transaction. */
export async function numberRules(trx: Db, ruleIds: Iterable<string>): Promise<Map<string, number>> {
  const wanted = [...new Set(ruleIds)];
  const numbers = await ruleNumbers(trx, wanted);
  const missing = wanted.filter((id) => !numbers.has(id));
  if (missing.length === 0) return numbers;
  // In id order: two transactions numbering the same new rules wait for each other in one order.
  await trx
    .insertInto("rule_numbers")
    .values(inLockOrder(missing, (id) => id).map((rule_id) => ({ rule_id })))
    .onConflict((oc) => oc.column("rule_id").doNothing())
    .execute();
  for (const [id, num] of await ruleNumbers(trx, missing)) numbers.set(id, num);
  return numbers;
}

async function ruleNumbers(db: Db, ruleIds: readonly string[]): Promise<Map<string, number>> {
  const numbers = new Map<string, number>();
  if (ruleIds.length === 0) return numbers;
  const rows = await db.selectFrom("rule_numbers").select(["num", "rule_id"]).where("rule_id", "in", ruleIds).execute();
  for (const r of rows) numbers.set(r.rule_id, r.num);
  return numbers;
}

/** The numbers of the rules `ruleIds`, as a subquery to filter matches on. */
export function ruleNumbersOf(db: Db, ruleIds: readonly string[]) {
  return db.selectFrom("rule_numbers").select("num").where("rule_id", "in", ruleIds);
}
