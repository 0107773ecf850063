package storagetest

import (
	"context"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/stretchr/testify/require"
)

// weekdays returns a named Monday-to-Friday 09:00–17:00 UTC calendar.
func weekdays(e env) *sla.Calendar {
	day := []sla.Interval{{"09:00", "17:00"}}
	cal, err := sla.NewCalendar(sla.CalendarSpec{
		Name: "weekdays", TimeZone: "UTC",
		Hours: map[string][]sla.Interval{"mon": day, "tue": day, "wed": day, "thu": day, "fri": day},
	})
	require.NoError(e.t, err)
	return cal
}

// richTimer returns a 24×7 timer with every kind of event but cancel.
func richTimer(e env) *sla.Timer {
	tm := newTimer(e.t, 8*time.Hour, t0)
	require.NoError(e.t, tm.Pause(t0.Add(time.Hour), "awaiting caller"))
	require.NoError(e.t, tm.Resume(t0.Add(3*time.Hour), "caller replied"))
	require.NoError(e.t, tm.Retarget(t0.Add(4*time.Hour), sla.BusinessTime(4*time.Hour), itsm.PriorityCritical, "priority raised"))
	require.NoError(e.t, tm.Stop(t0.Add(5*time.Hour), "resolved"))
	require.NoError(e.t, tm.Reset(t0.Add(6*time.Hour), sla.Target{}, 0, "reopened"))
	return tm
}

// calendarTimer returns a running timer on the weekdays calendar.
func calendarTimer(e env) *sla.Timer {
	tm, err := sla.NewTimer(weekdays(e), sla.BusinessDays(2), nil, "silver", sla.Metric("response"), itsm.PriorityModerate)
	require.NoError(e.t, err)
	require.NoError(e.t, tm.Start(t0)) // a Monday
	return tm
}

