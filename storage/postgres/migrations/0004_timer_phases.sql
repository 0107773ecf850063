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
-- breached at about the present are those of that phase; the others (a
-- wake-up that passed unhandled, an instant in the past) are few, and
-- List reads them through the threshold columns and their indexes (see
-- sqlrec.List). The
-- differences of instants keep the expression immutable.

-- The threshold of the timers whose status may differ from their phase,
-- NULL for the others (their own columns, so that the planner has their
-- statistics): at_risk_at of an active timer of phase 0, breach_at of one
-- of phase 2, breach_at of one of phase 0 or 1.
ALTER TABLE sla_timers
    ADD COLUMN opened_at timestamptz,
    ADD COLUMN phase smallint NOT NULL GENERATED ALWAYS AS (CASE
        WHEN breach_at IS NOT NULL AND (next_wake_at IS NULL OR next_wake_at - breach_at > interval '1 microsecond') THEN 2
        WHEN stage IN ('running', 'paused') AND at_risk_at IS NOT NULL
            AND (next_wake_at IS NULL OR next_wake_at - at_risk_at >= interval '1 microsecond') THEN 1
        ELSE 0 END) STORED,
    ADD COLUMN risk_passed_at timestamptz GENERATED ALWAYS AS (CASE
        WHEN breach_at IS NOT NULL AND (next_wake_at IS NULL OR next_wake_at - breach_at > interval '1 microsecond') THEN NULL
        WHEN stage IN ('running', 'paused') AND at_risk_at IS NOT NULL
            AND (next_wake_at IS NULL OR next_wake_at - at_risk_at >= interval '1 microsecond') THEN NULL
        WHEN stage IN ('running', 'paused') THEN at_risk_at END) STORED,
    ADD COLUMN breach_ahead_at timestamptz GENERATED ALWAYS AS (CASE
        WHEN breach_at IS NOT NULL AND (next_wake_at IS NULL OR next_wake_at - breach_at > interval '1 microsecond') THEN breach_at END) STORED,
    ADD COLUMN breach_passed_at timestamptz GENERATED ALWAYS AS (CASE
        WHEN breach_at IS NOT NULL AND (next_wake_at IS NULL OR next_wake_at - breach_at > interval '1 microsecond') THEN NULL ELSE breach_at END) STORED;
UPDATE sla_timers t SET opened_at = r.opened_at FROM records r WHERE r.kind = t.kind AND r.id = t.record_id;
ALTER TABLE sla_timers ALTER COLUMN opened_at SET NOT NULL;

-- The Metric and PolicyKinds filters without a flag, in List order.
CREATE INDEX sla_timers_metric_idx      ON sla_timers (kind, metric, opened_at, record_id);
CREATE INDEX sla_timers_policy_kind_idx ON sla_timers (kind, policy_kind, opened_at, record_id);
-- The timers at risk and the breached ones (by metric) in List order.
CREATE INDEX sla_timers_at_risk_idx     ON sla_timers (kind, opened_at, record_id) WHERE phase = 1;
CREATE INDEX sla_timers_breached_idx    ON sla_timers (kind, metric, opened_at, record_id) WHERE phase = 2;
-- The few whose status differs from their phase at the instant asked
-- about, by the threshold that tells.
CREATE INDEX sla_timers_risk_passed_idx   ON sla_timers (kind, risk_passed_at) WHERE risk_passed_at IS NOT NULL;
CREATE INDEX sla_timers_breach_ahead_idx  ON sla_timers (kind, breach_ahead_at) WHERE breach_ahead_at IS NOT NULL;
CREATE INDEX sla_timers_breach_passed_idx ON sla_timers (kind, breach_passed_at) WHERE breach_passed_at IS NOT NULL;

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
