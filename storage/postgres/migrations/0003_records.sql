-- itsmkit PostgreSQL schema, version 3: the record core.
--
-- One records table for work records of every kind, with the header as
-- columns (derived from the record's JSON document, which is canonical)
-- and the document itself; shared tables for configuration items, the
-- journal, typed links, SLA timers and crossings, and the outbox; one
-- number sequence per kind. The incidents of versions 1 and 2 move into
-- it, with their journal, links, timers, crossings and number sequence;
-- the audit trail stays as it is and still verifies.
--
-- Migrate runs this file inside one transaction with search_path set to
-- the store's schema only. Identifiers compared byte by byte in Go (kinds,
-- IDs, numbers) use the "C" collation. Zero times are NULL, absent strings
-- ''.

SET LOCAL TimeZone TO 'UTC';

-- The tables of version 1 that keep their names give them up first, with
-- their indexes and identity sequence, so that the new tables can take
-- the names.
ALTER TABLE sla_crossings RENAME TO old_sla_crossings;
ALTER INDEX sla_crossings_pkey RENAME TO old_sla_crossings_pkey;
ALTER TABLE sla_timers RENAME TO old_sla_timers;
ALTER INDEX sla_timers_pkey RENAME TO old_sla_timers_pkey;
ALTER SEQUENCE sla_timers_seq_seq RENAME TO old_sla_timers_seq_seq;

CREATE TABLE records (
    kind             text COLLATE "C" NOT NULL,
    id               text COLLATE "C" NOT NULL,
    number           text COLLATE "C" NOT NULL,
    title            text NOT NULL,
    description      text NOT NULL,
    state            text NOT NULL,
    -- itsm.StateCategory.String(): new, active, pending, resolved, closed, cancelled.
    state_category   text NOT NULL,
    -- 0 for none.
    impact           integer NOT NULL,
    urgency          integer NOT NULL,
    priority         integer NOT NULL,
    requester_id     text NOT NULL,
    assignment_group text NOT NULL,
    assignee         text NOT NULL,
    service          text NOT NULL,
    category         text NOT NULL,
    -- '' and '' for a record without a parent. Not a foreign key: the
    -- store keeps the parent the practice decided on.
    parent_kind      text COLLATE "C" NOT NULL,
    parent_id        text COLLATE "C" NOT NULL,
    major            boolean NOT NULL,
    opened_at        timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    resolved_at      timestamptz,
    closed_at        timestamptz,
    version          bigint NOT NULL CHECK (version >= 1),
    -- The canonical document (record.Record.Document); the columns above
    -- are derived from it on every write and serve filtering only.
    doc              jsonb NOT NULL,
    -- The SLA summary of the record's timers, brought up to date after
    -- every change of them: the earliest next wake-up, the earliest breach
    -- and the earliest at-risk instant of a running or paused timer.
    sla_wake_at      timestamptz,
    sla_breach_at    timestamptz,
    sla_at_risk_at   timestamptz,
    CONSTRAINT records_pkey PRIMARY KEY (kind, id),
    CONSTRAINT records_kind_number_key UNIQUE (kind, number)
);

-- Every index is led by the kind and ends in the List order, so that a
-- filtered page is read in order and stops at the page size. Text columns
-- are never filtered on the empty string, so their indexes leave it out;
-- List repeats the "<> ''" term.
CREATE INDEX records_opened_idx         ON records (kind, opened_at, id);
CREATE INDEX records_state_idx          ON records (kind, state, opened_at, id);
CREATE INDEX records_state_category_idx ON records (kind, state_category, opened_at, id);
CREATE INDEX records_priority_idx       ON records (kind, priority, opened_at, id);
CREATE INDEX records_assignee_idx       ON records (kind, assignee, opened_at, id) WHERE assignee <> '';
CREATE INDEX records_group_idx          ON records (kind, assignment_group, opened_at, id) WHERE assignment_group <> '';
CREATE INDEX records_service_idx        ON records (kind, service, opened_at, id) WHERE service <> '';
CREATE INDEX records_category_idx       ON records (kind, category, opened_at, id) WHERE category <> '';
CREATE INDEX records_requester_idx      ON records (kind, requester_id, opened_at, id) WHERE requester_id <> '';
CREATE INDEX records_parent_idx         ON records (kind, parent_kind, parent_id, opened_at, id) WHERE parent_id <> '';
CREATE INDEX records_major_idx          ON records (kind, major, opened_at, id) WHERE major;
CREATE INDEX records_resolved_idx       ON records (kind, resolved_at, id) WHERE resolved_at IS NOT NULL;
CREATE INDEX records_closed_idx         ON records (kind, closed_at, id) WHERE closed_at IS NOT NULL;
-- The SLA filters read the records that have such an instant in List
-- order; TimersDue and the wake-up worker read the records by their
-- earliest wake-up.
CREATE INDEX records_sla_breach_idx     ON records (kind, opened_at, id) WHERE sla_breach_at IS NOT NULL;
CREATE INDEX records_sla_at_risk_idx    ON records (kind, opened_at, id) WHERE sla_at_risk_at IS NOT NULL;
CREATE INDEX records_sla_wake_idx       ON records (sla_wake_at) WHERE sla_wake_at IS NOT NULL;

