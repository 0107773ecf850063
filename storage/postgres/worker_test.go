package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/postgres"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// TestTimerWorker runs the shared worker suite: concurrent
// ProcessDueTimers passes over a few thousand timers.
func TestTimerWorker(t *testing.T) {
	t.Parallel()
	testURL(t)
	storagetest.TestTimerWorker(t, func(t *testing.T) storagetest.WorkerStore {
		return newStore(t, postgres.WithCalendars(storagetest.WorkerCalendars()))
	})
}

// TestWorkerWithService runs a storage.Worker over an incident opened by
// the service: long after opening, both of its timers have crossed 50 %,
// 75 % and the breach, and each crossing is delivered once however often
// the worker runs.
func TestWorkerWithService(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	svc, clock := newService(t, s)
	ctx := t.Context()
	inc, err := svc.Open(ctx, agent, openInput)
	require.NoError(t, err)

	var got []storage.Crossing
	w := &storage.Worker{Processor: s, Clock: clock, BatchSize: 1,
		Hook: func(_ context.Context, c storage.Crossing) error { got = append(got, c); return nil }}
	n, err := w.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is due when the incident is opened")

	clock.Advance(100 * 24 * time.Hour) // past every target
	n, err = w.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n, "both timers were due, in batches of one")
	require.Len(t, got, 6, "two timers, three thresholds each: %v", got)
	for _, c := range got {
		require.Equal(t, inc.ID, c.IncidentID)
		require.Equal(t, "gold", c.Policy)
		require.Equal(t, 1, c.Cycle)
	}
	n, err = w.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Len(t, got, 6, "crossings are delivered once")

	var rows int
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT count(*) FROM "+s.Schema()+".sla_crossings").Scan(&rows))
	require.Equal(t, 6, rows)
	timers, err := s.Timers(ctx, inc.ID)
	require.NoError(t, err)
	for _, r := range timers {
		require.Equal(t, sla.StageBreached, r.Stage)
		require.True(t, r.NextWakeAt.IsZero())
	}
	page, err := s.List(ctx, incident.Query{Breached: true, Now: clock.Now()})
	require.NoError(t, err)
	require.Len(t, page.Incidents, 1)
}

// TestProcessDueTimersUnknownCalendar checks that a timer whose calendar
// the store cannot bind fails the pass and keeps nothing of it.
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
	inc := testIncident(1)
	rec := incident.NewTimerRecord("tmr-1", inc.ID, tm, t0)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		if err := tx.Create(ctx, inc); err != nil {
			return err
		}
		return tx.PutTimers(ctx, rec)
	}))
	hooked := 0
	n, err := s.ProcessDueTimers(ctx, t0.Add(24*time.Hour), 10, func(context.Context, storage.Crossing) error { hooked++; return nil })
	require.ErrorIs(t, err, itsm.ErrValidation)
	require.Zero(t, n)
	require.Zero(t, hooked)
	stored, err := s.Timers(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, rec.NextWakeAt, stored[0].NextWakeAt, "the timer is untouched")

	// With the calendar the same pass succeeds.
	bound, err := postgres.New(s.Pool(), postgres.WithSchema(s.Schema()), postgres.WithCalendars(sla.Calendars{"weekdays": cal}))
	require.NoError(t, err)
	n, err = bound.ProcessDueTimers(ctx, t0.Add(24*time.Hour), 10, func(context.Context, storage.Crossing) error { hooked++; return nil })
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, 3, hooked)
	n, err = bound.ProcessDueTimers(ctx, t0.Add(24*time.Hour), 0, nil)
	require.NoError(t, err)
	require.Zero(t, n, "a limit of 0 processes nothing")
}

// TestProcessDueTimersSameIDInTwoIncidents checks that two timers with the
// same ID under two incidents are claimed, recorded and refreshed as two
// timers: each crossing is recorded for its own incident.
func TestProcessDueTimersSameIDInTwoIncidents(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	x, y := testIncident(1), testIncident(2)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		for _, inc := range []*incident.Incident{x, y} {
			if err := tx.Create(ctx, inc); err != nil {
				return err
			}
		}
		return tx.PutTimers(ctx, incident.NewTimerRecord("tmr-1", y.ID, mustTimer(t), t0),
			incident.NewTimerRecord("tmr-1", x.ID, mustTimer(t), t0))
	}))

	now := t0.Add(24 * time.Hour) // past the breach
	var got []storage.Crossing
	hook := func(_ context.Context, c storage.Crossing) error { got = append(got, c); return nil }
	n, err := s.ProcessDueTimers(ctx, now, 1, hook)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, got, 3, "three thresholds: %v", got)
	for _, c := range got {
		require.Equal(t, x.ID, c.IncidentID, "same instant and ID: the incident ID decides")
	}
	n, err = s.ProcessDueTimers(ctx, now, 10, hook)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, got, 6)
	for _, c := range got[3:] {
		require.Equal(t, y.ID, c.IncidentID)
		require.Equal(t, "tmr-1", c.TimerID)
	}
	n, err = s.ProcessDueTimers(ctx, now, 10, hook)
	require.NoError(t, err)
	require.Zero(t, n, "both timers were refreshed")

	var rows int
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT count(*) FROM "+s.Schema()+".sla_crossings WHERE timer_id = 'tmr-1'").Scan(&rows))
	require.Equal(t, 6, rows)
	for _, inc := range []*incident.Incident{x, y} {
		timers, err := s.Timers(ctx, inc.ID)
		require.NoError(t, err)
		require.Len(t, timers, 1)
		require.Equal(t, sla.StageBreached, timers[0].Stage, inc.ID)
		require.True(t, timers[0].NextWakeAt.IsZero(), inc.ID)
	}
}
