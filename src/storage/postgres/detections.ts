// The detection side of the PostgreSQL store: signals, alert windows, alerts, rule state and settings.
// Writes take a client inside the caller's transaction (see PostgresStore.applyPage).
//
// Concurrency: windows and rule state are read, changed in TypeScript and written back. Two workers
// applying matches of one key at once would lose an update, so each transaction first takes a
// transaction-scoped advisory lock per affected key, in sorted order (no deadlock between the two).

import type pg from "pg";
import { DEFAULT_ALERT_LIMIT_PER_HOUR, foldNoisyMatches } from "../../alerts/limiter.ts";
import { type AlertWindow, applyMatches, keysToLoad, windowKeyString } from "../../alerts/windows.ts";
import type { AlertStatus, AlertStatusChange, RuleMatch, RuleStateOp } from "../../core/detection.ts";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import {
  ALERT_COLUMNS,
  ALERT_STATUSES,
  type AlertRow,
  listLimit,
  MATCH_COLUMNS,
  type MatchRow,
  matchKey,
  matchValues,
  newAlertValues,
  REPRESENTATIVE_COLUMNS,
  type RuleStateRow,
  representativeValues,
  type StatusChangeRow,
  toAlertRecord,
  toAlertStatusChange,
  toAlertWindow,
  toRuleMatch,
  toRuleStateEntry,
  WINDOW_COLUMNS,
  WINDOW_COUNT_COLUMNS,
  WINDOW_STATE_UPDATE,
  type WindowRow,
  windowCountValues,
  windowValues,
} from "../alert-rows.ts";
import type { AlertQuery, AlertRecord, DetectionSetting, RuleStateEntry, StoredEvent } from "../ports.ts";
import { applyStateOpsTo, groupStateOps, isLive } from "../rule-state.ts";
import type { EventsTable as EventsSchema } from "../store/database.ts";
import { toStoredEvent } from "../store/events.ts";

type EventsTable = Omit<EventsSchema, "seq">;

type Queryable = pg.PoolClient | pg.Pool;

const toFlag = (b: boolean): boolean => b;
const params = (n: number, from = 1): string => Array.from({ length: n }, (_, i) => `$${i + from}`).join(", ");

async function lockKeys(client: Queryable, keys: string[]): Promise<void> {
  const sorted = [...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const key of sorted) {
    // hashtext gives the int4 the lock takes; a collision only serializes two unrelated keys.
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`vigil:detections:${key}`]);
  }
}

/** Rows per multi-row match insert: 1,000 × 24 parameters stays well under PostgreSQL's 65,535. */
const MATCH_INSERT_CHUNK = 1000;

/**
 * Inserts the matches not stored yet, several rows per statement; returns the new ones (input order) with
 * their seq. ON CONFLICT DO NOTHING decides, so a concurrent writer of the same match cannot make it count
 * twice.
 */
async function insertMatches(
  client: Queryable,
  matches: readonly RuleMatch[],
  nowMs: number,
): Promise<{ fresh: RuleMatch[]; seqs: number[] }> {
  const unique = new Map<string, RuleMatch>();
  for (const m of matches) if (!unique.has(matchKey(m))) unique.set(matchKey(m), m);
  const all = [...unique.values()];
  const width = MATCH_COLUMNS.length + 1;
  const seqOf = new Map<string, number>();
  for (let from = 0; from < all.length; from += MATCH_INSERT_CHUNK) {
    const chunk = all.slice(from, from + MATCH_INSERT_CHUNK);
    const values: unknown[] = [];
    const tuples = chunk.map((m, i) => {
      values.push(...matchValues(m, toFlag), nowMs);
      // Every new match waits for correlation (see Store.listCorrelationPending).
      return `(${params(width, i * width + 1)}, true)`;
    });
    const { rows } = await client.query<{
      seq: number | string;
      source_id: string;
      rule_id: string;
      event_id: string;
      is_error: boolean;
    }>(
      `INSERT INTO rule_matches (${MATCH_COLUMNS.join(", ")}, created_at_ms, correlation_pending) VALUES ${tuples.join(", ")}
       ON CONFLICT (source_id, rule_id, event_id, is_error) DO NOTHING
       RETURNING seq, source_id, rule_id, event_id, is_error`,
      values,
    );
    for (const r of rows) {
      seqOf.set(
        matchKey({ sourceId: r.source_id, ruleId: r.rule_id, eventId: r.event_id, isError: r.is_error }),
        Number(r.seq),
      );
    }
  }
  const fresh: RuleMatch[] = [];
  const seqs: number[] = [];
  for (const m of all) {
    const seq = seqOf.get(matchKey(m));
    if (seq !== undefined) {
      fresh.push(m);
      seqs.push(seq);
    }
  }
  return { fresh, seqs };
}

