package storagetest

import (
	"context"
	"errors"
	"time"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/stretchr/testify/require"
)

// writeAll makes one write of every kind in tx: it updates existing,
// creates created as its child, saves a timer for created and appends an
// event to each.
func (e env) writeAll(ctx context.Context, tx incident.Tx, existing, created *incident.Incident) {
	e.t.Helper()
	existing.Title = "changed in the transaction"
	existing.State = incident.Resolved
	existing.ResolvedAt = t0.Add(time.Hour)
	require.NoError(e.t, tx.Update(ctx, existing))
	created.ParentID = existing.ID
	require.NoError(e.t, tx.Create(ctx, created))
	rec := record("tmr-new", created.ID, newTimer(e.t, time.Hour, t0), t0)
	require.NoError(e.t, tx.PutTimers(ctx, rec))
	require.NoError(e.t, tx.AppendEvents(ctx, event(existing.ID, "resolve", t0), event(created.ID, "open", t0)))
}

// requireUntouched fails unless the committed state is what it was before
// a transaction that called writeAll(existing, created) was rolled back.
func (e env) requireUntouched(before, created *incident.Incident) {
	e.t.Helper()
	requireIncident(e.t, before, e.get(before.ID))
	_, err := e.store.Get(e.ctx, created.ID)
	requireNotFound(e, err, created.ID)
	_, err = e.store.GetByNumber(e.ctx, created.Number)
	requireNotFound(e, err, created.Number)
	page, err := e.store.List(e.ctx, incident.Query{})
	require.NoError(e.t, err)
	require.Equal(e.t, []string{before.ID}, ids(page.Incidents))
	kids, err := e.store.Children(e.ctx, before.ID)
	require.NoError(e.t, err)
	require.Empty(e.t, kids)
	timers, err := e.store.Timers(e.ctx, created.ID)
	require.NoError(e.t, err)
	require.Empty(e.t, timers)
	due, err := e.store.TimersDue(e.ctx, t0.Add(24*time.Hour), 10)
	require.NoError(e.t, err)
	require.Empty(e.t, due)
	resolved, err := e.store.ResolvedBefore(e.ctx, t0.Add(24*time.Hour), 10)
	require.NoError(e.t, err)
	require.Empty(e.t, resolved)
	e.requireHistory(before.ID)
	e.requireHistory(created.ID)
}

var txTests = []test{
	{"ErrorPassedThrough", func(e env) {
		// InTx passes fn's error on (wrapped or not), so errors.Is and
		// errors.As see it and its detail.
		sentinel := &itsm.ValidationError{Subject: "storagetest"}
		sentinel.Add("field", "made up")
		err := e.store.InTx(e.ctx, func(context.Context, incident.Tx) error { return sentinel })
		require.ErrorIs(e.t, err, itsm.ErrValidation)
		var got *itsm.ValidationError
		require.ErrorAs(e.t, err, &got)
		require.Same(e.t, sentinel, got)
	}},
	{"RollbackOnError", func(e env) {
		existing, created := fixture(1), fixture(2)
		e.create(existing)
		before := existing.Clone()
		errBoom := errors.New("storagetest: fn failed")
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error {
			e.writeAll(ctx, tx, existing, created)
			return errBoom
		})
		require.ErrorIs(e.t, err, errBoom)
		e.requireUntouched(before, created)
	}},
	{"RollbackOnPanic", func(e env) {
		existing, created := fixture(1), fixture(2)
		e.create(existing)
		before := existing.Clone()
		type boom struct{ msg string }
		var recovered any
		func() {
			defer func() { recovered = recover() }()
			_ = e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error {
				e.writeAll(ctx, tx, existing, created)
				panic(boom{"storagetest: fn panicked"})
			})
		}()
		require.Equal(e.t, boom{"storagetest: fn panicked"}, recovered, "InTx must pass fn's panic on")
		e.requireUntouched(before, created)
		// The store must still work after the panic.
		e.create(fixture(3))
	}},
	{"ReadYourWrites", func(e env) {
		existing, created := fixture(1), fixture(2)
		e.create(existing)
		e.tx(func(ctx context.Context, tx incident.Tx) {
			e.writeAll(ctx, tx, existing, created)

			got, err := tx.Get(ctx, existing.ID)
			require.NoError(e.t, err)
			requireIncident(e.t, existing, got)
			got, err = tx.GetByNumber(ctx, created.Number)
			require.NoError(e.t, err)
			requireIncident(e.t, created, got)
			page, err := tx.List(ctx, incident.Query{Text: "changed in the"})
			require.NoError(e.t, err)
			require.Equal(e.t, []string{existing.ID}, ids(page.Incidents))
			kids, err := tx.Children(ctx, existing.ID)
			require.NoError(e.t, err)
			require.Equal(e.t, []string{created.ID}, ids(kids))
			timers, err := tx.Timers(ctx, created.ID)
			require.NoError(e.t, err)
			require.Equal(e.t, []string{"tmr-new"}, timerIDs(timers))
			due, err := tx.TimersDue(ctx, t0.Add(24*time.Hour), 10)
			require.NoError(e.t, err)
			require.Equal(e.t, []string{"tmr-new"}, timerIDs(due))
			resolved, err := tx.ResolvedBefore(ctx, t0.Add(24*time.Hour), 10)
			require.NoError(e.t, err)
			require.Equal(e.t, []string{existing.ID}, ids(resolved))
			hist, err := tx.History(ctx, created.ID)
			require.NoError(e.t, err)
			require.Len(e.t, hist, 1)
			require.Equal(e.t, int64(1), hist[0].Sequence)
		})
		requireIncident(e.t, existing, e.get(existing.ID))
		requireIncident(e.t, created, e.get(created.ID))
	}},
	{"IsolatedUntilCommit", func(e env) {
		// Reads through the Store while a transaction is open see the
		// committed state only; they run on the transaction's goroutine, so
		// a store whose outside reads wait for the writer would hang here.
		existing, created := fixture(1), fixture(2)
		e.create(existing)
		before := existing.Clone()
		e.tx(func(ctx context.Context, tx incident.Tx) {
			e.writeAll(ctx, tx, existing, created)
			e.requireUntouched(before, created)
		})
		requireIncident(e.t, existing, e.get(existing.ID))
		requireIncident(e.t, created, e.get(created.ID))
		e.requireHistory(existing.ID, event(existing.ID, "resolve", t0))
	}},
}

func timerIDs(rs []incident.TimerRecord) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}
