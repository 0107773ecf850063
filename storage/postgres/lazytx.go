package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/itsmkit/itsmkit/storage"
)

// The statements that start the transactions of a lazyTx: InTx's, and
// the read-only snapshot of a List outside a transaction.
const (
	beginSQL     = "BEGIN ISOLATION LEVEL READ COMMITTED"
	beginReadSQL = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
)

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

// lazyTx is a transaction on a connection of the pool that sends BEGIN
// (its begin statement, beginSQL for InTx) together with its first
// statement and COMMIT together with its deferred writes, saving two round
// trips per transaction. It implements querier; each call runs inside the
// transaction.
type lazyTx struct {
	conn  *pgxpool.Conn
	begin string
	begun bool
}

var _ txBackend = (*lazyTx)(nil)

// withPrefix returns a new batch of pre's queries followed by b's.
func withPrefix(pre, b *pgx.Batch) *pgx.Batch {
	nb := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, pre.Len()+b.Len())}
	nb.QueuedQueries = append(nb.QueuedQueries, pre.QueuedQueries...)
	nb.QueuedQueries = append(nb.QueuedQueries, b.QueuedQueries...)
	return nb
}

// sendPrefixed sends pre's queries followed by b's with send, in one round
// trip, reads pre's results and returns b's. When one of pre's statements
// fails, every result of b is that error.
func sendPrefixed(ctx context.Context, send func(context.Context, *pgx.Batch) pgx.BatchResults, pre, b *pgx.Batch) pgx.BatchResults {
	br := send(ctx, withPrefix(pre, b))
	for range pre.Len() {
		if _, err := br.Exec(); err != nil {
			return failedBatch{br: br, err: err}
		}
	}
	return br
}

// The single statements of a querier that sends them in a batch, after
// statements of its own (the begin statement, deferred writes).

func batchQuery(ctx context.Context, send func(context.Context, *pgx.Batch) pgx.BatchResults, sql string, args []any) (pgx.Rows, error) {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := send(ctx, b)
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func batchQueryRow(ctx context.Context, send func(context.Context, *pgx.Batch) pgx.BatchResults, sql string, args []any) pgx.Row {
	rows, err := batchQuery(ctx, send, sql, args)
	return &lazyRow{rows: rows, err: err}
}

func batchExec(ctx context.Context, send func(context.Context, *pgx.Batch) pgx.BatchResults, sql string, args []any) (pgconn.CommandTag, error) {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := send(ctx, b)
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// beginBatch returns the batch of the begin statement alone.
func (l *lazyTx) beginBatch() *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(l.begin)
	return b
}

func (l *lazyTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if l.begun {
		return l.conn.SendBatch(ctx, b)
	}
	l.begun = true
	return sendPrefixed(ctx, l.conn.SendBatch, l.beginBatch(), b)
}

func (l *lazyTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if l.begun {
		return l.conn.Query(ctx, sql, args...)
	}
	return batchQuery(ctx, l.SendBatch, sql, args)
}

func (l *lazyTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if l.begun {
		return l.conn.QueryRow(ctx, sql, args...)
	}
	return batchQueryRow(ctx, l.SendBatch, sql, args)
}

func (l *lazyTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if l.begun {
		return l.conn.Exec(ctx, sql, args...)
	}
	return batchExec(ctx, l.SendBatch, sql, args)
}

// queryCommit runs a query and COMMIT in one round trip (with the begin
// statement first when no statement has run yet): the last read of a
// read-only transaction. Closing the rows reads COMMIT's answer; Err
// reports its failure.
func (l *lazyTx) queryCommit(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	b.Queue("COMMIT")
	br := l.SendBatch(ctx, b)
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// prefixed is a querier that sends the statements of pre (deferred
// writes) in the same round trip as its first statement, before it.
type prefixed struct {
	db  querier
	pre *pgx.Batch // nil once sent
}

var _ querier = (*prefixed)(nil)

// take returns the statements not sent yet, nil when there are none.
func (p *prefixed) take() *pgx.Batch {
	pre := p.pre
	p.pre = nil
	return pre
}

func (p *prefixed) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	pre := p.take()
	if pre == nil {
		return p.db.SendBatch(ctx, b)
	}
	return sendPrefixed(ctx, p.db.SendBatch, pre, b)
}

func (p *prefixed) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if p.pre == nil {
		return p.db.Query(ctx, sql, args...)
	}
	return batchQuery(ctx, p.SendBatch, sql, args)
}