/** The stored windows the matches may fall into. */
async function loadWindowsPg(client: Queryable, matches: readonly RuleMatch[]): Promise<AlertWindow[]> {
  const existing: AlertWindow[] = [];
  for (const { key, minSecs, maxSecs } of keysToLoad(matches)) {
    const { rows } = await client.query<WindowRow>(
      `SELECT * FROM alert_windows
       WHERE source_id = $1 AND rule_id = $2 AND dedup_string = $3 AND is_error = $4 AND start_secs <= $5
         AND end_secs > $6`,
      [key.sourceId, key.ruleId, key.dedupString, key.isError, maxSecs, minSecs],
    );
    existing.push(...rows.map(toAlertWindow));
  }
  return existing;
}

const UPSERT_WINDOW = `INSERT INTO alert_windows (${WINDOW_COLUMNS.join(", ")}) VALUES (${params(WINDOW_COLUMNS.length)})
  ON CONFLICT (id) DO UPDATE SET ${WINDOW_STATE_UPDATE}`;

/** Stores `matches` (skipping those already stored) and applies them to windows and alerts; created ids. */
export async function applyMatchesPg(
  client: Queryable,
  matches: readonly RuleMatch[],
  nowMs: number,
  options: { fromHistory?: boolean; alertLimitPerHour?: number } = {},
): Promise<string[]> {
  if (matches.length === 0) return [];
  const fromHistory = options.fromHistory === true;
  const limit = options.alertLimitPerHour ?? DEFAULT_ALERT_LIMIT_PER_HOUR;
  const keys = keysToLoad(matches);
  // The rule locks serialize the writers of one rule, so that two of them cannot both spend its alert budget.
  await lockKeys(client, [
    ...keys.map((k) => `w:${windowKeyString(k.key)}`),
    ...new Set(matches.map((m) => `r:${JSON.stringify([m.sourceId, m.ruleId])}`)),
  ]);
  const inserted = await insertMatches(client, matches, nowMs);
  const seqs = inserted.seqs;
  let fresh = inserted.fresh;
  if (fresh.length === 0) return [];

  let existing = await loadWindowsPg(client, fresh);
  let outcome = applyMatches(existing, fresh);
  const recent = new Map<string, number>();
  for (const w of outcome.alertCreations) {
    const key = JSON.stringify([w.sourceId, w.ruleId]);
    if (recent.has(key)) continue;
    const { rows } = await client.query<{ n: string }>(
      // History and live alerts have budgets of their own: a backfill must not silence the live alerts after it.
      "SELECT count(*) AS n FROM alerts WHERE source_id = $1 AND rule_id = $2 AND created_at_ms > $3 AND from_history = $4",
      [w.sourceId, w.ruleId, nowMs - 3_600_000, fromHistory],
    );
    recent.set(key, Number(rows[0]?.n ?? 0));
  }
  const folded = foldNoisyMatches(
    outcome,
    fresh,
    (sourceId, ruleId) => recent.get(JSON.stringify([sourceId, ruleId])) ?? 0,
    limit,
  );
  if (folded !== null) {
    // The rule is over its budget: the matches of the alerts it would open go to its noisy alert instead.
    const moved = folded.flatMap((m, i) => (m === fresh[i] ? [] : [{ m, seq: seqs[i] }]));
    await lockKeys(
      client,
      keysToLoad(moved.map((x) => x.m)).map((k) => `w:${windowKeyString(k.key)}`),
    );
    for (const { m, seq } of moved) {
      await client.query(
        `UPDATE rule_matches SET dedup_string = $1, title = $2, alert_context = $3, dedup_period_minutes = $4,
           threshold = $5, unique_value = $6 WHERE seq = $7`,
        [m.dedupString, m.title, JSON.stringify(m.alertContext), m.dedupPeriodMinutes, m.threshold, m.uniqueValue, seq],
      );
    }
    fresh = folded;
    existing = await loadWindowsPg(client, fresh);
    outcome = applyMatches(existing, fresh);
  }
  const loaded = new Set(existing.map((w) => w.id));
  for (const w of outcome.windowUpserts) {
    if (loaded.has(w.id) && !outcome.newRepresentative.has(w.id)) {
      // The representative stayed: its stored first match, whose context may be large, is not written again.
      const sets = WINDOW_COUNT_COLUMNS.map((c, i) => `${c} = $${i + 1}`).join(", ");
      await client.query(`UPDATE alert_windows SET ${sets} WHERE id = $${WINDOW_COUNT_COLUMNS.length + 1}`, [
        ...windowCountValues(w, toFlag),
        w.id,
      ]);
    } else await client.query(UPSERT_WINDOW, windowValues(w, toFlag));
  }
  const placed = outcome.placements.flatMap((p, i) => (p.windowId === null ? [] : [{ p, seq: seqs[i] }]));
  if (placed.length > 0) {
    await client.query(
      `UPDATE rule_matches m SET window_id = t.window_id, alert_id = t.alert_id
       FROM unnest($1::bigint[], $2::text[], $3::text[]) AS t(seq, window_id, alert_id) WHERE m.seq = t.seq`,
      [placed.map((x) => x.seq), placed.map((x) => x.p.windowId), placed.map((x) => x.p.alertId)],
    );
  }
  for (const w of outcome.alertCreations) {
    await client.query(
      `INSERT INTO alerts (${ALERT_COLUMNS.join(", ")}) VALUES (${params(ALERT_COLUMNS.length)})`,
      newAlertValues(w, nowMs, toFlag, fromHistory),
    );
    await client.query(
      "INSERT INTO alert_status_changes (alert_id, from_status, to_status, at_ms, changed_by) VALUES ($1, NULL, 'OPEN', $2, 'system:detection')",
      [w.id, nowMs],
    );
    // The outbox row is written with the alert it announces: no alert without its notification.
    await client.query("INSERT INTO outbox (alert_id, kind, created_at_ms) VALUES ($1, 'created', $2)", [w.id, nowMs]);
    // Matches of earlier pages that opened the window belong to the alert too.
    await client.query("UPDATE rule_matches SET alert_id = $1 WHERE window_id = $1 AND alert_id IS NULL", [w.id]);
  }
  for (const w of outcome.alertAttachments) {
    if (outcome.newRepresentative.has(w.id)) {
      // An earlier match that arrived late replaced the representative: the alert takes its fields.
      const sets = REPRESENTATIVE_COLUMNS.map((c, i) => `${c} = $${i + 3}`).join(", ");
      await client.query(
        `UPDATE alerts SET match_count = $1, updated_at_ms = $2, ${sets} WHERE id = $${REPRESENTATIVE_COLUMNS.length + 3}`,
        [w.matchCount, nowMs, ...representativeValues(w), w.id],
      );
    } else {
      await client.query("UPDATE alerts SET match_count = $1, updated_at_ms = $2 WHERE id = $3", [
        w.matchCount,
        nowMs,
        w.id,
      ]);
    }
    // Live activity joining an alert a backfill raised makes it a live alert, announced now: an attack that
    // spans the moment a source was added is paged for its live part.
    if (!fromHistory) {
      const { rowCount } = await client.query(
        "UPDATE alerts SET from_history = false, updated_at_ms = $1 WHERE id = $2 AND from_history",
        [nowMs, w.id],
      );
      if (rowCount === 1)
        await client.query("INSERT INTO outbox (alert_id, kind, created_at_ms) VALUES ($1, 'created', $2)", [
          w.id,
          nowMs,
        ]);
    }
  }
  return outcome.alertCreations.map((w) => w.id);
}

