-- itsmkit PostgreSQL schema, version 4: what List needs to read the SLA
-- filters in List order from the timers themselves. Each timer carries
-- its record's opening instant (kept by the trigger below when a record's
-- opening instant changes, and written by PutTimers) and its phase, so
-- that partial indexes on sla_timers hold the timers of one metric, one
-- policy kind or one phase in List order (opened_at, record_id).
--
-- phase is the timer's status by its stored values just before its next
-- wake-up (next_wake_at minus one microsecond; for ever after when it has
-- none): 2 breached (breach_at set and before that instant), 1 at risk
-- (running or paused, at_risk_at set, at or before that instant, not
-- breached), 0 otherwise. Until the next wake-up the status is the phase
-- once the phase's own threshold has passed, so the timers at risk or
-- breached at about the present are those of that phase. The others are
-- a wake-up that passed unhandled, which records_sla_wake_idx finds, and,
-- for at risk, an instant before a saved breach, which breach_ahead_at
-- finds (see sqlrec.List). The differences of instants keep the
-- expressions immutable.
--
-- A new timer is running and of phase 0, so it lands in the key and the
-- metric and policy kind indexes only: the phase indexes hold the timers
-- at risk or breached, and the records' SLA indexes of version 3 are
-- dropped (List reads those filters from the timers).
ALTER TABLE sla_timers
    ADD COLUMN opened_at timestamptz,
    ADD COLUMN phase smallint NOT NULL GENERATED ALWAYS AS (CASE
        WHEN breach_at IS NOT NULL AND (next_wake_at IS NULL OR next_wake_at - breach_at > interval '1 microsecond') THEN 2
        WHEN stage IN ('running', 'paused') AND at_risk_at IS NOT NULL
            AND (next_wake_at IS NULL OR next_wake_at - at_risk_at >= interval '1 microsecond') THEN 1
        ELSE 0 END) STORED,
    -- breach_at of the timers of phase 2, NULL for the others (a column
    -- of its own, so that the planner has its statistics).
    ADD COLUMN breach_ahead_at timestamptz GENERATED ALWAYS AS (CASE
        WHEN breach_at IS NOT NULL AND (next_wake_at IS NULL OR next_wake_at - breach_at > interval '1 microsecond') THEN breach_at END) STORED;
UPDATE sla_timers t SET opened_at = r.opened_at FROM records r WHERE r.kind = t.kind AND r.id = t.record_id;
ALTER TABLE sla_timers ALTER COLUMN opened_at SET NOT NULL;

-- The Metric and PolicyKinds filters without a flag, in List order.
CREATE INDEX sla_timers_metric_idx      ON sla_timers (kind, metric, opened_at, record_id);
CREATE INDEX sla_timers_policy_kind_idx ON sla_timers (kind, policy_kind, opened_at, record_id);
-- The timers at risk and the breached ones (all, and by metric) in List
-- order.
CREATE INDEX sla_timers_at_risk_idx         ON sla_timers (kind, opened_at, record_id) WHERE phase = 1;
CREATE INDEX sla_timers_breached_idx        ON sla_timers (kind, opened_at, record_id) WHERE phase = 2;
CREATE INDEX sla_timers_breached_metric_idx ON sla_timers (kind, metric, opened_at, record_id) WHERE phase = 2;
-- The timers of phase 2 by their breach, for at risk at an instant before
-- it.
CREATE INDEX sla_timers_breach_ahead_idx ON sla_timers (kind, breach_ahead_at) WHERE breach_ahead_at IS NOT NULL;

DROP INDEX records_sla_breach_idx;
DROP INDEX records_sla_at_risk_idx;

-- A record's timers follow its opening instant. The function keeps the
-- search path of this migration (the store's schema).
CREATE FUNCTION records_opened_timers() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE sla_timers SET opened_at = NEW.opened_at WHERE kind = NEW.kind AND record_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER records_opened_timers AFTER UPDATE OF opened_at ON records
    FOR EACH ROW WHEN (OLD.opened_at IS DISTINCT FROM NEW.opened_at) EXECUTE FUNCTION records_opened_timers();
