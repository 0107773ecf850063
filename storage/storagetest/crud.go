package storagetest

import (
	"context"
	"time"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/stretchr/testify/require"
)

// requireNotFound fails the test unless err is an *itsm.NotFoundError for
// an incident looked up as id.
func requireNotFound(e env, err error, id string) {
	e.t.Helper()
	require.ErrorIs(e.t, err, itsm.ErrNotFound)
	var nf *itsm.NotFoundError
	require.ErrorAs(e.t, err, &nf)
	require.Equal(e.t, incident.Kind, nf.Kind)
	require.Equal(e.t, id, nf.ID)
}

var createTests = []test{
	{"RoundTrip", func(e env) {
		parent := fixture(1)
		inc := full(2)
		inc.ParentID = parent.ID
		inc.Version = 42 // Create must ignore it
		want := inc.Clone()
		want.Version = 1
		e.create(parent, inc)
		require.Equal(e.t, int64(1), inc.Version, "Create sets inc.Version to 1")
		requireIncident(e.t, want, e.get(inc.ID))

		got, err := e.store.GetByNumber(e.ctx, inc.Number)
		require.NoError(e.t, err)
		requireIncident(e.t, want, got)
	}},
	{"DuplicateID", func(e env) {
		first := fixture(1)
		e.create(first)
		dup := fixture(2)
		dup.ID = first.ID
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Create(ctx, dup) })
		require.ErrorIs(e.t, err, itsm.ErrConflict)
		requireIncident(e.t, first, e.get(first.ID))
		_, err = e.store.GetByNumber(e.ctx, dup.Number)
		requireNotFound(e, err, dup.Number)
	}},
	{"DuplicateNumber", func(e env) {
		first := fixture(1)
		e.create(first)
		dup := fixture(2)
		dup.Number = first.Number
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Create(ctx, dup) })
		require.ErrorIs(e.t, err, itsm.ErrConflict)
		_, err = e.store.Get(e.ctx, dup.ID)
		requireNotFound(e, err, dup.ID)
		got, err := e.store.GetByNumber(e.ctx, first.Number)
		require.NoError(e.t, err)
		requireIncident(e.t, first, got)
	}},
	{"DuplicateInSameTx", func(e env) {
		a, b := fixture(1), fixture(2)
		b.Number = a.Number
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error {
			require.NoError(e.t, tx.Create(ctx, a))
			return tx.Create(ctx, b)
		})
		require.ErrorIs(e.t, err, itsm.ErrConflict)
		_, err = e.store.Get(e.ctx, a.ID)
		requireNotFound(e, err, a.ID)
	}},
}

var getTests = []test{
	{"NotFound", func(e env) {
		e.create(fixture(1))
		_, err := e.store.Get(e.ctx, "inc-missing")
		requireNotFound(e, err, "inc-missing")
		_, err = e.store.GetByNumber(e.ctx, "INC9999999")
		requireNotFound(e, err, "INC9999999")
		e.tx(func(ctx context.Context, tx incident.Tx) {
			_, err := tx.Get(ctx, "inc-missing")
			requireNotFound(e, err, "inc-missing")
			_, err = tx.GetByNumber(ctx, "INC9999999")
			requireNotFound(e, err, "INC9999999")
		})
	}},
}

var updateTests = []test{
	{"CurrentVersion", func(e env) {
		inc := fixture(1)
		e.create(inc)
		for v := int64(2); v <= 3; v++ {
			inc.Title = "Mail relay down"
			inc.State = incident.InProgress
			inc.Assignee = "dave"
			inc.UpdatedAt = inc.UpdatedAt.Add(time.Minute)
			inc.Journal = append(inc.Journal, incident.Entry{Kind: incident.WorkNote, Author: "dave", At: inc.UpdatedAt, Text: "looking"})
			e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.Update(ctx, inc)) })
			require.Equal(e.t, v, inc.Version, "Update sets inc.Version to the next version")
			requireIncident(e.t, inc, e.get(inc.ID))
		}
	}},
	{"StaleVersion", func(e env) {
		inc := fixture(1)
		e.create(inc)
		fresh := inc.Clone()
		fresh.Title = "first writer"
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.Update(ctx, fresh)) })

		stale := inc.Clone() // still at version 1
		stale.Title = "second writer"
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Update(ctx, stale) })
		require.ErrorIs(e.t, err, itsm.ErrConflict)
		var ce *itsm.ConflictError
		require.ErrorAs(e.t, err, &ce)
		require.Equal(e.t, incident.Kind, ce.Kind)
		require.Equal(e.t, inc.ID, ce.ID)
		require.Equal(e.t, int64(1), ce.Expected)
		if ce.Actual != 0 {
			require.Equal(e.t, int64(2), ce.Actual)
		}
		require.Equal(e.t, int64(1), stale.Version, "a failed Update leaves inc.Version alone")
		requireIncident(e.t, fresh, e.get(inc.ID))
	}},
	{"StaleVersionKeepsOtherWrites", func(e env) {
		// A conflict is an ordinary error: when fn returns it, the whole
		// transaction rolls back, including writes made before it.
		a, b := fixture(1), fixture(2)
		e.create(a, b)
		stale := b.Clone()
		stale.Version = 7
		a.Title = "changed"
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error {
			require.NoError(e.t, tx.Update(ctx, a))
			return tx.Update(ctx, stale)
		})
		require.ErrorIs(e.t, err, itsm.ErrConflict)
		got := e.get(a.ID)
		require.Equal(e.t, int64(1), got.Version)
		require.Equal(e.t, "Incident 1", got.Title)
	}},
	{"NumberStaysUnique", func(e env) {
		a, b := fixture(1), fixture(2)
		e.create(a, b)
		b.Number = a.Number
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Update(ctx, b) })
		require.ErrorIs(e.t, err, itsm.ErrConflict)
		requireIncident(e.t, fixture(2), withVersion(e.get(b.ID), 0))
		got, err := e.store.GetByNumber(e.ctx, a.Number)
		require.NoError(e.t, err)
		require.Equal(e.t, a.ID, got.ID)

		// A number given up by one update is free for the next.
		b = e.get(b.ID)
		old := b.Number
		b.Number = "INC-RENUMBERED"
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.Update(ctx, b)) })
		got, err = e.store.GetByNumber(e.ctx, "INC-RENUMBERED")
		require.NoError(e.t, err)
		require.Equal(e.t, b.ID, got.ID)
		_, err = e.store.GetByNumber(e.ctx, old)
		requireNotFound(e, err, old)
		c := fixture(3)
		c.Number = old
		e.create(c)
	}},
	{"NotFound", func(e env) {
		inc := fixture(1)
		inc.Version = 1
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Update(ctx, inc) })
		requireNotFound(e, err, inc.ID)
		_, err = e.store.Get(e.ctx, inc.ID)
		requireNotFound(e, err, inc.ID)
	}},
}

