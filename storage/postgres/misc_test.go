package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage/postgres"
)

func TestTxUnusableAfterInTx(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	var kept incident.Tx
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error { kept = tx; return nil }))
	_, err := kept.Get(ctx, "inc-1")
	require.ErrorIs(t, err, postgres.ErrTxDone)
	require.ErrorIs(t, kept.Create(ctx, testIncident(1)), postgres.ErrTxDone)
	_, err = kept.NextNumber(ctx, incident.Kind)
	require.ErrorIs(t, err, postgres.ErrTxDone)

	require.ErrorIs(t, s.InTx(ctx, nil), itsm.ErrValidation)
	tx, err := s.Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	require.ErrorIs(t, s.Join(tx).InTx(ctx, nil), itsm.ErrValidation)
}

func TestNewKeepsThePool(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	other, err := postgres.New(s.Pool(), postgres.WithSchema(s.Schema()))
	require.NoError(t, err)
	require.Equal(t, s.Schema(), other.Schema())
	other.Close()
	require.NoError(t, s.Pool().Ping(t.Context()), "Close of a Store made by New leaves the pool open")
	_, err = other.List(t.Context(), incident.Query{})
	require.NoError(t, err)
}

// TestDeferredWriteErrors checks that a database error of a write sent
// later (PutTimers, AppendEvents) reaches the caller through the next
// statement or the commit, and that nothing is committed.
func TestDeferredWriteErrors(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	inc := testIncident(1)
	bad := itsm.Event{Kind: incident.Kind, RecordID: inc.ID, Actor: agent, At: t0, Action: "open", Reason: "nul\x00byte"}

	// Reported by the commit.
	err := s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		if err := tx.Create(ctx, inc); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, bad) // queued: the head is locked by Create
	})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = s.Get(ctx, inc.ID)
	require.ErrorIs(t, err, itsm.ErrNotFound, "nothing of the transaction is kept")

	// Reported by the next statement.
	err = s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		if err := tx.Create(ctx, inc); err != nil {
			return err
		}
		require.NoError(t, tx.AppendEvents(ctx, bad))
		_, err := tx.History(ctx, inc.ID)
		require.ErrorIs(t, err, itsm.ErrValidation)
		return err
	})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = s.Get(ctx, inc.ID)
	require.ErrorIs(t, err, itsm.ErrNotFound)
}

// TestCommitAfterSwallowedError checks that a transaction the database
// aborted (a taken number on update) cannot commit, even when fn ignores
// the error.
func TestCommitAfterSwallowedError(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	a, b := testIncident(1), testIncident(2)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		if err := tx.Create(ctx, a); err != nil {
			return err
		}
		return tx.Create(ctx, b)
	}))
	err := s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		c := testIncident(3)
		if err := tx.Create(ctx, c); err != nil {
			return err
		}
		stolen := b.Clone()
		stolen.Number = a.Number
		require.ErrorIs(t, tx.Update(ctx, stolen), itsm.ErrConflict)
		return nil // ignoring the failure
	})
	require.Error(t, err)
	_, err = s.Get(ctx, testIncident(3).ID)
	require.ErrorIs(t, err, itsm.ErrNotFound)
	// The store keeps working.
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Create(ctx, testIncident(3)) }))
}

// TestEmptyTransaction checks that a transaction that reads and writes
// nothing commits without a round trip and leaves the store working.
func TestEmptyTransaction(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	for range 10 {
		require.NoError(t, s.InTx(ctx, func(context.Context, incident.Tx) error { return nil }))
	}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Create(ctx, testIncident(1)) }))
	require.Equal(t, int32(0), s.Pool().Stat().AcquiredConns(), "every connection is back in the pool")
}
