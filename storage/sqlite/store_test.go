package sqlite_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/sqlite"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// openTemp opens a fresh store on a new file in t's temporary directory
// and closes it when t ends.
func openTemp(t testing.TB, opts ...sqlite.Option) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "itsm.db")
	s, err := sqlite.Open(t.Context(), path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s, path
}

// TestConformance runs the shared storage conformance suite, each check on
// its own database file; files share nothing, so checks run in parallel.
func TestConformance(t *testing.T) {
	storagetest.TestIncidentStore(t, func(t *testing.T) incident.Store {
		t.Parallel()
		s, _ := openTemp(t)
		return s
	})
}

// TestTimerWorker runs the shared wake-up worker check. Commits need not
// survive a power loss here, so the store syncs at checkpoints only.
func TestTimerWorker(t *testing.T) {
	t.Parallel()
	storagetest.TestTimerWorker(t, func(t *testing.T) storagetest.WorkerStore {
		s, _ := openTemp(t, sqlite.WithSync(sqlite.SyncNormal), sqlite.WithCalendars(storagetest.WorkerCalendars()))
		return s
	})
}

// twoStores is a WorkerStore whose worker passes alternate between two
// Stores on one file, as two processes would run them: they serialize on
// SQLite's write lock instead of on one writer connection.
type twoStores struct {
	*sqlite.Store
	other *sqlite.Store
	n     atomic.Uint64
}

func (s *twoStores) ProcessDueTimers(ctx context.Context, now time.Time, limit int, hook storage.CrossingHook) (int, error) {
	if s.n.Add(1)%2 == 0 {
		return s.other.ProcessDueTimers(ctx, now, limit, hook)
	}
	return s.Store.ProcessDueTimers(ctx, now, limit, hook)
}

func TestTimerWorkerAcrossStores(t *testing.T) {
	t.Parallel()
	storagetest.TestTimerWorker(t, func(t *testing.T) storagetest.WorkerStore {
		opts := []sqlite.Option{sqlite.WithSync(sqlite.SyncNormal), sqlite.WithCalendars(storagetest.WorkerCalendars())}
		first, path := openTemp(t, opts...)
		second, err := sqlite.Open(t.Context(), path, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, second.Close()) })
		return &twoStores{Store: first, other: second}
	})
}

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
	rec := incident.NewTimerRecord("tmr-1", "inc-1", tm, start)
	inc := &incident.Incident{ID: "inc-1", Number: "INC1", Title: "x", State: incident.New, OpenedAt: start, UpdatedAt: start}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		if err := tx.Create(ctx, inc); err != nil {
			return err
		}
		return tx.PutTimers(ctx, rec)
	}))

	n, err := s.ProcessDueTimers(ctx, start.Add(2*time.Hour), 0, nil)
	require.NoError(t, err)
	require.Zero(t, n, "a limit of 0 processes nothing")
	n, err = s.ProcessDueTimers(ctx, start, 10, nil)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is due yet")

	// A timer on a calendar the store cannot bind stops the pass.
	_, err = s.ProcessDueTimers(ctx, start.Add(2*time.Hour), 10, nil)
	require.ErrorIs(t, err, itsm.ErrValidation)
	require.ErrorContains(t, err, "tmr-1")

	bound, _ := openTemp(t, sqlite.WithCalendars(sla.Calendars{"weekdays": cal}))
	require.NoError(t, bound.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		if err := tx.Create(ctx, inc); err != nil {
			return err
		}
		return tx.PutTimers(ctx, rec)
	}))
	// A nil hook records the crossings all the same; a later pass at the
	// same instant finds nothing new.
	n, err = bound.ProcessDueTimers(ctx, start.Add(2*time.Hour), 10, nil)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	var calls int
	n, err = bound.ProcessDueTimers(ctx, start.Add(2*time.Hour), 10, func(context.Context, storage.Crossing) error { calls++; return nil })
	require.NoError(t, err)
	require.Zero(t, n)
	require.Zero(t, calls)
	got, err := bound.Timers(ctx, "inc-1")
	require.NoError(t, err)
	require.Equal(t, sla.StageBreached, got[0].Stage)
	require.True(t, got[0].NextWakeAt.IsZero())
	require.Equal(t, 3, count(t, bound, "SELECT count(*) FROM sla_crossings WHERE timer_id = 'tmr-1'"))
}

// TestSLASummaryFollowsTimers checks that the triggers on sla_timers keep
// each incident's SLA summary equal to what its timers say, through every
// way timers are written: the service's saves (start, stop, pause) and
// the wake-up worker's refreshes. It also checks that a timer cannot be
// moved to another incident behind the summary's back.
func TestSLASummaryFollowsTimers(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	svc, clock := newService(t, s)
	ctx := t.Context()
	const stale = `SELECT count(*) FROM incidents i WHERE
		sla_wake_at IS NOT (SELECT min(next_wake_at) FROM sla_timers WHERE incident_id = i.id)
		OR sla_breach_at IS NOT (SELECT min(breach_at) FROM sla_timers WHERE incident_id = i.id)
		OR sla_at_risk_at IS NOT (SELECT min(CASE WHEN stage IN ('running', 'paused') THEN at_risk_at END)
			FROM sla_timers WHERE incident_id = i.id)`
	var ids []string
	for i := range 12 {
		inc, err := svc.Open(ctx, agent, openInput("Printer jam"))
		require.NoError(t, err)
		ids = append(ids, inc.ID)
		if i%4 == 0 {
			continue // stays new, both timers running
		}
		_, err = svc.Assign(ctx, agent, inc.ID, incident.AssignInput{Assignee: "bob"})
		require.NoError(t, err)
		switch i % 4 {
		case 2:
			_, err = svc.Hold(ctx, agent, inc.ID, incident.HoldInput{Reason: incident.AwaitingCaller})
		case 3:
			_, err = svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{Code: "fixed", Notes: "Cleared."})
		}
		require.NoError(t, err)
	}
	require.Zero(t, count(t, s, stale))
	breached, atRisk := 0, 0
	for range 40 {
		clock.Advance(15 * time.Minute)
		_, err := s.ProcessDueTimers(ctx, clock.Now(), 100, nil)
		require.NoError(t, err)
		require.Zero(t, count(t, s, stale), "after the worker's pass at %s", clock.Now())
		page, err := s.List(ctx, incident.Query{Breached: true, Now: clock.Now(), Limit: 100})
		require.NoError(t, err)
		breached += len(page.Incidents)
		page, err = s.List(ctx, incident.Query{AtRisk: true, Now: clock.Now(), Limit: 100})
		require.NoError(t, err)
		atRisk += len(page.Incidents)
	}
	require.NotZero(t, breached, "the clock ran past some breaches")
	require.NotZero(t, atRisk, "and past some last warnings")
	require.NotZero(t, count(t, s, "SELECT count(*) FROM incidents WHERE sla_breach_at IS NOT NULL"))

	tx, err := s.BeginTx(ctx)
	require.NoError(t, err)
	defer func() { require.NoError(t, tx.Rollback()) }()
	_, err = tx.ExecContext(ctx, "UPDATE sla_timers SET incident_id = ? WHERE incident_id = ?", ids[1], ids[0])
	require.ErrorContains(t, err, "do not change incident or ID")
}
