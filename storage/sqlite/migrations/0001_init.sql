-- 0001_init: incidents, their journal and links, SLA timers and crossings,
-- number sequences and the append-only, hash-chained audit log.
--
-- Every instant is an INTEGER of microseconds since the Unix epoch, UTC;
-- NULL stands for the zero time of an optional field. Booleans are 0 or 1.

CREATE TABLE incidents (
    id                  TEXT    NOT NULL PRIMARY KEY,
    number              TEXT    NOT NULL UNIQUE,
    title               TEXT    NOT NULL,
    description         TEXT    NOT NULL DEFAULT '',
    caller_id           TEXT    NOT NULL DEFAULT '',
    caller_name         TEXT    NOT NULL DEFAULT '',
    caller_roles        TEXT    NOT NULL DEFAULT '[]', -- JSON array of role names
    service             TEXT    NOT NULL DEFAULT '',
    config_item         TEXT    NOT NULL DEFAULT '',
    category            TEXT    NOT NULL DEFAULT '',
    impact              INTEGER NOT NULL DEFAULT 0,
    urgency             INTEGER NOT NULL DEFAULT 0,
    priority            INTEGER NOT NULL DEFAULT 0,
    priority_overridden INTEGER NOT NULL DEFAULT 0 CHECK (priority_overridden IN (0, 1)),
    state               TEXT    NOT NULL,
    hold_reason         TEXT    NOT NULL DEFAULT '',
    assignment_group    TEXT    NOT NULL DEFAULT '',
    assignee            TEXT    NOT NULL DEFAULT '',
    resolution_code     TEXT    NOT NULL DEFAULT '',
    resolution_notes    TEXT    NOT NULL DEFAULT '',
    cancel_reason       TEXT    NOT NULL DEFAULT '',
    opened_at           INTEGER NOT NULL,
    first_response_at   INTEGER,
    resolved_at         INTEGER,
    closed_at           INTEGER,
    updated_at          INTEGER NOT NULL,
    reopen_count        INTEGER NOT NULL DEFAULT 0,
    major               INTEGER NOT NULL DEFAULT 0 CHECK (major IN (0, 1)),
    parent_id           TEXT,
    version             INTEGER NOT NULL CHECK (version >= 1),
    -- A summary of the incident's SLA timers, kept by the triggers on
    -- sla_timers: the earliest next_wake_at, the earliest breach_at, and
    -- the earliest at_risk_at of a running or paused timer. One entry per
    -- incident in each index below, rather than one per timer, serves the
    -- wake-up worker and the Breached and AtRisk filters.
    sla_wake_at         INTEGER,
    sla_breach_at       INTEGER,
    sla_at_risk_at      INTEGER
) STRICT;

-- List order and cursor paging: (opened_at, id).
CREATE INDEX incidents_opened ON incidents (opened_at, id);
-- One index per equality filter of List, each ending in the List order so
-- that a page is read in order straight from the index. The text filters
-- never look for the empty string, so their indexes leave it out (a new,
-- unassigned incident writes two index pages fewer); queries repeat the
-- "<> ''" term so that SQLite may use them.
CREATE INDEX incidents_state ON incidents (state, opened_at, id);
CREATE INDEX incidents_priority ON incidents (priority, opened_at, id);
CREATE INDEX incidents_assignee ON incidents (assignee, opened_at, id) WHERE assignee <> '';
CREATE INDEX incidents_group ON incidents (assignment_group, opened_at, id) WHERE assignment_group <> '';
CREATE INDEX incidents_service ON incidents (service, opened_at, id) WHERE service <> '';
-- Children.
CREATE INDEX incidents_parent ON incidents (parent_id, opened_at, id) WHERE parent_id IS NOT NULL;
-- The SLA summary, for TimersDue and the Breached and AtRisk filters.
CREATE INDEX incidents_sla_wake ON incidents (sla_wake_at) WHERE sla_wake_at IS NOT NULL;
CREATE INDEX incidents_sla_breach ON incidents (sla_breach_at) WHERE sla_breach_at IS NOT NULL;
CREATE INDEX incidents_sla_at_risk ON incidents (sla_at_risk_at) WHERE sla_at_risk_at IS NOT NULL;
-- ResolvedBefore: resolved, not closed, not major, by resolution time.
CREATE INDEX incidents_resolved_open ON incidents (resolved_at, id)
    WHERE resolved_at IS NOT NULL AND closed_at IS NULL AND major = 0;

-- Journal entries, oldest first (position from 0).
CREATE TABLE incident_journal (
    incident_id TEXT    NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    author      TEXT    NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    text        TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (incident_id, position)
) STRICT, WITHOUT ROWID;

