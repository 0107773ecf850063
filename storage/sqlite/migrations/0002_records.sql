-- 0002_records: the record core. Records of every kind in one table (the
-- header as columns derived from the record's JSON document, which is
-- canonical), their configuration items, journal, typed links, SLA timers
-- and crossings keyed by kind and record ID, and the outbox with its
-- consumers' claims. The incidents of 0001 move over as records of kind
-- 'incident' (with a document built here), their journal, problem and
-- change links, timers and crossings with them; number_sequences,
-- audit_events and audit_heads stay as they are, so the audit trail still
-- verifies.
--
-- As in 0001, instants are INTEGER microseconds since the Unix epoch, UTC;
-- NULL stands for the zero time of an optional field; booleans are 0 or 1.

-- The timers' triggers and view of 0001 go first: they name the tables
-- that are replaced.
DROP TRIGGER sla_timers_incident_exists;
DROP TRIGGER sla_timers_no_move;
DROP TRIGGER sla_timers_summary_insert;
DROP TRIGGER sla_timers_summary_update;
DROP VIEW sla_summary;
ALTER TABLE sla_timers RENAME TO sla_timers_0001;
ALTER TABLE sla_crossings RENAME TO sla_crossings_0001;

CREATE TABLE records (
    kind             TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    number           TEXT    NOT NULL,
    title            TEXT    NOT NULL DEFAULT '',
    description      TEXT    NOT NULL DEFAULT '',
    state            TEXT    NOT NULL,
    state_category   TEXT    NOT NULL, -- itsm.StateCategory.String()
    impact           INTEGER NOT NULL DEFAULT 0, -- 0 for none
    urgency          INTEGER NOT NULL DEFAULT 0,
    priority         INTEGER NOT NULL DEFAULT 0,
    requester_id     TEXT    NOT NULL DEFAULT '',
    assignment_group TEXT    NOT NULL DEFAULT '',
    assignee         TEXT    NOT NULL DEFAULT '',
    service          TEXT    NOT NULL DEFAULT '',
    category         TEXT    NOT NULL DEFAULT '',
    parent_kind      TEXT    NOT NULL DEFAULT '', -- '' for no parent
    parent_id        TEXT    NOT NULL DEFAULT '',
    major            INTEGER NOT NULL DEFAULT 0 CHECK (major IN (0, 1)),
    opened_at        INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    resolved_at      INTEGER,
    closed_at        INTEGER,
    version          INTEGER NOT NULL CHECK (version >= 1),
    -- The record's canonical JSON document (record.Record.Document); the
    -- columns above are derived from it when it is written.
    doc              TEXT    NOT NULL,
    -- The SLA summary of the record's timers, brought up to date after
    -- every save of its timers (sqlrec.RefreshSummary): the earliest
    -- next_wake_at, the earliest breach_at, and the earliest at_risk_at of
    -- a running or paused timer.
    sla_wake_at      INTEGER,
    sla_breach_at    INTEGER,
    sla_at_risk_at   INTEGER,
    PRIMARY KEY (kind, id),
    UNIQUE (kind, number)
) STRICT;

-- Every index is led by kind and ends in the List order, so that a page
-- is read in order straight from the index and stops after its rows.
CREATE INDEX records_opened ON records (kind, opened_at, id);
CREATE INDEX records_state ON records (kind, state, opened_at, id);
CREATE INDEX records_state_category ON records (kind, state_category, opened_at, id);
CREATE INDEX records_priority ON records (kind, priority, opened_at, id);
-- List never looks for the empty value of these columns, so their indexes
-- leave it out; queries repeat the "<> ''" term so that SQLite uses them.
CREATE INDEX records_assignee ON records (kind, assignee, opened_at, id) WHERE assignee <> '';
CREATE INDEX records_group ON records (kind, assignment_group, opened_at, id) WHERE assignment_group <> '';
CREATE INDEX records_service ON records (kind, service, opened_at, id) WHERE service <> '';
CREATE INDEX records_category ON records (kind, category, opened_at, id) WHERE category <> '';
CREATE INDEX records_requester ON records (kind, requester_id, opened_at, id) WHERE requester_id <> '';
CREATE INDEX records_parent ON records (kind, parent_kind, parent_id, opened_at, id) WHERE parent_id <> '';
-- "major = 1" rather than "major": SQLite matches the query's "major = ?"
-- with the bound value 1 against it.
CREATE INDEX records_major ON records (kind, major, opened_at, id) WHERE major = 1;
CREATE INDEX records_resolved ON records (kind, resolved_at, id) WHERE resolved_at IS NOT NULL;
CREATE INDEX records_closed ON records (kind, closed_at, id) WHERE closed_at IS NOT NULL;
-- The SLA filters: only records with such an instant, in List order.
CREATE INDEX records_sla_breach ON records (kind, opened_at, id) WHERE sla_breach_at IS NOT NULL;
CREATE INDEX records_sla_at_risk ON records (kind, opened_at, id) WHERE sla_at_risk_at IS NOT NULL;
-- TimersDue and the wake-up worker, across kinds: one entry per record
-- rather than one per timer.
CREATE INDEX records_sla_wake ON records (sla_wake_at) WHERE sla_wake_at IS NOT NULL;

