package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/postgres"
)

func TestTxUnusableAfterInTx(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	var kept record.Tx
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { kept = tx; return nil }))
	_, err := kept.Get(ctx, testRecord(1).Ref())
	require.ErrorIs(t, err, postgres.ErrTxDone)
	require.ErrorIs(t, kept.Create(ctx, testRecord(1)), postgres.ErrTxDone)
	_, err = kept.NextNumber(ctx, ticketKind)
	require.ErrorIs(t, err, postgres.ErrTxDone)
	require.ErrorIs(t, kept.AppendEvents(ctx, openEvent(testRecord(1).Ref())), postgres.ErrTxDone)

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
	// A Store knows the kinds declared to it, not those of another Store
	// on the same schema.
	_, err = other.List(t.Context(), record.Query{Kind: ticketKind})
	require.ErrorIs(t, err, itsm.ErrValidation)
	require.NoError(t, other.Declare(t.Context(), ticketSchema()))
	_, err = other.List(t.Context(), record.Query{Kind: ticketKind})
	require.NoError(t, err)
}

// TestRefusedBeforeWriting checks that what PostgreSQL cannot store in a
// deferred write (a NUL byte in an event, or in a timer's JSON) is refused
// by the call, with nothing written and the transaction still usable.
func TestRefusedBeforeWriting(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	rec := testRecord(1)
	bad := openEvent(rec.Ref())
	bad.Reason = "nul\x00byte"
	badTimer, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(time.Hour), nil, "nul\x00policy", sla.MetricResponse, itsm.PriorityHigh)
	require.NoError(t, err)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		require.ErrorIs(t, tx.AppendEvents(ctx, openEvent(rec.Ref()), bad), itsm.ErrValidation)
		require.ErrorIs(t, tx.PutTimers(ctx, record.NewTimerRecord(rec.Ref(), "t", sla.KindSLA, badTimer, t0)), itsm.ErrValidation)
		return tx.AppendEvents(ctx, openEvent(rec.Ref()))
	}))
	hist, err := s.History(ctx, rec.Ref())
	require.NoError(t, err)
	require.Len(t, hist, 1, "only the event of the call that was not refused")
	timers, err := s.Timers(ctx, rec.Ref())
	require.NoError(t, err)
	require.Empty(t, timers)
}

// TestRaces checks the writes whose checks another transaction can
// overtake: the loser's error matches itsm.ErrConflict, and a transaction
// the database aborted does not commit even when fn ignores the error.
func TestRaces(t *testing.T) {
	t.Parallel()
	// race runs fn1 in a transaction that stays open while fn2 runs in
	// another, and commits once fn2 waits for it.
	race := func(t *testing.T, s *postgres.Store, fn1, fn2 func(ctx context.Context, tx record.Tx) error) error {
		ctx := t.Context()
		ready, done := make(chan struct{}), make(chan error, 1)
		go func() {
			done <- s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
				if err := fn1(ctx, tx); err != nil {
					return err
				}
				close(ready)
				return waitForLockWaiter(ctx, s)
			})
		}()
		<-ready
		err := s.InTx(ctx, fn2)
		require.NoError(t, <-done)
		return err
	}
	sendInsert := func(ctx context.Context, tx record.Tx) error {
		if err := tx.Create(ctx, testRecord(1)); err != nil {
			return err
		}
		_, err := tx.Get(ctx, testRecord(1).Ref()) // sends the deferred INSERT
		return err
	}
	t.Run("CreateSameID", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		err := race(t, s, sendInsert, func(ctx context.Context, tx record.Tx) error {
			return tx.Create(ctx, testRecord(1)) // its INSERT waits at COMMIT
		})
		require.ErrorIs(t, err, itsm.ErrConflict)
	})
	t.Run("UpdateToATakenNumber", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		b := testRecord(2)
		create(t, s, b)
		err := race(t, s, sendInsert, func(ctx context.Context, tx record.Tx) error {
			stolen := b.Clone()
			stolen.Number = testRecord(1).Number
			require.ErrorIs(t, tx.Update(ctx, stolen), itsm.ErrConflict)
			return nil // ignoring the failure: the transaction cannot commit
		})
		require.Error(t, err)
		got, err := s.Get(t.Context(), b.Ref())
		require.NoError(t, err)
		require.Equal(t, b.Number, got.Number)
	})
}

// waitForLockWaiter waits (boundedly) until a connection works on s's
// schema and waits for a lock: synchronisation, not a timing assertion.
func waitForLockWaiter(ctx context.Context, s *postgres.Store) error {
	for i := 0; ; i++ {
		var n int
		err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND strpos(query, $1) > 0`, s.Schema()).Scan(&n)
		if err != nil || n > 0 {
			return err
		}
		if i == 1000 {
			return fmt.Errorf("no transaction waits for a lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEmptyTransaction checks that a transaction that reads and writes
// nothing commits without a round trip and leaves the store working.
func TestEmptyTransaction(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	for range 10 {
		require.NoError(t, s.InTx(ctx, func(context.Context, record.Tx) error { return nil }))
	}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, testRecord(1)) }))
	require.Equal(t, int32(0), s.Pool().Stat().AcquiredConns(), "every connection is back in the pool")
}

// TestNextNumberDoesNotWait checks that concurrent transactions take
// numbers without waiting for each other: while one holds an open
// transaction that took a number, another takes one and commits.
func TestNextNumberDoesNotWait(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	took, release := make(chan int64), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			n, err := tx.NextNumber(ctx, ticketKind)
			took <- n
			<-release
			return err
		}))
	})
	first := <-took
	var second int64
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) (err error) {
		second, err = tx.NextNumber(ctx, ticketKind)
		return err
	}), "the second transaction does not wait for the first")
	close(release)
	wg.Wait()
	require.Equal(t, []int64{1, 2}, []int64{first, second})

	// A rolled-back number is not handed out again.
	require.Error(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		_, err := tx.NextNumber(ctx, ticketKind)
		require.NoError(t, err)
		return context.Canceled
	}))
	var next int64
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) (err error) {
		next, err = tx.NextNumber(ctx, ticketKind)
		return err
	}))
	require.Equal(t, int64(4), next)

	_, err := s.Pool().Exec(ctx, "DROP SEQUENCE "+s.Schema()+".records_number_ticket")
	require.NoError(t, err)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) (err error) {
		next, err = tx.NextNumber(ctx, ticketKind)
		return err
	}), "a missing sequence is created")
	require.Equal(t, int64(1), next)

	require.ErrorIs(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		_, err := tx.NextNumber(ctx, "undeclared")
		return err
	}), itsm.ErrValidation)
}
