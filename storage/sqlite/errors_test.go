package sqlite_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

func TestErrorsUniqueIsConflict(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	svc, _ := newService(t, s)
	inc, err := svc.Open(ctx, agent, openInput("First"))
	require.NoError(t, err)
	dup := inc.Clone()
	dup.ID = "other"
	err = s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error { return tx.Create(ctx, dup) })
	require.ErrorIs(t, err, itsm.ErrConflict)
	require.False(t, storage.IsRetryable(err))
	var se *msqlite.Error
	require.ErrorAs(t, err, &se, "the driver error stays reachable")
	require.Equal(t, sqlite3.SQLITE_CONSTRAINT_UNIQUE, se.Code())
	require.ErrorContains(t, err, "incidents.number")
}

func TestErrorsNotFound(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	_, err := s.Get(ctx, "missing")
	var nf *itsm.NotFoundError
	require.ErrorAs(t, err, &nf)
	require.Equal(t, incident.Kind, nf.Kind)
	require.Equal(t, "missing", nf.ID)
}

// A write lock held by another connection past the busy timeout is a
// retryable error; once the lock is gone the same operation succeeds.
func TestErrorsBusyIsRetryable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	holder, path := openTemp(t)
	other, err := sqlite.Open(ctx, path, sqlite.WithBusyTimeout(10*time.Millisecond))
	require.NoError(t, err)
	defer other.Close()

	tx, err := holder.BeginTx(ctx) // BEGIN IMMEDIATE: holds the write lock
	require.NoError(t, err)
	next := func(ctx context.Context, tx incident.Tx) error {
		_, err := tx.NextNumber(ctx, incident.Kind)
		return err
	}
	err = other.InTx(ctx, next)
	require.ErrorIs(t, err, storage.ErrRetryable)
	var se *msqlite.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, sqlite3.SQLITE_BUSY, se.Code()&0xff)
	_, err = other.ProcessDueTimers(ctx, testStart, 10, nil)
	require.True(t, storage.IsRetryable(err), "%v", err)
	// Readers are not blocked by the writer.
	_, err = other.List(ctx, incident.Query{})
	require.NoError(t, err)

	require.NoError(t, tx.Rollback())
	require.NoError(t, other.InTx(ctx, next))
}

func TestErrorsCanceledContext(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.InTx(ctx, func(context.Context, incident.Tx) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Get(ctx, "x")
	require.ErrorIs(t, err, context.Canceled)
}

// The audit log refuses UPDATE and DELETE, events out of order, and heads
// moving backwards, whoever asks.
func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	svc, _ := newService(t, s)
	inc, err := svc.Open(ctx, agent, openInput("Audited"))
	require.NoError(t, err)
	for _, stmt := range []struct{ sql, msg string }{
		{"UPDATE audit_events SET reason = 'x'", "append-only"},
		{"DELETE FROM audit_events", "append-only"},
		{"UPDATE audit_heads SET last_sequence = 0", "only move forward"},
		{"DELETE FROM audit_heads", "never removed"},
		{`INSERT INTO audit_events (kind, record_id, sequence, actor_id, at, action, hash)
			VALUES ('incident', '` + inc.ID + `', 5, 'mallory', 0, 'forge', x'00')`, "does not follow"},
		{`INSERT INTO audit_events (kind, record_id, sequence, actor_id, at, action, prev_hash, hash)
			VALUES ('incident', '` + inc.ID + `', 2, 'mallory', 0, 'forge', x'00', x'00')`, "does not follow"},
	} {
		tx, err := s.BeginTx(ctx)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, stmt.sql)
		require.ErrorContains(t, err, stmt.msg, stmt.sql)
		require.NoError(t, tx.Rollback())
	}
	require.NoError(t, s.VerifyAuditTrail(ctx))
}

// AppendEvents chains and numbers events per record, in one call and
// across calls.
func TestAuditChainAcrossCalls(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	ev := func(id, action string) itsm.Event {
		return itsm.Event{Kind: "problem", RecordID: id, Actor: agent, At: testStart.Add(123456789 * time.Nanosecond), Action: action}
	}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		return tx.AppendEvents(ctx, ev("p1", "a"), ev("p2", "a"), ev("p1", "b"))
	}))
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
		return tx.AppendEvents(ctx, ev("p1", "c"))
	}))
	require.NoError(t, s.VerifyAuditTrail(ctx))
	require.Equal(t, 3, count(t, s, "SELECT last_sequence FROM audit_heads WHERE kind = 'problem' AND record_id = 'p1'"))
	require.Equal(t, 1, count(t, s, "SELECT last_sequence FROM audit_heads WHERE kind = 'problem' AND record_id = 'p2'"))
	// More events than one INSERT statement takes.
	many := make([]itsm.Event, 1200)
	for i := range many {
		many[i] = ev("p3", "bulk")
	}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx incident.Tx) error { return tx.AppendEvents(ctx, many...) }))
	require.Equal(t, 1200, count(t, s, "SELECT last_sequence FROM audit_heads WHERE kind = 'problem' AND record_id = 'p3'"))
	require.NoError(t, s.VerifyAuditTrail(ctx))
	require.True(t, errors.Is(s.VerifyAuditTrail(ctx), nil))
}
