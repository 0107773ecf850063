package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/postgres"
)

// crossingsIn returns the crossings recorded in the audit trail of ref.
func crossingsIn(t *testing.T, s *postgres.Store, ref record.Ref) []storage.Crossing {
	t.Helper()
	hist, err := s.History(t.Context(), ref)
	require.NoError(t, err)
	var out []storage.Crossing
	for _, ev := range hist {
		if c, ok := storage.CrossingFromEvent(ev); ok {
			out = append(out, c)
		}
	}
	return out
}

// TestWorkerRefreshesSummaries runs a storage.Worker over a record with
// two timers: long after they started, each has crossed 50 %, 75 % and
// the breach, each crossing is recorded once however often the worker
// runs, and the record's SLA summary shows the breach to List.
func TestWorkerRefreshesSummaries(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	rec := testRecord(1)
	create(t, s, rec)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		return tx.PutTimers(ctx, timerOf(t, rec.Ref(), "response"), timerOf(t, rec.Ref(), "resolution"))
	}))
	now := t0.Add(time.Minute)
	w := &storage.Worker{Processor: s, Clock: itsm.ClockFunc(func() time.Time { return now }), BatchSize: 1}
	p, err := w.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, p.Processed, "nothing is due yet")

	now = t0.Add(100 * 24 * time.Hour) // past every target
	page, err := s.List(ctx, record.Query{Kind: ticketKind, SLA: record.SLAFilter{Breached: true}, Now: now})
	require.NoError(t, err)
	require.Len(t, page.Records, 1, "breached by the summary written when the timers were saved")
	p, err = w.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, p.Processed, "both timers were due, in batches of one")
	require.Equal(t, 6, p.Recorded)
	got := crossingsIn(t, s, rec.Ref())
	require.Len(t, got, 6, "two timers, three thresholds each: %v", got)
	for _, c := range got {
		require.Equal(t, rec.Ref(), c.Record)
		require.Equal(t, "gold", c.Policy)
		require.Equal(t, 1, c.Cycle)
	}
	p, err = w.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, p.Processed)
	require.Len(t, crossingsIn(t, s, rec.Ref()), 6, "crossings are recorded once")

	var rows int
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT count(*) FROM "+s.Schema()+".sla_crossings").Scan(&rows))
	require.Equal(t, 6, rows)
	timers, err := s.Timers(ctx, rec.Ref())
	require.NoError(t, err)
	for _, r := range timers {
		require.Equal(t, sla.StageBreached, r.Stage)
		require.True(t, r.NextWakeAt.IsZero())
	}
	stored, err := s.Get(ctx, rec.Ref())
	require.NoError(t, err)
	require.Equal(t, sla.StageBreached, stored.SLA[0].Stage)
	due, err := s.TimersDue(ctx, now, 10)
	require.NoError(t, err)
	require.Empty(t, due, "the summary's wake-up is cleared")
	page, err = s.List(ctx, record.Query{Kind: ticketKind, SLA: record.SLAFilter{Breached: true}, Now: now})
	require.NoError(t, err)
	require.Len(t, page.Records, 1)
}