-- The configuration items of each record, for the ConfigItem filter in
-- List order; rewritten when the record's items or opening instant change.
CREATE TABLE record_config_items (
    kind        TEXT    NOT NULL,
    record_id   TEXT    NOT NULL,
    config_item TEXT    NOT NULL,
    opened_at   INTEGER NOT NULL,
    PRIMARY KEY (kind, record_id, config_item)
) STRICT, WITHOUT ROWID;
CREATE INDEX record_config_items_item ON record_config_items (kind, config_item, opened_at, record_id);

-- Journal entries, oldest first (position from 0).
CREATE TABLE record_journal (
    kind       TEXT    NOT NULL,
    record_id  TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    entry_kind TEXT    NOT NULL,
    author     TEXT    NOT NULL DEFAULT '',
    at         INTEGER NOT NULL,
    text       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (kind, record_id, position)
) STRICT, WITHOUT ROWID;

-- Typed, directed links, read from both ends in the order they were added
-- (seq).
CREATE TABLE record_links (
    seq        INTEGER PRIMARY KEY,
    type       TEXT    NOT NULL,
    from_kind  TEXT    NOT NULL,
    from_id    TEXT    NOT NULL,
    to_kind    TEXT    NOT NULL,
    to_id      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    UNIQUE (type, from_kind, from_id, to_kind, to_id)
) STRICT;
CREATE INDEX record_links_from ON record_links (from_kind, from_id, seq);
CREATE INDEX record_links_to ON record_links (to_kind, to_id, seq);

-- SLA timers, known by their record and ID. seq is the order of the first
-- save (an upsert keeps it); timer is the sla.Timer's JSON (identity,
-- target, warnings, history); policy_kind is its sla.PolicyKind; the other
-- columns are derived from it when it is saved.
CREATE TABLE sla_timers (
    seq          INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    record_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    policy       TEXT    NOT NULL DEFAULT '',
    policy_kind  INTEGER NOT NULL DEFAULT 0,
    metric       TEXT    NOT NULL DEFAULT '',
    timer        TEXT    NOT NULL,
    stage        TEXT    NOT NULL,
    at_risk_at   INTEGER,
    breach_at    INTEGER,
    next_wake_at INTEGER,
    UNIQUE (kind, record_id, id)
) STRICT;

-- Threshold crossings recorded by the wake-up worker, each exactly once.
CREATE TABLE sla_crossings (
    kind         TEXT    NOT NULL,
    record_id    TEXT    NOT NULL,
    timer_id     TEXT    NOT NULL,
    cycle        INTEGER NOT NULL,
    basis_points INTEGER NOT NULL,
    policy       TEXT    NOT NULL DEFAULT '',
    metric       TEXT    NOT NULL DEFAULT '',
    at           INTEGER NOT NULL,
    recorded_at  INTEGER NOT NULL,
    PRIMARY KEY (kind, record_id, timer_id, cycle, basis_points)
) STRICT, WITHOUT ROWID;

-- One message per audit event appended, in the transaction that appended
-- it: the event's JSON. IDs grow with the order of appending; the store
-- never deletes a message, so an ID is never handed out twice.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    record_id   TEXT    NOT NULL,
    sequence    INTEGER NOT NULL,
    event       TEXT    NOT NULL,
    appended_at INTEGER NOT NULL
) STRICT;

-- What each consumer did with each message it claimed or acknowledged.
CREATE TABLE outbox_claims (
    consumer    TEXT    NOT NULL,
    message_id  INTEGER NOT NULL,
    lease_until INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    acked       INTEGER NOT NULL DEFAULT 0 CHECK (acked IN (0, 1)),
    PRIMARY KEY (consumer, message_id)
) STRICT, WITHOUT ROWID;

