package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/postgres"
)

// TestMapError checks the translation of driver errors on constructed
// errors; it needs no database.
func TestMapError(t *testing.T) {
	t.Parallel()
	plain := errors.New("syntax error somewhere")
	cases := []struct {
		name      string
		err       error
		is        []error
		notIs     []error
		conflict  bool // errors.As *itsm.ConflictError
		notFound  bool // errors.As *itsm.NotFoundError for incident/inc-1
		retryable bool
	}{
		{name: "no rows", err: fmt.Errorf("scan: %w", pgx.ErrNoRows), is: []error{itsm.ErrNotFound}, notFound: true},
		{name: "unique violation", err: &pgconn.PgError{Code: "23505", Message: "duplicate key", ConstraintName: "incidents_number_key"},
			is: []error{itsm.ErrConflict}},
		{name: "foreign key violation", err: &pgconn.PgError{Code: "23503", Message: "violates foreign key constraint",
			ConstraintName: "sla_timers_incident_id_fkey"}, is: []error{itsm.ErrNotFound}, notIs: []error{itsm.ErrConflict}},
		{name: "serialization failure", err: &pgconn.PgError{Code: "40001", Message: "could not serialize"},
			is: []error{itsm.ErrConflict, storage.ErrRetryable}, conflict: true, retryable: true},
		{name: "deadlock", err: fmt.Errorf("exec: %w", &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}),
			is: []error{itsm.ErrConflict, storage.ErrRetryable}, conflict: true, retryable: true},
		{name: "admin shutdown", err: &pgconn.PgError{Code: "57P01", Severity: "FATAL", Message: "terminating connection due to administrator command"},
			is: []error{storage.ErrRetryable}, notIs: []error{itsm.ErrConflict}, retryable: true},
		{name: "connection failure class 08", err: &pgconn.PgError{Code: "08006"}, is: []error{storage.ErrRetryable}, retryable: true},
		{name: "protocol violation", err: &pgconn.PgError{Code: "08P01", Message: "invalid message format"},
			notIs: []error{storage.ErrRetryable}},
		{name: "too many connections", err: &pgconn.PgError{Code: "53300"}, is: []error{storage.ErrRetryable}, retryable: true},
		{name: "unexpected eof", err: fmt.Errorf("read: %w", io.ErrUnexpectedEOF), is: []error{storage.ErrRetryable}, retryable: true},
		{name: "conn closed", err: fmt.Errorf("query: %w", pgconn.ErrConnClosed), is: []error{storage.ErrRetryable}, retryable: true},
		{name: "connect error", err: &pgconn.ConnectError{}, is: []error{storage.ErrRetryable}, retryable: true},
		{name: "data exception", err: &pgconn.PgError{Code: "22021", Message: "invalid byte sequence for encoding \"UTF8\": 0x00"},
			is: []error{itsm.ErrValidation}, notIs: []error{storage.ErrRetryable}},
		{name: "disk full", err: &pgconn.PgError{Code: "53100", Message: "could not extend file: No space left on device"},
			is: []error{storage.ErrFull}, notIs: []error{storage.ErrRetryable, storage.ErrReadOnly}},
		{name: "read-only transaction", err: &pgconn.PgError{Code: "25006", Message: "cannot execute INSERT in a read-only transaction"},
			is: []error{storage.ErrReadOnly}, notIs: []error{storage.ErrRetryable}},
		{name: "data corrupted", err: &pgconn.PgError{Code: "XX001", Message: "invalid page in block 7"},
			is: []error{storage.ErrCorrupt}, notIs: []error{storage.ErrRetryable}},
		{name: "index corrupted", err: &pgconn.PgError{Code: "XX002", Message: "index contains unexpected zero page"},
			is: []error{storage.ErrCorrupt}, notIs: []error{storage.ErrRetryable}},
		{name: "context canceled", err: fmt.Errorf("query: %w", context.Canceled), is: []error{context.Canceled},
			notIs: []error{storage.ErrRetryable}},
		{name: "deadline", err: context.DeadlineExceeded, is: []error{context.DeadlineExceeded}, notIs: []error{storage.ErrRetryable}},
		{name: "other", err: plain, is: []error{plain}, notIs: []error{storage.ErrRetryable, itsm.ErrConflict, itsm.ErrNotFound}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := postgres.MapError(tc.err, ticketKind, "inc-1")
			require.Error(t, got)
			for _, target := range tc.is {
				require.ErrorIs(t, got, target)
			}
			for _, target := range tc.notIs {
				require.NotErrorIs(t, got, target)
			}
			require.Equal(t, tc.retryable, storage.IsRetryable(got))
			var ce *itsm.ConflictError
			require.Equal(t, tc.conflict, errors.As(got, &ce))
			if tc.conflict {
				require.Equal(t, ticketKind, ce.Kind)
				require.Equal(t, "inc-1", ce.ID)
			}
			var nf *itsm.NotFoundError
			require.Equal(t, tc.notFound, errors.As(got, &nf))
			if tc.notFound {
				require.Equal(t, &itsm.NotFoundError{Kind: ticketKind, ID: "inc-1"}, nf)
			}
		})
	}
	require.NoError(t, postgres.MapError(nil, "", ""))
	require.Same(t, plain, postgres.MapError(plain, "", ""), "unknown errors pass unchanged")
	once := postgres.MapError(&pgconn.PgError{Code: "40001"}, "", "")
	require.Same(t, once, postgres.MapError(once, "", ""), "a translated error is not translated again")
	var ce *itsm.ConflictError
	require.ErrorAs(t, once, &ce)
	require.Equal(t, "transaction", ce.Kind, "without a record the conflict names the transaction")
	undef := postgres.MapError(&pgconn.PgError{Code: "42P01", Message: `relation "x.incidents" does not exist`}, "", "")
	require.ErrorContains(t, undef, "Migrate")
	var pe *pgconn.PgError
	require.ErrorAs(t, undef, &pe)
}

