package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

// withAppTable opens a store whose file also holds an application table.
func withAppTable(t *testing.T) *sqlite.Store {
	t.Helper()
	s, _ := openTemp(t)
	tx, err := s.BeginTx(t.Context())
	require.NoError(t, err)
	_, err = tx.ExecContext(t.Context(), "CREATE TABLE app_tickets (incident_id TEXT PRIMARY KEY, customer TEXT NOT NULL)")
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	return s
}

// openInTx opens an incident through the service joined to tx and adds
// the application's row for it in the same transaction.
func openInTx(t *testing.T, s *sqlite.Store, svc *incident.Service, tx *sql.Tx, title string) *incident.Incident {
	t.Helper()
	inc, err := svc.WithStore(s.Join(tx)).Open(t.Context(), agent, openInput(title))
	require.NoError(t, err)
	_, err = tx.ExecContext(t.Context(), "INSERT INTO app_tickets (incident_id, customer) VALUES (?, 'acme')", inc.ID)
	require.NoError(t, err)
	return inc
}

func appRows(t *testing.T, s *sqlite.Store, id string) int {
	return count(t, s, "SELECT count(*) FROM app_tickets WHERE incident_id = ?", id)
}

func TestJoinCommitsWithTheApplication(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := withAppTable(t)
	svc, _ := newService(t, s)
	tx, err := s.BeginTx(ctx)
	require.NoError(t, err)
	inc := openInTx(t, s, svc, tx, "Mail relay down")

	// The joined store reads its own writes; the Store sees nothing yet.
	joined := s.Join(tx)
	got, err := joined.Get(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, inc.Number, got.Number)
	timers, err := joined.Timers(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, timers, 2)
	_, err = s.Get(ctx, inc.ID)
	require.ErrorIs(t, err, itsm.ErrNotFound)

	require.NoError(t, tx.Commit())
	got, err = s.Get(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, inc.Number, got.Number)
	hist, err := s.History(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	timers, err = s.Timers(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, timers, 2)
	require.Equal(t, 1, appRows(t, s, inc.ID))
	require.NoError(t, s.VerifyAuditTrail(ctx))
}

func TestJoinRollsBackWithTheApplication(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := withAppTable(t)
	svc, _ := newService(t, s)
	tx, err := s.BeginTx(ctx)
	require.NoError(t, err)
	inc := openInTx(t, s, svc, tx, "Mail relay down")
	require.NoError(t, tx.Rollback())

	_, err = s.Get(ctx, inc.ID)
	require.ErrorIs(t, err, itsm.ErrNotFound)
	hist, err := s.History(ctx, inc.ID)
	require.NoError(t, err)
	require.Empty(t, hist)
	require.Zero(t, appRows(t, s, inc.ID))
	require.Zero(t, count(t, s, "SELECT count(*) FROM sla_timers"))
	require.Zero(t, count(t, s, "SELECT count(*) FROM audit_heads"))
	// The rolled-back number is handed out again.
	again, err := svc.Open(ctx, agent, openInput("Again"))
	require.NoError(t, err)
	require.Equal(t, inc.Number, again.Number)
}

// A failed operation inside the application's transaction undoes its own
// writes only (a savepoint), and the transaction carries on.
func TestJoinFailureRollsBackToItsSavepoint(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := withAppTable(t)
	svc, _ := newService(t, s)
	tx, err := s.BeginTx(ctx)
	require.NoError(t, err)
	kept := openInTx(t, s, svc, tx, "Kept")
	joined := s.Join(tx)

	errBoom := errors.New("boom")
	err = joined.InTx(ctx, func(ctx context.Context, itx incident.Tx) error {
		lost := *kept
		lost.ID, lost.Number = "lost", "INC-LOST"
		require.NoError(t, itx.Create(ctx, &lost))
		require.NoError(t, itx.AppendEvents(ctx, itsm.Event{Kind: incident.Kind, RecordID: kept.ID, Actor: agent, At: testStart, Action: "comment"}))
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)

	require.PanicsWithValue(t, "boom", func() {
		_ = joined.InTx(ctx, func(ctx context.Context, itx incident.Tx) error {
			lost := *kept
			lost.ID, lost.Number = "panicked", "INC-PANIC"
			require.NoError(t, itx.Create(ctx, &lost))
			panic("boom")
		})
	})

	// A conflict inside the service's own operation: stale version.
	_, err = svc.WithStore(joined).Assign(ctx, agent, kept.ID, incident.AssignInput{AssignmentGroup: "ops", Version: 99})
	require.ErrorIs(t, err, itsm.ErrConflict)

	// Nested savepoints: a joined store inside a joined InTx.
	err = joined.InTx(ctx, func(ctx context.Context, itx incident.Tx) error {
		_, err := svc.WithStore(s.Join(tx)).AddComment(ctx, agent, kept.ID, "still here")
		return err
	})
	require.NoError(t, err)
	require.NoError(t, tx.Commit())

	for _, id := range []string{"lost", "panicked"} {
		_, err = s.Get(ctx, id)
		require.ErrorIs(t, err, itsm.ErrNotFound, id)
	}
	got, err := s.Get(ctx, kept.ID)
	require.NoError(t, err)
	require.Len(t, got.Journal, 1)
	require.Equal(t, int64(2), got.Version)
	hist, err := s.History(ctx, kept.ID)
	require.NoError(t, err)
	require.Len(t, hist, 2, "open and the comment; the failed append is gone")
	require.Equal(t, "comment", hist[1].Action)
	require.Equal(t, 1, appRows(t, s, kept.ID))
	require.NoError(t, s.VerifyAuditTrail(ctx))
}

// The Tx handed to fn is dead once InTx returns.
func TestTxAfterInTx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	var kept incident.Tx
	require.NoError(t, s.InTx(ctx, func(_ context.Context, tx incident.Tx) error { kept = tx; return nil }))
	_, err := kept.Get(ctx, "x")
	require.ErrorIs(t, err, sqlite.ErrTxDone)
	_, err = kept.NextNumber(ctx, "incident")
	require.ErrorIs(t, err, sqlite.ErrTxDone)

	tx, err := s.BeginTx(ctx)
	require.NoError(t, err)
	defer tx.Rollback()
	require.NoError(t, s.Join(tx).InTx(ctx, func(_ context.Context, itx incident.Tx) error { kept = itx; return nil }))
	require.ErrorIs(t, kept.AppendEvents(ctx), sqlite.ErrTxDone)
	require.ErrorIs(t, s.InTx(ctx, nil), itsm.ErrValidation)
	require.ErrorIs(t, s.Join(tx).InTx(ctx, nil), itsm.ErrValidation)
}