-- The incidents of 0001 become records. incidents_0001 adds what their
-- document needs: the state category and the instants as RFC 3339 text
-- (UTC, six fractional digits; the floor division keeps instants before
-- 1970 right). json_patch adds the document's optional keys whose value
-- is not NULL and leaves the others out; the body keeps its keys in the
-- incident codec's order.
WITH incidents_0001 AS (SELECT i.*,
    CASE i.state
        WHEN 'new' THEN 'new' WHEN 'in_progress' THEN 'active' WHEN 'on_hold' THEN 'pending'
        WHEN 'resolved' THEN 'resolved' WHEN 'closed' THEN 'closed' WHEN 'canceled' THEN 'cancelled'
        ELSE CASE WHEN i.closed_at IS NOT NULL THEN 'closed' WHEN i.resolved_at IS NOT NULL THEN 'resolved'
            WHEN i.cancel_reason <> '' THEN 'cancelled' ELSE 'active' END
    END AS cat,
    strftime('%Y-%m-%dT%H:%M:%S', (i.opened_at - ((i.opened_at % 1000000) + 1000000) % 1000000) / 1000000, 'unixepoch')
        || printf('.%06dZ', ((i.opened_at % 1000000) + 1000000) % 1000000) AS opened_s,
    strftime('%Y-%m-%dT%H:%M:%S', (i.updated_at - ((i.updated_at % 1000000) + 1000000) % 1000000) / 1000000, 'unixepoch')
        || printf('.%06dZ', ((i.updated_at % 1000000) + 1000000) % 1000000) AS updated_s,
    strftime('%Y-%m-%dT%H:%M:%S', (i.resolved_at - ((i.resolved_at % 1000000) + 1000000) % 1000000) / 1000000, 'unixepoch')
        || printf('.%06dZ', ((i.resolved_at % 1000000) + 1000000) % 1000000) AS resolved_s,
    strftime('%Y-%m-%dT%H:%M:%S', (i.closed_at - ((i.closed_at % 1000000) + 1000000) % 1000000) / 1000000, 'unixepoch')
        || printf('.%06dZ', ((i.closed_at % 1000000) + 1000000) % 1000000) AS closed_s,
    strftime('%Y-%m-%dT%H:%M:%S', (i.first_response_at - ((i.first_response_at % 1000000) + 1000000) % 1000000) / 1000000, 'unixepoch')
        || printf('.%06dZ', ((i.first_response_at % 1000000) + 1000000) % 1000000) AS first_response_s
FROM incidents i)
INSERT INTO records (kind, id, number, title, description, state, state_category, impact, urgency, priority,
    requester_id, assignment_group, assignee, service, category, parent_kind, parent_id, major,
    opened_at, updated_at, resolved_at, closed_at, version, doc, sla_wake_at, sla_breach_at, sla_at_risk_at)
SELECT 'incident', i.id, i.number, i.title, i.description, i.state, i.cat, i.impact, i.urgency, i.priority,
    i.caller_id, i.assignment_group, i.assignee, i.service, i.category,
    CASE WHEN coalesce(i.parent_id, '') = '' THEN '' ELSE 'incident' END, coalesce(i.parent_id, ''), i.major,
    i.opened_at, i.updated_at, i.resolved_at, i.closed_at, i.version,
    json_patch(
        json_object(
            'kind', 'incident', 'id', i.id, 'number', i.number, 'title', i.title, 'description', i.description,
            'state', i.state, 'state_category', i.cat,
            'requester', json_patch(json_object('id', i.caller_id), json_object(
                'name', nullif(i.caller_name, ''),
                'roles', CASE WHEN i.caller_roles NOT IN ('', '[]') THEN json(i.caller_roles) END)),
            'assignment_group', i.assignment_group, 'assignee', i.assignee, 'service', i.service,
            'category', i.category, 'major', json(CASE WHEN i.major = 1 THEN 'true' ELSE 'false' END),
            'opened_at', i.opened_s, 'updated_at', i.updated_s, 'version', i.version,
            'body', CASE WHEN i.first_response_at IS NULL THEN json_object(
                'priority_overridden', json(CASE WHEN i.priority_overridden = 1 THEN 'true' ELSE 'false' END),
                'hold_reason', i.hold_reason, 'resolution_code', i.resolution_code,
                'resolution_notes', i.resolution_notes, 'cancel_reason', i.cancel_reason,
                'reopen_count', i.reopen_count)
            ELSE json_object(
                'priority_overridden', json(CASE WHEN i.priority_overridden = 1 THEN 'true' ELSE 'false' END),
                'hold_reason', i.hold_reason, 'resolution_code', i.resolution_code,
                'resolution_notes', i.resolution_notes, 'cancel_reason', i.cancel_reason,
                'first_response_at', i.first_response_s, 'reopen_count', i.reopen_count)
            END),
        json_object(
            'impact', CASE WHEN i.impact <> 0 THEN CAST(i.impact AS TEXT) END,
            'urgency', CASE WHEN i.urgency <> 0 THEN CAST(i.urgency AS TEXT) END,
            'priority', CASE WHEN i.priority <> 0 THEN CAST(i.priority AS TEXT) END,
            'config_items', CASE WHEN i.config_item <> '' THEN json_array(i.config_item) END,
            'parent', CASE WHEN coalesce(i.parent_id, '') <> '' THEN json_object('kind', 'incident', 'id', i.parent_id) END,
            'resolved_at', i.resolved_s,
            'closed_at', i.closed_s)),
    i.sla_wake_at, i.sla_breach_at, i.sla_at_risk_at
