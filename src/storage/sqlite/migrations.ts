// Versioned schema migrations for the embedded SQLite store.
//
// Each migration runs once, in order, inside its own IMMEDIATE transaction, and records itself in
// `schema_migrations` in that same transaction: a crash mid-migration leaves the previous version intact,
// and two processes starting at once (`vigil start` and `vigil backfill`) cannot both apply one — the
// second waits for the write lock, then sees the row and skips. Migrations are append-only: never edit one
// that has shipped, add a new version instead.

import Database from "better-sqlite3";
import { VigilError } from "../../core/errors.ts";
import type { MigrationNotice } from "../store/dialect.ts";

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /**
   * Runs with foreign key enforcement off (SQLite's procedure for rebuilding a table that others reference:
   * dropping the old table must not cascade to its children). The pragma is set outside the transaction
   * (it is a no-op inside one) and `foreign_key_check` must come back empty before the commit.
   */
  rebuildsTables?: boolean;
}

/**
 * The triggers that kept event_counts (migration 15), made again by migrations 15 and 18. Since migration 26
 * the store counts inserted events itself (store/events.ts): a later migration that rebuilds events must make
 * only the delete and update triggers again, or every event would be counted twice.
 */
const EVENT_COUNT_TRIGGERS = `
      CREATE TRIGGER event_counts_insert AFTER INSERT ON events BEGIN
        INSERT INTO event_counts (source_id, day_secs, type, events)
          VALUES (new.source_id, (new.effective_at / 86400) * 86400, new.type, 1)
          ON CONFLICT (source_id, day_secs, type) DO UPDATE SET events = events + 1;
      END;
      CREATE TRIGGER event_counts_delete AFTER DELETE ON events BEGIN
        UPDATE event_counts SET events = events - 1
          WHERE source_id = old.source_id AND day_secs = (old.effective_at / 86400) * 86400 AND type = old.type;
      END;
      CREATE TRIGGER event_counts_update AFTER UPDATE OF source_id, effective_at, type ON events BEGIN
        UPDATE event_counts SET events = events - 1
          WHERE source_id = old.source_id AND day_secs = (old.effective_at / 86400) * 86400 AND type = old.type;
        INSERT INTO event_counts (source_id, day_secs, type, events)
          VALUES (new.source_id, (new.effective_at / 86400) * 86400, new.type, 1)
          ON CONFLICT (source_id, day_secs, type) DO UPDATE SET events = events + 1;
      END;
`;

