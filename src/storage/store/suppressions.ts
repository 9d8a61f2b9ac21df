// Suppressions in the store: the operator's "matches like this are known and benign" (src/core/suppression.ts).
// `suppressMatchesIn` runs inside the transaction that applies matches (`applyMatchesIn`), before any alert
// window sees them: a suppressed match is recorded in suppressed_matches and counted on its suppression, and
// never reaches a window, an alert or the outbox. Expiry is judged on wall time (the transaction's clock):
// the operator mutes "for the next day", and a match processed after that alerts again, whatever its event
// time — the safer way round for a late event.

import { randomUUID } from "node:crypto";
import { isIP } from "node:net";
import type { Selectable } from "kysely";
import { type RuleMatch, ruleWideDedups } from "../../core/detection.ts";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import { characterCount, wellFormedText } from "../../core/storable-text.ts";
import {
  type MatchFields,
  type NewSuppression,
  SUPPRESSION_FIELDS,
  SUPPRESSION_MAX_MS,
  type SuppressionConditions,
  type SuppressionRecord,
  suppressionActive,
  suppressionMatches,
} from "../../core/suppression.ts";
import type { Store } from "../ports.ts";
import { chunks } from "./chunks.ts";
import { flag, type SuppressionsTable } from "./database.ts";
import { correlationRuleIds, keyOfMatch, matchKey, toFlag } from "./detection-rows.ts";
import type { Db, StoreContext } from "./dialect.ts";
import { inLockOrder } from "./lock-order.ts";
import type { SourceNumbers } from "./source-numbers.ts";

const REASON_MAX = 1000;
const VALUE_MAX = 1000;

function toSuppression(r: Selectable<SuppressionsTable>): SuppressionRecord {
  return {
    id: r.id,
    ruleId: r.rule_id,
    conditions: JSON.parse(r.conditions) as SuppressionConditions,
    reason: r.reason,
    createdBy: r.created_by,
    createdAtMs: r.created_at_ms,
    expiresAtMs: r.expires_at_ms,
    removedBy: r.removed_by,
    removedAtMs: r.removed_at_ms,
    matchCount: Number(r.match_count),
    lastMatchAtMs: r.last_match_at_ms,
  };
}

