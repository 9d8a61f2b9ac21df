// Versioned schema migrations for the PostgreSQL store.
//
// Many Vigil workers may start at once against one database. Each migration runs in its own transaction
// that first takes a transaction-scoped advisory lock (keyed by the schema), then checks
// `schema_migrations`, applies the migration and records it: workers that start together queue on the lock,
// and each later one sees the row and skips. PostgreSQL's DDL is transactional, so a crash mid-migration
// leaves the previous version intact. Migrations are append-only: never edit one that has shipped.
//
// The schema mirrors the SQLite one (same tables, columns and indexes) with PostgreSQL types: bigint for
// every time and counter, boolean for flags, identity columns for the serial ids. Identifier-like text
// columns use COLLATE "C" so that ordering (newest first, ties by id) is bytewise as in SQLite whatever the
// database's locale; `raw` keeps the database collation so ILIKE folds case by the locale's rules.

import type pg from "pg";
import { VigilError } from "../../core/errors.ts";
import type { MigrationNotice } from "../store/dialect.ts";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema",
    sql: `
      CREATE TABLE sources (
        id text COLLATE "C" PRIMARY KEY,
        name text COLLATE "C" NOT NULL UNIQUE,
        kind text NOT NULL,
        base_url text,
        poll_interval_secs integer NOT NULL,
        overlap_secs integer NOT NULL,
        sweep_window_secs integer NOT NULL,
        sweep_interval_secs integer NOT NULL,
        include_tenant_events boolean NOT NULL,
        backfill_days integer NOT NULL,
        enabled boolean NOT NULL,
        encrypted_secret text NOT NULL,
        created_at_ms bigint NOT NULL
      );

      CREATE TABLE stream_state (
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        stream text NOT NULL CHECK (stream IN ('main', 'tenant')),
        checkpoint_secs bigint,
        last_sweep_secs bigint,
        PRIMARY KEY (source_id, stream)
      );

      CREATE TABLE poll_status (
        source_id text COLLATE "C" PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
        last_poll_started_ms bigint,
        last_poll_finished_ms bigint,
        last_success_ms bigint,
        last_error text,
        last_error_code text,
        last_event_stored_ms bigint,
        consecutive_failures integer NOT NULL DEFAULT 0
      );

      -- Event ids are unique per source only: two organizations may (in tests, do) share ids.
      -- raw is text, never jsonb: jsonb would reorder keys and drop whitespace, and raw must round-trip.
      CREATE TABLE events (
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        id text COLLATE "C" NOT NULL,
        type text COLLATE "C" NOT NULL,
        effective_at bigint NOT NULL,
        actor_type text,
        actor_id text COLLATE "C",
        actor_email text COLLATE "C",
        ip text COLLATE "C",
        project_id text COLLATE "C",
        raw text NOT NULL,
        normalized text,
        ingested_at_ms bigint NOT NULL,
        PRIMARY KEY (source_id, id)
      );
      -- One index per EventQuery filter, each ending in the newest-first order so that a filtered search
      -- reads its rows already sorted; nullable columns get partial indexes (an equality filter implies
      -- NOT NULL). The same set as the SQLite store.
      CREATE INDEX events_newest ON events (effective_at DESC, id DESC);
      CREATE INDEX events_by_type ON events (type, effective_at DESC, id DESC);
      CREATE INDEX events_by_actor_email ON events (actor_email, effective_at DESC, id DESC)
        WHERE actor_email IS NOT NULL;
      CREATE INDEX events_by_actor_id ON events (actor_id, effective_at DESC, id DESC)
        WHERE actor_id IS NOT NULL;
      CREATE INDEX events_by_ip ON events (ip, effective_at DESC, id DESC) WHERE ip IS NOT NULL;
      CREATE INDEX events_by_project ON events (project_id, effective_at DESC, id DESC)
        WHERE project_id IS NOT NULL;

      -- Every overlapping poll re-reads the same bad record: stored once per (source, sha256(raw)).
      CREATE TABLE quarantine (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        event_id text,
        reason text NOT NULL,
        issues text NOT NULL,
        raw text NOT NULL,
        raw_sha256 text NOT NULL,
        received_at_ms bigint NOT NULL,
        last_seen_ms bigint NOT NULL,
        sightings integer NOT NULL DEFAULT 1,
        UNIQUE (source_id, raw_sha256)
      );

      CREATE TABLE unknown_event_types (
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        type text COLLATE "C" NOT NULL,
        first_seen_ms bigint NOT NULL,
        PRIMARY KEY (source_id, type)
      );

      CREATE TABLE backfill_jobs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        stream text NOT NULL CHECK (stream IN ('main', 'tenant')),
        since_secs bigint NOT NULL,
        until_secs bigint NOT NULL,
        created_at_ms bigint NOT NULL,
        done boolean NOT NULL DEFAULT false
      );
      CREATE INDEX backfill_jobs_by_source ON backfill_jobs (source_id, id);

      CREATE TABLE backfill_slices (
        job_id bigint NOT NULL REFERENCES backfill_jobs(id) ON DELETE CASCADE,
        slice_index integer NOT NULL,
        start_secs bigint NOT NULL,
        end_secs bigint NOT NULL,
        upper_bound_secs bigint NOT NULL,
        done boolean NOT NULL DEFAULT false,
        events_read bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (job_id, slice_index)
      );
    `,
  },
  {
    version: 2,
    name: "detections: signals, alert windows, alerts, rule state, settings",
    sql: `
      -- Every match and rule error of an inserted event (the signals). One row per (source, rule, event,
      -- error flag): applying the same match twice is a no-op. seq keeps the processing order.
      CREATE TABLE rule_matches (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        event_id text COLLATE "C" NOT NULL,
        rule_id text COLLATE "C" NOT NULL,
        pack_id text COLLATE "C",
        log_type text NOT NULL,
        event_time bigint NOT NULL,
        is_error boolean NOT NULL,
        error_type text,
        error_message text,
        dedup_string text COLLATE "C" NOT NULL,
        title text NOT NULL,
        severity text NOT NULL,
        alert_context text,
        description text,
        reference text,
        runbook text,
        destinations text,
        unique_value text,
        dedup_period_minutes double precision NOT NULL,
        threshold integer NOT NULL,
        create_alert boolean NOT NULL,
        tags text NOT NULL,
        reports text NOT NULL,
        window_id text COLLATE "C",
        alert_id text COLLATE "C",
        created_at_ms bigint NOT NULL,
        UNIQUE (source_id, rule_id, event_id, is_error)
      );
      CREATE INDEX rule_matches_by_time ON rule_matches (source_id, event_time, seq);
      CREATE INDEX rule_matches_by_rule ON rule_matches (rule_id, event_time, seq);
      CREATE INDEX rule_matches_by_alert ON rule_matches (alert_id, event_time, seq) WHERE alert_id IS NOT NULL;
      CREATE INDEX rule_matches_by_window ON rule_matches (window_id) WHERE window_id IS NOT NULL;

      -- Alert grouping state (src/alerts/windows.ts); the id is also the id of the window's alert.
      CREATE TABLE alert_windows (
        id text COLLATE "C" PRIMARY KEY,
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        rule_id text COLLATE "C" NOT NULL,
        dedup_string text COLLATE "C" NOT NULL,
        is_error boolean NOT NULL,
        start_secs bigint NOT NULL,
        end_secs bigint NOT NULL,
        match_count integer NOT NULL,
        unique_values text NOT NULL,
        threshold integer NOT NULL,
        counts_unique boolean NOT NULL,
        alert_created boolean NOT NULL,
        first_match text NOT NULL
      );
      CREATE INDEX alert_windows_by_key ON alert_windows (source_id, rule_id, dedup_string, is_error, start_secs);

      CREATE TABLE alerts (
        id text COLLATE "C" PRIMARY KEY,
        rule_id text COLLATE "C" NOT NULL,
        pack_id text COLLATE "C",
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        dedup_string text COLLATE "C" NOT NULL,
        is_error boolean NOT NULL,
        title text NOT NULL,
        severity text NOT NULL,
        status text NOT NULL CHECK (status IN ('OPEN', 'TRIAGED', 'CLOSED', 'RESOLVED')),
        alert_context text,
        description text,
        reference text,
        runbook text,
        destinations text,
        window_start_secs bigint NOT NULL,
        window_end_secs bigint NOT NULL,
        match_count integer NOT NULL,
        created_at_ms bigint NOT NULL,
        updated_at_ms bigint NOT NULL
      );
      CREATE INDEX alerts_newest ON alerts (created_at_ms DESC, window_start_secs DESC, id DESC);
      CREATE INDEX alerts_by_status ON alerts (status, created_at_ms DESC);
      CREATE INDEX alerts_by_rule ON alerts (rule_id, created_at_ms DESC);

      CREATE TABLE alert_status_changes (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        alert_id text COLLATE "C" NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        from_status text,
        to_status text NOT NULL,
        at_ms bigint NOT NULL
      );
      CREATE INDEX alert_status_changes_by_alert ON alert_status_changes (alert_id, id);

      CREATE TABLE rule_state (
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        rule_id text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        value text,
        counter double precision NOT NULL DEFAULT 0,
        members text NOT NULL DEFAULT '[]',
        expires_at_secs bigint,
        PRIMARY KEY (source_id, rule_id, key)
      );
      CREATE INDEX rule_state_expiry ON rule_state (expires_at_secs) WHERE expires_at_secs IS NOT NULL;

      -- source_id NULL: a global setting. NULLs are distinct in a UNIQUE constraint, hence the expression.
      CREATE TABLE detection_settings (
        kind text NOT NULL CHECK (kind IN ('rule', 'pack')),
        id text COLLATE "C" NOT NULL,
        source_id text COLLATE "C" REFERENCES sources(id) ON DELETE CASCADE,
        enabled boolean NOT NULL
      );
      CREATE UNIQUE INDEX detection_settings_key ON detection_settings (kind, id, (coalesce(source_id, '')));
    `,
  },
  {
    version: 3,
    name: "backfill slices remember their page cursor",
    sql: `
      -- The after= cursor of the last stored page: a resumed slice continues with exactly the pages a
      -- run without interruption would have read (same boundaries, so detection sees the same order).
      ALTER TABLE backfill_slices ADD COLUMN cursor text COLLATE "C";
    `,
  },
  {
    version: 4,
    name: "delivery: destinations, outbox, deliveries; source no-data alarm settings",
    sql: `
      -- Panther's "Trigger an alert when no events are processed": on by default, 24 hours.
      ALTER TABLE sources ADD COLUMN no_data_alert_enabled boolean NOT NULL DEFAULT true;
      ALTER TABLE sources ADD COLUMN no_data_alert_secs bigint NOT NULL DEFAULT 86400;

      -- config_ciphertext is the SecretBox ciphertext of the type-specific JSON config (webhook URLs,
      -- tokens, passwords): the store never sees it in clear.
      CREATE TABLE destinations (
        id text COLLATE "C" PRIMARY KEY,
        name text COLLATE "C" NOT NULL UNIQUE,
        type text NOT NULL,
        min_severity text NOT NULL,
        log_types text NOT NULL DEFAULT '[]',
        config_ciphertext text NOT NULL,
        created_at_ms bigint NOT NULL,
        updated_at_ms bigint NOT NULL
      );

      -- One row per notification to send, written in the transaction that created (or resolved) the alert,
      -- so that an alert can never exist without its notification. routed_at_ms: fanned out to deliveries.
      CREATE TABLE outbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        alert_id text COLLATE "C" NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('created', 'resolved')),
        created_at_ms bigint NOT NULL,
        routed_at_ms bigint
      );
      CREATE INDEX outbox_unrouted ON outbox (id) WHERE routed_at_ms IS NULL;
      CREATE INDEX outbox_by_alert ON outbox (alert_id);

      -- One row per (notification, destination). No foreign key to destinations: removing a destination
      -- must keep the delivery log of past alerts. The id is the stable delivery id receivers dedup on.
      CREATE TABLE deliveries (
        id text COLLATE "C" PRIMARY KEY,
        outbox_id bigint NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
        destination_id text NOT NULL,
        destination_name text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        attempts bigint NOT NULL DEFAULT 0,
        next_attempt_at_ms bigint NOT NULL,
        lease_until_ms bigint,
        lease_token text,
        last_error text,
        delivered_at_ms bigint,
        created_at_ms bigint NOT NULL,
        UNIQUE (outbox_id, destination_id)
      );
      CREATE INDEX deliveries_due ON deliveries (next_attempt_at_ms) WHERE status = 'pending';

      CREATE TABLE delivery_attempts (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        delivery_id text COLLATE "C" NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
        attempt bigint NOT NULL,
        at_ms bigint NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed')),
        status_code bigint,
        error text,
        duration_ms bigint NOT NULL
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
        id text PRIMARY KEY,
        username text NOT NULL UNIQUE,
        password_hash text NOT NULL,
        created_at_ms bigint NOT NULL
      );
      -- Only the sha256 of a session cookie or API token is stored.
      CREATE TABLE sessions (
        token_hash text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        csrf text NOT NULL,
        created_at_ms bigint NOT NULL,
        expires_at_ms bigint NOT NULL
      );
      CREATE INDEX sessions_by_expiry ON sessions (expires_at_ms);
      CREATE TABLE api_tokens (
        id text PRIMARY KEY,
        name text COLLATE "C" NOT NULL UNIQUE,
        token_hash text NOT NULL UNIQUE,
        created_at_ms bigint NOT NULL,
        last_used_at_ms bigint
      );
    `,
  },
  {
    // Independent of version 7: the migrator applies each missing version on its own.
    version: 6,
    name: "alert lifecycle: ACKNOWLEDGED status, who changed a status",
    sql: `
      ALTER TABLE alerts DROP CONSTRAINT IF EXISTS alerts_status_check;
      ALTER TABLE alerts ADD CONSTRAINT alerts_status_check
        CHECK (status IN ('OPEN', 'ACKNOWLEDGED', 'TRIAGED', 'CLOSED', 'RESOLVED'));
      -- Who made the change (cli:<os user>, user:<name>, token:<name>, system:<component>); NULL before.
      ALTER TABLE alert_status_changes ADD COLUMN IF NOT EXISTS changed_by text;
    `,
  },
  {
    // Independent of version 6: the migrator applies each missing version on its own.
    version: 7,
    name: "source health: poll failure alarm threshold",
    sql: `
      ALTER TABLE sources ADD COLUMN poll_failure_alert_secs bigint NOT NULL DEFAULT 3600;
    `,
  },
  {
    version: 8,
    name: "event search: per-source newest-first index",
    sql: `
      CREATE INDEX IF NOT EXISTS events_by_source ON events (source_id, effective_at DESC, id DESC);
    `,
  },
  {
    version: 9,
    name: "event search: trigram index of raw records",
    sql: `
      -- Free text is raw ILIKE '%text%', a scan of every record without an index. pg_trgm's GIN index
      -- answers it (the planner uses it by itself, no query change). The extension is database-wide, so it
      -- goes to public (under a database-wide lock) and the index names it by schema; a server without
      -- pg_trgm, or a role that may not create it, keeps working with scans, and says so.
      DO $$
      DECLARE
        ext_schema name;
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('vigil:pg_trgm'));
        SELECT n.nspname INTO ext_schema
          FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
          WHERE e.extname = 'pg_trgm';
        IF ext_schema IS NULL THEN
          BEGIN
            CREATE EXTENSION pg_trgm WITH SCHEMA public;
            ext_schema := 'public';
          EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'Vigil: pg_trgm could not be installed (%); free-text event search will scan', SQLERRM;
            RETURN;
          END;
        END IF;
        EXECUTE format('CREATE INDEX IF NOT EXISTS events_raw_trgm ON events USING gin (raw %I.gin_trgm_ops)',
          ext_schema);
      END $$;
    `,
  },
  {
    version: 10,
    name: "destinations: owner (config file or not)",
    sql: `
      ALTER TABLE destinations ADD COLUMN managed_by text CHECK (managed_by IN ('config'));
    `,
  },
  {
    version: 11,
    name: "users: role (admin or analyst)",
    sql: `
      -- Users made before roles existed could do everything: they stay admins.
      ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'analyst'));
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
      ALTER TABLE alert_windows ADD COLUMN on_grid boolean NOT NULL DEFAULT false;
      ALTER TABLE alert_windows ADD COLUMN valueless_count integer NOT NULL DEFAULT 0;
      UPDATE alert_windows SET valueless_count = match_count WHERE counts_unique = false;
      ALTER TABLE alert_windows DROP COLUMN counts_unique;
    `,
  },
  {
    version: 13,
    name: "api tokens: expiry",
    sql: `
      -- Tokens made before expiries existed get 90 days (the default VIGIL_TOKEN_TTL_DAYS) from this
      -- migration: long enough to replace them, and none stops working the moment Vigil is upgraded.
      ALTER TABLE api_tokens ADD COLUMN expires_at_ms bigint;
      UPDATE api_tokens SET expires_at_ms = (extract(epoch FROM now()) * 1000)::bigint + 90 * 86400000::bigint;
      ALTER TABLE api_tokens ALTER COLUMN expires_at_ms SET NOT NULL;
    `,
  },
  {
    version: 14,
    name: "alerts: raised from history",
    sql: `
      -- Alerts raised by a backfill page (history): shown and counted as such, and not sent to destinations
      -- unless they ask for history. Alerts from before this version were all treated as live.
      ALTER TABLE alerts ADD COLUMN from_history boolean NOT NULL DEFAULT false;
      CREATE INDEX alerts_from_history ON alerts (status, created_at_ms) WHERE from_history = true;
    `,
  },
  {
    version: 15,
    name: "overview counters: events per day and type, alerts per status and severity, problems per source",
    sql: `
      -- The same counters as the SQLite store (see its migration 15), kept by triggers in the writer's
      -- transaction. Events and rule errors are counted per statement from its transition table (only the
      -- rows the statement really inserted: ON CONFLICT DO NOTHING leaves re-read events out), one upsert
      -- per (source, day, type) in key order, so two workers writing pages lock counter rows in the same
      -- order, after their event rows. SET search_path FROM CURRENT: the functions find this schema's tables
      -- whoever fires them.
      CREATE TABLE event_counts (
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        day_secs bigint NOT NULL,
        type text COLLATE "C" NOT NULL,
        events bigint NOT NULL,
        PRIMARY KEY (source_id, day_secs, type)
      );
      CREATE INDEX event_counts_by_day ON event_counts (day_secs, type, events);
      CREATE TABLE alert_counts (
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        status text NOT NULL,
        severity text NOT NULL,
        alerts bigint NOT NULL,
        PRIMARY KEY (source_id, status, severity)
      );
      CREATE TABLE source_counters (
        source_id text COLLATE "C" PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
        quarantined bigint NOT NULL DEFAULT 0,
        rule_errors bigint NOT NULL DEFAULT 0
      );

      INSERT INTO event_counts (source_id, day_secs, type, events)
        SELECT source_id, (effective_at / 86400) * 86400, type, count(*) FROM events GROUP BY 1, 2, 3;
      INSERT INTO alert_counts (source_id, status, severity, alerts)
        SELECT source_id, status, severity, count(*) FROM alerts GROUP BY 1, 2, 3;
      INSERT INTO source_counters (source_id, quarantined, rule_errors)
        SELECT s.id,
          (SELECT count(*) FROM quarantine q WHERE q.source_id = s.id),
          (SELECT count(*) FROM rule_matches m WHERE m.source_id = s.id AND m.is_error)
        FROM sources s;

      CREATE FUNCTION vigil_event_counts_add() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO event_counts (source_id, day_secs, type, events)
          SELECT source_id, (effective_at / 86400) * 86400, type, count(*) FROM changed_events
          GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
          ON CONFLICT (source_id, day_secs, type) DO UPDATE SET events = event_counts.events + excluded.events;
        RETURN NULL;
      END $$;
      CREATE FUNCTION vigil_event_counts_remove() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        UPDATE event_counts c SET events = c.events - d.n
          FROM (SELECT source_id, (effective_at / 86400) * 86400 AS day_secs, type, count(*) AS n
                FROM changed_events GROUP BY 1, 2, 3) d
          WHERE c.source_id = d.source_id AND c.day_secs = d.day_secs AND c.type = d.type;
        RETURN NULL;
      END $$;
      CREATE TRIGGER event_counts_insert AFTER INSERT ON events REFERENCING NEW TABLE AS changed_events
        FOR EACH STATEMENT EXECUTE FUNCTION vigil_event_counts_add();
      CREATE TRIGGER event_counts_delete AFTER DELETE ON events REFERENCING OLD TABLE AS changed_events
        FOR EACH STATEMENT EXECUTE FUNCTION vigil_event_counts_remove();

      CREATE FUNCTION vigil_alert_counts() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
          UPDATE alert_counts SET alerts = alerts - 1
            WHERE source_id = OLD.source_id AND status = OLD.status AND severity = OLD.severity;
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
          INSERT INTO alert_counts (source_id, status, severity, alerts) VALUES (NEW.source_id, NEW.status, NEW.severity, 1)
            ON CONFLICT (source_id, status, severity) DO UPDATE SET alerts = alert_counts.alerts + 1;
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER alert_counts_insert_delete AFTER INSERT OR DELETE ON alerts
        FOR EACH ROW EXECUTE FUNCTION vigil_alert_counts();
      CREATE TRIGGER alert_counts_update AFTER UPDATE OF source_id, status, severity ON alerts FOR EACH ROW
        WHEN (OLD.source_id IS DISTINCT FROM NEW.source_id OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.severity IS DISTINCT FROM NEW.severity)
        EXECUTE FUNCTION vigil_alert_counts();

      CREATE FUNCTION vigil_quarantine_counts() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO source_counters (source_id, quarantined) VALUES (NEW.source_id, 1)
            ON CONFLICT (source_id) DO UPDATE SET quarantined = source_counters.quarantined + 1;
        ELSE
          UPDATE source_counters SET quarantined = quarantined - 1 WHERE source_id = OLD.source_id;
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER source_counters_quarantine AFTER INSERT OR DELETE ON quarantine
        FOR EACH ROW EXECUTE FUNCTION vigil_quarantine_counts();

      CREATE FUNCTION vigil_rule_error_counts_add() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO source_counters (source_id, rule_errors)
          SELECT source_id, count(*) FROM changed_matches WHERE is_error GROUP BY 1 ORDER BY 1
          ON CONFLICT (source_id) DO UPDATE SET rule_errors = source_counters.rule_errors + excluded.rule_errors;
        RETURN NULL;
      END $$;
      CREATE FUNCTION vigil_rule_error_counts_remove() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        UPDATE source_counters c SET rule_errors = c.rule_errors - d.n
          FROM (SELECT source_id, count(*) AS n FROM changed_matches WHERE is_error GROUP BY 1) d
          WHERE c.source_id = d.source_id;
        RETURN NULL;
      END $$;
      CREATE TRIGGER source_counters_rule_errors_insert AFTER INSERT ON rule_matches
        REFERENCING NEW TABLE AS changed_matches FOR EACH STATEMENT EXECUTE FUNCTION vigil_rule_error_counts_add();
      CREATE TRIGGER source_counters_rule_errors_delete AFTER DELETE ON rule_matches
        REFERENCING OLD TABLE AS changed_matches FOR EACH STATEMENT EXECUTE FUNCTION vigil_rule_error_counts_remove();
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
      ALTER TABLE rule_matches ADD COLUMN correlation_pending boolean NOT NULL DEFAULT false;
      UPDATE rule_matches SET correlation_pending = true
        WHERE created_at_ms > (extract(epoch FROM now()) * 1000)::bigint - 3600000;
      CREATE INDEX rule_matches_correlation_pending ON rule_matches (source_id, seq) WHERE correlation_pending;
    `,
  },
  {
    version: 17,
    name: "inventory snapshots",
    sql: `
      -- See the SQLite migration 14: objects content-addressed per source, one manifest per snapshot.
      CREATE TABLE posture_objects (
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        hash text COLLATE "C" NOT NULL,
        kind text COLLATE "C" NOT NULL,
        object_id text COLLATE "C" NOT NULL,
        json text NOT NULL,
        first_seen_ms bigint NOT NULL,
        PRIMARY KEY (source_id, hash)
      );
      CREATE TABLE posture_snapshots (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        taken_at_ms bigint NOT NULL,
        duration_ms bigint NOT NULL,
        requests bigint NOT NULL,
        endpoints text NOT NULL,
        manifest_hash text COLLATE "C" NOT NULL,
        changes text,
        findings text NOT NULL,
        object_count bigint NOT NULL,
        new_object_count bigint NOT NULL,
        change_count bigint,
        finding_count bigint NOT NULL
      );
      CREATE INDEX posture_snapshots_newest ON posture_snapshots (source_id, taken_at_ms DESC, id DESC);
      CREATE TABLE posture_manifests (
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        hash text COLLATE "C" NOT NULL,
        manifest text NOT NULL,
        PRIMARY KEY (source_id, hash)
      );
      ALTER TABLE sources ADD COLUMN posture_interval_secs bigint NOT NULL DEFAULT 3600;
    `,
  },
  {
    version: 18,
    name: "compact events: a sequence number, no stored normalized copy, text indexed after the page",
    sql: `
      -- See the SQLite store's migration 18: the normalized copy goes (rebuilt on read), indexes stop
      -- carrying the event id (ties are sorted on the fly), and free text is indexed from the record's values
      -- in batches after the page commits, off the page transaction. seq is what the text index keys on.
      DROP INDEX IF EXISTS events_raw_trgm;
      ALTER TABLE events DROP COLUMN normalized;
      ALTER TABLE events ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE;
      DROP INDEX events_newest;
      DROP INDEX events_by_type;
      DROP INDEX events_by_actor_email;
      DROP INDEX events_by_actor_id;
      DROP INDEX events_by_ip;
      DROP INDEX events_by_project;
      DROP INDEX events_by_source;
      CREATE INDEX events_newest ON events (effective_at DESC);
      CREATE INDEX events_by_source ON events (source_id, effective_at DESC);
      CREATE INDEX events_by_type ON events (type, effective_at DESC);
      CREATE INDEX events_by_actor_email ON events (actor_email, effective_at DESC) WHERE actor_email IS NOT NULL;
      CREATE INDEX events_by_actor_id ON events (actor_id, effective_at DESC) WHERE actor_id IS NOT NULL;
      CREATE INDEX events_by_ip ON events (ip, effective_at DESC) WHERE ip IS NOT NULL;
      CREATE INDEX events_by_project ON events (project_id, effective_at DESC) WHERE project_id IS NOT NULL;

      -- No foreign keys to events: the indexer and a source removal would lock the same rows in opposite
      -- orders. A row whose event is gone matches nothing (searches join events), and removeSource deletes them.
      CREATE TABLE event_text_pending (seq bigint PRIMARY KEY);
      INSERT INTO event_text_pending (seq) SELECT seq FROM events;
      CREATE TABLE event_text (
        seq bigint PRIMARY KEY,
        body text NOT NULL
      );
      -- Free text in one of a record's values (a string, number or boolean, unescaped), for the events not yet
      -- in event_text; a record that is not JSON is matched on its text.
      CREATE FUNCTION vigil_value_contains(raw text, pattern text) RETURNS boolean
        LANGUAGE plpgsql IMMUTABLE AS $$
      BEGIN
        RETURN EXISTS (
          SELECT 1 FROM jsonb_path_query(raw::jsonb, 'strict $.**') AS v(value)
          WHERE jsonb_typeof(v.value) IN ('string', 'number', 'boolean') AND v.value #>> '{}' ILIKE pattern ESCAPE '\\');
      EXCEPTION WHEN invalid_text_representation THEN
        RETURN raw ILIKE pattern ESCAPE '\\';
      END $$;
      -- As in migration 9: pg_trgm answers ILIKE from the index; without it, searches scan (and say so once).
      DO $$
      DECLARE
        ext_schema name;
      BEGIN
        SELECT n.nspname INTO ext_schema
          FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
          WHERE e.extname = 'pg_trgm';
        IF ext_schema IS NOT NULL THEN
          EXECUTE format('CREATE INDEX event_text_trgm ON event_text USING gin (body %I.gin_trgm_ops)', ext_schema);
        END IF;
      END $$;
    `,
  },
  {
    version: 19,
    name: "alert workflow: assignee, comments and assignments in the alert's history",
    sql: `
      -- See the SQLite store's migration 19.
      ALTER TABLE alerts ADD COLUMN assignee text COLLATE "C";
      CREATE INDEX alerts_by_assignee ON alerts (assignee, created_at_ms DESC);
      CREATE INDEX alerts_updated ON alerts (updated_at_ms DESC, id DESC);
      CREATE TABLE alert_activity (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        alert_id text COLLATE "C" NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('assigned', 'comment')),
        at_ms bigint NOT NULL,
        by text COLLATE "C",
        assignee text COLLATE "C",
        body text
      );
      CREATE INDEX alert_activity_by_alert ON alert_activity (alert_id, id);
    `,
  },
  {
    version: 20,
    name: "suppressions, the matches they absorbed, and login throttling",
    sql: `
      -- See the SQLite store's migration 19.
      -- Suppressions (issue 12): "matches like this" of one rule are counted, not alerted, until the expiry
      -- (wall time) or until removed. Removal keeps the row (removed_by/at): who muted what stays on record.
      -- conditions: a JSON object of event fields (actorEmail, actorId, ip, projectId, dedup) to exact values.
      CREATE TABLE suppressions (
        id text COLLATE "C" PRIMARY KEY,
        rule_id text COLLATE "C" NOT NULL,
        conditions text COLLATE "C" NOT NULL,
        reason text COLLATE "C" NOT NULL,
        created_by text COLLATE "C" NOT NULL,
        created_at_ms bigint NOT NULL,
        expires_at_ms bigint,
        removed_by text COLLATE "C",
        removed_at_ms bigint,
        match_count bigint NOT NULL DEFAULT 0,
        last_match_at_ms bigint
      );
      CREATE INDEX suppressions_by_rule ON suppressions (rule_id);
      -- The matches a suppression absorbed, one row per match: a re-applied match (correlation evaluates a
      -- window again) is neither counted twice nor alerted once its suppression is gone.
      CREATE TABLE suppressed_matches (
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        rule_id text COLLATE "C" NOT NULL,
        event_id text COLLATE "C" NOT NULL,
        is_error boolean NOT NULL,
        suppression_id text COLLATE "C" NOT NULL REFERENCES suppressions(id),
        at_ms bigint NOT NULL,
        PRIMARY KEY (source_id, rule_id, event_id, is_error)
      );
      -- Failed logins per client address and per account (src/server/login-throttle.ts): exponential backoff.
      CREATE TABLE login_throttle (
        key text COLLATE "C" PRIMARY KEY,
        failures bigint NOT NULL,
        last_failure_at_ms bigint NOT NULL,
        blocked_until_ms bigint NOT NULL
      );
      CREATE INDEX login_throttle_by_age ON login_throttle (last_failure_at_ms);
    `,
  },
  {
    version: 21,
    name: "rule matches: what a rule says the same way for every match is stored once",
    sql: `
      -- See the SQLite store's migration 21.
      CREATE TABLE rule_versions (
        id text COLLATE "C" PRIMARY KEY,
        rule_id text COLLATE "C" NOT NULL,
        pack_id text COLLATE "C",
        log_type text COLLATE "C" NOT NULL,
        description text,
        reference text,
        runbook text,
        destinations text,
        dedup_period_minutes double precision NOT NULL,
        threshold integer NOT NULL,
        create_alert boolean NOT NULL,
        tags text NOT NULL,
        reports text NOT NULL
      );
      INSERT INTO rule_versions (id, rule_id, pack_id, log_type, description, reference, runbook, destinations, dedup_period_minutes, threshold, create_alert, tags, reports)
        SELECT 'stored-' || min(seq), rule_id, pack_id, log_type, description, reference, runbook, destinations, dedup_period_minutes, threshold, create_alert, tags, reports
        FROM rule_matches GROUP BY rule_id, pack_id, log_type, description, reference, runbook, destinations, dedup_period_minutes, threshold, create_alert, tags, reports;
      ALTER TABLE rule_matches ADD COLUMN rule_version text COLLATE "C" NOT NULL DEFAULT '';
      UPDATE rule_matches m SET rule_version = v.id FROM rule_versions v WHERE v.rule_id = m.rule_id AND v.pack_id IS NOT DISTINCT FROM m.pack_id AND v.log_type IS NOT DISTINCT FROM m.log_type AND v.description IS NOT DISTINCT FROM m.description AND v.reference IS NOT DISTINCT FROM m.reference AND v.runbook IS NOT DISTINCT FROM m.runbook AND v.destinations IS NOT DISTINCT FROM m.destinations AND v.dedup_period_minutes IS NOT DISTINCT FROM m.dedup_period_minutes AND v.threshold IS NOT DISTINCT FROM m.threshold AND v.create_alert IS NOT DISTINCT FROM m.create_alert AND v.tags IS NOT DISTINCT FROM m.tags AND v.reports IS NOT DISTINCT FROM m.reports;
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
      -- See the SQLite store's migration 22.
      CREATE TABLE saved_searches (
        id text COLLATE "C" PRIMARY KEY,
        name text COLLATE "C" NOT NULL UNIQUE,
        query text COLLATE "C" NOT NULL,
        created_by text COLLATE "C" NOT NULL,
        created_at_ms bigint NOT NULL
      );
    `,
  },
  {
    version: 23,
    name: "fleet: workers and leases",
    sql: `
      -- See the SQLite store's migration 23. No foreign key from leases to workers: a lease outlives the row of
      -- a worker that died only until it expires, and claims never wait on the workers table.
      CREATE TABLE workers (
        id text COLLATE "C" PRIMARY KEY,
        host text COLLATE "C" NOT NULL,
        pid integer NOT NULL,
        version text COLLATE "C" NOT NULL,
        started_at_ms bigint NOT NULL,
        heartbeat_at_ms bigint NOT NULL,
        lease_ttl_ms bigint NOT NULL,
        stopped_at_ms bigint,
        rebalances integer NOT NULL DEFAULT 0,
        incarnation text COLLATE "C" NOT NULL,
        serving boolean NOT NULL DEFAULT false
      );
      CREATE TABLE leases (
        name text COLLATE "C" PRIMARY KEY,
        worker_id text COLLATE "C" NOT NULL,
        acquired_at_ms bigint NOT NULL,
        expires_at_ms bigint NOT NULL,
        generation bigint NOT NULL
      );
      CREATE INDEX leases_by_worker ON leases (worker_id);
    `,
  },
  {
    version: 24,
    name: "posture pruning and object history",
    sql: `
      -- See the SQLite store's migration 24.
      ALTER TABLE posture_objects ADD COLUMN released_ms bigint;
      CREATE INDEX posture_objects_object ON posture_objects (source_id, kind, object_id);
    `,
  },
  {
    version: 25,
    name: "rule matches keyed by their event's seq",
    sql: `
      -- A match was unique on (source, rule, event id, error flag). Event ids are random, so each page's
      -- matches landed on ~100 different pages of that index. A match of a stored event (every match a page
      -- writes) now names the event's seq, which grows with each page, and is unique on (event_seq, rule,
      -- error flag): its entries are appended. Matches without a stored event (health alarms, posture,
      -- scheduled queries, correlations) and those stored before keep event_seq NULL and the old key, as a
      -- partial unique index.
      ALTER TABLE rule_matches ADD COLUMN event_seq bigint;
      ALTER TABLE rule_matches DROP CONSTRAINT rule_matches_source_id_rule_id_event_id_is_error_key;
      CREATE UNIQUE INDEX rule_matches_event_key ON rule_matches (event_seq, rule_id, is_error) WHERE event_seq IS NOT NULL;
      CREATE UNIQUE INDEX rule_matches_key ON rule_matches (source_id, rule_id, event_id, is_error) WHERE event_seq IS NULL;
    `,
  },
  {
    version: 26,
    name: "event counts added by the store, one statement per page",
    sql: `
      -- See the SQLite store's migration 26: the store counts inserted events, in one statement per page.
      DROP TRIGGER event_counts_insert ON events;
      DROP FUNCTION vigil_event_counts_add();
    `,
  },
  {
    version: 27,
    name: "alert windows name their representative match",
    sql: `
      -- See the SQLite store's migration 27: a window names its representative's rule_matches row instead of
      -- holding a JSON copy of it; windows stored before keep their copy.
      ALTER TABLE alert_windows ALTER COLUMN first_match DROP NOT NULL;
      ALTER TABLE alert_windows ADD COLUMN first_match_seq bigint;
      ALTER TABLE alert_windows ADD CONSTRAINT alert_windows_one_first_match
        CHECK ((first_match IS NULL) <> (first_match_seq IS NULL));
    `,
  },
  {
    version: 28,
    name: "rule matches read by source and rule",
    sql: `
      -- See the SQLite store's migration 28.
      DROP INDEX rule_matches_by_rule;
      DROP INDEX rule_matches_by_time;
      CREATE INDEX rule_matches_by_source_rule ON rule_matches (source_id, rule_id, event_time, seq);
    `,
  },
  {
    // 29 is SQLite's alone (short text from its index); the numbers stay those of the SQLite migrations.
    version: 30,
    name: "events and matches name their source by number",
    sql: `
      -- See the SQLite store's migration 30: events and rule matches hold the source's number (never given
      -- again) instead of its 36-character id, in the row and in each index that leads with it. The events'
      -- key becomes (source_num, id). The UPDATE leaves a dead copy of every row, and DROP COLUMN leaves the id's
      -- bytes in the live ones; the ALTER ... TYPE that follows each table's changes rewrites it (a new file
      -- with live rows only and the dropped column as NULL, and its indexes rebuilt), so the upgrade ends
      -- smaller instead of twice the size until a VACUUM FULL.
      CREATE TABLE source_numbers (
        num integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source_id text COLLATE "C" NOT NULL UNIQUE REFERENCES sources(id) ON DELETE CASCADE
      );
      INSERT INTO source_numbers (source_id) SELECT id FROM sources ORDER BY created_at_ms, id;

      ALTER TABLE events ADD COLUMN source_num integer;
      UPDATE events e SET source_num = n.num FROM source_numbers n WHERE n.source_id = e.source_id;
      ALTER TABLE events ALTER COLUMN source_num SET NOT NULL;
      ALTER TABLE events DROP COLUMN source_id;
      ALTER TABLE events ALTER COLUMN source_num TYPE integer USING source_num + 0;
      ALTER TABLE events ADD PRIMARY KEY (source_num, id);
      ALTER TABLE events ADD FOREIGN KEY (source_num) REFERENCES source_numbers(num) ON DELETE CASCADE;
      CREATE INDEX events_by_source ON events (source_num, effective_at DESC);
      CREATE OR REPLACE FUNCTION vigil_event_counts_remove() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        UPDATE event_counts c SET events = c.events - d.n
          FROM (SELECT n.source_id, (e.effective_at / 86400) * 86400 AS day_secs, e.type, count(*) AS n
                FROM changed_events e JOIN source_numbers n ON n.num = e.source_num GROUP BY 1, 2, 3) d
          WHERE c.source_id = d.source_id AND c.day_secs = d.day_secs AND c.type = d.type;
        RETURN NULL;
      END $$;

      ALTER TABLE rule_matches ADD COLUMN source_num integer;
      UPDATE rule_matches m SET source_num = n.num FROM source_numbers n WHERE n.source_id = m.source_id;
      ALTER TABLE rule_matches ALTER COLUMN source_num SET NOT NULL;
      ALTER TABLE rule_matches DROP COLUMN source_id;
      ALTER TABLE rule_matches ALTER COLUMN source_num TYPE integer USING source_num + 0;
      ALTER TABLE rule_matches ADD FOREIGN KEY (source_num) REFERENCES source_numbers(num) ON DELETE CASCADE;
      CREATE UNIQUE INDEX rule_matches_key ON rule_matches (source_num, rule_id, event_id, is_error) WHERE event_seq IS NULL;
      CREATE INDEX rule_matches_by_source_rule ON rule_matches (source_num, rule_id, event_time, seq);
      CREATE INDEX rule_matches_correlation_pending ON rule_matches (source_num, seq) WHERE correlation_pending;
      CREATE OR REPLACE FUNCTION vigil_rule_error_counts_add() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO source_counters (source_id, rule_errors)
          SELECT n.source_id, count(*) FROM changed_matches m JOIN source_numbers n ON n.num = m.source_num
          WHERE m.is_error GROUP BY 1 ORDER BY 1
          ON CONFLICT (source_id) DO UPDATE SET rule_errors = source_counters.rule_errors + excluded.rule_errors;
        RETURN NULL;
      END $$;
      CREATE OR REPLACE FUNCTION vigil_rule_error_counts_remove() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        UPDATE source_counters c SET rule_errors = c.rule_errors - d.n
          FROM (SELECT n.source_id, count(*) AS n FROM changed_matches m JOIN source_numbers n ON n.num = m.source_num
                WHERE m.is_error GROUP BY 1) d
          WHERE c.source_id = d.source_id;
        RETURN NULL;
      END $$;
    `,
  },
  {
    version: 31,
    name: "rule state versions",
    sql: `
      -- See the SQLite store's migration 31: the version of each source's rule state, moved by every change.
      CREATE TABLE rule_state_versions (
        source_id text COLLATE "C" PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
        version bigint NOT NULL
      );
    `,
  },
  {
    version: 32,
    name: "matches name their rule by number; packed alert contexts",
    sql: `
      -- See the SQLite store's migration 32: matches name their rule by a number, never given again. And alert
      -- contexts are stored deflated (store/packed-json.ts), which text cannot hold: the contexts stored before
      -- become their UTF-8 bytes, which the store still reads as JSON.
      CREATE TABLE rule_numbers (
        num integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        rule_id text COLLATE "C" NOT NULL UNIQUE
      );
      INSERT INTO rule_numbers (rule_id) SELECT DISTINCT rule_id FROM rule_matches ORDER BY rule_id;
      -- The indexes that hold the rule id go first, so that the UPDATE does not add an entry to each.
      DROP INDEX rule_matches_event_key;
      DROP INDEX rule_matches_key;
      DROP INDEX rule_matches_by_source_rule;
      ALTER TABLE rule_matches ADD COLUMN rule_num integer;
      UPDATE rule_matches m SET rule_num = n.num FROM rule_numbers n WHERE n.rule_id = m.rule_id;
      ALTER TABLE rule_matches DROP COLUMN rule_id;
      -- The UPDATE left a dead copy of every row and DROP COLUMN the id's bytes in the live ones: the change of
      -- the contexts' type rewrites the table once (live rows only, the dropped column as NULL), as migration 30.
      ALTER TABLE rule_matches
        ALTER COLUMN alert_context TYPE bytea USING convert_to(alert_context, 'UTF8'),
        ALTER COLUMN rule_num SET NOT NULL;
      ALTER TABLE alerts ALTER COLUMN alert_context TYPE bytea USING convert_to(alert_context, 'UTF8');
      CREATE UNIQUE INDEX rule_matches_event_key ON rule_matches (event_seq, rule_num, is_error) WHERE event_seq IS NOT NULL;
      CREATE UNIQUE INDEX rule_matches_key ON rule_matches (source_num, rule_num, event_id, is_error) WHERE event_seq IS NULL;
      CREATE INDEX rule_matches_by_source_rule ON rule_matches (source_num, rule_num, event_time, seq);
    `,
  },
  {
    version: 33,
    name: "alert windows read by id",
    sql: `
      -- See the SQLite store's migration 33: the key index has on_grid before start_secs, so that a page's look-up
      -- by span reads the windows stored before the grid alone; it reads the others by id.
      DROP INDEX alert_windows_by_key;
      CREATE INDEX alert_windows_by_key ON alert_windows (source_id, rule_id, dedup_string, is_error, on_grid, start_secs);
    `,
  },
  {
    version: 34,
    name: "posture snapshots name the snapshot they were compared with",
    sql: `
      -- See the SQLite store's migration 34: a snapshot names the one it was compared with, once per source.
      ALTER TABLE posture_snapshots ADD COLUMN previous_id bigint NOT NULL DEFAULT 0;
      UPDATE posture_snapshots SET previous_id = p.previous
        FROM (SELECT id, coalesce(lag(id) OVER (PARTITION BY source_id ORDER BY taken_at_ms, id), 0) AS previous
              FROM posture_snapshots) AS p
        WHERE p.id = posture_snapshots.id;
      CREATE UNIQUE INDEX posture_snapshots_previous ON posture_snapshots (source_id, previous_id);
    `,
  },
  {
    version: 35,
    name: "the text index answers absent text of one or two characters",
    sql: `
      -- PostgreSQL only (the SQLite store's vocabulary is its migration 29): the pairs of neighbouring characters
      -- in the indexed values (text-grams.ts), written by the text indexer with the values. In the database's
      -- default collation, as the values are: ILIKE folds case by it, and "C" would fold ASCII letters alone.
      -- Only under a libc locale, whose folding maps one character to one; under ICU the pairs would not be
      -- exact, and a short text is read from every value as before.
      DO $$
      BEGIN
        IF coalesce((SELECT to_jsonb(d) ->> 'datlocprovider' FROM pg_database d
                     WHERE d.datname = current_database()), 'c') = 'c' THEN
          CREATE TABLE event_text_grams (gram text PRIMARY KEY);
          -- Indexed values whose pairs are not written yet: the indexer adds them in the background, a chunk at a
          -- time, newest first (catchUpText), and a short text is read from every value until none is owed. The
          -- values indexed before this migration owe theirs (in SQL here it took 55 s for 300,000 events), and so
          -- does any value an older worker still running indexes later, since it writes no pairs: a statement
          -- trigger notes them, unless the transaction says it writes the pairs itself (vigil.text_grams).
          CREATE TABLE event_text_grams_owed (seq bigint PRIMARY KEY);
          CREATE FUNCTION vigil_text_grams_owed() RETURNS trigger LANGUAGE plpgsql AS $f$
          BEGIN
            IF coalesce(current_setting('vigil.text_grams', true), '') <> 'on' THEN
              INSERT INTO event_text_grams_owed (seq) SELECT seq FROM indexed ON CONFLICT DO NOTHING;
            END IF;
            RETURN NULL;
          END $f$;
          -- Before the values already indexed are read: creating the trigger waits for an indexing transaction
          -- still open, and holds off any other until this migration commits.
          CREATE TRIGGER event_text_grams_owed AFTER INSERT ON event_text REFERENCING NEW TABLE AS indexed
            FOR EACH STATEMENT EXECUTE FUNCTION vigil_text_grams_owed();
          INSERT INTO event_text_grams_owed (seq) SELECT seq FROM event_text;
        END IF;
      END $$;
    `,
  },
  {
    version: 36,
    name: "outbox entries say whether their alert was raised from history when they were written",
    sql: `
      -- See the SQLite store's migration 36.
      ALTER TABLE outbox ADD COLUMN from_history boolean;
    `,
  },
  {
    version: 37,
    name: "destinations keep their delivery health; a dead letter can be sent again",
    sql: `
      -- See the SQLite store's migration 37.
      ALTER TABLE destinations ADD COLUMN failing_since_ms bigint;
      ALTER TABLE destinations ADD COLUMN failing_latest_ms bigint;
      ALTER TABLE destinations ADD COLUMN failing_delivery_id text COLLATE "C";
      ALTER TABLE destinations ADD COLUMN failing_alert_id text COLLATE "C";
      ALTER TABLE destinations ADD COLUMN failing_error text;
      ALTER TABLE destinations ADD COLUMN failing_dead boolean NOT NULL DEFAULT false;
      ALTER TABLE destinations ADD COLUMN last_delivered_at_ms bigint;
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
      ALTER TABLE deliveries ADD COLUMN retry_from_ms bigint;
      ALTER TABLE deliveries ADD COLUMN unrecorded_claims bigint NOT NULL DEFAULT 0;
      CREATE INDEX deliveries_dead ON deliveries (destination_id) WHERE status = 'failed';
    `,
  },
  {
    version: 38,
    name: "a correlation's completions are one per anchor and key",
    sql: `
      -- See the SQLite store's migration 38: a derived match is unique on its anchor and its key (dedup string).
      DROP INDEX rule_matches_key;
      CREATE UNIQUE INDEX rule_matches_key ON rule_matches (source_num, rule_num, event_id, dedup_string, is_error)
        WHERE event_seq IS NULL;
      ALTER TABLE suppressed_matches ADD COLUMN dedup_string text COLLATE "C" NOT NULL DEFAULT '';
      ALTER TABLE suppressed_matches DROP CONSTRAINT suppressed_matches_pkey;
      ALTER TABLE suppressed_matches ADD PRIMARY KEY (source_id, rule_id, event_id, dedup_string, is_error);
    `,
  },
  {
    version: 39,
    name: "deliveries say when they were given up",
    sql: `
      -- See the SQLite store's migration 39.
      ALTER TABLE deliveries ADD COLUMN failed_at_ms bigint;
    `,
  },
  {
    version: 40,
    name: "actor emails are stored in lower case",
    sql: `
      -- See the SQLite store's migration 40. actor_email is COLLATE "C", so lower() folds ASCII only, as there.
      UPDATE events SET actor_email = lower(actor_email) WHERE actor_email <> lower(actor_email);
    `,
  },
  {
    version: 41,
    name: "scheduled queries remember the last slot they completed",
    sql: `
      -- See the SQLite store's migration 41.
      CREATE TABLE scheduled_query_slots (
        source_id text COLLATE "C" NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        query text COLLATE "C" NOT NULL,
        slot_secs bigint NOT NULL,
        PRIMARY KEY (source_id, query)
      );
    `,
  },
  {
    version: 42,
    name: "alerts of users deleted before are unassigned",
    sql: `
      -- See the SQLite store's migration 42.
      UPDATE alerts SET assignee = NULL
        WHERE assignee IS NOT NULL AND assignee NOT IN (SELECT username FROM users);
    `,
  },
  {
    version: 43,
    name: "the rest of a poll window that stopped part way, read from its cursor by the next polls",
    sql: `
      -- An OwedWindow as JSON (core/source.ts), written with the page it continues after; NULL when none is owed.
      ALTER TABLE stream_state ADD COLUMN owed_window text;
    `,
  },
  {
    version: 44,
    name: "alerts are counted when their transaction commits",
    sql: `
      -- PostgreSQL only (SQLite has one writer). A source's alert counter rows (migration 15) are few and every
      -- alert of a status and severity updates the same one. Counted at once, a page that raised an alert held
      -- that row from the alert to its commit, and every other page of the source raising one (a backfill's
      -- slices) waited for it: 1.2 s of waits in a 30,000-event backfill. Deferred to the commit, the row is held
      -- for the commit alone. Nothing reads the counters inside the transaction that changes the alerts.
      DROP TRIGGER alert_counts_insert_delete ON alerts;
      DROP TRIGGER alert_counts_update ON alerts;
      CREATE CONSTRAINT TRIGGER alert_counts_insert_delete AFTER INSERT OR DELETE ON alerts
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION vigil_alert_counts();
      CREATE CONSTRAINT TRIGGER alert_counts_update AFTER UPDATE OF source_id, status, severity ON alerts
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN (OLD.source_id IS DISTINCT FROM NEW.source_id OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.severity IS DISTINCT FROM NEW.severity)
        EXECUTE FUNCTION vigil_alert_counts();
    `,
  },
];