FROM incidents_0001 i;

INSERT INTO record_config_items (kind, record_id, config_item, opened_at)
SELECT 'incident', id, config_item, opened_at FROM incidents WHERE config_item <> '';

INSERT INTO record_journal (kind, record_id, position, entry_kind, author, at, text)
SELECT 'incident', incident_id, position, kind, author, at, text FROM incident_journal;

-- Problem links, then change links, each in the order they were linked;
-- the incident's last update stands in for the unknown creation time.
INSERT OR IGNORE INTO record_links (type, from_kind, from_id, to_kind, to_id, created_at, created_by)
SELECT 'caused_by', 'incident', p.incident_id, 'problem', p.problem_id, i.updated_at, 'migration'
FROM incident_problems p JOIN incidents i ON i.id = p.incident_id
WHERE p.problem_id <> ''
ORDER BY p.incident_id, p.position;
INSERT OR IGNORE INTO record_links (type, from_kind, from_id, to_kind, to_id, created_at, created_by)
SELECT 'fixed_by', 'incident', c.incident_id, 'change', c.change_id, i.updated_at, 'migration'
FROM incident_changes c JOIN incidents i ON i.id = c.incident_id
WHERE c.change_id <> ''
ORDER BY c.incident_id, c.position;

-- Timers keep their seq, and so their order; policy and metric come from
-- the timer's JSON where the columns are empty, the policy kind from its
-- "kind" (sla, ola, uc).
INSERT INTO sla_timers (seq, kind, record_id, id, policy, policy_kind, metric, timer, stage,
    at_risk_at, breach_at, next_wake_at)
SELECT seq, 'incident', incident_id, id,
    coalesce(nullif(policy, ''), json_extract(timer, '$.policy'), ''),
    CASE lower(coalesce(json_extract(timer, '$.kind'), '')) WHEN 'ola' THEN 1 WHEN 'uc' THEN 2 ELSE 0 END,
    coalesce(nullif(metric, ''), json_extract(timer, '$.metric'), ''),
    timer, stage, at_risk_at, breach_at, next_wake_at
FROM sla_timers_0001 ORDER BY seq;

INSERT INTO sla_crossings (kind, record_id, timer_id, cycle, basis_points, policy, metric, at, recorded_at)
SELECT 'incident', incident_id, timer_id, cycle, basis_points, policy, metric, at, recorded_at
FROM sla_crossings_0001;

-- The children first, so that dropping incidents cascades to nothing.
DROP TABLE incident_journal;
DROP TABLE incident_problems;
DROP TABLE incident_changes;
DROP TABLE sla_timers_0001;
DROP TABLE sla_crossings_0001;
DROP TABLE incidents;

-- A timer belongs to a stored record. A trigger rather than a foreign
-- key, so that it holds on connections without foreign_keys=ON too (a
-- host transaction passed to Store.Join).
CREATE TRIGGER sla_timers_record_exists BEFORE INSERT ON sla_timers
WHEN NOT EXISTS (SELECT 1 FROM records WHERE kind = NEW.kind AND id = NEW.record_id)
BEGIN
    SELECT RAISE(ABORT, 'sla timer of an unknown record');
END;

CREATE TRIGGER sla_timers_no_move BEFORE UPDATE OF kind, record_id, id ON sla_timers
BEGIN
    SELECT RAISE(ABORT, 'sla timers do not change record or ID');
END;