/** Applies rule state ops in order, inside the caller's transaction. */
export async function applyStateOpsPg(
  client: Queryable,
  sourceId: string,
  ops: readonly RuleStateOp[],
  nowSecs: number,
): Promise<void> {
  if (ops.length === 0) return;
  await lockKeys(
    client,
    ops.map((op) => `s:${JSON.stringify([sourceId, op.ruleId, op.key])}`),
  );
  // Ops of one key are folded in memory: one read and one write per key, whatever the number of ops.
  for (const group of groupStateOps(ops)) {
    const { rows } = await client.query<RuleStateRow>(
      "SELECT * FROM rule_state WHERE source_id = $1 AND rule_id = $2 AND key = $3",
      [sourceId, group.ruleId, group.key],
    );
    const row = rows[0];
    const next = applyStateOpsTo(row === undefined ? null : toRuleStateEntry(row), group.ops, nowSecs);
    if (next === null) {
      if (row !== undefined) {
        await client.query("DELETE FROM rule_state WHERE source_id = $1 AND rule_id = $2 AND key = $3", [
          sourceId,
          group.ruleId,
          group.key,
        ]);
      }
    } else {
      await client.query(
        `INSERT INTO rule_state (source_id, rule_id, key, value, counter, members, expires_at_secs)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (source_id, rule_id, key) DO UPDATE SET value = excluded.value, counter = excluded.counter,
           members = excluded.members, expires_at_secs = excluded.expires_at_secs`,
        [sourceId, group.ruleId, group.key, next.value, next.counter, JSON.stringify(next.members), next.expiresAtSecs],
      );
    }
  }
}