/** Quotes a schema name already checked by `validSchemaName`. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Applies the migrations not yet applied, on `client` (whose search_path already points at the schema);
 * returns the versions it applied. `schema` is created first when given.
 */
export async function runMigrations(
  client: pg.PoolClient,
  schema: string | null,
  nowMs: number,
  migrations = MIGRATIONS,
  announce?: MigrationNotice,
): Promise<number[]> {
  const lockKey = `vigil:migrate:${schema ?? "(default)"}`;
  const latestKnown = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  const applied: number[] = [];

  // Setup (schema + bookkeeping table) is a step of its own, under the same lock: two workers running
  // CREATE ... IF NOT EXISTS at once can otherwise both pass the check and one fail on the catalog.
  const current = await inLockedTransaction(client, lockKey, async () => {
    if (schema !== null) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text COLLATE "C" NOT NULL,
      applied_at_ms bigint NOT NULL
    )`);
    const { rows } = await client.query<{ v: number | null }>("SELECT max(version) AS v FROM schema_migrations");
    const current = rows[0]?.v ?? null;
    if (current !== null && current > latestKnown) {
      // Running an older Vigil against a newer schema could silently misread data: refuse instead.
      throw new VigilError(
        "storage_schema_too_new",
        `The database schema is at version ${current}, but this version of Vigil knows only up to ${latestKnown}; upgrade Vigil.`,
      );
    }
    return current;
  });

  for (const migration of ordered) {
    const done = await inLockedTransaction(client, lockKey, async () => {
      // Checked inside the lock: another worker may have applied it since we last looked.
      const { rowCount } = await client.query("SELECT 1 FROM schema_migrations WHERE version = $1", [
        migration.version,
      ]);
      if ((rowCount ?? 0) > 0) return false;
      // A new database is set up in a moment and says nothing; one with data may take minutes.
      if (current !== null) announce?.(migration);
      await client.query(migration.sql);
      await client.query("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)", [
        migration.version,
        migration.name,
        nowMs,
      ]);
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}

async function inLockedTransaction<T>(client: pg.PoolClient, lockKey: string, fn: () => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    // hashtext gives the int4 key the lock functions take; the prefix keeps clear of other applications.
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [lockKey]);
    const result = await fn();
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}
