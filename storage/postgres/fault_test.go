package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/postgres"
)

// killBackend terminates the server process of the transaction tx from
// another connection and waits until it is gone.
func killBackend(t *testing.T, ctx context.Context, tx incident.Tx) {
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

// requireNothingOf checks that nothing of incident id was stored.
func requireNothingOf(t *testing.T, s *postgres.Store, id string) {
	t.Helper()
	ctx := t.Context()
	_, err := s.Get(ctx, id)
	require.ErrorIs(t, err, itsm.ErrNotFound)
	timers, err := s.Timers(ctx, id)
	require.NoError(t, err)
	require.Empty(t, timers)
	hist, err := s.History(ctx, id)
	require.NoError(t, err)
	require.Empty(t, hist)
	page, err := s.List(ctx, incident.Query{})
	require.NoError(t, err)
	require.Empty(t, page.Incidents)
	due, err := s.TimersDue(ctx, t0.Add(1000*time.Hour), 10)
	require.NoError(t, err)
	require.Empty(t, due)
}

func TestFaultConnectionKilledInTx(t *testing.T) {
	t.Parallel()
	testURL(t)
	tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(4*time.Hour), nil, "gold", sla.MetricResolution, itsm.PriorityHigh)
	require.NoError(t, err)
	require.NoError(t, tm.Start(t0))

	for _, tc := range []struct {
		name string
		// after runs once the backend is dead and returns what fn returns.
		after func(ctx context.Context, tx incident.Tx, inc *incident.Incident) error
	}{
		{"NextStatementFails", func(ctx context.Context, tx incident.Tx, inc *incident.Incident) error {
			_, err := tx.Get(ctx, inc.ID)
			return err
		}},
		{"DeferredWriteFailsAtCommit", func(ctx context.Context, tx incident.Tx, inc *incident.Incident) error {
			// PutTimers only queues its write; the commit sends it.
			return tx.PutTimers(ctx, incident.NewTimerRecord("tmr-1", inc.ID, tm, t0))
		}},
		{"CommitFails", func(context.Context, incident.Tx, *incident.Incident) error { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			ctx := t.Context()
			inc := testIncident(1)
			err := s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
				if _, err := tx.NextNumber(ctx, incident.Kind); err != nil {
					return err
				}
				if err := tx.Create(ctx, inc); err != nil {
					return err
				}
				if err := tx.AppendEvents(ctx, itsm.Event{Kind: incident.Kind, RecordID: inc.ID, Actor: agent, At: t0, Action: "open"}); err != nil {
					return err
				}
				killBackend(t, ctx, tx)
				return tc.after(ctx, tx, inc)
			})
			require.Error(t, err)
			t.Logf("InTx after the kill: %v", err)
			require.True(t, storage.IsRetryable(err), "%v", err)
			requireNothingOf(t, s, inc.ID)

			// The pool replaces the connection; the same work succeeds now.
			for range 3 {
				require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
					_, err := tx.NextNumber(ctx, incident.Kind)
					return err
				}))
			}
			again := testIncident(1)
			require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Create(ctx, again) }))
			_, err = s.Get(ctx, inc.ID)
			require.NoError(t, err)
		})
	}
}

// killingStore kills the transaction's connection when the service
// appends its audit event, the last write of Open.
type killingStore struct {
	*postgres.Store
	t *testing.T
}

func (k killingStore) InTx(ctx context.Context, fn func(ctx context.Context, tx incident.Tx) error) error {
	return k.Store.InTx(ctx, func(ctx context.Context, tx incident.Tx) error { return fn(ctx, killingTx{Tx: tx, t: k.t}) })
}

type killingTx struct {
	incident.Tx
	t *testing.T
}

func (k killingTx) AppendEvents(ctx context.Context, events ...itsm.Event) error {
	killBackend(k.t, ctx, k.Tx)
	return k.Tx.AppendEvents(ctx, events...)
}

func TestFaultServiceOpenKilled(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	pol, err := sla.ParsePolicy([]byte(goldPolicy), nil)
	require.NoError(t, err)
	ids := []string{"inc-killed", "inc-second"}
	cfg := incident.Config{Policies: incident.Policies{List: []*sla.Policy{pol}},
		NewID: func() string { id := ids[0]; ids = ids[1:]; return id }}

	svc, err := incident.NewService(killingStore{Store: s, t: t}, cfg)
	require.NoError(t, err)
	_, err = svc.Open(ctx, agent, openInput)
	require.Error(t, err)
	t.Logf("Open after the kill: %v", err)
	require.True(t, storage.IsRetryable(err), "%v", err)
	requireNothingOf(t, s, "inc-killed")

	// The same service over the plain store works; numbers may have gaps
	// but are never reused.
	inc, err := svc.WithStore(s).Open(ctx, agent, openInput)
	require.NoError(t, err)
	require.Equal(t, "inc-second", inc.ID)
	timers, err := s.Timers(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, timers, 2)
	hist, err := s.History(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.NoError(t, s.VerifyAuditTrail(ctx))
}
