package postgres_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/postgres"
)

// killBackend terminates the server process of the transaction tx from
// another connection and waits until it is gone.
func killBackend(t *testing.T, ctx context.Context, tx record.Tx) {
	t.Helper()
	pid, err := postgres.BackendPID(ctx, tx)
	require.NoError(t, err)
	conn := connect(t)
	var ok bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&ok))
	require.True(t, ok, "backend %d was not terminated", pid)
	// Synchronisation, not a timing assertion: wait (boundedly) until the
	// server has removed the process.
	for i := 0; ; i++ {
		var n int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n))
		if n == 0 {
			return
		}
		require.Less(t, i, 1000, "backend %d is still there", pid)
		time.Sleep(10 * time.Millisecond)
	}
}

// requireNoRecord checks that nothing of the record ref names is stored:
// no record, timers, audit events or journal entries; why says why
// nothing should be, for the failure message.
func requireNoRecord(t *testing.T, s *postgres.Store, ref record.Ref, why string) {
	t.Helper()
	ctx := t.Context()
	_, err := s.Get(ctx, ref)
	require.ErrorIs(t, err, itsm.ErrNotFound, "%s is stored: %s", ref, why)
	timers, err := s.Timers(ctx, ref)
	require.NoError(t, err)
	require.Empty(t, timers)
	hist, err := s.History(ctx, ref)
	require.NoError(t, err)
	require.Empty(t, hist)
	journal, err := s.Journal(ctx, ref)
	require.NoError(t, err)
	require.Empty(t, journal)
}

// requireNothingOf checks that nothing of the record ref names was
// stored, and that its kind has no records and s no due timers at all.
func requireNothingOf(t *testing.T, s *postgres.Store, ref record.Ref) {
	t.Helper()
	ctx := t.Context()
	requireNoRecord(t, s, ref, "its transaction failed")
	page, err := s.List(ctx, record.Query{Kind: ref.Kind})
	require.NoError(t, err)
	require.Empty(t, page.Records)
	due, err := s.TimersDue(ctx, t0.Add(1000*time.Hour), 10)
	require.NoError(t, err)
	require.Empty(t, due)
}

// TestFaultConnectionKilledInTx kills the connection of a transaction
// that has taken a number, checked a record's keys and queued its
// INSERT and its event, at each point where the next round trip could
// fail: nothing is kept, the error matches storage.ErrRetryable, and the
// pool recovers.
func TestFaultConnectionKilledInTx(t *testing.T) {
	t.Parallel()
	testURL(t)
	for _, tc := range []struct {
		name string
		// after runs once the backend is dead and returns what fn returns.
		after func(ctx context.Context, tx record.Tx, rec *record.Record) error
	}{
		{"NextStatementFails", func(ctx context.Context, tx record.Tx, rec *record.Record) error {
			_, err := tx.Get(ctx, rec.Ref())
			return err
		}},
		{"DeferredWriteFailsAtCommit", func(ctx context.Context, tx record.Tx, rec *record.Record) error {
			// PutTimers only queues its write; the commit sends it.
			return tx.PutTimers(ctx, timerOf(t, rec.Ref(), "resolution"))
		}},
		{"GuardedWriteFails", func(ctx context.Context, tx record.Tx, rec *record.Record) error {
			return tx.AddLinks(ctx, record.Link{Type: record.RelatedTo.Name, From: rec.Ref(), To: testRecord(2).Ref(), CreatedAt: t0, CreatedBy: "bob"})
		}},
		{"CommitFails", func(context.Context, record.Tx, *record.Record) error { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			ctx := t.Context()
			rec := testRecord(1)
			err := s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
				if _, err := tx.NextNumber(ctx, ticketKind); err != nil {
					return err
				}
				if err := tx.Create(ctx, rec); err != nil {
					return err
				}
				if err := tx.AppendJournal(ctx, rec.Ref(), record.Entry{Kind: record.Comment, Author: "bob", At: t0, Text: "down"}); err != nil {
					return err
				}
				if err := tx.AppendEvents(ctx, openEvent(rec.Ref())); err != nil {
					return err
				}
				killBackend(t, ctx, tx)
				return tc.after(ctx, tx, rec)
			})
			require.Error(t, err)
			t.Logf("InTx after the kill: %v", err)
			require.True(t, storage.IsRetryable(err), "%v", err)
			requireNothingOf(t, s, rec.Ref())

			// The pool replaces the connection; the same work succeeds now.
			for range 3 {
				require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
					_, err := tx.NextNumber(ctx, ticketKind)
					return err
				}))
			}
			require.NoError(t, openIn(t, s, testRecord(1)))
			_, err = s.Get(ctx, rec.Ref())
			require.NoError(t, err)
			require.NoError(t, s.VerifyAuditTrail(ctx))
		})
	}
}

