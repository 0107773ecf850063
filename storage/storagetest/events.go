package storagetest

import (
	"context"
	"errors"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/stretchr/testify/require"
)

// requireHistory fails unless the committed history of the incident with
// id equals want, with sequences 1..len(want).
func (e env) requireHistory(id string, want ...itsm.Event) {
	e.t.Helper()
	got, err := e.store.History(e.ctx, id)
	require.NoError(e.t, err)
	numbered := make([]itsm.Event, len(want))
	for i, ev := range want {
		ev.Sequence = int64(i + 1)
		numbered[i] = ev
	}
	if diff := cmp.Diff(numbered, got, cmpOpts); diff != "" {
		e.t.Fatalf("history of %s mismatch (-want +got):\n%s", id, diff)
	}
}

var eventTests = []test{
	{"SequencesPerRecord", func(e env) {
		a, b := fixture(1), fixture(2)
		e.create(a, b)
		a1, b1, a2 := event(a.ID, "assign", t0), event(b.ID, "assign", t0), event(a.ID, "start", t0.Add(time.Minute))
		a3, b2 := event(a.ID, "hold", t0.Add(2*time.Minute)), event(b.ID, "start", t0.Add(2*time.Minute))
		a3.Changes = nil
		a1.Sequence = 99 // the store assigns sequences
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.AppendEvents(ctx, a1, b1, a2)) })
		e.tx(func(ctx context.Context, tx incident.Tx) {
			require.NoError(e.t, tx.AppendEvents(ctx, a3))
			require.NoError(e.t, tx.AppendEvents(ctx, b2))
		})
		e.requireHistory(a.ID, a1, a2, a3)
		e.requireHistory(b.ID, b1, b2)
	}},
	{"OtherKindIsAnotherRecord", func(e env) {
		a := fixture(1)
		e.create(a)
		mine := event(a.ID, "assign", t0)
		other := event(a.ID, "link", t0)
		other.Kind = "problem"
		e.tx(func(ctx context.Context, tx incident.Tx) {
			require.NoError(e.t, tx.AppendEvents(ctx, other, mine, other))
		})
		e.requireHistory(a.ID, mine)
	}},
	{"InvalidAppendsNothing", func(e env) {
		a := fixture(1)
		e.create(a)
		valid := event(a.ID, "assign", t0)
		invalid := event(a.ID, "", time.Time{})
		e.tx(func(ctx context.Context, tx incident.Tx) {
			err := tx.AppendEvents(ctx, valid, invalid)
			require.ErrorIs(e.t, err, itsm.ErrValidation)
			var ve *itsm.ValidationError
			require.ErrorAs(e.t, err, &ve)
			got, err := tx.History(ctx, a.ID)
			require.NoError(e.t, err)
			require.Empty(e.t, got, "no event is appended when one is invalid")
		})
		e.requireHistory(a.ID)
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.AppendEvents(ctx, valid)) })
		e.requireHistory(a.ID, valid)
	}},
	{"HistoryOfUnknownRecord", func(e env) {
		got, err := e.store.History(e.ctx, "inc-missing")
		require.NoError(e.t, err)
		require.Empty(e.t, got)
		e.tx(func(ctx context.Context, tx incident.Tx) {
			got, err := tx.History(ctx, "inc-missing")
			require.NoError(e.t, err)
			require.Empty(e.t, got)
		})
	}},
	{"NoGapAfterRollback", func(e env) {
		a := fixture(1)
		e.create(a)
		first, lost, second := event(a.ID, "assign", t0), event(a.ID, "lost", t0), event(a.ID, "start", t0)
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.AppendEvents(ctx, first)) })
		errBoom := errors.New("storagetest: roll back")
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error {
			require.NoError(e.t, tx.AppendEvents(ctx, lost))
			return errBoom
		})
		require.ErrorIs(e.t, err, errBoom)
		e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.AppendEvents(ctx, second)) })
		e.requireHistory(a.ID, first, second)
	}},
}