/** The conditions with known fields only, in field order (so equal conditions are equal text). */
function checkedConditions(ruleId: string, conditions: SuppressionConditions): SuppressionConditions {
  const unknown = Object.keys(conditions).filter((k) => !(SUPPRESSION_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new UsageError(`A suppression pins only ${SUPPRESSION_FIELDS.join(", ")}; not ${unknown.join(", ")}.`);
  }
  const checked: SuppressionConditions = {};
  for (const field of SUPPRESSION_FIELDS) {
    const value = conditions[field];
    if (value === undefined) continue;
    if (typeof value !== "string" || value === "" || value.length > VALUE_MAX) {
      throw new UsageError(`The suppression's ${field} must be text of 1 to ${VALUE_MAX} characters.`);
    }
    // A value no event can have would look active and never match.
    if (field === "ip" && isIP(value) === 0) {
      throw new UsageError(`The suppression's ip must be an IPv4 or IPv6 address, not ${JSON.stringify(value)}.`);
    }
    checked[field] = wellFormedText(value);
  }
  // Without a field it would mute the whole rule: that is what disabling a rule is for.
  if (Object.keys(checked).length === 0) {
    throw new UsageError("A suppression pins at least one field (e.g. actorEmail or ip); to mute a rule, disable it.");
  }
  // Nor with a dedup string every match of the rule has (a rule without dedup() or title()): that too would mute
  // the rule, which takes an administrator (disabling it), while any analyst may suppress.
  const { dedup, ...others } = checked;
  if (dedup !== undefined && Object.keys(others).length === 0 && ruleWideDedups(ruleId).includes(dedup)) {
    throw new UsageError(
      `Every match of ${ruleId} has the dedup string ${JSON.stringify(dedup)}: pinning it alone would mute the whole rule. Pin another field too (e.g. actorEmail or ip), or disable the rule.`,
    );
  }
  return checked;
}

/**
 * Inside the caller's write transaction (which holds the matches' rule locks): drops the matches an active
 * suppression covers, or that a suppression absorbed before (a match re-applied after its suppression
 * ended was counted then, and is not alerted now), and returns the rest in input order.
 *
 * Two kinds of match are never suppressed. A rule's errors: a suppression mutes matches like this, not the
 * rule failing on them. And the matches of a rule that a correlation rule takes as input (`correlationInput`):
 * dropped here they would never reach the correlation, and a suppression of "failed logins of alice" would
 * silently blind the brute-force detection for alice. New suppressions of such rules are refused
 * (requireRuleToSuppress); this keeps one made before, or before a correlation took the rule, from blinding it.
 */
export async function suppressMatchesIn(
  trx: Db,
  numbers: SourceNumbers,
  matches: readonly RuleMatch[],
  nowMs: number,
  correlationInput: (m: RuleMatch) => boolean,
): Promise<RuleMatch[]> {
  if (matches.length === 0) return [...matches];
  const rows = await trx
    .selectFrom("suppressions")
    .selectAll()
    .where("rule_id", "in", [...new Set(matches.map((m) => m.ruleId))])
    .orderBy("created_at_ms")
    .orderBy("id")
    .execute();
  // The common case: no suppression was ever made for these rules.
  if (rows.length === 0) return [...matches];
  const ruleIds = new Set(rows.map((r) => r.rule_id));
  const candidates = matches.filter((m) => ruleIds.has(m.ruleId) && !m.isError && !correlationInput(m));
  const absorbed = await absorbedBefore(trx, candidates);
  const active = rows.map(toSuppression).filter((s) => suppressionActive(s, nowMs));
  const fields = active.length > 0 ? await matchFields(trx, numbers, candidates) : new Map<string, MatchFields>();

  const suppressedBy = new Map<string, { match: RuleMatch; suppressionId: string }>();
  // A correlation's row from before migration 38 is keyed without its dedup string (absorbedBefore).
  const isAbsorbed = (m: RuleMatch) => absorbed.has(keyOfMatch(m)) || absorbed.has(matchKey(m, false));
  for (const m of candidates) {
    const key = keyOfMatch(m);
    if (isAbsorbed(m) || suppressedBy.has(key)) continue;
    const f = fields.get(JSON.stringify([m.sourceId, m.eventId]));
    const values: MatchFields = {
      actorEmail: f?.actorEmail ?? null,
      actorId: f?.actorId ?? null,
      ip: f?.ip ?? null,
      projectId: f?.projectId ?? null,
      dedup: m.dedupString,
    };
    // The oldest suppression that covers the match takes it (one count per match).
    const by = active.find((s) => s.ruleId === m.ruleId && suppressionMatches(s.conditions, values));
    if (by !== undefined) suppressedBy.set(key, { match: m, suppressionId: by.id });
  }
  await recordSuppressed(trx, [...suppressedBy.values()], nowMs);
  return matches.filter((m) => !isAbsorbed(m) && !suppressedBy.has(keyOfMatch(m)));
}

/**
 * Keys (matchKey) of the matches already in suppressed_matches. A correlation's row from before migration 38 has
 * no dedup string (''): it is keyed without one, and stands for any key of its anchor (suppressMatchesIn).
 */
async function absorbedBefore(trx: Db, matches: readonly RuleMatch[]): Promise<Set<string>> {
  const byKey = correlationRuleIds(matches);
  const found = new Set<string>();
  for (const chunk of chunks(matches)) {
    const rows = await trx
      .selectFrom("suppressed_matches")
      .select(["source_id", "rule_id", "event_id", "is_error", "dedup_string"])
      .where("source_id", "in", [...new Set(chunk.map((m) => m.sourceId))])
      .where("rule_id", "in", [...new Set(chunk.map((m) => m.ruleId))])
      .where("event_id", "in", [...new Set(chunk.map((m) => m.eventId))])
      .execute();
    for (const r of rows) {
      const match = {
        sourceId: r.source_id,
        ruleId: r.rule_id,
        eventId: r.event_id,
        isError: flag(r.is_error),
        dedupString: r.dedup_string,
      };
      found.add(matchKey(match, byKey.has(r.rule_id) && r.dedup_string !== ""));
    }
  }
  return found;
}

/** The suppression fields of the matches' events, keyed by JSON [sourceId, eventId]. */
async function matchFields(
  trx: Db,
  numbers: SourceNumbers,
  matches: readonly RuleMatch[],
): Promise<Map<string, MatchFields>> {
  const fields = new Map<string, MatchFields>();
  const bySource = new Map<string, Set<string>>();
  for (const m of matches) bySource.set(m.sourceId, (bySource.get(m.sourceId) ?? new Set()).add(m.eventId));
  for (const [sourceId, ids] of bySource) {
    for (const list of chunks([...ids])) {
      const rows = await trx
        .selectFrom("events")
        .select(["id", "actor_email", "actor_id", "ip", "project_id"])
        .where("source_num", "=", await numbers.filter(trx, sourceId))
        .where("id", "in", list)
        .execute();
      for (const r of rows) {
        fields.set(JSON.stringify([sourceId, r.id]), {
          actorEmail: r.actor_email,
          actorId: r.actor_id,
          ip: r.ip,
          projectId: r.project_id,
          dedup: null,
        });
      }
    }
  }
  return fields;
}

async function recordSuppressed(
  trx: Db,
  suppressed: ReadonlyArray<{ match: RuleMatch; suppressionId: string }>,
  nowMs: number,
): Promise<void> {
  for (const chunk of chunks(suppressed)) {
    await trx
      .insertInto("suppressed_matches")
      .values(
        chunk.map(({ match, suppressionId }) => ({
          source_id: match.sourceId,
          rule_id: match.ruleId,
          event_id: match.eventId,
          dedup_string: match.dedupString,
          is_error: toFlag(match.isError),
          suppression_id: suppressionId,
          at_ms: nowMs,
        })),
      )
      .execute();
  }
  const counts = new Map<string, number>();
  for (const { suppressionId } of suppressed) counts.set(suppressionId, (counts.get(suppressionId) ?? 0) + 1);
  // In id order: two writers counting on the same suppressions (pages of one source, whose signals take no
  // common lock) then lock their rows in one order and cannot deadlock.
  for (const [id, n] of inLockOrder(counts, ([id]) => id)) {
    await trx
      .updateTable("suppressions")
      .set((eb) => ({ match_count: eb("match_count", "+", n), last_match_at_ms: nowMs }))
      .where("id", "=", id)
      .execute();
  }
}

export function suppressionOps(
  ctx: StoreContext,
): Pick<Store, "createSuppression" | "listSuppressions" | "getSuppression" | "removeSuppression"> {
  const { dialect } = ctx;

  async function get(db: Db, id: string): Promise<SuppressionRecord | null> {
    const row = await db.selectFrom("suppressions").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toSuppression(row) : null;
  }

  return {
    async createSuppression(s: NewSuppression) {
      if (s.ruleId.trim() === "") throw new UsageError("A suppression names the rule whose matches it mutes.");
      const reason = wellFormedText(s.reason.trim());
      if (reason === "" || characterCount(reason) > REASON_MAX) {
        throw new UsageError(`A suppression needs a reason of 1 to ${REASON_MAX} characters: say why it is benign.`);
      }
      const nowMs = ctx.clock.nowMs();
      if (s.expiresAtMs !== null && s.expiresAtMs <= nowMs) {
        throw new UsageError("A suppression's expiry must be in the future.");
      }
      if (s.expiresAtMs !== null && s.expiresAtMs > nowMs + SUPPRESSION_MAX_MS) {
        throw new UsageError(
          "A suppression's expiry is at most a year away; for longer, leave it without one (until removed).",
        );
      }
      const row = {
        id: randomUUID(),
        rule_id: s.ruleId,
        conditions: JSON.stringify(checkedConditions(s.ruleId, s.conditions)),
        reason,
        created_by: s.createdBy,
        created_at_ms: nowMs,
        expires_at_ms: s.expiresAtMs,
        removed_by: null,
        removed_at_ms: null,
        match_count: 0,
        last_match_at_ms: null,
      };
      await dialect.run((db) => db.insertInto("suppressions").values(row).execute());
      return toSuppression(row);
    },

    async listSuppressions(query = {}) {
      const rows = await dialect.run((db) => {
        let q = db.selectFrom("suppressions").selectAll();
        if (query.includeRemoved !== true) q = q.where("removed_at_ms", "is", null);
        if (query.ruleId !== undefined) q = q.where("rule_id", "=", query.ruleId);
        return q.orderBy("created_at_ms", "desc").orderBy("id").execute();
      });
      return rows.map(toSuppression);
    },

    async getSuppression(id) {
      return dialect.run((db) => get(db, id));
    },

    async removeSuppression(id, by, atMs) {
      return dialect.write(async (trx) => {
        // Removed once: a second removal keeps the first one's who and when.
        await trx
          .updateTable("suppressions")
          .set({ removed_by: by, removed_at_ms: atMs })
          .where("id", "=", id)
          .where("removed_at_ms", "is", null)
          .execute();
        const record = await get(trx, id);
        if (record === null) throw new NotFoundError(`There is no suppression ${id}.`);
        return record;
      });
    },
  };
}