export async function loadRuleStatePg(
  client: Queryable,
  sourceId: string,
  ruleIds: string[],
  nowSecs: number,
): Promise<RuleStateEntry[]> {
  if (ruleIds.length === 0) return [];
  const { rows } = await client.query<RuleStateRow>(
    `SELECT * FROM rule_state WHERE source_id = $1 AND rule_id = ANY($2::text[])
     AND (expires_at_secs IS NULL OR expires_at_secs > $3) ORDER BY rule_id, key`,
    [sourceId, ruleIds, nowSecs],
  );
  return rows.map(toRuleStateEntry).filter((e) => isLive(e, nowSecs));
}

export async function listDetectionSettingsPg(client: Queryable): Promise<DetectionSetting[]> {
  const { rows } = await client.query<{
    kind: "rule" | "pack";
    id: string;
    source_id: string | null;
    enabled: boolean;
  }>("SELECT * FROM detection_settings ORDER BY kind, id, coalesce(source_id, '')");
  return rows.map((r) => ({ kind: r.kind, id: r.id, sourceId: r.source_id, enabled: r.enabled }));
}

export async function setDetectionSettingPg(client: Queryable, setting: DetectionSetting): Promise<void> {
  await client.query(
    `INSERT INTO detection_settings (kind, id, source_id, enabled) VALUES ($1, $2, $3, $4)
     ON CONFLICT (kind, id, (coalesce(source_id, ''))) DO UPDATE SET enabled = excluded.enabled`,
    [setting.kind, setting.id, setting.sourceId, setting.enabled],
  );
}

export async function listAlertsPg(client: Queryable, query: AlertQuery): Promise<AlertRecord[]> {
  const limit = listLimit(query.limit);
  if (limit === null) throw new UsageError(`The limit must be a positive integer (got ${query.limit}).`);
  const where: string[] = [];
  const values: unknown[] = [];
  const filters: Array<[string, unknown]> = [
    ["status", query.status],
    ["severity", query.severity],
    ["rule_id", query.ruleId],
    ["source_id", query.sourceId],
    ["from_history", query.fromHistory],
  ];
  for (const [column, value] of filters) {
    if (value === undefined) continue;
    values.push(value);
    where.push(`${column} = $${values.length}`);
  }
  const after = query.after;
  if (after !== undefined) {
    // Keyset paging in the list's own order; the plain bound lets the index scan start at the cursor.
    values.push(after.createdAtMs, after.windowStartSecs, after.id);
    const n = values.length;
    where.push(`created_at_ms <= $${n - 2}`, `(created_at_ms, window_start_secs, id) < ($${n - 2}, $${n - 1}, $${n})`);
  }
  values.push(limit);
  const { rows } = await client.query<AlertRow>(
    `SELECT * FROM alerts ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
     ORDER BY created_at_ms DESC, window_start_secs DESC, id DESC LIMIT $${values.length}`,
    values,
  );
  return rows.map(toAlertRecord);
}

export async function getAlertPg(client: Queryable, id: string, forUpdate = false): Promise<AlertRecord | null> {
  const { rows } = await client.query<AlertRow>(`SELECT * FROM alerts WHERE id = $1${forUpdate ? " FOR UPDATE" : ""}`, [
    id,
  ]);
  const row = rows[0];
  return row === undefined ? null : toAlertRecord(row);
}

type JoinedRow = MatchRow & { [K in keyof EventsTable as `ev_${K}`]: EventsTable[K] | null };

