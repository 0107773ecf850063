package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

func TestErrorsUniqueIsConflict(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	rec := open(t, s, "First", testStart)
	dup := rec.Clone()
	dup.ID = "other"
	err := s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, dup) })
	require.ErrorIs(t, err, itsm.ErrConflict)
	require.False(t, storage.IsRetryable(err))
	var se *msqlite.Error
	require.ErrorAs(t, err, &se, "the driver error stays reachable")
	require.Equal(t, sqlite3.SQLITE_CONSTRAINT_UNIQUE, se.Code())
	require.ErrorContains(t, err, "records.kind, records.number")
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
	require.NoError(t, other.Declare(ctx, ticketSchema))

	tx, err := holder.BeginTx(ctx) // BEGIN IMMEDIATE: holds the write lock
	require.NoError(t, err)
	next := func(ctx context.Context, tx record.Tx) error {
		_, err := tx.NextNumber(ctx, "incident")
		return err
	}
	err = other.InTx(ctx, next)
	require.ErrorIs(t, err, storage.ErrRetryable)
	var se *msqlite.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, sqlite3.SQLITE_BUSY, se.Code()&0xff)
	_, err = other.ProcessDueTimers(ctx, testStart, 10)
	require.True(t, storage.IsRetryable(err), "%v", err)
	_, err = other.Claim(ctx, "mailer", testStart, time.Minute, 10)
	require.True(t, storage.IsRetryable(err), "%v", err)
	// Readers are not blocked by the writer.
	_, err = other.List(ctx, record.Query{Kind: "incident"})
	require.NoError(t, err)

	require.NoError(t, tx.Rollback())
	require.NoError(t, other.InTx(ctx, next))
}

func TestErrorsCanceledContext(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.InTx(ctx, func(context.Context, record.Tx) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Get(ctx, record.Ref{Kind: "incident", ID: "x"})
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Claim(ctx, "mailer", testStart, time.Minute, 1)
	require.ErrorIs(t, err, context.Canceled)
}

// A context that ends inside InTx stops the transaction at its next
// statement (prepared statements run without the driver's watch, see
// unwatched, and still see it), and nothing of the transaction is kept.
func TestErrorsContextEndsInTx(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err := s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		if _, err := openTicket(ctx, t, tx, "Never kept", testStart); err != nil {
			return err
		}
		cancel()
		_, err := tx.NextNumber(ctx, "incident")
		return err
	})
	require.ErrorIs(t, err, context.Canceled)
	page, err := s.List(t.Context(), record.Query{Kind: "incident"})
	require.NoError(t, err)
	require.Empty(t, page.Records)
	require.NoError(t, s.InTx(t.Context(), func(ctx context.Context, tx record.Tx) error {
		n, err := tx.NextNumber(ctx, "incident")
		require.Equal(t, int64(1), n, "the rolled-back numbers are not kept")
		return err
	}))
}

// The audit log refuses UPDATE and DELETE, events out of order, and heads
// moving backwards, whoever asks.
func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	rec := open(t, s, "Audited", testStart)
	for _, stmt := range []struct{ sql, msg string }{
		{"UPDATE audit_events SET reason = 'x'", "append-only"},
		{"DELETE FROM audit_events", "append-only"},
		{"UPDATE audit_heads SET last_sequence = 0", "only move forward"},
		{"DELETE FROM audit_heads", "never removed"},
		{`INSERT INTO audit_events (kind, record_id, sequence, actor_id, at, action, hash)
			VALUES ('incident', '` + rec.ID + `', 5, 'mallory', 0, 'forge', x'00')`, "does not follow"},
		{`INSERT INTO audit_events (kind, record_id, sequence, actor_id, at, action, prev_hash, hash)
			VALUES ('incident', '` + rec.ID + `', 2, 'mallory', 0, 'forge', x'00', x'00')`, "does not follow"},
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
// across calls, and puts each in the outbox.
func TestAuditChainAcrossCalls(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	ev := func(id, action string) itsm.Event {
		return itsm.Event{Kind: "problem", RecordID: id, Actor: agent, At: testStart.Add(123456789 * time.Nanosecond), Action: action}
	}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		return tx.AppendEvents(ctx, ev("p1", "a"), ev("p2", "a"), ev("p1", "b"))
	}))
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		return tx.AppendEvents(ctx, ev("p1", "c"))
	}))
	require.NoError(t, s.VerifyAuditTrail(ctx))
	require.Equal(t, 3, count(t, s, "SELECT last_sequence FROM audit_heads WHERE kind = 'problem' AND record_id = 'p1'"))
	require.Equal(t, 1, count(t, s, "SELECT last_sequence FROM audit_heads WHERE kind = 'problem' AND record_id = 'p2'"))
	many := make([]itsm.Event, 1200)
	for i := range many {
		many[i] = ev("p3", "bulk")
	}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.AppendEvents(ctx, many...) }))
	require.Equal(t, 1200, count(t, s, "SELECT last_sequence FROM audit_heads WHERE kind = 'problem' AND record_id = 'p3'"))
	require.Equal(t, 1204, count(t, s, "SELECT count(*) FROM outbox"))
	require.NoError(t, s.VerifyAuditTrail(ctx))

	// A refused batch appends nothing, neither to the log nor to the
	// outbox, and the transaction goes on.
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		require.ErrorIs(t, tx.AppendEvents(ctx, ev("p4", "a"), itsm.Event{Kind: "problem"}), itsm.ErrValidation)
		return tx.AppendEvents(ctx, ev("p5", "a"))
	}))
	require.Equal(t, 1205, count(t, s, "SELECT count(*) FROM outbox"))
	require.Zero(t, count(t, s, "SELECT count(*) FROM audit_events WHERE record_id = 'p4'"))
}

