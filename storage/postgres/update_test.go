package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

// TestUpdateReplacesJournalAndLinks checks that Update rewrites the rows
// of the journal and link tables: entries changed in place, appended,
// removed and reordered, and zero times cleared again.
func TestUpdateReplacesJournalAndLinks(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	inc := testIncident(1)
	entry := func(text string, min int) incident.Entry {
		return incident.Entry{Kind: incident.WorkNote, Author: "dave", At: t0.Add(time.Duration(min) * time.Minute), Text: text}
	}
	inc.Journal = []incident.Entry{entry("one", 1), entry("two", 2), entry("three", 3)}
	inc.ProblemIDs = []string{"prb-1", "prb-2", "prb-3"}
	inc.ChangeIDs = []string{"chg-1"}
	inc.ResolvedAt = t0.Add(time.Hour)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Create(ctx, inc) }))

	steps := []func(*incident.Incident){
		func(i *incident.Incident) { // shrink and edit
			i.Journal = []incident.Entry{entry("one, edited", 1)}
			i.ProblemIDs = []string{"prb-3", "prb-1"}
			i.ChangeIDs = nil
			i.ResolvedAt = time.Time{}
		},
		func(i *incident.Incident) { // grow again
			i.Journal = append(i.Journal, entry("four", 4), entry("five", 5))
			i.ChangeIDs = []string{"chg-2", "chg-3"}
			i.Caller.Roles = nil
			i.Priority = itsm.PriorityCritical
		},
		func(i *incident.Incident) { // empty
			i.Journal, i.ProblemIDs, i.ChangeIDs = nil, nil, nil
		},
	}
	for n, step := range steps {
		step(inc)
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Update(ctx, inc) }))
		require.Equal(t, int64(n+2), inc.Version)
		got, err := s.Get(ctx, inc.ID)
		require.NoError(t, err)
		if diff := cmp.Diff(inc, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("step %d (-want +got):\n%s", n, diff)
		}
	}
	var rows int
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT (SELECT count(*) FROM "+s.Schema()+".incident_journal) + (SELECT count(*) FROM "+
		s.Schema()+".incident_problems) + (SELECT count(*) FROM "+s.Schema()+".incident_changes)").Scan(&rows))
	require.Zero(t, rows, "no row is left behind")
	require.NoError(t, s.VerifyAuditTrail(ctx), "an incident without events has an empty, valid trail")
}

// TestWakeTimesRoundUp checks that a NextWakeAt finer than a microsecond
// is stored rounded up, so that the timer is never claimed before it is
// due, and that times come back in UTC.
func TestWakeTimesRoundUp(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	inc := testIncident(1)
	inc.OpenedAt = inc.OpenedAt.In(time.FixedZone("CET", 3600))
	wake := t0.Add(time.Hour + 500) // 500 ns past a microsecond
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		if err := tx.Create(ctx, inc); err != nil {
			return err
		}
		rec := incident.TimerRecord{ID: "tmr-1", IncidentID: inc.ID, Timer: mustTimer(t), NextWakeAt: wake}
		return tx.PutTimers(ctx, rec)
	}))
	got, err := s.Get(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, time.UTC, got.OpenedAt.Location())
	require.True(t, got.OpenedAt.Equal(inc.OpenedAt))
	timers, err := s.Timers(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Hour+time.Microsecond), timers[0].NextWakeAt)
	due, err := s.TimersDue(ctx, t0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Empty(t, due, "not due before its wake-up")
}