func (p *prefixed) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if p.pre == nil {
		return p.db.QueryRow(ctx, sql, args...)
	}
	return batchQueryRow(ctx, p.SendBatch, sql, args)
}

func (p *prefixed) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if p.pre == nil {
		return p.db.Exec(ctx, sql, args...)
	}
	return batchExec(ctx, p.SendBatch, sql, args)
}

// commit sends pending and COMMIT in one batch (with BEGIN first when no
// statement has run yet; nothing at all when there is nothing to write).
func (l *lazyTx) commit(ctx context.Context, pending *pgx.Batch) error {
	if !l.begun && pending.Len() == 0 {
		return nil // nothing was read or written: no transaction was begun
	}
	b := withPrefix(pending, &pgx.Batch{})
	if !l.begun {
		b = withPrefix(l.beginBatch(), pending)
	}
	b.Queue("COMMIT")
	l.begun = true
	br := l.conn.SendBatch(ctx, b)
	var (
		tag pgconn.CommandTag
		err error
		i   int
	)
	for i = 0; i < b.Len(); i++ {
		if tag, err = br.Exec(); err != nil {
			break
		}
	}
	// Once COMMIT's answer has arrived, its tag tells the outcome, whatever
	// Close then reports of the connection (a server process terminated
	// just after it committed fails the end of the batch).
	_ = br.Close()
	if err != nil {
		if commitOutcomeUnknown(err, i == b.Len()-1) {
			return &unknownOutcomeError{err: err}
		}
		return err
	}
	if tag.String() != "COMMIT" {
		// The server answers COMMIT with ROLLBACK when an earlier
		// statement of the transaction failed.
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// commitOutcomeUnknown reports whether err, the failure of a batch that
// ends in COMMIT, leaves its outcome unknown: the batch was sent (pgconn
// did not find it safe to retry), and then either the connection was lost
// without an answer from the server (the answers, COMMIT's among them,
// may have been lost on the way), or the server's answer to COMMIT itself
// was that the connection is ending (a backend terminated while it
// committed may have committed). An error the server reported for a
// statement before COMMIT means the transaction cannot have committed, and
// so does a failure while pgx prepared the batch, before it sent any of
// its statements. A context that ended while the answers were awaited
// leaves the outcome unknown too: pgx gives up on the connection, and the
// server may commit all the same.
func commitOutcomeUnknown(err error, atCommit bool) bool {
	var pre pgx.ErrPreprocessingBatch
	if pgconn.SafeToRetry(err) || errors.As(err, &pre) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return atCommit && lostConnection(pe)
	}
	return connectionLost(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// unknownOutcomeError is the error of a commit whose outcome is unknown
// (see commitOutcomeUnknown); it matches storage.ErrUnknownOutcome and
// the driver's error, never storage.ErrRetryable.
type unknownOutcomeError struct{ err error }

func (e *unknownOutcomeError) Error() string {
	return "COMMIT was sent and its answer never came; the transaction may or may not have been committed: " + e.err.Error()
}
func (e *unknownOutcomeError) Unwrap() []error { return []error{storage.ErrUnknownOutcome, e.err} }

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

// batchRows is the result of a query sent in a batch after other
// statements: closing it closes the batch too.
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

// lazyRow is the pgx.Row of a QueryRow sent in a batch after other
// statements.
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

// failedBatch is the result of a batch whose leading statements (BEGIN,
// deferred writes) failed.
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
