// Rule state kept in memory between pages, checked against the database's version of it.
//
// Detection reads a source's whole rule state before every page (Store.loadRuleState): a rule may ask for any key,
// so the keys cannot be known before it runs. That state only grows ("first time seen" sets, origins per user),
// and reading and parsing all of it for each page of 100 events became the largest read of a backfill.
//
// Every transaction that changes a source's rule state also moves its version (`rule_state_versions`, one
// number per source), after its last state write, and holds the row's lock to its commit: commits that change
// one source's state are ordered by their versions, and the state at a version is the state at the one before
// with that transaction's entries written. So a process that holds the state at a version and learns of the
// commit that moved it on (its own: `committed`) can update its copy instead of reading it again; any other
// change (another process's pages, a rolled back commit) shows as a version it does not hold, and the state is
// read again. Each move is by a random step, not by one: should commits be lost under running workers (a
// restore, a failover to a replica that had not received them), the commits after them do not bring back
// numbers a worker still holds with other contents (a step repeats once in 2^20).

import { randomInt } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { RuleStateEntry } from "../ports.ts";
import type { Database } from "./database.ts";
import { isLive, toRuleStateEntry } from "./rule-state.ts";

/** A connection or transaction (./dialect.ts's Db, named here without importing the dialect, which imports this). */
type Db = Kysely<Database> | Transaction<Database>;

/** What a transaction wrote of a source's state: each key it changed (null: deleted), and the versions. */
export interface RuleStateWrite {
  sourceId: string;
  /** The version it found, and the one it made (nextStateVersion). */
  versionBefore: number;
  version: number;
  entries: ReadonlyMap<string, RuleStateEntry | null>;
}

/** Sources whose state is kept at once; the least recently read is dropped (it is read again when needed). */
const SOURCES_KEPT = 64;

/** The key of an entry in the cache and in a write. */
export function stateKeyOf(entry: { ruleId: string; key: string }): string {
  return `${entry.ruleId}\u0000${entry.key}`;
}

export class RuleStateCache {
  readonly #sources = new Map<string, { version: number; entries: Map<string, RuleStateEntry> }>();

  /** The source's entries of `ruleIds` alive at `nowSecs`, from memory when it holds the current version. */
  async load(db: Db, sourceId: string, ruleIds: readonly string[], nowSecs: number): Promise<RuleStateEntry[]> {
    const version = await stateVersion(db, sourceId);
    let held = this.#sources.get(sourceId);
    if (held?.version !== version) {
      const rows = await db.selectFrom("rule_state").selectAll().where("source_id", "=", sourceId).execute();
      held = { version, entries: new Map(rows.map((r) => toRuleStateEntry(r)).map((e) => [stateKeyOf(e), e])) };
      // Kept only when no commit came between the two reads: then the rows are exactly that version's.
      if ((await stateVersion(db, sourceId)) === version) this.#keep(sourceId, held);
      else this.#sources.delete(sourceId);
    } else {
      this.#keep(sourceId, held);
    }
    const rules = new Set(ruleIds);
    const out: RuleStateEntry[] = [];
    for (const e of held.entries.values()) if (rules.has(e.ruleId) && isLive(e, nowSecs)) out.push(e);
    return out;
  }

  /** After the commit of `writes` (in commit order): a source held at a write's version before is updated to its version after, else forgotten. */
  committed(writes: readonly RuleStateWrite[]): void {
    for (const write of writes) {
      const held = this.#sources.get(write.sourceId);
      if (held === undefined) continue;
      if (held.version !== write.versionBefore) {
        this.#sources.delete(write.sourceId);
        continue;
      }
      for (const [key, entry] of write.entries) {
        if (entry === null) held.entries.delete(key);
        else held.entries.set(key, entry);
      }
      held.version = write.version;
    }
  }

  forget(sourceId: string): void {
    this.#sources.delete(sourceId);
  }

  #keep(sourceId: string, held: { version: number; entries: Map<string, RuleStateEntry> }): void {
    this.#sources.delete(sourceId);
    this.#sources.set(sourceId, held);
    if (this.#sources.size > SOURCES_KEPT) this.#sources.delete(this.#sources.keys().next().value as string);
  }
}

/** The version of a source's rule state: 0 before its first change. */
async function stateVersion(db: Db, sourceId: string): Promise<number> {
  const row = await db
    .selectFrom("rule_state_versions")
    .select("version")
    .where("source_id", "=", sourceId)
    .executeTakeFirst();
  return Number(row?.version ?? 0);
}

/** The largest step a version moves by: versions stay exact numbers in JavaScript for 2^33 changes. */
const MAX_STEP = 2 ** 20;

/**
 * Moves the source's state to a new version inside the transaction that changed it, after its state writes;
 * returns the versions before and after. The row's lock orders the commits that change one source's state, and
 * is held until the commit.
 */
export async function nextStateVersion(trx: Db, sourceId: string): Promise<{ before: number; after: number }> {
  const step = randomInt(1, MAX_STEP + 1);
  const row = await trx
    .insertInto("rule_state_versions")
    .values({ source_id: sourceId, version: step })
    .onConflict((oc) =>
      oc.column("source_id").doUpdateSet((eb) => ({ version: eb("rule_state_versions.version", "+", step) })),
    )
    .returning("version")
    .executeTakeFirstOrThrow();
  const after = Number(row.version);
  return { before: after - step, after };
}