/** The triggers that keep source_counters.rule_errors (migration 15), made again by migration 25's rebuild. */
const RULE_ERROR_COUNT_TRIGGERS = `
      CREATE TRIGGER source_counters_rule_error_insert AFTER INSERT ON rule_matches WHEN new.is_error = 1 BEGIN
        INSERT INTO source_counters (source_id, rule_errors) VALUES (new.source_id, 1)
          ON CONFLICT (source_id) DO UPDATE SET rule_errors = rule_errors + 1;
      END;
      CREATE TRIGGER source_counters_rule_error_delete AFTER DELETE ON rule_matches WHEN old.is_error = 1 BEGIN
        UPDATE source_counters SET rule_errors = rule_errors - 1 WHERE source_id = old.source_id;
      END;
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema",
    sql: `
      CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        base_url TEXT,
        poll_interval_secs INTEGER NOT NULL,
        overlap_secs INTEGER NOT NULL,
        sweep_window_secs INTEGER NOT NULL,
        sweep_interval_secs INTEGER NOT NULL,
        include_tenant_events INTEGER NOT NULL,
        backfill_days INTEGER NOT NULL,
        enabled INTEGER NOT NULL,
        encrypted_secret TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
      );

      CREATE TABLE stream_state (
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        stream TEXT NOT NULL CHECK (stream IN ('main', 'tenant')),
        checkpoint_secs INTEGER,
        last_sweep_secs INTEGER,
        PRIMARY KEY (source_id, stream)
      ) WITHOUT ROWID;

      CREATE TABLE poll_status (
        source_id TEXT PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
        last_poll_started_ms INTEGER,
        last_poll_finished_ms INTEGER,
        last_success_ms INTEGER,
        last_error TEXT,
        last_error_code TEXT,
        last_event_stored_ms INTEGER,
        consecutive_failures INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;

      -- Event ids are unique per source only: two organizations may (in tests, do) share ids.
      CREATE TABLE events (
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        effective_at INTEGER NOT NULL,
        actor_type TEXT,
        actor_id TEXT,
        actor_email TEXT,
        ip TEXT,
        project_id TEXT,
        raw TEXT NOT NULL,
        normalized TEXT,
        ingested_at_ms INTEGER NOT NULL,
        PRIMARY KEY (source_id, id)
      );
      -- One index per EventQuery filter, each ending in the newest-first order so that a filtered search
      -- reads its rows already sorted. Nullable columns get partial indexes: an equality filter implies
      -- NOT NULL, and the many events without an email or ip then cost nothing to index.
      CREATE INDEX events_newest ON events (effective_at DESC, id DESC);
      CREATE INDEX events_by_type ON events (type, effective_at DESC, id DESC);
      CREATE INDEX events_by_actor_email ON events (actor_email, effective_at DESC, id DESC)
        WHERE actor_email IS NOT NULL;
      CREATE INDEX events_by_actor_id ON events (actor_id, effective_at DESC, id DESC)
        WHERE actor_id IS NOT NULL;
      CREATE INDEX events_by_ip ON events (ip, effective_at DESC, id DESC) WHERE ip IS NOT NULL;
      CREATE INDEX events_by_project ON events (project_id, effective_at DESC, id DESC)
        WHERE project_id IS NOT NULL;

      -- Every overlapping poll re-reads the same bad record: it is stored once per (source, sha256(raw)),
      -- and later sightings only bump the counter.
      CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        event_id TEXT,
        reason TEXT NOT NULL,
        issues TEXT NOT NULL,
        raw TEXT NOT NULL,
        raw_sha256 TEXT NOT NULL,
        received_at_ms INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL,
        sightings INTEGER NOT NULL DEFAULT 1,
        UNIQUE (source_id, raw_sha256)
      );

      CREATE TABLE unknown_event_types (
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        type TEXT NOT NULL,
        first_seen_ms INTEGER NOT NULL,
        PRIMARY KEY (source_id, type)
      ) WITHOUT ROWID;

      CREATE TABLE backfill_jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        stream TEXT NOT NULL CHECK (stream IN ('main', 'tenant')),
        since_secs INTEGER NOT NULL,
        until_secs INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        done INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX backfill_jobs_by_source ON backfill_jobs (source_id, id);

      CREATE TABLE backfill_slices (
        job_id INTEGER NOT NULL REFERENCES backfill_jobs(id) ON DELETE CASCADE,
        slice_index INTEGER NOT NULL,
        start_secs INTEGER NOT NULL,
        end_secs INTEGER NOT NULL,
        upper_bound_secs INTEGER NOT NULL,
        done INTEGER NOT NULL DEFAULT 0,
        events_read INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (job_id, slice_index)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: "detections: signals, alert windows, alerts, rule state, settings",
    sql: `
      -- Every match and rule error of an inserted event (the signals). One row per (source, rule, event,
      -- error flag): applying the same match twice is a no-op. seq keeps the processing order.
      CREATE TABLE rule_matches (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        event_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        pack_id TEXT,
        log_type TEXT NOT NULL,
        event_time INTEGER NOT NULL,
        is_error INTEGER NOT NULL,
        error_type TEXT,
        error_message TEXT,
        dedup_string TEXT NOT NULL,
        title TEXT NOT NULL,
        severity TEXT NOT NULL,
        alert_context TEXT,
        description TEXT,
        reference TEXT,
        runbook TEXT,
        destinations TEXT,
        unique_value TEXT,
        dedup_period_minutes REAL NOT NULL,
        threshold INTEGER NOT NULL,
        create_alert INTEGER NOT NULL,
        tags TEXT NOT NULL,
        reports TEXT NOT NULL,
        window_id TEXT,
        alert_id TEXT,
        created_at_ms INTEGER NOT NULL,
        UNIQUE (source_id, rule_id, event_id, is_error)
      );
      CREATE INDEX rule_matches_by_time ON rule_matches (source_id, event_time, seq);
      CREATE INDEX rule_matches_by_rule ON rule_matches (rule_id, event_time, seq);
      CREATE INDEX rule_matches_by_alert ON rule_matches (alert_id, event_time, seq) WHERE alert_id IS NOT NULL;
      CREATE INDEX rule_matches_by_window ON rule_matches (window_id) WHERE window_id IS NOT NULL;

      -- Alert grouping state (src/alerts/windows.ts); the id is also the id of the window's alert.
      CREATE TABLE alert_windows (
        id TEXT PRIMARY KEY,
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        rule_id TEXT NOT NULL,
        dedup_string TEXT NOT NULL,
        is_error INTEGER NOT NULL,
        start_secs INTEGER NOT NULL,
        end_secs INTEGER NOT NULL,
        match_count INTEGER NOT NULL,
        unique_values TEXT NOT NULL,
        threshold INTEGER NOT NULL,
        counts_unique INTEGER NOT NULL,
        alert_created INTEGER NOT NULL,
        first_match TEXT NOT NULL
      );
      CREATE INDEX alert_windows_by_key ON alert_windows (source_id, rule_id, dedup_string, is_error, start_secs);

      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        pack_id TEXT,
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        dedup_string TEXT NOT NULL,
        is_error INTEGER NOT NULL,
        title TEXT NOT NULL,
        severity TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('OPEN', 'TRIAGED', 'CLOSED', 'RESOLVED')),
        alert_context TEXT,
        description TEXT,
        reference TEXT,
        runbook TEXT,
        destinations TEXT,
        window_start_secs INTEGER NOT NULL,
        window_end_secs INTEGER NOT NULL,
        match_count INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );
      CREATE INDEX alerts_newest ON alerts (created_at_ms DESC, window_start_secs DESC, id DESC);
      CREATE INDEX alerts_by_status ON alerts (status, created_at_ms DESC);
      CREATE INDEX alerts_by_rule ON alerts (rule_id, created_at_ms DESC);

      CREATE TABLE alert_status_changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        from_status TEXT,
        to_status TEXT NOT NULL,
        at_ms INTEGER NOT NULL
      );
      CREATE INDEX alert_status_changes_by_alert ON alert_status_changes (alert_id, id);

      CREATE TABLE rule_state (
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        rule_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT,
        counter REAL NOT NULL DEFAULT 0,
        members TEXT NOT NULL DEFAULT '[]',
        expires_at_secs INTEGER,
        PRIMARY KEY (source_id, rule_id, key)
      ) WITHOUT ROWID;
      CREATE INDEX rule_state_expiry ON rule_state (expires_at_secs) WHERE expires_at_secs IS NOT NULL;

      -- source_id NULL: a global setting. NULLs are distinct in a UNIQUE constraint, hence the expression.
      CREATE TABLE detection_settings (
        kind TEXT NOT NULL CHECK (kind IN ('rule', 'pack')),
        id TEXT NOT NULL,
        source_id TEXT REFERENCES sources(id) ON DELETE CASCADE,
        enabled INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX detection_settings_key ON detection_settings (kind, id, coalesce(source_id, ''));
    `,
  },
  {
    version: 3,
    name: "backfill slices remember their page cursor",
    sql: `
      -- The after= cursor of the last stored page: a resumed slice continues with exactly the pages a
      -- run without interruption would have read (same boundaries, so detection sees the same order).
      ALTER TABLE backfill_slices ADD COLUMN cursor TEXT;
    `,
  },
  {
    version: 4,
    name: "delivery: destinations, outbox, deliveries; source no-data alarm settings",
    sql: `
      -- Panther's "Trigger an alert when no events are processed": on by default, 24 hours.
      ALTER TABLE sources ADD COLUMN no_data_alert_enabled INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE sources ADD COLUMN no_data_alert_secs INTEGER NOT NULL DEFAULT 86400;

      -- config_ciphertext is the SecretBox ciphertext of the type-specific JSON config (webhook URLs,
      -- tokens, passwords): the store never sees it in clear.
      CREATE TABLE destinations (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        min_severity TEXT NOT NULL,
        log_types TEXT NOT NULL DEFAULT '[]',
        config_ciphertext TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );

      -- One row per notification to send, written in the transaction that created (or resolved) the alert,
      -- so that an alert can never exist without its notification. routed_at_ms: fanned out to deliveries.
      CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('created', 'resolved')),
        created_at_ms INTEGER NOT NULL,
        routed_at_ms INTEGER
      );
      CREATE INDEX outbox_unrouted ON outbox (id) WHERE routed_at_ms IS NULL;
      CREATE INDEX outbox_by_alert ON outbox (alert_id);

      -- One row per (notification, destination). No foreign key to destinations: removing a destination
      -- must keep the delivery log of past alerts. The id is the stable delivery id receivers dedup on.
      CREATE TABLE deliveries (
        id TEXT PRIMARY KEY,
        outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
        destination_id TEXT NOT NULL,
        destination_name TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms INTEGER NOT NULL,
        lease_until_ms INTEGER,
        lease_token TEXT,
        last_error TEXT,
        delivered_at_ms INTEGER,
        created_at_ms INTEGER NOT NULL,
        UNIQUE (outbox_id, destination_id)
      );
      CREATE INDEX deliveries_due ON deliveries (next_attempt_at_ms) WHERE status = 'pending';

      CREATE TABLE delivery_attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed')),
        status_code INTEGER,
        error TEXT,
        duration_ms INTEGER NOT NULL
      );
      CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, id);
    `,
  },
  {
    // Independent of version 4 (delivery): the migrator applies each missing version on its own, so the two
    // land in either order.
    version: 5,
    name: "console access: users, sessions, API tokens",
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
      );
      -- Only the sha256 of a session cookie or API token is stored.
      CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL
      );
      CREATE INDEX sessions_by_expiry ON sessions (expires_at_ms);
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        token_hash TEXT NOT NULL UNIQUE,
        created_at_ms INTEGER NOT NULL,
        last_used_at_ms INTEGER
      );
    `,
  },
  {
    // Independent of version 7: the migrator applies each missing version on its own. SQLite cannot alter a
    // CHECK constraint, so alerts is rebuilt (same columns, new status list) with foreign keys off.
    version: 6,
    name: "alert lifecycle: ACKNOWLEDGED status, who changed a status",
    rebuildsTables: true,
    sql: `
      CREATE TABLE alerts_v6 (
        id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        pack_id TEXT,
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        dedup_string TEXT NOT NULL,
        is_error INTEGER NOT NULL,
        title TEXT NOT NULL,
        severity TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('OPEN', 'ACKNOWLEDGED', 'TRIAGED', 'CLOSED', 'RESOLVED')),
        alert_context TEXT,
        description TEXT,
        reference TEXT,
        runbook TEXT,
        destinations TEXT,
        window_start_secs INTEGER NOT NULL,
        window_end_secs INTEGER NOT NULL,
        match_count INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );
      INSERT INTO alerts_v6 (id, rule_id, pack_id, source_id, dedup_string, is_error, title, severity, status,
          alert_context, description, reference, runbook, destinations, window_start_secs, window_end_secs,
          match_count, created_at_ms, updated_at_ms)
        SELECT id, rule_id, pack_id, source_id, dedup_string, is_error, title, severity, status,
          alert_context, description, reference, runbook, destinations, window_start_secs, window_end_secs,
          match_count, created_at_ms, updated_at_ms
        FROM alerts;
      DROP TABLE alerts;
      ALTER TABLE alerts_v6 RENAME TO alerts;
      CREATE INDEX alerts_newest ON alerts (created_at_ms DESC, window_start_secs DESC, id DESC);
      CREATE INDEX alerts_by_status ON alerts (status, created_at_ms DESC);
      CREATE INDEX alerts_by_rule ON alerts (rule_id, created_at_ms DESC);

      -- Who made the change (cli:<os user>, user:<name>, token:<name>, system:<component>); NULL before.
      ALTER TABLE alert_status_changes ADD COLUMN changed_by TEXT;
    `,
  },
  {
    // Independent of version 6: the migrator applies each missing version on its own.
    version: 7,
    name: "source health: poll failure alarm threshold",
    sql: `
      ALTER TABLE sources ADD COLUMN poll_failure_alert_secs INTEGER NOT NULL DEFAULT 3600;
    `,
  },
  {
    version: 8,
    name: "event search: per-source newest-first index",
    sql: `
      -- A search within one source read the primary key and sorted every row of the source.
      CREATE INDEX events_by_source ON events (source_id, effective_at DESC, id DESC);
    `,
  },
  {
    version: 9,
    name: "event search: trigram index of raw records",
    sql: `
      -- Free text was a LIKE over every raw record: seconds on a million events for a rare string. This
      -- index holds every trigram of each raw record and nothing else: contentless (the text stays in
      -- events.raw), detail=none (no positions: a quarter of the insert cost of a full index). A lookup
      -- gives candidates; LIKE on raw confirms them (see search.ts). Triggers keep it in step with every
      -- write path, inside the writer's transaction; contentless_delete lets rows leave with their event.
      CREATE VIRTUAL TABLE events_text USING fts5(
        raw, content='', contentless_delete=1, detail=none, tokenize='trigram'
      );
      INSERT INTO events_text (rowid, raw) SELECT rowid, raw FROM events;
      CREATE TRIGGER events_text_insert AFTER INSERT ON events BEGIN
        INSERT INTO events_text (rowid, raw) VALUES (new.rowid, new.raw);
      END;
      CREATE TRIGGER events_text_delete AFTER DELETE ON events BEGIN
        DELETE FROM events_text WHERE rowid = old.rowid;
      END;
      CREATE TRIGGER events_text_update AFTER UPDATE OF raw ON events BEGIN
        DELETE FROM events_text WHERE rowid = old.rowid;
        INSERT INTO events_text (rowid, raw) VALUES (new.rowid, new.raw);
      END;
    `,
  },
  {
    version: 10,
    name: "destinations: owner (config file or not)",
    sql: `
      -- 'config': written from the config file, which alone changes and removes it; NULL: console, API, CLI.
      ALTER TABLE destinations ADD COLUMN managed_by TEXT CHECK (managed_by IN ('config'));
    `,
  },
  {
    version: 11,
    name: "users: role (admin or analyst)",
    sql: `
      -- Users made before roles existed could do everything: they stay admins.
      ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'analyst'));
    `,
  },
  {
    version: 12,
    name: "alert windows on an event-time grid",
    sql: `
      -- Alert windows on a fixed event-time grid (src/alerts/windows.ts; docs/security.md, finding 7). The
      -- windows stored so far were anchored at their first match: on_grid false marks them, and they keep
      -- receiving the matches whose event time they contain, so an alert open at the upgrade keeps growing.
      -- valueless_count replaces counts_unique: a window counted either matches (counts_unique false, so all
      -- of its matches count as valueless) or distinct values (it ignored valueless matches: 0).
      ALTER TABLE alert_windows ADD COLUMN on_grid INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE alert_windows ADD COLUMN valueless_count INTEGER NOT NULL DEFAULT 0;
      UPDATE alert_windows SET valueless_count = match_count WHERE counts_unique = 0;
      ALTER TABLE alert_windows DROP COLUMN counts_unique;
    `,
  },
  {
    version: 13,
    name: "api tokens: expiry",
    sql: `
      -- Tokens made before expiries existed get 90 days (the default VIGIL_TOKEN_TTL_DAYS) from this
      -- migration: long enough to replace them, and none stops working the moment Vigil is upgraded.
      ALTER TABLE api_tokens ADD COLUMN expires_at_ms INTEGER NOT NULL DEFAULT 0;
      UPDATE api_tokens SET expires_at_ms = CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 90 * 86400000;
    `,
  },
  {
    version: 14,
    name: "alerts: raised from history",
    sql: `
      -- Alerts raised by a backfill page (history): shown and counted as such, and not sent to destinations
      -- unless they ask for history. Alerts from before this version were all treated as live.
      ALTER TABLE alerts ADD COLUMN from_history INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX alerts_from_history ON alerts (status, created_at_ms) WHERE from_history = 1;
    `,
  },
  {
    version: 15,
    name: "overview counters: events per day and type, alerts per status and severity, problems per source",
    sql: `
      -- The console's overview and /metrics counted every event, alert and rule error on each request: 0.7 s
      -- on 110k events, on the server's only thread. These tables hold the same counts, kept by triggers in
      -- the transaction of whatever writes the rows (a page, a derived match, a status change, a source
      -- removal), so a count can never drift from the rows; reading them costs O(days x types + sources).
      -- A migration that rebuilds events, alerts, quarantine or rule_matches must recreate these triggers.
      CREATE TABLE event_counts (
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        day_secs INTEGER NOT NULL,
        type TEXT NOT NULL,
        events INTEGER NOT NULL,
        PRIMARY KEY (source_id, day_secs, type)
      ) WITHOUT ROWID;
      CREATE INDEX event_counts_by_day ON event_counts (day_secs, type, events);
      CREATE TABLE alert_counts (
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        status TEXT NOT NULL,
        severity TEXT NOT NULL,
        alerts INTEGER NOT NULL,
        PRIMARY KEY (source_id, status, severity)
      ) WITHOUT ROWID;
      CREATE TABLE source_counters (
        source_id TEXT PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
        quarantined INTEGER NOT NULL DEFAULT 0,
        rule_errors INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;

      INSERT INTO event_counts (source_id, day_secs, type, events)
        SELECT source_id, (effective_at / 86400) * 86400, type, count(*) FROM events GROUP BY 1, 2, 3;
      INSERT INTO alert_counts (source_id, status, severity, alerts)
        SELECT source_id, status, severity, count(*) FROM alerts GROUP BY 1, 2, 3;
      INSERT INTO source_counters (source_id, quarantined, rule_errors)
        SELECT s.id,
          (SELECT count(*) FROM quarantine q WHERE q.source_id = s.id),
          (SELECT count(*) FROM rule_matches m WHERE m.source_id = s.id AND m.is_error = 1)
        FROM sources s;

      ${EVENT_COUNT_TRIGGERS}

      CREATE TRIGGER alert_counts_insert AFTER INSERT ON alerts BEGIN
        INSERT INTO alert_counts (source_id, status, severity, alerts) VALUES (new.source_id, new.status, new.severity, 1)
          ON CONFLICT (source_id, status, severity) DO UPDATE SET alerts = alerts + 1;
      END;
      CREATE TRIGGER alert_counts_delete AFTER DELETE ON alerts BEGIN
        UPDATE alert_counts SET alerts = alerts - 1
          WHERE source_id = old.source_id AND status = old.status AND severity = old.severity;
      END;
      CREATE TRIGGER alert_counts_update AFTER UPDATE OF source_id, status, severity ON alerts
        WHEN old.source_id IS NOT new.source_id OR old.status IS NOT new.status OR old.severity IS NOT new.severity
      BEGIN
        UPDATE alert_counts SET alerts = alerts - 1
          WHERE source_id = old.source_id AND status = old.status AND severity = old.severity;
        INSERT INTO alert_counts (source_id, status, severity, alerts) VALUES (new.source_id, new.status, new.severity, 1)
          ON CONFLICT (source_id, status, severity) DO UPDATE SET alerts = alerts + 1;
      END;

      CREATE TRIGGER source_counters_quarantine_insert AFTER INSERT ON quarantine BEGIN
        INSERT INTO source_counters (source_id, quarantined) VALUES (new.source_id, 1)
          ON CONFLICT (source_id) DO UPDATE SET quarantined = quarantined + 1;
      END;
      CREATE TRIGGER source_counters_quarantine_delete AFTER DELETE ON quarantine BEGIN
        UPDATE source_counters SET quarantined = quarantined - 1 WHERE source_id = old.source_id;
      END;
      ${RULE_ERROR_COUNT_TRIGGERS}
    `,
  },
  {
    version: 16,
    name: "correlation on event time: matches wait for correlation",
    sql: `
      -- Set in the transaction that stores a match and cleared once correlation rules have looked at it
      -- (src/pipeline/correlations.ts), so a crash in between leaves it pending, never forgotten. The partial
      -- index holds only the pending rows. Matches stored in the last hour before the upgrade are pending too:
      -- the correlation that ran before looked only at the last 30 minutes of the wall clock.
      ALTER TABLE rule_matches ADD COLUMN correlation_pending INTEGER NOT NULL DEFAULT 0;
      UPDATE rule_matches SET correlation_pending = 1
        WHERE created_at_ms > CAST(strftime('%s', 'now') AS INTEGER) * 1000 - 3600000;
      CREATE INDEX rule_matches_correlation_pending ON rule_matches (source_id, seq) WHERE correlation_pending = 1;
    `,
  },
  {
    version: 17,
    name: "inventory snapshots",
    sql: `
      -- Objects are content-addressed per source: an unchanged object is stored once however many snapshots
      -- see it; each snapshot lists (kind, id, project, hash) in its manifest.
      CREATE TABLE posture_objects (
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        kind TEXT NOT NULL,
        object_id TEXT NOT NULL,
        json TEXT NOT NULL,
        first_seen_ms INTEGER NOT NULL,
        PRIMARY KEY (source_id, hash)
      ) WITHOUT ROWID;
      CREATE TABLE posture_snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        taken_at_ms INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        endpoints TEXT NOT NULL,
        manifest_hash TEXT NOT NULL,
        changes TEXT,
        findings TEXT NOT NULL,
        object_count INTEGER NOT NULL,
        new_object_count INTEGER NOT NULL,
        change_count INTEGER,
        finding_count INTEGER NOT NULL
      );
      CREATE INDEX posture_snapshots_newest ON posture_snapshots (source_id, taken_at_ms DESC, id DESC);
      -- Manifests are content-addressed too: an hour in which nothing changed stores one small snapshot row.
      CREATE TABLE posture_manifests (
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        manifest TEXT NOT NULL,
        PRIMARY KEY (source_id, hash)
      ) WITHOUT ROWID;
      -- Snapshots every posture_interval_secs (0: off); on by default, hourly.
      ALTER TABLE sources ADD COLUMN posture_interval_secs INTEGER NOT NULL DEFAULT 3600;
    `,
  },
  {
    version: 18,
    name: "compact events: a sequence number, no stored normalized copy, text indexed after the page",
    rebuildsTables: true,
    sql: `
      -- An event took ~3.8 KB for a ~670-byte record: the normalized copy (rebuilt on read from raw, see
      -- src/pipeline/normalized.ts), an event id in every index entry, and a trigram index of the whole JSON
      -- written inside each page transaction (three quarters of its time). Now:
      -- - seq (AUTOINCREMENT: never reused, so "indexed up to" stays meaningful) is the rowid every index entry
      --   points at; ties in the newest-first order are sorted on the fly, they are a handful of rows;
      -- - event_text indexes only the record's values (not its keys and punctuation), and is written in
      --   batches after the page commits (store/text-index.ts): the page only queues the event's seq in
      --   event_text_pending, and searches scan the few pending events until they are indexed.
      DROP TRIGGER events_text_insert;
      DROP TRIGGER events_text_delete;
      DROP TRIGGER events_text_update;
      DROP TABLE events_text;
      DROP TRIGGER event_counts_insert;
      DROP TRIGGER event_counts_delete;
      DROP TRIGGER event_counts_update;
      CREATE TABLE events_v18 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        effective_at INTEGER NOT NULL,
        actor_type TEXT,
        actor_id TEXT,
        actor_email TEXT,
        ip TEXT,
        project_id TEXT,
        raw TEXT NOT NULL,
        ingested_at_ms INTEGER NOT NULL,
        UNIQUE (source_id, id)
      );
      INSERT INTO events_v18 (source_id, id, type, effective_at, actor_type, actor_id, actor_email, ip, project_id,
          raw, ingested_at_ms)
        SELECT source_id, id, type, effective_at, actor_type, actor_id, actor_email, ip, project_id, raw, ingested_at_ms
        FROM events ORDER BY rowid;
      DROP TABLE events;
      ALTER TABLE events_v18 RENAME TO events;
      CREATE INDEX events_newest ON events (effective_at DESC);
      CREATE INDEX events_by_source ON events (source_id, effective_at DESC);
      CREATE INDEX events_by_type ON events (type, effective_at DESC);
      CREATE INDEX events_by_actor_email ON events (actor_email, effective_at DESC) WHERE actor_email IS NOT NULL;
      CREATE INDEX events_by_actor_id ON events (actor_id, effective_at DESC) WHERE actor_id IS NOT NULL;
      CREATE INDEX events_by_ip ON events (ip, effective_at DESC) WHERE ip IS NOT NULL;
      CREATE INDEX events_by_project ON events (project_id, effective_at DESC) WHERE project_id IS NOT NULL;

      -- The counters of migration 15, on the rebuilt table.
      ${EVENT_COUNT_TRIGGERS}

      CREATE TABLE event_text_pending (seq INTEGER PRIMARY KEY);
      INSERT INTO event_text_pending (seq) SELECT seq FROM events;
      CREATE VIRTUAL TABLE event_text USING fts5(
        body, content='', contentless_delete=1, detail=none, tokenize='trigram'
      );
      CREATE TRIGGER event_text_delete AFTER DELETE ON events BEGIN
        DELETE FROM event_text WHERE rowid = old.seq;
        DELETE FROM event_text_pending WHERE seq = old.seq;
      END;
    `,
  },
  {
    version: 19,
    name: "alert workflow: assignee, comments and assignments in the alert's history",
    sql: `
      -- The console user (username) working an alert; NULL: nobody. A username, not a user id: the history
      -- and the list show it as is, and it stays readable after the user is removed.
      ALTER TABLE alerts ADD COLUMN assignee TEXT;
      CREATE INDEX alerts_by_assignee ON alerts (assignee, created_at_ms DESC);
      -- The list sorted by last change (a status change, an assignment, a new match).
      CREATE INDEX alerts_updated ON alerts (updated_at_ms DESC, id DESC);
      -- What people did to an alert besides status changes (those stay in alert_status_changes):
      -- kind 'assigned' (assignee NULL: unassigned) or 'comment' (body).
      CREATE TABLE alert_activity (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('assigned', 'comment')),
        at_ms INTEGER NOT NULL,
        by TEXT,
        assignee TEXT,
        body TEXT
      );
      CREATE INDEX alert_activity_by_alert ON alert_activity (alert_id, id);
    `,
  },
  {
    version: 20,
    name: "suppressions, the matches they absorbed, and login throttling",
    sql: `
      -- Suppressions (issue 12): "matches like this" of one rule are counted, not alerted, until the expiry
      -- (wall time) or until removed. Removal keeps the row (removed_by/at): who muted what stays on record.
      -- conditions: a JSON object of event fields (actorEmail, actorId, ip, projectId, dedup) to exact values.
      CREATE TABLE suppressions (
        id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        conditions TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER,
        removed_by TEXT,
        removed_at_ms INTEGER,
        match_count INTEGER NOT NULL DEFAULT 0,
        last_match_at_ms INTEGER
      );
      CREATE INDEX suppressions_by_rule ON suppressions (rule_id);
      -- The matches a suppression absorbed, one row per match: a re-applied match (correlation evaluates a
      -- window again) is neither counted twice nor alerted once its suppression is gone.
      CREATE TABLE suppressed_matches (
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        rule_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        is_error INTEGER NOT NULL,
        suppression_id TEXT NOT NULL REFERENCES suppressions(id),
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (source_id, rule_id, event_id, is_error)
      ) WITHOUT ROWID;
      -- Failed logins per client address and per account (src/server/login-throttle.ts): exponential backoff.
      CREATE TABLE login_throttle (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_failure_at_ms INTEGER NOT NULL,
        blocked_until_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX login_throttle_by_age ON login_throttle (last_failure_at_ms);
    `,
  },
  {
    version: 21,
    name: "rule matches: what a rule says the same way for every match is stored once",
    sql: `
      -- A match repeated its rule's description, reference, runbook, tags, reports and settings: about a
      -- kilobyte of a match's 2 KB, for every event a signal rule matched. They move to rule_versions, keyed by a
      -- hash of their content (store/detection-rows.ts); the matches stored before get one version per distinct
      -- content, keyed by the first such match.
      CREATE TABLE rule_versions (
        id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        pack_id TEXT,
        log_type TEXT NOT NULL,
        description TEXT,
        reference TEXT,
        runbook TEXT,
        destinations TEXT,
        dedup_period_minutes REAL NOT NULL,
        threshold INTEGER NOT NULL,
        create_alert INTEGER NOT NULL,
        tags TEXT NOT NULL,
        reports TEXT NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO rule_versions (id, rule_id, pack_id, log_type, description, reference, runbook, destinations, dedup_period_minutes, threshold, create_alert, tags, reports)
        SELECT 'stored-' || min(seq), rule_id, pack_id, log_type, description, reference, runbook, destinations, dedup_period_minutes, threshold, create_alert, tags, reports
        FROM rule_matches GROUP BY rule_id, pack_id, log_type, description, reference, runbook, destinations, dedup_period_minutes, threshold, create_alert, tags, reports;
      ALTER TABLE rule_matches ADD COLUMN rule_version TEXT NOT NULL DEFAULT '';
      UPDATE rule_matches SET rule_version = (SELECT v.id FROM rule_versions v WHERE v.rule_id = rule_matches.rule_id AND v.pack_id IS rule_matches.pack_id AND v.log_type IS rule_matches.log_type AND v.description IS rule_matches.description AND v.reference IS rule_matches.reference AND v.runbook IS rule_matches.runbook AND v.destinations IS rule_matches.destinations AND v.dedup_period_minutes IS rule_matches.dedup_period_minutes AND v.threshold IS rule_matches.threshold AND v.create_alert IS rule_matches.create_alert AND v.tags IS rule_matches.tags AND v.reports IS rule_matches.reports);
      ALTER TABLE rule_matches DROP COLUMN pack_id;
      ALTER TABLE rule_matches DROP COLUMN log_type;
      ALTER TABLE rule_matches DROP COLUMN description;
      ALTER TABLE rule_matches DROP COLUMN reference;
      ALTER TABLE rule_matches DROP COLUMN runbook;
      ALTER TABLE rule_matches DROP COLUMN destinations;
      ALTER TABLE rule_matches DROP COLUMN dedup_period_minutes;
      ALTER TABLE rule_matches DROP COLUMN threshold;
      ALTER TABLE rule_matches DROP COLUMN create_alert;
      ALTER TABLE rule_matches DROP COLUMN tags;
      ALTER TABLE rule_matches DROP COLUMN reports;
    `,
  },
  {
    version: 22,
    name: "saved searches",
    sql: `
      -- Saved searches (issue 12): a name and the search page's filters as a URL query string. Shared by the
      -- team (an analyst hands a view over by its name); created_by says whose it is.
      CREATE TABLE saved_searches (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        query TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL
      );
    `,
  },
  {
    version: 23,
    name: "fleet: workers and leases",
    sql: `
      -- Fleet (issue 14): the workers sharing one database, and a lease per item of work so that each item has
      -- one owner at a time. SQLite runs one process and uses neither; the tables exist so the one store has
      -- the same schema on both databases. Times are the database's clock (ms), never a worker's.
      CREATE TABLE workers (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        version TEXT NOT NULL,
        started_at_ms INTEGER NOT NULL,
        heartbeat_at_ms INTEGER NOT NULL,
        lease_ttl_ms INTEGER NOT NULL,
        stopped_at_ms INTEGER,
        rebalances INTEGER NOT NULL DEFAULT 0,
        incarnation TEXT NOT NULL,
        serving INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        worker_id TEXT NOT NULL,
        acquired_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        generation INTEGER NOT NULL
      );
      CREATE INDEX leases_by_worker ON leases (worker_id);
    `,
  },
  {
    version: 24,
    name: "posture pruning and object history",
    sql: `
      -- When an object stopped being in the newest snapshot (null: it still is): pruning drops the objects no
      -- kept snapshot can reference. An object's versions are found by kind and id (its history).
      ALTER TABLE posture_objects ADD COLUMN released_ms INTEGER;
      CREATE INDEX posture_objects_object ON posture_objects (source_id, kind, object_id);
    `,
  },
  {
    version: 25,
    name: "rule matches keyed by their event's seq",
    rebuildsTables: true,
    sql: `
      -- A match was unique on (source, rule, event id, error flag). Event ids are random, so each page's
      -- matches landed on ~100 different pages of that index: a sixth of the pages a page transaction wrote to
      -- the WAL and fsynced. A match of a stored event (every match a page writes) now names the event's seq,
      -- which grows with each page, and is unique on (event_seq, rule, error flag): its entries are appended.
      -- Matches without a stored event (health alarms, posture, scheduled queries, correlations) and those
      -- stored before keep event_seq NULL and the old key, as a partial unique index.
      CREATE TABLE rule_matches_v23 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        event_id TEXT NOT NULL,
        event_seq INTEGER,
        rule_id TEXT NOT NULL,
        event_time INTEGER NOT NULL,
        is_error INTEGER NOT NULL,
        error_type TEXT,
        error_message TEXT,
        dedup_string TEXT NOT NULL,
        title TEXT NOT NULL,
        severity TEXT NOT NULL,
        alert_context TEXT,
        unique_value TEXT,
        window_id TEXT,
        alert_id TEXT,
        created_at_ms INTEGER NOT NULL,
        correlation_pending INTEGER NOT NULL DEFAULT 0,
        rule_version TEXT NOT NULL DEFAULT ''
      );
      INSERT INTO rule_matches_v23 (seq, source_id, event_id, rule_id, event_time, is_error, error_type, error_message,
          dedup_string, title, severity, alert_context, unique_value, window_id, alert_id, created_at_ms,
          correlation_pending, rule_version)
        SELECT seq, source_id, event_id, rule_id, event_time, is_error, error_type, error_message, dedup_string, title,
          severity, alert_context, unique_value, window_id, alert_id, created_at_ms, correlation_pending, rule_version
        FROM rule_matches ORDER BY seq;
      -- AUTOINCREMENT: seq values stay unused, as before the rebuild.
      UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'rule_matches'), 0))
        WHERE name = 'rule_matches_v23';
      DROP TABLE rule_matches;
      ALTER TABLE rule_matches_v23 RENAME TO rule_matches;
      CREATE UNIQUE INDEX rule_matches_event_key ON rule_matches (event_seq, rule_id, is_error) WHERE event_seq IS NOT NULL;
      CREATE UNIQUE INDEX rule_matches_key ON rule_matches (source_id, rule_id, event_id, is_error) WHERE event_seq IS NULL;
      CREATE INDEX rule_matches_by_time ON rule_matches (source_id, event_time, seq);
      CREATE INDEX rule_matches_by_rule ON rule_matches (rule_id, event_time, seq);
      CREATE INDEX rule_matches_by_alert ON rule_matches (alert_id, event_time, seq) WHERE alert_id IS NOT NULL;
      CREATE INDEX rule_matches_by_window ON rule_matches (window_id) WHERE window_id IS NOT NULL;
      CREATE INDEX rule_matches_correlation_pending ON rule_matches (source_id, seq) WHERE correlation_pending = 1;
      -- The counters of migration 15, on the rebuilt table.
      ${RULE_ERROR_COUNT_TRIGGERS}
    `,
  },
  {
    version: 26,
    name: "event counts added by the store, one statement per page",
    sql: `
      -- The store adds a page's inserted events to event_counts in one statement (store/events.ts
      -- countInsertedEvents); this trigger ran once per inserted row. Deletes and updates still count in triggers.
      DROP TRIGGER event_counts_insert;
    `,
  },
  {
    version: 27,
    name: "alert windows name their representative match",
    rebuildsTables: true,
    sql: `
      -- A window held a JSON copy of its representative match (first_match, ~1 KB: context, title, ...), which
      -- rule_matches also stores (with the window's id); threshold rules store about one window per match. A
      -- window now names that row (first_match_seq, written in the same transaction). Windows stored before
      -- keep their copy, which is still read; exactly one of the two is set. The rebuild makes first_match
      -- nullable (SQLite cannot drop a NOT NULL in place).
      CREATE TABLE alert_windows_v26 (
        id TEXT PRIMARY KEY,
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        rule_id TEXT NOT NULL,
        dedup_string TEXT NOT NULL,
        is_error INTEGER NOT NULL,
        start_secs INTEGER NOT NULL,
        end_secs INTEGER NOT NULL,
        match_count INTEGER NOT NULL,
        unique_values TEXT NOT NULL,
        threshold INTEGER NOT NULL,
        alert_created INTEGER NOT NULL,
        on_grid INTEGER NOT NULL DEFAULT 0,
        valueless_count INTEGER NOT NULL DEFAULT 0,
        first_match TEXT,
        first_match_seq INTEGER,
        CHECK ((first_match IS NULL) <> (first_match_seq IS NULL))
      );
      INSERT INTO alert_windows_v26 (id, source_id, rule_id, dedup_string, is_error, start_secs, end_secs, match_count,
          unique_values, threshold, alert_created, on_grid, valueless_count, first_match)
        SELECT id, source_id, rule_id, dedup_string, is_error, start_secs, end_secs, match_count, unique_values,
          threshold, alert_created, on_grid, valueless_count, first_match
        FROM alert_windows;
      DROP TABLE alert_windows;
      ALTER TABLE alert_windows_v26 RENAME TO alert_windows;
      CREATE INDEX alert_windows_by_key ON alert_windows (source_id, rule_id, dedup_string, is_error, start_secs);
    `,
  },
  {
    version: 28,
    name: "rule matches read by source and rule",
    sql: `
      -- The one reader of matches by time (correlation runs, listMatches) always names the source and the
      -- member rules. rule_matches_by_rule (rule, time) had no source and rule_matches_by_time (source, time) no
      -- rule: the run read either every rule's matches in its span or every source's. One index on (source,
      -- rule, time) serves it exactly, and deleting a source by its prefix; it is smaller than the two.
      DROP INDEX rule_matches_by_rule;
      DROP INDEX rule_matches_by_time;
      CREATE INDEX rule_matches_by_source_rule ON rule_matches (source_id, rule_id, event_time, seq);
    `,
  },
  {
    version: 29,
    name: "the text index answers text of one or two characters",
    sql: `
      -- A record's indexed text now ends in two line ends (text-search.ts: indexedBody), so that every
      -- character of a value begins a trigram, and the index's vocabulary lists the trigrams that begin with a
      -- short text (shortTextLookup); such a text was answered by reading every record. Records indexed before
      -- lack the ends: the index is emptied and every record queued again, for the text indexer to redo in the
      -- background. Searches scan the queued records meanwhile, so none is missed, only slower until then.
      CREATE VIRTUAL TABLE event_text_vocab USING fts5vocab(event_text, row);
      INSERT INTO event_text (event_text) VALUES ('delete-all');
      INSERT INTO event_text_pending (seq) SELECT seq FROM events WHERE true ON CONFLICT DO NOTHING;
    `,
  },
  {
    version: 30,
    name: "events and matches name their source by number",
    rebuildsTables: true,
    sql: `
      -- A source id is 36 characters, and events and rule matches (a row or more per event) repeated it in the
      -- row and in the indexes that lead with it (two on events, three on rule matches): about 200 bytes per
      -- event. They now hold the source's number, a small integer given once per source and never given again
      -- (AUTOINCREMENT), which source_numbers maps to the id. Callers still name sources by id: the store looks
      -- the number up (store/source-numbers.ts).
      CREATE TABLE source_numbers (
        num INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id TEXT NOT NULL UNIQUE REFERENCES sources(id) ON DELETE CASCADE
      );
      INSERT INTO source_numbers (source_id) SELECT id FROM sources ORDER BY created_at_ms, id;

      CREATE TABLE events_v30 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        source_num INTEGER NOT NULL REFERENCES source_numbers(num) ON DELETE CASCADE,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        effective_at INTEGER NOT NULL,
        actor_type TEXT,
        actor_id TEXT,
        actor_email TEXT,
        ip TEXT,
        project_id TEXT,
        raw TEXT NOT NULL,
        ingested_at_ms INTEGER NOT NULL,
        UNIQUE (source_num, id)
      );
      -- seq is kept: the text index and its queue key on it.
      INSERT INTO events_v30 (seq, source_num, id, type, effective_at, actor_type, actor_id, actor_email, ip,
          project_id, raw, ingested_at_ms)
        SELECT e.seq, n.num, e.id, e.type, e.effective_at, e.actor_type, e.actor_id, e.actor_email, e.ip,
          e.project_id, e.raw, e.ingested_at_ms
        FROM events e JOIN source_numbers n ON n.source_id = e.source_id ORDER BY e.seq;
      UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0))
        WHERE name = 'events_v30';
      DROP TABLE events;
      ALTER TABLE events_v30 RENAME TO events;
      CREATE INDEX events_newest ON events (effective_at DESC);
      CREATE INDEX events_by_source ON events (source_num, effective_at DESC);
      CREATE INDEX events_by_type ON events (type, effective_at DESC);
      CREATE INDEX events_by_actor_email ON events (actor_email, effective_at DESC) WHERE actor_email IS NOT NULL;
      CREATE INDEX events_by_actor_id ON events (actor_id, effective_at DESC) WHERE actor_id IS NOT NULL;
      CREATE INDEX events_by_ip ON events (ip, effective_at DESC) WHERE ip IS NOT NULL;
      CREATE INDEX events_by_project ON events (project_id, effective_at DESC) WHERE project_id IS NOT NULL;
      -- The delete and update counters of migration 15 (the store counts inserts: migration 26), and the
      -- text index's cleanup of migration 18, on the rebuilt table.
      CREATE TRIGGER event_counts_delete AFTER DELETE ON events BEGIN
        UPDATE event_counts SET events = events - 1
          WHERE source_id = (SELECT source_id FROM source_numbers WHERE num = old.source_num)
            AND day_secs = (old.effective_at / 86400) * 86400 AND type = old.type;
      END;
      CREATE TRIGGER event_counts_update AFTER UPDATE OF source_num, effective_at, type ON events BEGIN
        UPDATE event_counts SET events = events - 1
          WHERE source_id = (SELECT source_id FROM source_numbers WHERE num = old.source_num)
            AND day_secs = (old.effective_at / 86400) * 86400 AND type = old.type;
        INSERT INTO event_counts (source_id, day_secs, type, events)
          VALUES ((SELECT source_id FROM source_numbers WHERE num = new.source_num),
            (new.effective_at / 86400) * 86400, new.type, 1)
          ON CONFLICT (source_id, day_secs, type) DO UPDATE SET events = events + 1;
      END;
      CREATE TRIGGER event_text_delete AFTER DELETE ON events BEGIN
        DELETE FROM event_text WHERE rowid = old.seq;
        DELETE FROM event_text_pending WHERE seq = old.seq;
      END;

      CREATE TABLE rule_matches_v30 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        source_num INTEGER NOT NULL REFERENCES source_numbers(num) ON DELETE CASCADE,
        event_id TEXT NOT NULL,
        event_seq INTEGER,
        rule_id TEXT NOT NULL,
        event_time INTEGER NOT NULL,
        is_error INTEGER NOT NULL,
        error_type TEXT,
        error_message TEXT,
        dedup_string TEXT NOT NULL,
        title TEXT NOT NULL,
        severity TEXT NOT NULL,
        alert_context TEXT,
        unique_value TEXT,
        window_id TEXT,
        alert_id TEXT,
        created_at_ms INTEGER NOT NULL,
        correlation_pending INTEGER NOT NULL DEFAULT 0,
        rule_version TEXT NOT NULL DEFAULT ''
      );
      INSERT INTO rule_matches_v30 (seq, source_num, event_id, event_seq, rule_id, event_time, is_error, error_type,
          error_message, dedup_string, title, severity, alert_context, unique_value, window_id, alert_id, created_at_ms,
          correlation_pending, rule_version)
        SELECT m.seq, n.num, m.event_id, m.event_seq, m.rule_id, m.event_time, m.is_error, m.error_type,
          m.error_message, m.dedup_string, m.title, m.severity, m.alert_context, m.unique_value, m.window_id, m.alert_id,
          m.created_at_ms, m.correlation_pending, m.rule_version
        FROM rule_matches m JOIN source_numbers n ON n.source_id = m.source_id ORDER BY m.seq;
      UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'rule_matches'), 0))
        WHERE name = 'rule_matches_v30';
      DROP TABLE rule_matches;
      ALTER TABLE rule_matches_v30 RENAME TO rule_matches;
      CREATE UNIQUE INDEX rule_matches_event_key ON rule_matches (event_seq, rule_id, is_error) WHERE event_seq IS NOT NULL;
      CREATE UNIQUE INDEX rule_matches_key ON rule_matches (source_num, rule_id, event_id, is_error) WHERE event_seq IS NULL;
      CREATE INDEX rule_matches_by_source_rule ON rule_matches (source_num, rule_id, event_time, seq);
      CREATE INDEX rule_matches_by_alert ON rule_matches (alert_id, event_time, seq) WHERE alert_id IS NOT NULL;
      CREATE INDEX rule_matches_by_window ON rule_matches (window_id) WHERE window_id IS NOT NULL;
      CREATE INDEX rule_matches_correlation_pending ON rule_matches (source_num, seq) WHERE correlation_pending = 1;
      -- The rule error counters of migration 15, on the rebuilt table.
      CREATE TRIGGER source_counters_rule_error_insert AFTER INSERT ON rule_matches WHEN new.is_error = 1 BEGIN
        INSERT INTO source_counters (source_id, rule_errors)
          VALUES ((SELECT source_id FROM source_numbers WHERE num = new.source_num), 1)
          ON CONFLICT (source_id) DO UPDATE SET rule_errors = rule_errors + 1;
      END;
      CREATE TRIGGER source_counters_rule_error_delete AFTER DELETE ON rule_matches WHEN old.is_error = 1 BEGIN
        UPDATE source_counters SET rule_errors = rule_errors - 1
          WHERE source_id = (SELECT source_id FROM source_numbers WHERE num = old.source_num);
      END;
    `,
  },
  {
    version: 31,
    name: "rule state versions",
    sql: `
      -- Every transaction that changes a source's rule state moves its version by one (no row: version 0), so
      -- a store can keep the state in memory between pages and know when it is no longer current
      -- (store/rule-state-cache.ts). Anything that writes rule_state must move it too.
      CREATE TABLE rule_state_versions (
        source_id TEXT PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
        version INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 32,
    name: "matches name their rule by number",
    sql: `
      -- A rule's id (20-30 characters) was in every match and in the two indexes that hold it: a number names the
      -- rule instead (store/rule-numbers.ts), never given again (AUTOINCREMENT).
      CREATE TABLE rule_numbers (
        num INTEGER PRIMARY KEY AUTOINCREMENT,
        rule_id TEXT NOT NULL UNIQUE
      );
      INSERT INTO rule_numbers (rule_id) SELECT DISTINCT rule_id FROM rule_matches ORDER BY rule_id;
      -- Added with a default (SQLite adds no NOT NULL column without one), set for every row at once; the store
      -- always writes it.
      ALTER TABLE rule_matches ADD COLUMN rule_num INTEGER NOT NULL DEFAULT 0;
      UPDATE rule_matches SET rule_num = (SELECT num FROM rule_numbers n WHERE n.rule_id = rule_matches.rule_id);
      DROP INDEX rule_matches_event_key;
      DROP INDEX rule_matches_key;
      DROP INDEX rule_matches_by_source_rule;
      ALTER TABLE rule_matches DROP COLUMN rule_id;
      CREATE UNIQUE INDEX rule_matches_event_key ON rule_matches (event_seq, rule_num, is_error) WHERE event_seq IS NOT NULL;
      CREATE UNIQUE INDEX rule_matches_key ON rule_matches (source_num, rule_num, event_id, is_error) WHERE event_seq IS NULL;
      CREATE INDEX rule_matches_by_source_rule ON rule_matches (source_num, rule_num, event_time, seq);
    `,
  },
  {
    version: 33,
    name: "alert windows read by id",
    sql: `
      -- A page reads the grid windows its matches fall in by id (store/detections.ts loadWindows), and by span
      -- only the windows stored before the grid (on_grid 0, migration 12): the key index puts on_grid before
      -- start_secs, so that span holds those alone instead of every window of the key's history.
      DROP INDEX alert_windows_by_key;
      CREATE INDEX alert_windows_by_key ON alert_windows (source_id, rule_id, dedup_string, is_error, on_grid, start_secs);
    `,
  },
  {
    version: 34,
    name: "posture snapshots name the snapshot they were compared with",
    sql: `
      -- A snapshot is compared with the source's newest (its changes, its findings' times); two runs at once
      -- (two workers, or "vigil posture" beside "vigil start") compared with the same one, and each stored a
      -- new finding under its own time: two matches of one finding. Each snapshot now names the one it was
      -- compared with (0 for the first), once per source: the second of two such runs is refused whole.
      -- Snapshots stored before name the one before them.
      ALTER TABLE posture_snapshots ADD COLUMN previous_id INTEGER NOT NULL DEFAULT 0;
      UPDATE posture_snapshots SET previous_id = p.previous
        FROM (SELECT id, coalesce(lag(id) OVER (PARTITION BY source_id ORDER BY taken_at_ms, id), 0) AS previous
              FROM posture_snapshots) AS p
        WHERE p.id = posture_snapshots.id;
      CREATE UNIQUE INDEX posture_snapshots_previous ON posture_snapshots (source_id, previous_id);
    `,
  },
  {
    version: 36,
    name: "outbox entries say whether their alert was raised from history when they were written",
    sql: `
      -- (35 is PostgreSQL's alone.) An entry was routed by its alert as it is when routed: a history alert that
      -- live activity joined before its first entry was routed had both entries routed as live, and a live-only
      -- destination got "created" twice. Entries written before say nothing (NULL) and are routed as before.
      ALTER TABLE outbox ADD COLUMN from_history INTEGER;
    `,
  },
  {
    version: 37,
    name: "destinations keep their delivery health; a dead letter can be sent again",
    sql: `
      -- The delivery-failed system alert was raised from what one pass of one worker saw: two passes giving up
      -- at once raised it twice, and a kill after the give-up never raised it. Each attempt now records the
      -- destination's health in its own transaction (failing since when, the latest failure, from which delivery,
      -- whether one was given up; the latest success), and the alert is derived from it
      -- (src/pipeline/delivery-health.ts).
      ALTER TABLE destinations ADD COLUMN failing_since_ms INTEGER;
      ALTER TABLE destinations ADD COLUMN failing_latest_ms INTEGER;
      ALTER TABLE destinations ADD COLUMN failing_delivery_id TEXT;
      ALTER TABLE destinations ADD COLUMN failing_alert_id TEXT;
      ALTER TABLE destinations ADD COLUMN failing_error TEXT;
      ALTER TABLE destinations ADD COLUMN failing_dead INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE destinations ADD COLUMN last_delivered_at_ms INTEGER;
      -- Where a destination's latest attempt failed, it is failing since that attempt. Not as a give-up: one before
      -- the upgrade was alerted (or not) by the older Vigil, and is not announced again.
      UPDATE destinations SET (failing_since_ms, failing_latest_ms, failing_delivery_id, failing_alert_id, failing_error) = (
        SELECT CASE WHEN a.outcome = 'sent' THEN NULL ELSE a.at_ms END,
               CASE WHEN a.outcome = 'sent' THEN NULL ELSE a.at_ms END,
               CASE WHEN a.outcome = 'sent' THEN NULL ELSE d.id END,
               CASE WHEN a.outcome = 'sent' THEN NULL ELSE o.alert_id END,
               CASE WHEN a.outcome = 'sent' THEN NULL ELSE a.error END
        FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN outbox o ON o.id = d.outbox_id
        WHERE d.destination_id = destinations.id
        ORDER BY a.at_ms DESC, a.id DESC LIMIT 1);
      UPDATE destinations SET last_delivered_at_ms = (
        SELECT max(a.at_ms) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
        WHERE d.destination_id = destinations.id AND a.outcome = 'sent');
      -- A delivery is retried for a time from here (NULL: from its creation); sending a dead letter again sets it.
      ALTER TABLE deliveries ADD COLUMN retry_from_ms INTEGER;
      -- Claims in a row whose sender recorded no outcome (it died mid-send): the backstop against a send that
      -- keeps stopping the worker.
      ALTER TABLE deliveries ADD COLUMN unrecorded_claims INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX deliveries_dead ON deliveries (destination_id) WHERE status = 'failed';
    `,
  },
  {
    version: 38,
    name: "a correlation's completions are one per anchor and key",
    sql: `
      -- A correlation completes once per anchor event and key (its dedup string): an anchor whose criteria field
      -- holds two values (an event of two addresses) completes for each. A derived match was unique on its rule
      -- and anchor alone, so the second key's was taken for the first's and never alerted. The dedup string joins
      -- its identity, in rule_matches and in suppressed_matches. Rows suppressed before have no dedup string
      -- (''): they stand for any of their anchor's keys, as they did (store/suppressions.ts).
      DROP INDEX rule_matches_key;
      CREATE UNIQUE INDEX rule_matches_key ON rule_matches (source_num, rule_num, event_id, dedup_string, is_error)
        WHERE event_seq IS NULL;
      CREATE TABLE suppressed_matches_keyed (
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        rule_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        dedup_string TEXT NOT NULL,
        is_error INTEGER NOT NULL,
        suppression_id TEXT NOT NULL REFERENCES suppressions(id),
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (source_id, rule_id, event_id, dedup_string, is_error)
      ) WITHOUT ROWID;
      INSERT INTO suppressed_matches_keyed (source_id, rule_id, event_id, dedup_string, is_error, suppression_id, at_ms)
        SELECT source_id, rule_id, event_id, '', is_error, suppression_id, at_ms FROM suppressed_matches;
      DROP TABLE suppressed_matches;
      ALTER TABLE suppressed_matches_keyed RENAME TO suppressed_matches;
    `,
  },
  {
    version: 39,
    name: "deliveries say when they were given up",
    sql: `
      -- When a dead letter was given up: its last attempt's time says so only until a worker that had lost the
      -- delivery's lease logs its own late attempt. Those given up before are read from their attempts.
      ALTER TABLE deliveries ADD COLUMN failed_at_ms INTEGER;
    `,
  },
  {
    version: 40,
    name: "actor emails are stored in lower case",
    sql: `
      -- The actor email column is what the search filter and suppressions compare, and addresses are compared
      -- without regard to case (core/event.ts, foldEmail): "Joan@Acme.com" was found only as typed. New events
      -- are stored folded; these are the older ones. lower() folds ASCII letters only, as foldEmail does (and
      -- PostgreSQL's under the column's "C" collation). raw keeps the address as it came.
      UPDATE events SET actor_email = lower(actor_email) WHERE actor_email <> lower(actor_email);
    `,
  },
  {
    version: 41,
    name: "scheduled queries remember the last slot they completed",
    sql: `
      -- Per source and scheduled query, the start of the last schedule slot it completed. It was kept in the
      -- worker's memory: a restart ran the current slot again and skipped the ones that fell due while it was
      -- down, as did a failed slot once the next one began (pipeline/scheduled-queries.ts now catches up).
      CREATE TABLE scheduled_query_slots (
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        query TEXT NOT NULL,
        slot_secs INTEGER NOT NULL,
        PRIMARY KEY (source_id, query)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 42,
    name: "alerts of users deleted before are unassigned",
    sql: `
      -- Deleting a user now unassigns its alerts (store/users.ts); the ones deleted before left theirs assigned,
      -- and a new user of the same name would inherit them.
      UPDATE alerts SET assignee = NULL
        WHERE assignee IS NOT NULL AND assignee NOT IN (SELECT username FROM users);
    `,
  },
  {
    version: 43,
    name: "the rest of a poll window that stopped part way, read from its cursor by the next polls",
    sql: `
      -- An OwedWindow as JSON (core/source.ts), written with the page it continues after; NULL when none is owed.
      ALTER TABLE stream_state ADD COLUMN owed_window TEXT;
    `,
  },
];

/**
 * Applies the migrations not yet applied; returns the versions it applied (empty when up to date). `announce` is
 * told of each before it runs on a database that has data (a new one is set up in a moment, and says nothing).
 */
export function runMigrations(
  db: Database.Database,
  nowMs: number,
  migrations = MIGRATIONS,
  announce?: MigrationNotice,
): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at_ms INTEGER NOT NULL
  )`);

  const latestKnown = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const current = db.prepare("SELECT max(version) AS v FROM schema_migrations").get() as { v: number | null };
  if (current.v !== null && current.v > latestKnown) {
    // Running an older Vigil against a newer schema could silently misread data: refuse instead.
    throw new VigilError(
      "storage_schema_too_new",
      `The database schema is at version ${current.v}, but this version of Vigil knows only up to ${latestKnown}; upgrade Vigil.`,
    );
  }

  const isApplied = db.prepare("SELECT 1 FROM schema_migrations WHERE version = ?").pluck();
  const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)");
  const applied: number[] = [];
  // Only what is not applied takes the write lock: opening an up-to-date database beside a busy writer (vigil
  // start) does not wait for its transactions.
  const pending = [...migrations].sort((a, b) => a.version - b.version).filter((m) => !isApplied.get(m.version));
  for (const migration of pending) {
    // Checked again inside the transaction: another process may have applied it since we looked.
    const apply = db.transaction(() => {
      if (isApplied.get(migration.version) !== undefined) return false;
      // Said once the lock is held and the migration is still to do: a process that waited for another's
      // upgrade does not announce what it then skips.
      if (current.v !== null) announce?.(migration);
      db.exec(migration.sql);
      if (migration.rebuildsTables) {
        const broken = db.pragma("foreign_key_check") as unknown[];
        if (broken.length > 0) {
          throw new VigilError(
            "storage_migration",
            `Migration ${migration.version} broke ${broken.length} reference(s).`,
          );
        }
      }
      record.run(migration.version, migration.name, nowMs);
      return true;
    });
    const foreignKeys = migration.rebuildsTables ? (db.pragma("foreign_keys", { simple: true }) as number) : 0;
    if (foreignKeys) db.pragma("foreign_keys = OFF");
    try {
      if (apply.immediate()) applied.push(migration.version);
    } catch (err) {
      throw migrationBusy(err, migration) ?? err;
    } finally {
      if (foreignKeys) db.pragma("foreign_keys = ON");
    }
  }
  return applied;
}

/**
 * The busy timeout reached while a migration waited for the write lock: most likely another Vigil process is
 * applying it to a large database. Said so, instead of the generic "locked by another process".
 */
function migrationBusy(err: unknown, migration: Migration): VigilError | null {
  const code = (err as { code?: unknown }).code;
  if (!(err instanceof Database.SqliteError) || typeof code !== "string" || !code.startsWith("SQLITE_BUSY"))
    return null;
  return new VigilError(
    "storage_busy",
    `The database needs upgrading (migration ${migration.version}: ${migration.name}), and another process held its write lock past the busy timeout; if another Vigil is upgrading it, which takes minutes on a large database, wait until that one is running, then try again.`,
    { retryable: true, cause: err },
  );
}