-- Linked problems and changes, in the order they were linked.
CREATE TABLE incident_problems (
    incident_id TEXT    NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    problem_id  TEXT    NOT NULL,
    PRIMARY KEY (incident_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX incident_problems_problem ON incident_problems (problem_id);

CREATE TABLE incident_changes (
    incident_id TEXT    NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    change_id   TEXT    NOT NULL,
    PRIMARY KEY (incident_id, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX incident_changes_change ON incident_changes (change_id);

-- SLA timers, known by their incident and ID. seq is the order of the
-- first save (an upsert keeps it); timer is the sla.Timer's JSON
-- (identity, target, warnings, history); the other columns are derived
-- from it when it is saved, and summed up on the incident's row.
CREATE TABLE sla_timers (
    seq          INTEGER PRIMARY KEY,
    incident_id  TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    policy       TEXT    NOT NULL DEFAULT '',
    metric       TEXT    NOT NULL DEFAULT '',
    timer        TEXT    NOT NULL,
    stage        TEXT    NOT NULL,
    at_risk_at   INTEGER,
    breach_at    INTEGER,
    next_wake_at INTEGER,
    UNIQUE (incident_id, id)
) STRICT;

-- A timer belongs to a stored incident. A trigger rather than a foreign
-- key, so that it holds on connections without foreign_keys=ON too (a
-- host transaction passed to Store.Join).
CREATE TRIGGER sla_timers_incident_exists BEFORE INSERT ON sla_timers
WHEN NOT EXISTS (SELECT 1 FROM incidents WHERE id = NEW.incident_id)
BEGIN
    SELECT RAISE(ABORT, 'sla timer of an unknown incident');
END;

CREATE TRIGGER sla_timers_no_move BEFORE UPDATE OF incident_id, id ON sla_timers
BEGIN
    SELECT RAISE(ABORT, 'sla timers do not change incident or ID');
END;

-- What an incident's timers sum up to; SQLite reads only the timers of
-- the incident asked for.
CREATE VIEW sla_summary (incident_id, wake_at, breach_at, at_risk_at) AS
    SELECT incident_id, min(next_wake_at), min(breach_at),
           min(CASE WHEN stage IN ('running', 'paused') THEN at_risk_at END)
    FROM sla_timers GROUP BY incident_id;

-- Saving a timer brings its incident's SLA summary up to date.
CREATE TRIGGER sla_timers_summary_insert AFTER INSERT ON sla_timers
BEGIN
    UPDATE incidents SET (sla_wake_at, sla_breach_at, sla_at_risk_at) =
        (SELECT wake_at, breach_at, at_risk_at FROM sla_summary WHERE incident_id = NEW.incident_id)
    WHERE id = NEW.incident_id;
END;

CREATE TRIGGER sla_timers_summary_update AFTER UPDATE OF stage, at_risk_at, breach_at, next_wake_at ON sla_timers
BEGIN
    UPDATE incidents SET (sla_wake_at, sla_breach_at, sla_at_risk_at) =
        (SELECT wake_at, breach_at, at_risk_at FROM sla_summary WHERE incident_id = NEW.incident_id)
    WHERE id = NEW.incident_id;
END;

-- Threshold crossings recorded by the wake-up worker, each exactly once.
CREATE TABLE sla_crossings (
    incident_id  TEXT    NOT NULL,
    timer_id     TEXT    NOT NULL,
    cycle        INTEGER NOT NULL,
    basis_points INTEGER NOT NULL,
    policy       TEXT    NOT NULL DEFAULT '',
    metric       TEXT    NOT NULL DEFAULT '',
    at           INTEGER NOT NULL,
    recorded_at  INTEGER NOT NULL,
    PRIMARY KEY (incident_id, timer_id, cycle, basis_points)
) STRICT, WITHOUT ROWID;

-- Number sequences, one row per kind holding the last value handed out.
CREATE TABLE number_sequences (
    kind TEXT    NOT NULL PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The audit log: one row per event, chained per record by hash.
CREATE TABLE audit_events (
    kind        TEXT    NOT NULL,
    record_id   TEXT    NOT NULL,
    sequence    INTEGER NOT NULL CHECK (sequence >= 1),
    actor_id    TEXT    NOT NULL,
    actor_name  TEXT    NOT NULL DEFAULT '',
    actor_roles TEXT    NOT NULL DEFAULT '[]', -- JSON array of role names
    at          INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    from_state  TEXT    NOT NULL DEFAULT '',
    to_state    TEXT    NOT NULL DEFAULT '',
    changes     TEXT    NOT NULL DEFAULT '[]', -- JSON array of {field, old, new}
    reason      TEXT    NOT NULL DEFAULT '',
    prev_hash   BLOB,
    hash        BLOB    NOT NULL,
    PRIMARY KEY (kind, record_id, sequence)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

-- The last event of each record, so that deleting the newest events is
-- detected too. A head only moves forward and is never removed.
CREATE TABLE audit_heads (
    kind          TEXT    NOT NULL,
    record_id     TEXT    NOT NULL,
    last_sequence INTEGER NOT NULL,
    last_hash     BLOB    NOT NULL,
    PRIMARY KEY (kind, record_id)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER audit_heads_forward_only BEFORE UPDATE ON audit_heads
WHEN NEW.last_sequence <= OLD.last_sequence OR NEW.kind <> OLD.kind OR NEW.record_id <> OLD.record_id
BEGIN
    SELECT RAISE(ABORT, 'audit_heads only move forward');
END;

CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
BEGIN
    SELECT RAISE(ABORT, 'audit_heads are never removed');
END;

-- An event must follow its record's head: the next sequence, chained to
-- the head's hash.
CREATE TRIGGER audit_events_in_order BEFORE INSERT ON audit_events
WHEN NEW.sequence <> 1 + coalesce((SELECT last_sequence FROM audit_heads
                                   WHERE kind = NEW.kind AND record_id = NEW.record_id), 0)
  OR NEW.prev_hash IS NOT (SELECT last_hash FROM audit_heads
                           WHERE kind = NEW.kind AND record_id = NEW.record_id)
BEGIN
    SELECT RAISE(ABORT, 'audit event does not follow its record''s head');
END;

-- Appending an event moves its record's head in the same statement.
CREATE TRIGGER audit_events_move_head AFTER INSERT ON audit_events
BEGIN
    INSERT INTO audit_heads (kind, record_id, last_sequence, last_hash)
    VALUES (NEW.kind, NEW.record_id, NEW.sequence, NEW.hash)
    ON CONFLICT (kind, record_id) DO UPDATE
    SET last_sequence = excluded.last_sequence, last_hash = excluded.last_hash;
END;
