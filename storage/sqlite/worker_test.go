package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

func TestProcessDueTimersEdges(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t) // no calendars
	cal, err := sla.NewCalendar(sla.CalendarSpec{Name: "weekdays", TimeZone: "UTC",
		Hours: map[string][]sla.Interval{"mon": {{"09:00", "17:00"}}, "tue": {{"09:00", "17:00"}}}})
	require.NoError(t, err)
	tm, err := sla.NewTimer(cal, sla.BusinessTime(time.Hour), nil, "silver", sla.MetricResolution, itsm.PriorityHigh)
	require.NoError(t, err)
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // a Monday
	require.NoError(t, tm.Start(start))
	rec := newTicket(1, "x", start)
	tr := record.NewTimerRecord(rec.Ref(), "tmr-1", sla.KindOLA, tm, start)
	store := func(s *sqlite.Store) {
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			if err := tx.Create(ctx, rec.Clone()); err != nil {
				return err
			}
			return tx.PutTimers(ctx, tr)
		}))
	}
	store(s)

	b, err := s.ProcessDueTimers(ctx, start.Add(2*time.Hour), 0)
	require.NoError(t, err)
	require.Zero(t, b.Claimed, "a limit of 0 processes nothing")
	b, err = s.ProcessDueTimers(ctx, start, 10)
	require.NoError(t, err)
	require.Zero(t, b.Claimed, "nothing is due yet")

	// A timer on a calendar the store cannot bind is skipped and stays
	// due; the pass keeps nothing of it.
	b, err = s.ProcessDueTimers(ctx, start.Add(2*time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, storage.Batch{Claimed: 1, Skipped: []*storage.UnknownCalendarError{
		{Calendar: "weekdays", Record: rec.Ref(), TimerID: "tmr-1"}}}, b)
	require.ErrorContains(t, b.Skipped[0], "tmr-1")
	require.Zero(t, count(t, s, "SELECT count(*) FROM sla_crossings"))
	missing, err := s.UnknownCalendars(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"weekdays"}, missing)

	bound, _ := openTemp(t, sqlite.WithCalendars(sla.Calendars{"weekdays": cal}))
	store(bound)
	missing, err = bound.UnknownCalendars(ctx)
	require.NoError(t, err)
	require.Empty(t, missing)
	// A cancelled pass keeps nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = bound.ProcessDueTimers(cctx, start.Add(2*time.Hour), 10)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, count(t, bound, "SELECT count(*) FROM sla_crossings"))
	// A pass records the crossings with their audit events and outbox
	// messages; a later pass at the same instant finds nothing new.
	b, err = bound.ProcessDueTimers(ctx, start.Add(2*time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, storage.Batch{Claimed: 1, Processed: 1, Recorded: 3}, b)
	require.Equal(t, 3, count(t, bound, "SELECT count(*) FROM audit_events WHERE actor_id = 'system'"))
	require.Equal(t, 3, count(t, bound, "SELECT count(*) FROM outbox"))
	b, err = bound.ProcessDueTimers(ctx, start.Add(2*time.Hour), 10)
	require.NoError(t, err)
	require.Zero(t, b.Claimed)
	got, err := bound.Timers(ctx, rec.Ref())
	require.NoError(t, err)
	require.Equal(t, sla.StageBreached, got[0].Stage)
	require.Equal(t, sla.KindOLA, got[0].PolicyKind)
	require.True(t, got[0].NextWakeAt.IsZero())
	require.Equal(t, 3, count(t, bound, "SELECT count(*) FROM sla_crossings WHERE kind = 'incident' AND record_id = ? AND timer_id = 'tmr-1'", rec.ID))
	summary, err := bound.Get(ctx, rec.Ref())
	require.NoError(t, err)
	require.True(t, summary.SLA.Breached(start.Add(2*time.Hour)), "the worker refreshes the record's summary")
	require.Zero(t, count(t, bound, "SELECT count(*) FROM records WHERE sla_wake_at IS NOT NULL"))
}

// The worker's passes keep the summary columns equal to the timers, so
// the SLA filters follow the clock.
func TestWorkerKeepsSummary(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	always := sla.AlwaysOpen(time.UTC)
	s, _ := openTemp(t, sqlite.WithCalendars(sla.Calendars{always.Name(): always}))
	for i := range 12 {
		open(t, s, "T", testStart.Add(time.Duration(i)*time.Minute))
	}
	const stale = `SELECT count(*) FROM records r WHERE
		sla_wake_at IS NOT (SELECT min(next_wake_at) FROM sla_timers WHERE kind = r.kind AND record_id = r.id)
		OR sla_breach_at IS NOT (SELECT min(breach_at) FROM sla_timers WHERE kind = r.kind AND record_id = r.id)
		OR sla_at_risk_at IS NOT (SELECT min(CASE WHEN stage IN ('running', 'paused') THEN at_risk_at END)
			FROM sla_timers WHERE kind = r.kind AND record_id = r.id)`
	breached, atRisk := 0, 0
	for step := range 40 {
		now := testStart.Add(time.Duration(step) * 15 * time.Minute)
		_, err := s.ProcessDueTimers(ctx, now, 100)
		require.NoError(t, err)
		require.Zero(t, count(t, s, stale), "after the pass at %s", now)
		page, err := s.List(ctx, record.Query{Kind: "incident", SLA: record.SLAFilter{Breached: true}, Now: now, Limit: 100})
		require.NoError(t, err)
		breached += len(page.Records)
		page, err = s.List(ctx, record.Query{Kind: "incident", SLA: record.SLAFilter{AtRisk: true}, Now: now, Limit: 100})
		require.NoError(t, err)
		atRisk += len(page.Records)
	}
	require.NotZero(t, breached)
	require.NotZero(t, atRisk)
}
