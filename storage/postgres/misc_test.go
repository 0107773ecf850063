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
