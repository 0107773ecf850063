package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

// withAppTable opens a store whose file also holds an application table.
func withAppTable(t *testing.T) *sqlite.Store {
	t.Helper()
	s, _ := openTemp(t)
	tx, err := s.BeginTx(t.Context())
	require.NoError(t, err)
	_, err = tx.ExecContext(t.Context(), "CREATE TABLE app_tickets (record_id TEXT PRIMARY KEY, customer TEXT NOT NULL)")
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	return s
}

// openInTx opens a ticket through the store joined to tx and adds the
// application's row for it in the same transaction.
func openInTx(t *testing.T, s *sqlite.Store, tx *sql.Tx, title string) *record.Record {
	t.Helper()
	rec := open(t, s.Join(tx), title, testStart)
	_, err := tx.ExecContext(t.Context(), "INSERT INTO app_tickets (record_id, customer) VALUES (?, 'acme')", rec.ID)
	require.NoError(t, err)
	return rec
}

func appRows(t *testing.T, s *sqlite.Store, id string) int {
	return count(t, s, "SELECT count(*) FROM app_tickets WHERE record_id = ?", id)
}

func TestJoinCommitsWithTheApplication(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := withAppTable(t)
	tx, err := s.BeginTx(ctx)
	require.NoError(t, err)
	rec := openInTx(t, s, tx, "Mail relay down")

	// The joined store reads its own writes; the Store sees nothing yet.
	joined := s.Join(tx)
	got, err := joined.Get(ctx, rec.Ref())
	require.NoError(t, err)
	require.Equal(t, rec.Number, got.Number)
	require.Len(t, got.SLA, 2)
	timers, err := joined.Timers(ctx, rec.Ref())
	require.NoError(t, err)
	require.Len(t, timers, 2)
	page, err := joined.ReadOutbox(ctx, "", 10)
	require.NoError(t, err)
	require.Len(t, page.Messages, 1)
	_, err = s.Get(ctx, rec.Ref())
	require.ErrorIs(t, err, itsm.ErrNotFound)
	claimed, err := joined.Claim(ctx, "mailer", testStart, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.NoError(t, joined.Ack(ctx, "mailer", claimed[0].ID))
	require.ErrorIs(t, joined.Ack(ctx, "mailer", 12345), itsm.ErrNotFound)

	require.NoError(t, tx.Commit())
	got, err = s.Get(ctx, rec.Ref())
	require.NoError(t, err)
	require.Equal(t, rec.Number, got.Number)
	hist, err := s.History(ctx, rec.Ref())
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.Equal(t, 1, appRows(t, s, rec.ID))
	require.Equal(t, 1, count(t, s, "SELECT count(*) FROM outbox_claims WHERE acked = 1"))
	require.NoError(t, s.VerifyAuditTrail(ctx))
}

func TestJoinRollsBackWithTheApplication(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := withAppTable(t)
	tx, err := s.BeginTx(ctx)
	require.NoError(t, err)
	rec := openInTx(t, s, tx, "Mail relay down")
	require.NoError(t, tx.Rollback())

	_, err = s.Get(ctx, rec.Ref())
	require.ErrorIs(t, err, itsm.ErrNotFound)
	hist, err := s.History(ctx, rec.Ref())
	require.NoError(t, err)
	require.Empty(t, hist)
	require.Zero(t, appRows(t, s, rec.ID))
	for _, table := range []string{"records", "sla_timers", "audit_heads", "outbox"} {
		require.Zero(t, count(t, s, "SELECT count(*) FROM "+table), table)
	}
	// The rolled-back number is handed out again.
	again := open(t, s, "Again", testStart)
	require.Equal(t, rec.Number, again.Number)
}

// A failed operation inside the application's transaction undoes its own
// writes only (a savepoint), and the transaction carries on.
func TestJoinFailureRollsBackToItsSavepoint(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := withAppTable(t)
	tx, err := s.BeginTx(ctx)
	require.NoError(t, err)
	kept := openInTx(t, s, tx, "Kept")
	joined := s.Join(tx)

	errBoom := errors.New("boom")
	err = joined.InTx(ctx, func(ctx context.Context, itx record.Tx) error {
		lost := kept.Clone()
		lost.ID, lost.Number = "lost", "INC-LOST"
		require.NoError(t, itx.Create(ctx, lost))
		require.NoError(t, itx.AppendEvents(ctx, itsm.Event{Kind: "incident", RecordID: kept.ID, Actor: agent, At: testStart, Action: "comment"}))
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)

	require.PanicsWithValue(t, "boom", func() {
		_ = joined.InTx(ctx, func(ctx context.Context, itx record.Tx) error {
			lost := kept.Clone()
			lost.ID, lost.Number = "panicked", "INC-PANIC"
			require.NoError(t, itx.Create(ctx, lost))
			panic("boom")
		})
	})

	// A conflict inside an operation: stale version.
	err = joined.InTx(ctx, func(ctx context.Context, itx record.Tx) error {
		stale := kept.Clone()
		stale.Version = 99
		return itx.Update(ctx, stale)
	})
	require.ErrorIs(t, err, itsm.ErrConflict)

	// Nested savepoints: a joined store inside a joined InTx.
	err = joined.InTx(ctx, func(ctx context.Context, itx record.Tx) error {
		comment(t, s.Join(tx), kept.Ref(), "still here", testStart.Add(time.Minute))
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, tx.Commit())

	for _, id := range []string{"lost", "panicked"} {
		_, err = s.Get(ctx, record.Ref{Kind: "incident", ID: id})
		require.ErrorIs(t, err, itsm.ErrNotFound, id)
	}
	got, err := s.Get(ctx, kept.Ref())
	require.NoError(t, err)
	require.Equal(t, int64(2), got.Version)
	journal, err := s.Journal(ctx, kept.Ref())
	require.NoError(t, err)
	require.Len(t, journal, 1)
	hist, err := s.History(ctx, kept.Ref())
	require.NoError(t, err)
	require.Len(t, hist, 2, "open and the comment; the failed append is gone")
	require.Equal(t, "comment", hist[1].Action)
	require.Equal(t, 1, appRows(t, s, kept.ID))
	require.Equal(t, 2, count(t, s, "SELECT count(*) FROM outbox"))
	require.NoError(t, s.VerifyAuditTrail(ctx))
}

// A joined store declares kinds inside the application's transaction.
func TestJoinDeclare(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	def := ticketSchema.Def()
	def.Kind, def.Prefix = "request", "REQ"
	tx, err := s.BeginTx(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Join(tx).Declare(ctx, record.MustNewSchema(def)))
	require.NoError(t, tx.Commit())
	require.Equal(t, 1, count(t, s, "SELECT count(*) FROM sqlite_schema WHERE name = 'rattr_request_channel'"))
	_, err = s.List(ctx, record.Query{Kind: "request"})
	require.NoError(t, err)
}

// The Tx handed to fn is dead once InTx returns.
func TestTxAfterInTx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	var kept record.Tx
	require.NoError(t, s.InTx(ctx, func(_ context.Context, tx record.Tx) error { kept = tx; return nil }))
	_, err := kept.Get(ctx, record.Ref{Kind: "incident", ID: "x"})
	require.ErrorIs(t, err, sqlite.ErrTxDone)
	_, err = kept.NextNumber(ctx, "incident")
	require.ErrorIs(t, err, sqlite.ErrTxDone)

	tx, err := s.BeginTx(ctx)
	require.NoError(t, err)
	defer tx.Rollback()
	require.NoError(t, s.Join(tx).InTx(ctx, func(_ context.Context, itx record.Tx) error { kept = itx; return nil }))
	require.ErrorIs(t, kept.AppendEvents(ctx), sqlite.ErrTxDone)
	require.ErrorIs(t, s.InTx(ctx, nil), itsm.ErrValidation)
	require.ErrorIs(t, s.Join(tx).InTx(ctx, nil), itsm.ErrValidation)
}