-- The configuration items of each record, with its opening instant, so
-- that the ConfigItem filter reads them in List order.
CREATE TABLE record_config_items (
    kind        text COLLATE "C" NOT NULL,
    record_id   text COLLATE "C" NOT NULL,
    config_item text NOT NULL,
    opened_at   timestamptz NOT NULL,
    CONSTRAINT record_config_items_pkey PRIMARY KEY (kind, record_id, config_item)
);
CREATE INDEX record_config_items_ci_idx ON record_config_items (kind, config_item, opened_at, record_id);

-- One row per journal entry, position from 0 in journal order.
CREATE TABLE record_journal (
    kind       text COLLATE "C" NOT NULL,
    record_id  text COLLATE "C" NOT NULL,
    position   integer NOT NULL,
    entry_kind text NOT NULL,
    author     text NOT NULL,
    at         timestamptz NOT NULL,
    text       text NOT NULL,
    CONSTRAINT record_journal_pkey PRIMARY KEY (kind, record_id, position)
);

-- Typed, directed links, read from both ends in the order they were added.
CREATE TABLE record_links (
    seq        bigint GENERATED BY DEFAULT AS IDENTITY CONSTRAINT record_links_pkey PRIMARY KEY,
    type       text COLLATE "C" NOT NULL,
    from_kind  text COLLATE "C" NOT NULL,
    from_id    text COLLATE "C" NOT NULL,
    to_kind    text COLLATE "C" NOT NULL,
    to_id      text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL,
    CONSTRAINT record_links_key UNIQUE (type, from_kind, from_id, to_kind, to_id)
);
CREATE INDEX record_links_from_idx ON record_links (from_kind, from_id, seq);
CREATE INDEX record_links_to_idx   ON record_links (to_kind, to_id, seq);

-- SLA timers: the sla.Timer's JSON (identity, target and whole history)
-- beside what is derived from it when it is saved. A timer is known by its
-- record and its ID, and its record must be stored. seq keeps the order in
-- which timers were first saved.
CREATE TABLE sla_timers (
    seq          bigint GENERATED BY DEFAULT AS IDENTITY,
    kind         text COLLATE "C" NOT NULL,
    record_id    text COLLATE "C" NOT NULL,
    id           text COLLATE "C" NOT NULL,
    policy       text NOT NULL,
    -- sla.PolicyKind: 0 SLA, 1 OLA, 2 UC.
    policy_kind  integer NOT NULL,
    metric       text NOT NULL,
    -- json, not jsonb: stored and read back whole, never looked into.
    timer        json NOT NULL,
    stage        text NOT NULL,
    at_risk_at   timestamptz,
    breach_at    timestamptz,
    next_wake_at timestamptz,
    CONSTRAINT sla_timers_pkey PRIMARY KEY (kind, record_id, id),
    CONSTRAINT sla_timers_record_fkey FOREIGN KEY (kind, record_id) REFERENCES records (kind, id)
);

-- Each threshold of each timer cycle is recorded once.
CREATE TABLE sla_crossings (
    kind         text COLLATE "C" NOT NULL,
    record_id    text COLLATE "C" NOT NULL,
    timer_id     text COLLATE "C" NOT NULL,
    cycle        integer NOT NULL,
    basis_points integer NOT NULL,
    policy       text NOT NULL,
    metric       text NOT NULL,
    at           timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL,
    CONSTRAINT sla_crossings_pkey PRIMARY KEY (kind, record_id, timer_id, cycle, basis_points),
    CONSTRAINT sla_crossings_timer_fkey FOREIGN KEY (kind, record_id, timer_id) REFERENCES sla_timers (kind, record_id, id)
);