export async function getAlertMatchesPg(
  client: Queryable,
  id: string,
  limit?: number,
): Promise<Array<{ match: RuleMatch; event: StoredEvent | null }>> {
  const max = listLimit(limit ?? 10_000);
  if (max === null) throw new UsageError(`The limit must be a positive integer (got ${limit}).`);
  const { rows } = await client.query<JoinedRow>(
    `SELECT m.*, e.source_id AS ev_source_id, e.id AS ev_id, e.type AS ev_type, e.effective_at AS ev_effective_at,
       e.actor_type AS ev_actor_type, e.actor_id AS ev_actor_id, e.actor_email AS ev_actor_email, e.ip AS ev_ip,
       e.project_id AS ev_project_id, e.raw AS ev_raw,
       e.ingested_at_ms AS ev_ingested_at_ms
     FROM rule_matches m LEFT JOIN events e ON e.source_id = m.source_id AND e.id = m.event_id
     WHERE m.alert_id = $1 ORDER BY m.event_time, m.seq LIMIT $2`,
    [id, max],
  );
  return rows.map((row) => ({
    match: toRuleMatch(row),
    event:
      row.ev_id === null
        ? null
        : toStoredEvent({
            source_id: row.ev_source_id ?? row.source_id,
            id: row.ev_id,
            type: row.ev_type ?? "",
            effective_at: row.ev_effective_at ?? 0,
            actor_type: row.ev_actor_type,
            actor_id: row.ev_actor_id,
            actor_email: row.ev_actor_email,
            ip: row.ev_ip,
            project_id: row.ev_project_id,
            raw: row.ev_raw ?? "",
            ingested_at_ms: row.ev_ingested_at_ms ?? 0,
          }),
  }));
}

/** Inside the caller's transaction. */
export async function setAlertStatusPg(
  client: Queryable,
  id: string,
  status: AlertStatus,
  atMs: number,
  by: string | null = null,
): Promise<AlertRecord> {
  if (!ALERT_STATUSES.includes(status)) {
    throw new UsageError(`Unknown alert status "${status}"; use one of ${ALERT_STATUSES.join(", ")}.`);
  }
  const current = await getAlertPg(client, id, true);
  if (current === null) throw new NotFoundError(`No alert with id ${id}.`);
  if (current.status === status) return current;
  await client.query("UPDATE alerts SET status = $1, updated_at_ms = $2 WHERE id = $3", [status, atMs, id]);
  await client.query(
    "INSERT INTO alert_status_changes (alert_id, from_status, to_status, at_ms, changed_by) VALUES ($1, $2, $3, $4, $5)",
    [id, current.status, status, atMs, by],
  );
  if (status === "RESOLVED") {
    await client.query("INSERT INTO outbox (alert_id, kind, created_at_ms) VALUES ($1, 'resolved', $2)", [id, atMs]);
  }
  return { ...current, status, updatedAtMs: atMs };
}

export async function listAlertStatusChangesPg(client: Queryable, alertId: string): Promise<AlertStatusChange[]> {
  const { rows } = await client.query<StatusChangeRow>(
    "SELECT from_status, to_status, at_ms, changed_by FROM alert_status_changes WHERE alert_id = $1 ORDER BY id",
    [alertId],
  );
  return rows.map(toAlertStatusChange);
}

export async function listMatchesPg(
  client: Queryable,
  query: { ruleIds?: string[]; sourceId?: string; sinceSecs: number; untilSecs: number },
): Promise<RuleMatch[]> {
  const where = ["event_time >= $1", "event_time < $2"];
  const values: unknown[] = [query.sinceSecs, query.untilSecs];
  if (query.sourceId !== undefined) {
    values.push(query.sourceId);
    where.push(`source_id = $${values.length}`);
  }
  if (query.ruleIds !== undefined && query.ruleIds.length > 0) {
    values.push(query.ruleIds);
    where.push(`rule_id = ANY($${values.length}::text[])`);
  }
  const { rows } = await client.query<MatchRow>(
    `SELECT * FROM rule_matches WHERE ${where.join(" AND ")} ORDER BY event_time, seq`,
    values,
  );
  return rows.map(toRuleMatch);
}

export async function listCorrelationPendingPg(
  client: Queryable,
  sourceId: string,
  afterSeq: number,
  limit: number,
): Promise<Array<{ seq: number; match: RuleMatch }>> {
  const { rows } = await client.query<MatchRow & { seq: string | number }>(
    "SELECT * FROM rule_matches WHERE source_id = $1 AND correlation_pending AND seq > $2 ORDER BY seq LIMIT $3",
    [sourceId, afterSeq, limit],
  );
  return rows.map((row) => ({ seq: Number(row.seq), match: toRuleMatch(row) }));
}

export async function clearCorrelationPendingPg(client: Queryable, sourceId: string, seqs: number[]): Promise<void> {
  if (seqs.length === 0) return;
  await client.query("UPDATE rule_matches SET correlation_pending = false WHERE source_id = $1 AND seq = ANY($2)", [
    sourceId,
    seqs,
  ]);
}