// TestDriverErrors provokes a deadlock between two transactions, which
// PostgreSQL breaks by failing one of them: the error is retryable and
// names the record.
// A store on a read-only session (as on a standby server) refuses writes
// with storage.ErrReadOnly, keeps nothing of them, and still reads.
func TestReadOnlyIsTyped(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	rec := testRecord(1)
	create(t, s, rec)
	ro, err := postgres.Open(ctx, testURL(t), postgres.WithSchema(s.Schema()), postgres.WithPoolConfig(func(c *pgxpool.Config) {
		c.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}))
	require.NoError(t, err)
	defer ro.Close()
	require.NoError(t, ro.Declare(ctx, ticketSchema()))
	err = ro.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, testRecord(2)) })
	require.ErrorIs(t, err, storage.ErrReadOnly)
	require.False(t, storage.IsRetryable(err))
	got, err := ro.Get(ctx, rec.Ref())
	require.NoError(t, err)
	require.Equal(t, rec.Title, got.Title)
	_, err = s.Get(ctx, testRecord(2).Ref())
	require.ErrorIs(t, err, itsm.ErrNotFound)
}

func TestDriverErrors(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	a, b := testRecord(1), testRecord(2)
	create(t, s, a, b)
	// Each transaction updates one record, waits until the other has
	// done the same, then updates the other's record.
	var (
		wg           sync.WaitGroup
		locked       sync.WaitGroup
		errs         = make([]error, 2)
		first, other = []*record.Record{a, b}, []*record.Record{b, a}
	)
	locked.Add(2)
	for w := range 2 {
		wg.Go(func() {
			errs[w] = s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
				mine := first[w].Clone()
				mine.Title = fmt.Sprint("worker ", w)
				if err := tx.Update(ctx, mine); err != nil {
					locked.Done()
					return err
				}
				locked.Done()
				locked.Wait()
				theirs := other[w].Clone()
				theirs.Title = fmt.Sprint("worker ", w)
				return tx.Update(ctx, theirs)
			})
		})
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	require.Len(t, failed, 1, "PostgreSQL fails exactly one side of a deadlock: %v", errs)
	require.True(t, storage.IsRetryable(failed[0]), "%v", failed[0])
	require.ErrorIs(t, failed[0], itsm.ErrConflict)
	var ce *itsm.ConflictError
	require.ErrorAs(t, failed[0], &ce)
	require.Equal(t, ticketKind, ce.Kind)
}