// TestProcessDueTimersUnknownCalendar checks that a timer whose calendar
// the store cannot bind is skipped and left as it was.
func TestProcessDueTimersUnknownCalendar(t *testing.T) {
	t.Parallel()
	s := newStore(t) // no WithCalendars
	ctx := t.Context()
	day := []sla.Interval{{"09:00", "17:00"}}
	cal, err := sla.NewCalendar(sla.CalendarSpec{Name: "weekdays", TimeZone: "UTC",
		Hours: map[string][]sla.Interval{"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}})
	require.NoError(t, err)
	tm, err := sla.NewTimer(cal, sla.BusinessTime(time.Hour), nil, "silver", sla.MetricResponse, itsm.PriorityModerate)
	require.NoError(t, err)
	require.NoError(t, tm.Start(t0))
	rec := testRecord(1)
	tr := record.NewTimerRecord(rec.Ref(), "tmr-1", sla.KindOLA, tm, t0)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		return tx.PutTimers(ctx, tr)
	}))
	b, err := s.ProcessDueTimers(ctx, t0.Add(24*time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, storage.Batch{Claimed: 1, Skipped: []*storage.UnknownCalendarError{
		{Calendar: "weekdays", Record: rec.Ref(), TimerID: "tmr-1"}}}, b)
	missing, err := s.UnknownCalendars(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"weekdays"}, missing)
	stored, err := s.Timers(ctx, rec.Ref())
	require.NoError(t, err)
	require.Equal(t, tr.NextWakeAt, stored[0].NextWakeAt, "the timer is untouched")
	require.Equal(t, sla.KindOLA, stored[0].PolicyKind)

	// With the calendar the same pass succeeds.
	bound, err := postgres.New(s.Pool(), postgres.WithSchema(s.Schema()), postgres.WithCalendars(sla.Calendars{"weekdays": cal}))
	require.NoError(t, err)
	missing, err = bound.UnknownCalendars(ctx)
	require.NoError(t, err)
	require.Empty(t, missing)
	b, err = bound.ProcessDueTimers(ctx, t0.Add(24*time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, storage.Batch{Claimed: 1, Processed: 1, Recorded: 3}, b)
	require.Len(t, crossingsIn(t, s, rec.Ref()), 3)
	b, err = bound.ProcessDueTimers(ctx, t0.Add(24*time.Hour), 0)
	require.NoError(t, err)
	require.Zero(t, b.Claimed, "a limit of 0 processes nothing")
}

// TestProcessDueTimersSameIDInTwoRecords checks that timers with the same
// ID under two records (of two kinds) are claimed, recorded and refreshed
// as two timers: each crossing is recorded for its own record.
func TestProcessDueTimersSameIDInTwoRecords(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	other := record.MustNewSchema(record.SchemaDef{Kind: "alarm", Prefix: "ALM",
		States: []record.StateDef{{Name: "raised", Category: itsm.CategoryNew}}})
	require.NoError(t, s.Declare(ctx, other))
	x := testRecord(1)
	y := &record.Record{Header: record.Header{Kind: "alarm", ID: x.ID, Number: "ALM1", State: "raised",
		StateCategory: itsm.CategoryNew, OpenedAt: t0, UpdatedAt: t0}}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		for _, rec := range []*record.Record{x, y} {
			if err := tx.Create(ctx, rec); err != nil {
				return err
			}
		}
		return tx.PutTimers(ctx, timerOf(t, x.Ref(), "tmr-1"), timerOf(t, y.Ref(), "tmr-1"))
	}))

	now := t0.Add(24 * time.Hour) // past the breach
	b, err := s.ProcessDueTimers(ctx, now, 1)
	require.NoError(t, err)
	require.Equal(t, storage.Batch{Claimed: 1, Processed: 1, Recorded: 3}, b)
	b, err = s.ProcessDueTimers(ctx, now, 10)
	require.NoError(t, err)
	require.Equal(t, storage.Batch{Claimed: 1, Processed: 1, Recorded: 3}, b)
	for _, ref := range []record.Ref{x.Ref(), y.Ref()} {
		got := crossingsIn(t, s, ref)
		require.Len(t, got, 3, "three thresholds of %s: %v", ref, got)
		for _, c := range got {
			require.Equal(t, ref, c.Record)
			require.Equal(t, "tmr-1", c.TimerID)
		}
	}
	b, err = s.ProcessDueTimers(ctx, now, 10)
	require.NoError(t, err)
	require.Zero(t, b.Claimed, "both timers were refreshed")
	for _, ref := range []record.Ref{x.Ref(), y.Ref()} {
		timers, err := s.Timers(ctx, ref)
		require.NoError(t, err)
		require.Len(t, timers, 1)
		require.Equal(t, sla.StageBreached, timers[0].Stage, ref)
		require.True(t, timers[0].NextWakeAt.IsZero(), ref)
	}
}