-- The outbox: one row per audit event, appended in the transaction that
-- made the change. xid is the appending transaction's ID: ReadOutbox reads
-- in (xid, id) order and only rows of transactions older than every
-- transaction still running, so that a row committed later never lands
-- before a position already handed out (see the package documentation).
CREATE TABLE outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT outbox_pkey PRIMARY KEY,
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    kind        text COLLATE "C" NOT NULL,
    record_id   text COLLATE "C" NOT NULL,
    sequence    bigint NOT NULL,
    -- The itsm.Event as JSON (json: stored and read back whole).
    event       json NOT NULL,
    appended_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_xid_idx ON outbox (xid, id);

-- Claims of outbox messages by consumer: a lease until lease_until, the
-- number of claims so far, and whether the consumer acknowledged it.
CREATE TABLE outbox_claims (
    consumer    text COLLATE "C" NOT NULL,
    message_id  bigint NOT NULL REFERENCES outbox (id),
    lease_until timestamptz NOT NULL,
    attempts    integer NOT NULL,
    acked       boolean NOT NULL,
    CONSTRAINT outbox_claims_pkey PRIMARY KEY (consumer, message_id)
);

-- Carry the incidents over. The document has the keys the incident
-- package's codec reads; absent values leave their keys out.
INSERT INTO records (kind, id, number, title, description, state, state_category, impact, urgency, priority,
    requester_id, assignment_group, assignee, service, category, parent_kind, parent_id, major,
    opened_at, updated_at, resolved_at, closed_at, version, doc)