// TestFaultJoinedConnectionKilled kills the connection of an application
// transaction a joined store works in: the operation fails as retryable
// and nothing is kept.
func TestFaultJoinedConnectionKilled(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	tx, err := s.Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	rec := testRecord(1)
	err = s.Join(tx).InTx(ctx, func(ctx context.Context, rtx record.Tx) error {
		if err := rtx.Create(ctx, rec); err != nil {
			return err
		}
		killBackend(t, ctx, rtx)
		return rtx.AppendEvents(ctx, openEvent(rec.Ref()))
	})
	require.Error(t, err)
	require.True(t, storage.IsRetryable(err), "%v", err)
	requireNothingOf(t, s, rec.Ref())
}

// TestFaultConnectionLostAfterCommit loses the connection after COMMIT
// reached the server and before its answer reached the store (a proxy
// drops it): the transaction is committed, so the error must say that the
// outcome is unknown and must not invite a retry, and the store must go on
// working on a new connection.
func TestFaultConnectionLostAfterCommit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	direct := newStore(t)
	proxy, proxied := newCommitDropper(t, testURL(t))
	s, err := postgres.Open(ctx, proxied, postgres.WithSchema(direct.Schema()),
		postgres.WithPoolConfig(func(c *pgxpool.Config) { c.MaxConns = 1 }))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Declare(ctx, ticketSchema()))

	rec := testRecord(1)
	proxy.armed.Store(true)
	err = s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, openEvent(rec.Ref()))
	})
	require.Equal(t, int32(1), proxy.dropped.Load(), "the proxy dropped the connection after COMMIT")
	t.Logf("InTx: %v", err)
	require.ErrorIs(t, err, storage.ErrUnknownOutcome)
	require.False(t, storage.IsRetryable(err), "a commit of unknown outcome is not retryable")

	got, err := direct.Get(ctx, rec.Ref())
	require.NoError(t, err, "the transaction was committed")
	require.Equal(t, rec.Title, got.Title)
	hist, err := direct.History(ctx, rec.Ref())
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.NoError(t, direct.VerifyAuditTrail(ctx))

	// The pool replaces the connection.
	require.NoError(t, openIn(t, s, testRecord(2)))
	_, err = direct.Get(ctx, testRecord(2).Ref())
	require.NoError(t, err)
}

// TestFaultDeadlineAfterCommit lets the context of a transaction end
// while the answer to its COMMIT is held back (by a proxy, after the
// server committed): the store gives up on the connection, and the error
// says that the outcome is unknown, besides matching the context's.
func TestFaultDeadlineAfterCommit(t *testing.T) {
	t.Parallel()
	direct := newStore(t)
	proxy, proxied := newCommitDropper(t, testURL(t))
	proxy.hold = true
	s, err := postgres.Open(t.Context(), proxied, postgres.WithSchema(direct.Schema()),
		postgres.WithPoolConfig(func(c *pgxpool.Config) { c.MaxConns = 1 }))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Declare(t.Context(), ticketSchema()))

	rec := testRecord(1)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	proxy.armed.Store(true)
	err = s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, rec) })
	require.Equal(t, int32(1), proxy.dropped.Load(), "the proxy held back the answer to COMMIT")
	t.Logf("InTx: %v", err)
	require.ErrorIs(t, err, storage.ErrUnknownOutcome)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.False(t, storage.IsRetryable(err))
	_, err = direct.Get(t.Context(), rec.Ref())
	require.NoError(t, err, "the transaction was committed")
}