// TestPutTimersOfMissingIncident checks that a timer of an incident that
// is not stored is refused with nothing of the call kept, and that the
// transaction goes on, whether PutTimers runs on a transaction of its own
// or inside the application's (Join), and whatever other statements were
// sent before it.
func TestPutTimersOfMissingIncident(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	committed := testIncident(1)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Create(ctx, committed) }))

	// fn saves timers of a committed incident, of one it creates and of a
	// missing one in one call, which is refused; then the same call
	// without the missing incident, which is kept.
	fn := func(ctx context.Context, tx incident.Tx) error {
		created := testIncident(2)
		require.NoError(t, tx.Create(ctx, created))
		ofCommitted := incident.NewTimerRecord("tmr-1", committed.ID, mustTimer(t), t0)
		ofCreated := incident.NewTimerRecord("tmr-1", created.ID, mustTimer(t), t0)
		orphans := []incident.TimerRecord{
			incident.NewTimerRecord("tmr-1", "inc-missing", mustTimer(t), t0),
			incident.NewTimerRecord("tmr-1", "inc-missing-too", mustTimer(t), t0),
		}
		err := tx.PutTimers(ctx, ofCommitted, ofCreated, orphans[0], orphans[1])
		var nf *itsm.NotFoundError
		require.ErrorAs(t, err, &nf)
		require.Equal(t, &itsm.NotFoundError{Kind: incident.Kind, ID: "inc-missing"}, nf, "the first missing incident is named")
		for _, id := range []string{committed.ID, created.ID, "inc-missing"} {
			got, err := tx.Timers(ctx, id)
			require.NoError(t, err)
			require.Empty(t, got, id)
		}
		require.NoError(t, tx.PutTimers(ctx, ofCommitted, ofCreated))
		return tx.AppendEvents(ctx, itsm.Event{Kind: incident.Kind, RecordID: created.ID, Actor: agent, At: t0, Action: "open"})
	}

	t.Run("OwnTransaction", func(t *testing.T) {
		require.NoError(t, s.InTx(ctx, fn))
		for _, id := range []string{testIncident(1).ID, testIncident(2).ID} {
			got, err := s.Timers(ctx, id)
			require.NoError(t, err)
			require.Len(t, got, 1, id)
		}
		got, err := s.Timers(ctx, "inc-missing")
		require.NoError(t, err)
		require.Empty(t, got)
		require.NoError(t, s.VerifyAuditTrail(ctx))
	})

	t.Run("Joined", func(t *testing.T) {
		other := newStore(t)
		require.NoError(t, other.InTx(ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Create(ctx, committed) }))
		tx, err := other.Pool().Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		require.NoError(t, other.Join(tx).InTx(ctx, fn))
		require.NoError(t, tx.Commit(ctx))
		for _, id := range []string{testIncident(1).ID, testIncident(2).ID} {
			got, err := other.Timers(ctx, id)
			require.NoError(t, err)
			require.Len(t, got, 1, id)
		}
	})
}

// TestPutTimersErrors checks when a database error of PutTimers is
// reported: a call for incidents the transaction created or updated is
// deferred, so its error comes with the commit and nothing is kept; any
// other call runs at once, and its error leaves the transaction usable.
func TestPutTimersErrors(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	committed := testIncident(1)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Create(ctx, committed) }))
	// The database refuses a NUL character in a jsonb string.
	bad := mustTimer(t)
	require.NoError(t, bad.Pause(t0.Add(time.Minute), "nul\x00byte"))

	created := testIncident(2)
	err := s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		require.NoError(t, tx.Create(ctx, created))
		require.NoError(t, tx.PutTimers(ctx, incident.NewTimerRecord("tmr-1", created.ID, bad, t0)), "deferred")
		return nil
	})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = s.Get(ctx, created.ID)
	require.ErrorIs(t, err, itsm.ErrNotFound, "nothing of the transaction is kept")

	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		err := tx.PutTimers(ctx, incident.NewTimerRecord("tmr-1", committed.ID, bad, t0))
		require.ErrorIs(t, err, itsm.ErrValidation, "sent at once")
		require.NoError(t, tx.Create(ctx, created))
		return tx.PutTimers(ctx, incident.NewTimerRecord("tmr-1", committed.ID, mustTimer(t), t0))
	}))
	_, err = s.Get(ctx, created.ID)
	require.NoError(t, err)
	got, err := s.Timers(ctx, committed.ID)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, sla.StageRunning, got[0].Stage)
}

// TestPutTimersTwiceInOneCall checks that a record saved twice in one call
// keeps the last value and the place of the first.
func TestPutTimersTwiceInOneCall(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	inc := testIncident(1)
	first := incident.NewTimerRecord("tmr-b", inc.ID, mustTimer(t), t0)
	other := incident.NewTimerRecord("tmr-a", inc.ID, mustTimer(t), t0)
	paused := mustTimer(t)
	require.NoError(t, paused.Pause(t0.Add(time.Hour), "awaiting caller"))
	second := incident.NewTimerRecord("tmr-b", inc.ID, paused, t0.Add(2*time.Hour))
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		if err := tx.Create(ctx, inc); err != nil {
			return err
		}
		return tx.PutTimers(ctx, first, other, second)
	}))
	got, err := s.Timers(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "tmr-b", got[0].ID)
	require.Equal(t, second.Stage, got[0].Stage)
	require.Equal(t, len(second.Timer.Events()), len(got[0].Timer.Events()))
	require.Equal(t, "tmr-a", got[1].ID)
}