SELECT 'incident', i.id, i.number, i.title, i.description, i.state, c.category, i.impact, i.urgency, i.priority,
    i.caller_id, i.assignment_group, i.assignee, i.service, i.category,
    CASE WHEN i.parent_id <> '' THEN 'incident' ELSE '' END, i.parent_id, i.major,
    i.opened_at, i.updated_at, i.resolved_at, i.closed_at, i.version,
    jsonb_build_object(
        'kind', 'incident', 'id', i.id, 'number', i.number, 'title', i.title, 'description', i.description,
        'state', i.state, 'state_category', c.category,
        'requester', jsonb_build_object('id', i.caller_id)
            || CASE WHEN i.caller_name <> '' THEN jsonb_build_object('name', i.caller_name) ELSE '{}' END
            || CASE WHEN cardinality(i.caller_roles) > 0 THEN jsonb_build_object('roles', to_jsonb(i.caller_roles)) ELSE '{}' END,
        'assignment_group', i.assignment_group, 'assignee', i.assignee, 'service', i.service,
        'category', i.category, 'major', i.major,
        'opened_at', to_char(i.opened_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'updated_at', to_char(i.updated_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'version', i.version,
        'body', jsonb_build_object(
            'priority_overridden', i.priority_overridden, 'hold_reason', i.hold_reason,
            'resolution_code', i.resolution_code, 'resolution_notes', i.resolution_notes,
            'cancel_reason', i.cancel_reason, 'reopen_count', i.reopen_count)
            || CASE WHEN i.first_response_at IS NOT NULL
                    THEN jsonb_build_object('first_response_at', to_char(i.first_response_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                    ELSE '{}' END)
    || CASE WHEN i.impact <> 0 THEN jsonb_build_object('impact', i.impact::text) ELSE '{}' END
    || CASE WHEN i.urgency <> 0 THEN jsonb_build_object('urgency', i.urgency::text) ELSE '{}' END
    || CASE WHEN i.priority <> 0 THEN jsonb_build_object('priority', i.priority::text) ELSE '{}' END
    || CASE WHEN i.config_item <> '' THEN jsonb_build_object('config_items', jsonb_build_array(i.config_item)) ELSE '{}' END
    || CASE WHEN i.parent_id <> '' THEN jsonb_build_object('parent', jsonb_build_object('kind', 'incident', 'id', i.parent_id)) ELSE '{}' END
    || CASE WHEN i.resolved_at IS NOT NULL THEN jsonb_build_object('resolved_at', to_char(i.resolved_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) ELSE '{}' END
    || CASE WHEN i.closed_at IS NOT NULL THEN jsonb_build_object('closed_at', to_char(i.closed_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) ELSE '{}' END
FROM incidents i
CROSS JOIN LATERAL (SELECT CASE i.state
    WHEN 'new' THEN 'new' WHEN 'in_progress' THEN 'active' WHEN 'on_hold' THEN 'pending'
    WHEN 'resolved' THEN 'resolved' WHEN 'closed' THEN 'closed' WHEN 'canceled' THEN 'cancelled'
    ELSE CASE WHEN i.closed_at IS NOT NULL THEN 'closed' WHEN i.resolved_at IS NOT NULL THEN 'resolved'
              WHEN i.cancel_reason <> '' THEN 'cancelled' ELSE 'active' END
    END AS category) c;

INSERT INTO record_config_items (kind, record_id, config_item, opened_at)
SELECT 'incident', id, config_item, opened_at FROM incidents WHERE config_item <> '';

INSERT INTO record_journal (kind, record_id, position, entry_kind, author, at, text)
SELECT 'incident', incident_id, position, kind, author, at, text FROM incident_journal;

-- Problem links are caused_by links to problems, change links fixed_by
-- links to changes, made when the incident was last updated.
INSERT INTO record_links (type, from_kind, from_id, to_kind, to_id, created_at, created_by)
SELECT l.type, 'incident', l.incident_id, l.to_kind, l.to_id, i.updated_at, 'migration'
FROM (SELECT 'caused_by' AS type, incident_id, 'problem' AS to_kind, problem_id AS to_id, 0 AS part, position FROM incident_problems
      UNION ALL
      SELECT 'fixed_by', incident_id, 'change', change_id, 1, position FROM incident_changes) l
JOIN incidents i ON i.id = l.incident_id
ORDER BY l.incident_id, l.part, l.position
ON CONFLICT (type, from_kind, from_id, to_kind, to_id) DO NOTHING;

-- Timers keep their order (seq); their policy, metric and policy kind
-- come from the timer's JSON.
INSERT INTO sla_timers (seq, kind, record_id, id, policy, policy_kind, metric, timer, stage, at_risk_at, breach_at, next_wake_at)
SELECT seq, 'incident', incident_id, id, coalesce(timer->>'policy', ''),
    CASE lower(coalesce(timer->>'kind', '')) WHEN 'ola' THEN 1 WHEN 'uc' THEN 2 ELSE 0 END,
    coalesce(timer->>'metric', ''), timer::json, stage, at_risk_at, breach_at, next_wake_at
FROM old_sla_timers ORDER BY seq;
SELECT setval(pg_get_serial_sequence('sla_timers', 'seq'), coalesce((SELECT max(seq) FROM sla_timers), 0) + 1, false);

UPDATE records r SET (sla_wake_at, sla_breach_at, sla_at_risk_at) = (s.wake, s.breach, s.at_risk)
FROM (SELECT kind, record_id, min(next_wake_at) AS wake, min(breach_at) AS breach,
             min(CASE WHEN stage IN ('running', 'paused') THEN at_risk_at END) AS at_risk
      FROM sla_timers GROUP BY kind, record_id) s
WHERE r.kind = s.kind AND r.id = s.record_id;

INSERT INTO sla_crossings (kind, record_id, timer_id, cycle, basis_points, policy, metric, at, recorded_at)
SELECT 'incident', incident_id, timer_id, cycle, basis_points, policy, metric, at, recorded_at FROM old_sla_crossings;

-- One sequence per kind (records_number_<kind>); each continues where its
-- row of number_sequences left off.
DO $$
DECLARE
    seq record;
BEGIN
    FOR seq IN SELECT kind, value FROM number_sequences WHERE kind ~ '^[a-z][a-z0-9_]{0,39}$' LOOP
        EXECUTE format('CREATE SEQUENCE %I MINVALUE 1', 'records_number_' || seq.kind);
        IF seq.value >= 1 THEN
            PERFORM setval(quote_ident('records_number_' || seq.kind), seq.value, true);
        END IF;
    END LOOP;
END;
$$;

DROP TABLE old_sla_crossings;
DROP TABLE old_sla_timers;
DROP TABLE incident_journal;
DROP TABLE incident_problems;
DROP TABLE incident_changes;
DROP TABLE incidents;
DROP TABLE number_sequences;

-- A trigram index for List's Text filter (number, title or description
-- containing a string, ignoring case, which List runs as ILIKE), when the
-- pg_trgm extension is installed or can be installed, as in version 2.
-- Without it the migration still succeeds and Text searches scan.
DO $$
DECLARE
    ext_schema text;
BEGIN
    PERFORM pg_advisory_xact_lock(7308190511425631337);
    SELECT n.nspname INTO ext_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    IF ext_schema IS NULL THEN
        BEGIN
            CREATE EXTENSION pg_trgm SCHEMA public;
            ext_schema := 'public';
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'itsmkit: pg_trgm unavailable (%), text search will scan', SQLERRM;
            RETURN;
        END;
    END IF;
    EXECUTE format(
        'CREATE INDEX records_text_trgm_idx ON records USING gin '
        '(number %1$I.gin_trgm_ops, title %1$I.gin_trgm_ops, description %1$I.gin_trgm_ops)',
        ext_schema);
END;
$$;
