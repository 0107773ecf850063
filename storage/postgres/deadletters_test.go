package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// TestDeadLettersJoined settles messages inside a transaction the
// application holds: the burial, replay and deferral are seen inside it,
// not outside, and are kept only if it commits.
func TestDeadLettersJoined(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	rec := testRecord(1)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, openEvent(rec.Ref()), openEvent(rec.Ref()))
	}))
	msgs, err := s.Claim(ctx, "mailer", t0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, msgs, 2)

	settleAndRollBack := func() {
		tx, err := s.Pool().Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		j := s.Join(tx)
		require.NoError(t, j.Bury(ctx, "mailer", msgs[0].ID, t0, "gone"))
		require.NoError(t, j.Defer(ctx, "mailer", msgs[1].ID, t0.Add(time.Hour), "slow"))
		inside, err := j.DeadLetters(ctx, "mailer", 0, 10)
		require.NoError(t, err)
		require.Len(t, inside, 1)
		require.Equal(t, msgs[0].ID, inside[0].ID)
		require.Equal(t, "gone", inside[0].LastError)
		outside, err := s.DeadLetters(ctx, "mailer", 0, 10)
		require.NoError(t, err)
		require.Empty(t, outside, "uncommitted")
		require.ErrorIs(t, j.Replay(ctx, "mailer", msgs[1].ID), itsm.ErrNotFound)
	}
	// A refused Replay leaves the transaction usable; a rolled-back
	// transaction keeps nothing, a committed one keeps the burial.
	settleAndRollBack()
	dead, err := s.DeadLetters(ctx, "mailer", 0, 10)
	require.NoError(t, err)
	require.Empty(t, dead, "rolled back")
	again, err := s.Claim(ctx, "mailer", t0.Add(time.Minute), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, again, 2, "the rolled-back deferral and burial left the claims as they were")
	msgs = again

	tx, err := s.Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	j := s.Join(tx)
	require.NoError(t, j.Bury(ctx, "mailer", msgs[0].ID, t0, "gone"))
	require.NoError(t, tx.Commit(ctx))
	dead, err = s.DeadLetters(ctx, "mailer", 0, 10)
	require.NoError(t, err)
	require.Len(t, dead, 1)
	require.Equal(t, 2, dead[0].Attempts)

	tx, err = s.Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	j = s.Join(tx)
	require.NoError(t, j.Replay(ctx, "mailer", msgs[0].ID))
	require.NoError(t, tx.Commit(ctx))
	dead, err = s.DeadLetters(ctx, "mailer", 0, 10)
	require.NoError(t, err)
	require.Empty(t, dead)
}