// TestFaultTerminateLoop opens records from several goroutines while
// another terminates the store's server processes again and again: every
// Open that succeeded is stored, nothing of an Open reported as retryable
// is, and every failure is one of the two or storage.ErrUnknownOutcome
// (whose record may or may not be stored). The audit trail still
// verifies.
func TestFaultTerminateLoop(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	app := "itsm_terminate_" + newSchemaName()
	s := newStore(t, postgres.WithPoolConfig(func(c *pgxpool.Config) {
		c.MaxConns = 4
		c.ConnConfig.RuntimeParams["application_name"] = app
	}))
	stop := terminateEvery(t, app, func() time.Duration { return time.Duration(2000+rand.IntN(8000)) * time.Microsecond })
	const writers, each = 4, 60
	type outcome struct {
		ref record.Ref
		err error
	}
	results := make([][]outcome, writers)
	var ww sync.WaitGroup
	for w := range writers {
		ww.Go(func() {
			for i := range each {
				rec := testRecord(1 + w*each + i)
				err := s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
					if err := tx.Create(ctx, rec); err != nil {
						return err
					}
					if err := tx.PutTimers(ctx, timerOf(t, rec.Ref(), "resolution")); err != nil {
						return err
					}
					return tx.AppendEvents(ctx, openEvent(rec.Ref()))
				})
				results[w] = append(results[w], outcome{rec.Ref(), err})
			}
		})
	}
	ww.Wait()
	killed := stop()

	// Check through a pool of its own: the store's may still hold a
	// connection the loop terminated last.
	check, err := postgres.Open(ctx, testURL(t), postgres.WithSchema(s.Schema()))
	require.NoError(t, err)
	defer check.Close()
	require.NoError(t, check.Declare(ctx, ticketSchema()))
	var acked, refused, unknown int
	for _, rs := range results {
		for _, r := range rs {
			switch {
			case r.err == nil:
				acked++
				_, err := check.Get(ctx, r.ref)
				require.NoError(t, err, "an acknowledged Open of %s is stored", r.ref)
			case storage.IsRetryable(r.err):
				refused++
				requireNoRecord(t, check, r.ref, "its Open was reported as retryable: "+r.err.Error())
			case errors.Is(r.err, storage.ErrUnknownOutcome):
				unknown++
			default:
				t.Fatalf("Open of %s failed with neither a retryable error nor an unknown outcome: %v", r.ref, r.err)
			}
		}
	}
	t.Logf("%d server processes terminated; %d Opens acknowledged, %d retryable, %d of unknown outcome", killed, acked, refused, unknown)
	require.Positive(t, killed, "the loop terminated server processes")
	require.Positive(t, acked)
	require.NoError(t, check.VerifyAuditTrail(ctx))
}

// terminateEvery terminates one server process of the application named
// app at a time, chosen at random, pausing for pause() after each, until
// the returned stop is called; stop returns how many it terminated.
func terminateEvery(t *testing.T, app string, pause func() time.Duration) (stop func() int64) {
	t.Helper()
	killer := connect(t)
	var (
		done   = make(chan struct{})
		killed atomic.Int64
		wg     sync.WaitGroup
	)
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			var n int64
			// One process at a time, so that writes both succeed and fail.
			if err := killer.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM
				(SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY random() LIMIT 1) p`, app).Scan(&n); err != nil {
				t.Error(err)
				return
			}
			killed.Add(n)
			time.Sleep(pause())
		}
	})
	return func() int64 {
		close(done)
		wg.Wait()
		return killed.Load()
	}
}
