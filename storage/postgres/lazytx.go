package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// beginSQL starts the transactions of InTx.
const beginSQL = "BEGIN ISOLATION LEVEL READ COMMITTED"

// txBackend is what a txn runs on: a transaction of its own (lazyTx) or a
// savepoint of the application's transaction (savepoint).
type txBackend interface {
	querier
	// commit sends the deferred writes of pending and commits, in as few
	// round trips as the backend allows.
	commit(ctx context.Context, pending *pgx.Batch) error
	// rollback discards everything; it is called at most once, and never
	// after a successful commit.
	rollback(ctx context.Context)
	// release gives the connection back; it is called once, last.
	release()
}

// lazyTx is a READ COMMITTED transaction on a connection of the pool that
// sends BEGIN together with its first statement and COMMIT together with
// its deferred writes, saving two round trips per transaction. It
// implements querier; each call runs inside the transaction.
type lazyTx struct {
	conn  *pgxpool.Conn
	begun bool
}

var _ txBackend = (*lazyTx)(nil)

// withBegin returns b's queries after BEGIN, in a new batch.
func withBegin(b *pgx.Batch) *pgx.Batch {
	nb := &pgx.Batch{}
	nb.Queue(beginSQL)
	for _, q := range b.QueuedQueries {
		nb.Queue(q.SQL, q.Arguments...)
	}
	return nb
}

func (l *lazyTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if l.begun {
		return l.conn.SendBatch(ctx, b)
	}
	br := l.conn.SendBatch(ctx, withBegin(b))
	if _, err := br.Exec(); err != nil {
		return failedBatch{br: br, err: err}
	}
	l.begun = true
	return br
}

func (l *lazyTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if l.begun {
		return l.conn.Query(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := l.SendBatch(ctx, b)
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (l *lazyTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if l.begun {
		return l.conn.QueryRow(ctx, sql, args...)
	}
	rows, err := l.Query(ctx, sql, args...)
	return &lazyRow{rows: rows, err: err}
}

func (l *lazyTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if l.begun {
		return l.conn.Exec(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := l.SendBatch(ctx, b)
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// commit sends pending and COMMIT in one batch (with BEGIN first when no
// statement has run yet; nothing at all when there is nothing to write).
func (l *lazyTx) commit(ctx context.Context, pending *pgx.Batch) error {
	if !l.begun && pending.Len() == 0 {
		return nil // nothing was read or written: no transaction was begun
	}
	b := &pgx.Batch{}
	if !l.begun {
		b = withBegin(pending)
	} else {
		for _, q := range pending.QueuedQueries {
			b.Queue(q.SQL, q.Arguments...)
		}
	}
	b.Queue("COMMIT")
	l.begun = true
	br := l.conn.SendBatch(ctx, b)
	var (
		tag pgconn.CommandTag
		err error
	)
	for range b.Len() {
		if tag, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if tag.String() != "COMMIT" {
		// The server answers COMMIT with ROLLBACK when an earlier
		// statement of the transaction failed.
		return pgx.ErrTxCommitRollback
	}
	return nil
}

func (l *lazyTx) rollback(ctx context.Context) {
	if !l.begun || l.conn.Conn().IsClosed() || l.conn.Conn().PgConn().TxStatus() == 'I' {
		return // nothing begun, the connection is gone, or the transaction already ended
	}
	if _, err := l.conn.Exec(ctx, "ROLLBACK"); err != nil {
		// The pool drops a connection that is not idle or closed.
		_ = l.conn.Conn().Close(ctx)
	}
}

func (l *lazyTx) release() { l.conn.Release() }

// savepoint runs a txn inside the application's transaction (see Join).
type savepoint struct{ pgx.Tx }

var _ txBackend = savepoint{}

func (s savepoint) commit(ctx context.Context, pending *pgx.Batch) error {
	if pending.Len() > 0 {
		if err := s.SendBatch(ctx, pending).Close(); err != nil {
			return err
		}
	}
	return s.Commit(ctx) // RELEASE SAVEPOINT
}

func (s savepoint) rollback(ctx context.Context) { _ = s.Rollback(ctx) } // ROLLBACK TO SAVEPOINT

func (savepoint) release() {}

// batchRows is the result of a query sent in a batch with BEGIN: closing
// it closes the batch too.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.err = r.br.Close()
	}
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// lazyRow is the pgx.Row of a QueryRow sent with BEGIN.
type lazyRow struct {
	rows pgx.Rows
	err  error
}

func (r *lazyRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// failedBatch is the result of a batch whose BEGIN failed.
type failedBatch struct {
	br  pgx.BatchResults
	err error
}

func (f failedBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, f.err }
func (f failedBatch) Query() (pgx.Rows, error)         { return nil, f.err }
func (f failedBatch) QueryRow() pgx.Row                { return &lazyRow{err: f.err} }
func (f failedBatch) Close() error {
	if err := f.br.Close(); err != nil && !errors.Is(err, f.err) {
		return fmt.Errorf("%w (and %v)", f.err, err)
	}
	return f.err
}

// Tx returns nil: the batch began no pgx transaction.
func (failedBatch) Tx() pgx.Tx { return nil }