// A record created after events of its ID were appended chains its events
// to them: the store takes a new record's trail to be empty, and the audit
// triggers make it read the head when it is not.
func TestAppendEventsAfterEarlierTrail(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	rec := newTicket(7, "Late", testStart)
	ev := itsm.Event{Kind: "incident", RecordID: rec.ID, Actor: agent, At: testStart, Action: "import"}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.AppendEvents(ctx, ev, ev) }))
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		if err := tx.AppendEvents(ctx, ev); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, ev, ev)
	}))
	hist, err := s.History(ctx, rec.Ref())
	require.NoError(t, err)
	require.Len(t, hist, 5)
	require.Equal(t, int64(5), hist[4].Sequence)
	require.NoError(t, s.VerifyAuditTrail(ctx))

	// A head moved by the application's own SQL inside a joined
	// transaction is read again.
	tx, err := s.BeginTx(ctx)
	require.NoError(t, err)
	defer tx.Rollback()
	err = s.Join(tx).InTx(ctx, func(ctx context.Context, itx record.Tx) error {
		if err := itx.AppendEvents(ctx, ev); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT app"); err != nil {
			return err
		}
		if err := itx.AppendEvents(ctx, ev); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO app"); err != nil {
			return err
		}
		return itx.AppendEvents(ctx, ev)
	})
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	hist, err = s.History(ctx, rec.Ref())
	require.NoError(t, err)
	require.Len(t, hist, 7)
	require.NoError(t, s.VerifyAuditTrail(ctx))
	require.Equal(t, 7, count(t, s, "SELECT count(*) FROM outbox WHERE record_id = ?", rec.ID))
}

// A database that reaches its size limit (max_page_count here; a full disk
// is the same error) refuses the write with storage.ErrFull, keeps nothing
// of the refused transaction and everything before it, and takes writes
// again once there is room.
func TestErrorsFullIsTyped(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	kept := open(t, s, "Kept", testStart)
	limit := func(pages string) {
		tx, err := s.BeginTx(ctx)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, "PRAGMA max_page_count = "+pages)
		require.NoError(t, err)
		require.NoError(t, tx.Commit())
	}
	limit("1") // SQLite raises a limit below the file's size to that size
	var err error
	for i := range 10_000 {
		err = s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			_, err := openTicket(ctx, t, tx, strings.Repeat("x", 1000), testStart.Add(time.Duration(i)*time.Second))
			return err
		})
		if err != nil {
			break
		}
	}
	require.ErrorIs(t, err, storage.ErrFull)
	require.False(t, storage.IsRetryable(err))
	before := count(t, s, "SELECT count(*) FROM records")
	require.ErrorIs(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		for range 20 {
			if _, err := openTicket(ctx, t, tx, strings.Repeat("y", 1000), testStart); err != nil {
				return err
			}
		}
		return nil
	}), storage.ErrFull)
	require.Equal(t, before, count(t, s, "SELECT count(*) FROM records"), "nothing of a refused transaction is kept")
	got, err := s.Get(ctx, kept.Ref())
	require.NoError(t, err)
	require.Equal(t, "Kept", got.Title)
	limit("1073741823")
	open(t, s, "After", testStart)
	require.NoError(t, s.VerifyAuditTrail(ctx))
}

// A database opened read-only refuses writes with storage.ErrReadOnly and
// still reads.
func TestErrorsReadOnlyIsTyped(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := openTemp(t)
	rec := open(t, s, "Written before", testStart)
	ro, err := sqlite.Open(ctx, "file:"+path+"?mode=ro", sqlite.WithoutMigrate())
	require.NoError(t, err)
	defer ro.Close()
	require.NoError(t, ro.Declare(ctx, ticketSchema))
	err = ro.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		_, err := openTicket(ctx, t, tx, "Refused", testStart)
		return err
	})
	require.ErrorIs(t, err, storage.ErrReadOnly)
	got, err := ro.Get(ctx, rec.Ref())
	require.NoError(t, err)
	require.Equal(t, rec.Title, got.Title)
}

// A file that is not a database, and a database whose pages were
// overwritten, fail with storage.ErrCorrupt.
func TestErrorsCorruptIsTyped(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	garbage := filepath.Join(t.TempDir(), "notes.txt")
	require.NoError(t, os.WriteFile(garbage, bytes.Repeat([]byte("not a database\n"), 1000), 0o600))
	_, err := sqlite.Open(ctx, garbage)
	require.ErrorIs(t, err, storage.ErrCorrupt)

	s, path := openTemp(t)
	for i := range 50 {
		open(t, s, strings.Repeat("z", 500), testStart.Add(time.Duration(i)*time.Second))
	}
	require.NoError(t, s.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	const page = 4096
	for off := page; off+page <= len(data); off += page {
		copy(data[off+100:off+page-100], bytes.Repeat([]byte{0xa5}, page-200))
	}
	require.NoError(t, os.WriteFile(path, data, 0o600))
	s, err = sqlite.Open(ctx, path)
	if err == nil {
		defer s.Close()
		require.NoError(t, s.Declare(ctx, ticketSchema))
		_, err = s.List(ctx, record.Query{Kind: "incident"})
	}
	require.ErrorIs(t, err, storage.ErrCorrupt)
}