var copyTests = []test{
	{"CreateInput", func(e env) {
		inc := fixture(1)
		e.create(inc)
		want := inc.Clone()
		inc.Title = "mutated"
		inc.Caller.Roles[0] = "mutated"
		inc.ProblemIDs[0] = "mutated"
		inc.Journal[0].Text = "mutated"
		requireIncident(e.t, want, e.get(inc.ID))
	}},
	{"UpdateInput", func(e env) {
		inc := fixture(1)
		e.create(inc)
		inc.Title = "updated"
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.Update(ctx, inc)) })
		want := inc.Clone()
		inc.Journal[0].Text = "mutated"
		inc.ProblemIDs[0] = "mutated"
		requireIncident(e.t, want, e.get(inc.ID))
	}},
	{"ReturnedIncident", func(e env) {
		inc := fixture(1)
		e.create(inc)
		mutate := func(got *incident.Incident) {
			got.Title = "mutated"
			got.Caller.Roles[0] = "mutated"
			got.ProblemIDs[0] = "mutated"
			got.Journal[0].Text = "mutated"
		}
		mutate(e.get(inc.ID))
		byNumber, err := e.store.GetByNumber(e.ctx, inc.Number)
		require.NoError(e.t, err)
		mutate(byNumber)
		page, err := e.store.List(e.ctx, incident.Query{})
		require.NoError(e.t, err)
		require.Len(e.t, page.Incidents, 1)
		mutate(page.Incidents[0])
		e.tx(func(ctx context.Context, tx incident.Tx) {
			got, err := tx.Get(ctx, inc.ID)
			require.NoError(e.t, err)
			mutate(got)
		})
		requireIncident(e.t, inc, e.get(inc.ID))
	}},
	{"Events", func(e env) {
		inc := fixture(1)
		e.create(inc)
		ev := event(inc.ID, "start", t0)
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.AppendEvents(ctx, ev)) })
		ev.Changes[0].New = "mutated"
		ev.Actor.Roles[0] = "mutated"
		got, err := e.store.History(e.ctx, inc.ID)
		require.NoError(e.t, err)
		require.Len(e.t, got, 1)
		require.Equal(e.t, "in_progress", got[0].Changes[0].New)
		require.Equal(e.t, itsm.Role("agent"), got[0].Actor.Roles[0])
		got[0].Changes[0].New = "mutated"
		got[0].Actor.Roles[0] = "mutated"
		again, err := e.store.History(e.ctx, inc.ID)
		require.NoError(e.t, err)
		require.Equal(e.t, "in_progress", again[0].Changes[0].New)
		require.Equal(e.t, itsm.Role("agent"), again[0].Actor.Roles[0])
	}},
	{"Timers", func(e env) {
		inc := fixture(1)
		e.create(inc)
		tm := newTimer(e.t, 4*time.Hour, t0)
		rec := record("tmr-1", inc.ID, tm, t0)
		want := []incident.TimerRecord{record("tmr-1", inc.ID, newTimer(e.t, 4*time.Hour, t0), t0)}
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.PutTimers(ctx, rec)) })
		require.NoError(e.t, tm.Pause(t0.Add(time.Hour), "changed after saving"))
		got, err := e.store.Timers(e.ctx, inc.ID)
		require.NoError(e.t, err)
		requireTimers(e.t, want, got)
		require.NoError(e.t, got[0].Timer.Stop(t0.Add(time.Hour), "changed after reading"))
		again, err := e.store.Timers(e.ctx, inc.ID)
		require.NoError(e.t, err)
		requireTimers(e.t, want, again)
	}},
}

// withVersion returns inc with its Version set to v, for comparing a
// stored incident with a fixture.
func withVersion(inc *incident.Incident, v int64) *incident.Incident {
	inc.Version = v
	return inc
}