var timerTests = []test{
	{"RoundTrip", func(e env) {
		inc := fixture(1)
		e.create(inc)
		b := record("tmr-b", inc.ID, richTimer(e), t0.Add(7*time.Hour))
		a := record("tmr-a", inc.ID, calendarTimer(e), t0.Add(time.Hour))
		later := record("tmr-0", inc.ID, newTimer(e.t, time.Hour, t0), t0)
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.PutTimers(ctx, b, a)) })
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.PutTimers(ctx, later)) })

		got, err := e.store.Timers(e.ctx, inc.ID)
		require.NoError(e.t, err)
		requireTimers(e.t, []incident.TimerRecord{b, a, later}, got) // in the order first saved

		// A named calendar comes back unbound; binding the calendars
		// restores the same status.
		require.Equal(e.t, "weekdays", got[1].Timer.CalendarName())
		require.Nil(e.t, got[1].Timer.Calendar(), "stores return timers with their calendar unbound")
		always := sla.AlwaysOpen(time.UTC)
		cals := sla.Calendars{"weekdays": weekdays(e), always.Name(): always}
		at := t0.Add(30 * time.Hour)
		for i, want := range []incident.TimerRecord{b, a, later} {
			require.NoError(e.t, got[i].Timer.Bind(cals))
			if diff := cmp.Diff(want.Timer.Status(at), got[i].Timer.Status(at), cmpOpts); diff != "" {
				e.t.Fatalf("status of %s after a round trip (-want +got):\n%s", want.ID, diff)
			}
		}

		e.tx(func(ctx context.Context, tx incident.Tx) {
			got, err := tx.Timers(ctx, inc.ID)
			require.NoError(e.t, err)
			requireTimers(e.t, []incident.TimerRecord{b, a, later}, got)
		})
	}},
	{"Replace", func(e env) {
		inc := fixture(1)
		e.create(inc)
		first := newTimer(e.t, 4*time.Hour, t0)
		b := record("tmr-b", inc.ID, first, t0)
		a := record("tmr-a", inc.ID, newTimer(e.t, time.Hour, t0), t0)
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.PutTimers(ctx, b, a)) })

		second := newTimer(e.t, 4*time.Hour, t0)
		require.NoError(e.t, second.Pause(t0.Add(time.Hour), "awaiting caller"))
		b2 := record("tmr-b", inc.ID, second, t0.Add(2*time.Hour))
		require.NotEqual(e.t, b.Stage, b2.Stage, "the replacement differs in its derived fields")
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.PutTimers(ctx, b2)) })

		got, err := e.store.Timers(e.ctx, inc.ID)
		require.NoError(e.t, err)
		requireTimers(e.t, []incident.TimerRecord{b2, a}, got)
	}},
	{"SameIDInTwoIncidents", func(e env) {
		// A timer is known by its incident and its ID: the same ID under
		// two incidents names two timers, replaced and woken separately.
		x, y := fixture(1), fixture(2)
		e.create(x, y)
		wake := t0.Add(time.Hour)
		ofX := record("tmr-a", x.ID, newTimer(e.t, 4*time.Hour, t0), t0)
		ofY := record("tmr-a", y.ID, newTimer(e.t, 2*time.Hour, t0), t0)
		ofX.NextWakeAt, ofY.NextWakeAt = wake, wake
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.PutTimers(ctx, ofY, ofX)) })

		paused := newTimer(e.t, 4*time.Hour, t0)
		require.NoError(e.t, paused.Pause(t0.Add(time.Minute), "awaiting caller"))
		ofX2 := record("tmr-a", x.ID, paused, t0.Add(2*time.Minute))
		ofX2.NextWakeAt = wake
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.PutTimers(ctx, ofX2)) })

		gotX, err := e.store.Timers(e.ctx, x.ID)
		require.NoError(e.t, err)
		requireTimers(e.t, []incident.TimerRecord{ofX2}, gotX)
		gotY, err := e.store.Timers(e.ctx, y.ID)
		require.NoError(e.t, err)
		requireTimers(e.t, []incident.TimerRecord{ofY}, gotY)

		due, err := e.store.TimersDue(e.ctx, wake, 10)
		require.NoError(e.t, err)
		requireTimers(e.t, []incident.TimerRecord{ofX2, ofY}, due) // same instant and ID: incident ID decides
	}},
	{"OfMissingIncidentRefused", func(e env) {
		x := fixture(1)
		e.create(x)
		ok := record("tmr-a", x.ID, newTimer(e.t, time.Hour, t0), t0)
		orphan := record("tmr-b", "inc-missing", newTimer(e.t, time.Hour, t0), t0)
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error {
			err := tx.PutTimers(ctx, ok, orphan)
			var nf *itsm.NotFoundError
			require.ErrorAs(e.t, err, &nf)
			require.Equal(e.t, incident.Kind, nf.Kind)
			require.Equal(e.t, "inc-missing", nf.ID)
			require.ErrorIs(e.t, err, itsm.ErrNotFound)
			// The transaction goes on without the refused call's records.
			got, err := tx.Timers(ctx, x.ID)
			require.NoError(e.t, err)
			require.Empty(e.t, got, "a refused PutTimers stores none of its records")
			return nil
		})
		require.NoError(e.t, err)
		for _, id := range []string{x.ID, "inc-missing"} {
			got, err := e.store.Timers(e.ctx, id)
			require.NoError(e.t, err)
			require.Empty(e.t, got, id)
		}
		due, err := e.store.TimersDue(e.ctx, t0.Add(1000*time.Hour), 10)
		require.NoError(e.t, err)
		require.Empty(e.t, due)
	}},
	{"OfUnknownIncident", func(e env) {
		got, err := e.store.Timers(e.ctx, "inc-missing")
		require.NoError(e.t, err)
		require.Empty(e.t, got)
	}},
	{"Due", func(e env) {
		x, y := fixture(1), fixture(2)
		e.create(x, y)
		wake := func(id, inc string, at time.Time) incident.TimerRecord {
			r := record(id, inc, newTimer(e.t, 4*time.Hour, t0), t0)
			r.NextWakeAt = at
			return r
		}
		recs := []incident.TimerRecord{
			wake("tmr-c", x.ID, t0.Add(time.Hour)),
			wake("tmr-d", y.ID, t0.Add(3*time.Hour)),
			wake("tmr-a", y.ID, t0.Add(time.Hour)), // ties with tmr-c: ID decides
			wake("tmr-e", x.ID, time.Time{}),       // nothing to wake for
			wake("tmr-b", x.ID, t0.Add(2*time.Hour)),
		}
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.PutTimers(ctx, recs...)) })
		due := func(before time.Time, limit int) []string {
			got, err := e.store.TimersDue(e.ctx, before, limit)
			require.NoError(e.t, err)
			for _, r := range got {
				require.NotNilf(e.t, r.Timer, "timer %s", r.ID)
			}
			return timerIDs(got)
		}
		require.Equal(e.t, []string{"tmr-a", "tmr-c", "tmr-b"}, due(t0.Add(2*time.Hour), 10), "NextWakeAt equal to before is due")
		require.Equal(e.t, []string{"tmr-a", "tmr-c"}, due(t0.Add(2*time.Hour), 2))
		require.Equal(e.t, []string{"tmr-a", "tmr-c", "tmr-b", "tmr-d"}, due(t0.Add(1000*time.Hour), 10))
		require.Empty(e.t, due(t0.Add(59*time.Minute), 10))

		full, err := e.store.TimersDue(e.ctx, t0.Add(time.Hour), 10)
		require.NoError(e.t, err)
		requireTimers(e.t, []incident.TimerRecord{recs[2], recs[0]}, full)
	}},
}
